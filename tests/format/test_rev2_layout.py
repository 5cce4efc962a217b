"""Rev 2.0 / 2.1 layouts, liberal reading, overrides and salvage at the layout level.

Files come from :mod:`tests.format.rev2_files` (built byte by byte from the standard);
each layout is checked against what the builder wrote, and its samples are read back
with plain numpy slicing of the records the layout describes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segycore.errors import SegyError, SegyFormatError
from segycore.format.layout import SegyLayout, read_layout
from segycore.format.reference import ibm_to_float32_reference
from segycore.format.spec import TRACE_EXTENSION1_FIELDS
from segycore.format.stanzas import is_end_text, starts_stanza
from tests.format.rev2_files import Rev2File, Rev2Spec, rev2_segy
from tests.reliability.malformed import LIBERAL, SegySpec, put, valid_segy


def _write(tmp_path: Path, data: bytes, name: str = "rev2.sgy") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def numpy_records(path: Path, layout: SegyLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard headers, additional headers and sample bytes of every trace, by slicing."""
    raw = np.fromfile(path, dtype=np.uint8)
    records = raw[layout.data_offset : layout.data_end].reshape(layout.n_traces, -1)
    assert records.shape[1] == layout.trace_size
    head = layout.trace_header_size
    return records[:, :240], records[:, 240:head], records[:, head:]


def numpy_samples(sample_bytes: np.ndarray, layout: SegyLayout) -> np.ndarray:
    """Decode sample bytes with numpy alone (IBM through the numpy reference)."""
    order = ">" if layout.endian == "big" else "<"
    flat = np.ascontiguousarray(sample_bytes).reshape(-1)
    if layout.format.code == 1:
        words = flat.view(order + "u4")
        return ibm_to_float32_reference(words.astype("u4")).reshape(layout.n_traces, -1)
    kinds = {2: "i4", 3: "i2", 5: "f4", 6: "f8", 8: "i1", 9: "i8", 10: "u4", 11: "u2", 12: "u8"}
    return flat.view(order + kinds[layout.format.code]).reshape(layout.n_traces, -1)


def check_holds(path: Path, built: Rev2File, layout: SegyLayout) -> None:
    """The layout reads exactly what the builder wrote, covering every byte of the file."""
    spec = built.spec
    assert (layout.n_traces, layout.n_samples) == (spec.n_traces, spec.n_samples)
    assert layout.extra_headers == spec.extra
    assert layout.data_offset == built.data_offset
    assert layout.header_gap == built.gap and layout.trailer == built.trailer
    assert len(layout.extended_textual_headers) == spec.extended
    assert layout.data_end + len(layout.trailer) == layout.file_size
    assert len(layout.file_header) == layout.data_offset
    headers, extra, sample_bytes = numpy_records(path, layout)
    np.testing.assert_array_equal(headers, built.headers)
    np.testing.assert_array_equal(extra, built.extra_headers)
    np.testing.assert_array_equal(sample_bytes, built.raw_samples)
    np.testing.assert_array_equal(numpy_samples(sample_bytes, layout), built.samples)


REV2_SPECS = [
    Rev2Spec(),
    Rev2Spec(minor=1, endian="little", format_code=3, seed=1),
    *(Rev2Spec(minor=m, extra=k, seed=k + 10 * m) for m in (0, 1) for k in (1, 2, 3)),
    Rev2Spec(extra=2, endian="little", format_code=1, seed=4),
    Rev2Spec(extra=1, trailer=2, seed=5),
    Rev2Spec(extra=3, trailer=1, minor=1, endian="little", format_code=6, seed=6),
    Rev2Spec(trailer=3, trailer_field=-1, seed=7),
    Rev2Spec(trailer=2, trailer_field=-1, announce_traces=False, format_code=2, seed=8),
    Rev2Spec(extended=3, gap=123, extra=1, seed=9),
    Rev2Spec(extended=2, extended_field=-1, end_text="((  seg: endTEXt  ))", seed=10),
    Rev2Spec(extended=1, extended_field=-1, end_text="((seg:endtext))", trailer=1, seed=11),
    Rev2Spec(samples_in="extended", n_samples=40_000, n_traces=2, format_code=8, seed=12),
    Rev2Spec(samples_in="binary", extra=1, format_code=11, seed=13),
    Rev2Spec(byte_order_constant=False, endian="little", extra=1, seed=14),
]


@pytest.mark.parametrize("spec", REV2_SPECS, ids=lambda s: f"{s.seed}")
def test_rev2_files_read_exactly(tmp_path: Path, spec: Rev2Spec) -> None:
    built = rev2_segy(spec)
    path = _write(tmp_path, built.data)
    layout = read_layout(path)
    check_holds(path, built, layout)
    assert layout.revision == f"2.{spec.minor}"
    assert layout.endian == spec.endian
    assert layout.salvage is None and not layout.warnings


def test_trace_header_extension_1_fields_decode(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(extra=2, endian="little", seed=3))
    layout = read_layout(_write(tmp_path, built.data))
    _, extra, _ = numpy_records(tmp_path / "rev2.sgy", layout)
    order = "<"
    ext1 = np.ascontiguousarray(extra[:, :240])
    dtype = np.dtype(
        {
            "names": [f.name for f in TRACE_EXTENSION1_FIELDS],
            "formats": [f.dtype.newbyteorder(order) for f in TRACE_EXTENSION1_FIELDS],
            "offsets": [f.offset for f in TRACE_EXTENSION1_FIELDS],
            "itemsize": 240,
        }
    )
    rows = ext1.view(dtype).reshape(-1)
    n = built.spec.n_traces
    assert rows["ext1_trace_sequence_line"].tolist() == [10_000_000_000 + t for t in range(n)]
    assert rows["ext1_field_record"].tolist() == [-(2**40) - t for t in range(n)]
    assert rows["ext1_n_samples"].tolist() == [built.spec.n_samples] * n
    assert rows["ext1_source_x"].tolist() == [1.5e6 + t for t in range(n)]
    assert rows["ext1_last_trace_flag"].tolist() == [0] * (n - 1) + [1]
    assert bytes(ext1[0, 232:240]) == b"SEG00001"


@pytest.mark.parametrize(
    "text",
    ["((SEG: EndText))", "((  seg: endTEXt  ))", "((seg:endtext))", "  ((SEG :EndText ))"],
)
@pytest.mark.parametrize("encoding", ["cp037", "latin-1"])
def test_end_text_stanza_matches_case_and_spacing(text: str, encoding: str) -> None:
    block = text.ljust(3200).encode(encoding)
    assert is_end_text(block)
    assert starts_stanza(block)
    assert not is_end_text("((SEG: Text 1)) EndText".ljust(3200).encode(encoding))
    assert not starts_stanza("random trace bytes".ljust(3200).encode(encoding))


# -- liberal reading ---------------------------------------------------------------------
@pytest.mark.parametrize("case", LIBERAL, ids=lambda c: c.name)
def test_liberal_reading_records_its_decision(tmp_path: Path, case) -> None:
    path = _write(tmp_path, case.data)
    layout = read_layout(path)
    assert (layout.n_traces, layout.n_samples) == (case.spec.n_traces, case.spec.n_samples)
    assert layout.extra_headers == 0 and layout.trailer == b""
    decisions = " | ".join(layout.decisions)
    for fragment in case.expect:
        assert fragment.lower() in decisions.lower(), decisions
    # the traces are the unedited file's, byte for byte
    clean = valid_segy(case.spec)
    assert case.data[layout.data_offset :] == clean[layout.data_offset :]
    assert layout.binary_header == case.data[3200:3600]  # raw bytes kept for the round trip


def test_unknown_revision_takes_rev2_fields_only_when_the_size_needs_them(
    tmp_path: Path,
) -> None:
    built = rev2_segy(Rev2Spec(extra=2, seed=21))
    data = bytearray(built.data)
    put(data, 3501, 0x2425, 2, "big", "u")
    layout = read_layout(_write(tmp_path, bytes(data)))
    assert layout.revision == "unknown"
    assert layout.extra_headers == 2  # without them no reading gives whole traces
    assert any("0x2425" in d for d in layout.decisions)
    assert any("additional trace headers: 2" in d for d in layout.decisions)


def test_rev20_count_read_as_rev21_width_when_the_size_says_so(tmp_path: Path) -> None:
    # a rev 2.1 writer (2-byte count + survey type 3) that labels its file 2.0
    built = rev2_segy(Rev2Spec(minor=1, extra=1, seed=22))
    data = bytearray(built.data)
    put(data, 3502, 0, 1, "big", "u")
    layout = read_layout(_write(tmp_path, bytes(data)))
    assert layout.extra_headers == 1
    assert any("3507-3508 (rev 2.1)" in d for d in layout.decisions)


VARIABLE_SPECS = [
    Rev2Spec(n_traces=5, n_samples=20, lengths=(20, 7, 13, 20, 1), seed=70),
    Rev2Spec(n_traces=4, n_samples=9, lengths=(3, 9, 5, 9), extra=1, endian="little", seed=71),
    Rev2Spec(n_traces=3, n_samples=30, lengths=(30, 2, 17), extra=2, trailer=1, seed=72),
    Rev2Spec(n_traces=4, n_samples=11, lengths=(11, 4, 4, 6), format_code=1, minor=1, seed=73),
]


@pytest.mark.parametrize("spec", VARIABLE_SPECS, ids=lambda s: str(s.seed))
def test_variable_length_traces_read_each_at_its_length(tmp_path: Path, spec: Rev2Spec) -> None:
    built = rev2_segy(spec)
    path = _write(tmp_path, built.data)
    layout = read_layout(path)
    assert layout.variable and layout.trace_samples.tolist() == list(spec.lengths)
    assert layout.n_samples == max(spec.lengths) == spec.n_samples
    assert layout.data_end + len(layout.trailer) == len(built.data)
    assert any("traces of varying length" in d for d in layout.decisions)
    raw = np.frombuffer(built.data, np.uint8)
    for t, offset in enumerate(layout.trace_offsets[:-1]):  # each record at its own length
        header = raw[offset : offset + 240]
        np.testing.assert_array_equal(header, built.headers[t])
    from segycore.format.layout import read_trace_headers

    np.testing.assert_array_equal(read_trace_headers(layout), built.headers)


def test_variable_length_traces_whose_headers_lie_are_refused(tmp_path: Path) -> None:
    data = bytearray(valid_segy(SegySpec(n_traces=4, n_samples=20, format_code=5)))
    put(data, 3503, 0, 2, "big")  # fixed-length flag 0: lengths may vary
    data += bytes(240 + 7 * 4)  # a fifth trace of 7 samples whose header says 0
    with pytest.raises(SegyFormatError, match="varying length.*do not lead to the end"):
        read_layout(_write(tmp_path, bytes(data)))
    put(data, 3600 + 4 * 320 + 115, 9, 2, "big")  # ... or 9
    with pytest.raises(SegyFormatError, match="varying length"):
        read_layout(_write(tmp_path, bytes(data)))
    put(data, 3600 + 4 * 320 + 115, 7, 2, "big")  # the truth reads
    assert read_layout(_write(tmp_path, bytes(data))).trace_samples.tolist() == [20] * 4 + [7]


# -- overrides ---------------------------------------------------------------------------
def test_format_override_reads_the_samples_as_stated_and_records_both(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(format_code=5, extra=1, seed=30))
    data = bytearray(built.data)
    put(data, 3225, 2, 2, "big")  # the writer claimed int32
    path = _write(tmp_path, bytes(data))
    assert read_layout(path).format.code == 2
    layout = read_layout(path, format=5)
    check_holds(path, built, layout)
    assert layout.overrides["format"] == {"read": 2, "used": 5}
    assert layout.binary_header == bytes(data[3200:3600])


def test_format_override_of_an_unknown_code(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(format_code=3, seed=31))
    data = bytearray(built.data)
    put(data, 3225, 77, 2, "big")
    path = _write(tmp_path, bytes(data))
    with pytest.raises(SegyFormatError, match="unknown sample format code 77.*--format"):
        read_layout(path)
    check_holds(path, built, read_layout(path, format=3))


def test_samples_override_and_its_contradiction(tmp_path: Path) -> None:
    data = bytearray(valid_segy(SegySpec(n_traces=6, n_samples=50, format_code=1)))
    put(data, 3221, 0, 2, "big", "u")
    for t in range(6):  # no sample count anywhere
        put(data, 3600 + t * 440 + 115, 0, 2, "big")
    path = _write(tmp_path, bytes(data))
    with pytest.raises(SegyFormatError, match="samples per trace is 0"):
        read_layout(path)
    layout = read_layout(path, samples=50)
    assert (layout.n_traces, layout.n_samples) == (6, 50)
    assert layout.overrides["samples"] == {"read": 0, "used": 50}
    with pytest.raises(SegyError, match=r"override \(samples 49\) does not fit"):
        read_layout(path, samples=49)
    with pytest.raises(SegyError, match="samples override must be"):
        read_layout(path, samples=0)


def test_textual_encoding_and_endian_overrides_are_recorded(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(endian="little", seed=32))
    path = _write(tmp_path, built.data)
    layout = read_layout(path, endian="little", textual_encoding="ascii")
    assert layout.overrides["endian"] == {"read": "little", "used": "little"}
    assert layout.overrides["textual_encoding"] == {"read": "ebcdic", "used": "ascii"}
    assert layout.textual_encoding == "ascii"
    with pytest.raises(ValueError, match="textual encoding"):
        read_layout(path, textual_encoding="utf-16")
    with pytest.raises(SegyError, match="format override"):
        read_layout(path, format=4)


# -- salvage -----------------------------------------------------------------------------
SALVAGE_BASES = [
    valid_segy(SegySpec(n_traces=6, n_samples=50, format_code=1)),
    rev2_segy(Rev2Spec(extra=2, n_traces=6, endian="little", seed=40)).data,
]


@pytest.mark.parametrize("base", range(len(SALVAGE_BASES)))
@pytest.mark.parametrize("cut", [1, 17, 239, 240, 300, "trace+5", "trailing"])
def test_salvage_keeps_every_complete_trace(tmp_path: Path, base: int, cut: object) -> None:
    data = SALVAGE_BASES[base]
    full = read_layout(_write(tmp_path, data, "full.sgy"))
    size = full.trace_size
    if cut == "trailing":
        damaged, complete = data + b"\x07" * 99, 6
    elif cut == "trace+5":
        damaged, complete = data[: len(data) - 2 * size + 5], 4
    else:
        damaged, complete = data[: len(data) - int(cut)], 5  # type: ignore[call-overload]
    path = _write(tmp_path, damaged, "damaged.sgy")
    with pytest.raises(SegyFormatError, match="--salvage imports the") as refused:
        read_layout(path)
    assert "\n" not in str(refused.value)
    layout = read_layout(path, salvage=True)
    assert layout.n_traces == complete
    assert layout.salvage is not None
    start, stop = layout.data_end, len(damaged)
    assert layout.salvage["dropped"] == [{"start": start, "stop": stop, "bytes": stop - start}]
    assert layout.salvage["complete_traces"] == complete
    assert len(layout.warnings) >= 1 and f"dropped bytes {start}-{stop}" in layout.warnings[0]
    full_records = numpy_records(tmp_path / "full.sgy", full)
    kept = numpy_records(path, layout)
    for whole, part in zip(full_records, kept, strict=True):
        np.testing.assert_array_equal(part, whole[:complete])  # nothing invented


def test_salvage_reports_traces_the_rev2_header_announced(tmp_path: Path) -> None:
    data = rev2_segy(Rev2Spec(extra=1, n_traces=6, seed=41)).data
    path = _write(tmp_path, data[:-1000])
    layout = read_layout(path, salvage=True)
    assert layout.salvage is not None and layout.salvage["traces_announced"] == 6
    assert layout.salvage["traces_missing"] == 6 - layout.n_traces
    assert any("announces 6 traces" in w for w in layout.warnings)


@pytest.mark.parametrize("size", [3600, 3600 + 100, 3600 + 439])
def test_salvage_refuses_a_file_without_a_complete_trace(tmp_path: Path, size: int) -> None:
    path = _write(tmp_path, valid_segy()[:size])
    with pytest.raises(SegyFormatError, match="holds no complete trace"):
        read_layout(path, salvage=True)


def test_salvage_of_an_intact_file_changes_nothing(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(extra=1, trailer=1, seed=42))
    path = _write(tmp_path, built.data)
    layout = read_layout(path, salvage=True)
    check_holds(path, built, layout)
    assert layout.salvage is None and not layout.warnings


@pytest.mark.parametrize("cut", [1, 30, 250])
def test_a_truncated_variable_length_file_salvages_its_complete_traces(
    tmp_path: Path, cut: int
) -> None:
    spec = Rev2Spec(n_traces=5, n_samples=20, lengths=(20, 7, 13, 20, 9), extra=1, seed=74)
    built = rev2_segy(spec)
    full = read_layout(_write(tmp_path, built.data, "full.sgy"))
    path = _write(tmp_path, built.data[:-cut])
    with pytest.raises(SegyFormatError, match="its 4 complete traces of varying length"):
        read_layout(path)
    layout = read_layout(path, salvage=True)
    assert layout.trace_samples.tolist() == [20, 7, 13, 20]
    end = int(full.trace_offsets[4])
    assert layout.data_end == end
    assert layout.salvage is not None
    assert layout.salvage["dropped"] == [{"start": end, "stop": len(built.data) - cut,
                                          "bytes": len(built.data) - cut - end}]  # fmt: skip
