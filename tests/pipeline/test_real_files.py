"""Rev 2 structure, liberal readings, overrides and salvage through import and export.

Every file is built byte by byte (:mod:`tests.format.rev2_files`,
:mod:`tests.reliability.malformed`); the dataset is compared with the values the
builder wrote, and the export with the source file, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from segycore import ExportConfig, ImportConfig, ParallelExportCoordinator, open_dataset
from segycore.errors import SegyError, SegyFormatError
from segycore.format.layout import read_layout
from segycore.format.reference import float32_to_ibm_reference, ibm_to_float32_reference
from segycore.pipeline.importer import ParallelImportCoordinator
from tests.format.rev2_files import Rev2Spec, rev2_segy
from tests.helpers import assert_no_staging
from tests.reliability.malformed import LIBERAL, SegySpec, put, valid_segy
from tests.reliability.support import assert_one_error_line, run_cli

SPECS = [
    Rev2Spec(extra=1, seed=1),
    Rev2Spec(extra=2, minor=1, endian="little", format_code=3, seed=2),
    Rev2Spec(extra=3, trailer=2, extended=2, gap=77, format_code=1, seed=3),
    Rev2Spec(extra=1, trailer=1, trailer_field=-1, endian="little", format_code=6, seed=4),
    Rev2Spec(extended=2, extended_field=-1, end_text="((  seg: endTEXt  ))", seed=5),
    Rev2Spec(n_traces=40, extra=2, format_code=8, seed=6),
]


def import_export(
    tmp_path: Path, data: bytes, workers: int = 2, segments: bool = False, **options: object
) -> tuple[Path, Path, Path]:
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "source.sgy"
    source.write_bytes(data)
    dataset = tmp_path / "out.dataset"
    ParallelImportCoordinator(
        ImportConfig(source, dataset, workers=workers, chunk_bytes=700, **options)  # type: ignore[arg-type]
    ).run()
    back = tmp_path / "back.sgy"
    ParallelExportCoordinator(
        ExportConfig(dataset, back, workers=workers, chunk_bytes=900, segments=segments)
    ).run()
    assert_no_staging(tmp_path)
    return source, dataset, back


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: str(s.seed))
@pytest.mark.parametrize("segments", [False, True])
def test_rev2_file_imports_exactly_and_exports_byte_for_byte(
    tmp_path: Path, spec: Rev2Spec, segments: bool
) -> None:
    built = rev2_segy(spec)
    source, dataset, back = import_export(tmp_path, built.data, workers=3, segments=segments)
    ds = open_dataset(dataset)
    np.testing.assert_array_equal(np.asarray(ds.traces), built.samples)
    raw = b"".join(ds.headers(["raw_header"]).column("raw_header").to_pylist())
    assert raw == built.headers.tobytes()
    if spec.extra:
        extra = np.load(dataset / "extra_headers.npy")  # plain numpy, no segycore
        np.testing.assert_array_equal(extra, built.extra_headers)
        ext1 = pq.read_table(dataset / "extension1.parquet")
        n = spec.n_traces
        assert ext1.column("ext1_trace_sequence_line").to_pylist() == [
            10_000_000_000 + t for t in range(n)
        ]
        assert ext1.column("ext1_cdp").to_pylist() == [2**33 + t for t in range(n)]
        assert ext1.column("ext1_source_x").to_pylist() == [1.5e6 + t for t in range(n)]
        assert ext1.column("ext1_n_samples").to_pylist() == [spec.n_samples] * n
    else:
        assert not (dataset / "extra_headers.npy").exists()
        assert not (dataset / "extension1.parquet").exists()
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["reading"]["additional_trace_headers"] == spec.extra
    assert back.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("case", LIBERAL, ids=lambda c: c.name)
def test_liberal_readings_import_and_round_trip(tmp_path: Path, case) -> None:
    source, dataset, back = import_export(tmp_path, case.data)
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["reading"]["decisions"], "the decision is recorded in metadata.json"
    assert open_dataset(dataset).n_traces == case.spec.n_traces
    assert back.read_bytes() == source.read_bytes()


def test_format_override_round_trips_to_the_source(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(format_code=5, extra=1, seed=20))
    data = bytearray(built.data)
    put(data, 3225, 2, 2, "big")  # the file says int32; its samples are IEEE floats
    source, dataset, back = import_export(tmp_path, bytes(data), format_code=5)
    np.testing.assert_array_equal(np.asarray(open_dataset(dataset).traces), built.samples)
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["reading"]["overrides"]["format"] == {"read": 2, "used": 5}
    assert back.read_bytes() == source.read_bytes()


def test_samples_override_round_trips_and_a_wrong_one_writes_nothing(tmp_path: Path) -> None:
    data = bytearray(valid_segy(SegySpec(n_traces=6, n_samples=50, format_code=3)))
    put(data, 3221, 0, 2, "big", "u")
    for t in range(6):
        put(data, 3600 + t * 340 + 115, 0, 2, "big")
    with pytest.raises(SegyError, match="does not fit"):
        import_export(tmp_path, bytes(data), samples=49)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.sgy"]
    source, dataset, back = import_export(tmp_path, bytes(data), samples=50)
    assert open_dataset(dataset).n_samples == 50
    assert back.read_bytes() == source.read_bytes()


def test_salvage_imports_every_complete_trace(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(n_traces=9, extra=2, seed=30))
    trace = (3 * 240) + built.spec.n_samples * 4
    damaged = built.data[: len(built.data) - trace - 100]  # cut inside the 8th trace
    with pytest.raises(SegyFormatError, match="--salvage"):
        import_export(tmp_path, damaged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.sgy"]
    _, dataset, back = import_export(tmp_path, damaged, salvage=True)
    ds = open_dataset(dataset)
    assert ds.n_traces == 7
    np.testing.assert_array_equal(np.asarray(ds.traces), built.samples[:7])
    meta = json.loads((dataset / "metadata.json").read_text())
    end = built.data_offset + 7 * trace
    assert meta["salvage"]["dropped"] == [
        {"start": end, "stop": len(damaged), "bytes": len(damaged) - end}
    ]
    assert meta["salvage"]["traces_missing"] == 2
    assert back.read_bytes() == damaged[:end]  # the complete traces, nothing invented


# -- the command line --------------------------------------------------------------------
def test_cli_salvage_warns_per_problem_and_exits_0(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(n_traces=9, extra=1, seed=50))
    source = tmp_path / "cut.sgy"
    source.write_bytes(built.data[:-300])
    refused = run_cli("import", source, tmp_path / "a.dataset")
    assert_one_error_line(refused, "truncated", "--salvage imports the 8 complete traces")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.sgy"]
    done = run_cli("import", source, tmp_path / "a.dataset", "--salvage", "--quiet")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("warning: ") for line in lines), lines
    assert "dropped bytes" in lines[0] and "announces 9 traces" in lines[1]
    meta = json.loads((tmp_path / "a.dataset" / "metadata.json").read_text())
    assert meta["salvage"]["complete_traces"] == 8
    info = run_cli("info", tmp_path / "a.dataset")
    assert info.returncode == 0 and "warning         dropped bytes" in info.stdout


def test_cli_overrides_are_recorded_and_checked(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(format_code=5, seed=51))
    data = bytearray(built.data)
    put(data, 3225, 2, 2, "big")
    source = tmp_path / "mislabelled.sgy"
    source.write_bytes(bytes(data))
    wrong = run_cli("import", source, tmp_path / "x.dataset", "--samples", "18")
    assert_one_error_line(wrong, "override (samples 18) does not fit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mislabelled.sgy"]
    args = ("--format", "5", "--textual-encoding", "ebcdic", "--quiet")
    done = run_cli("import", source, tmp_path / "x.dataset", *args)
    assert done.returncode == 0 and not done.stderr, done.stderr
    meta = json.loads((tmp_path / "x.dataset" / "metadata.json").read_text())
    assert meta["reading"]["overrides"]["format"] == {"read": 2, "used": 5}
    assert meta["reading"]["overrides"]["textual_encoding"] == {"read": "ebcdic", "used": "ebcdic"}
    back = tmp_path / "back.sgy"
    assert run_cli("export", tmp_path / "x.dataset", back, "--quiet").returncode == 0
    assert back.read_bytes() == source.read_bytes()
    shown = run_cli("info", source, "--format", "5")
    assert "override        format: read 2, used 5" in shown.stdout


# -- byte-exact IBM ----------------------------------------------------------------------
def mixed_ibm(spec: SegySpec) -> bytes:
    """A valid IBM file whose traces are normalised, except every third: random words
    (unnormalised fractions, zeros with exponents, values beyond float32's range)."""
    data = bytearray(valid_segy(spec))
    rng = np.random.default_rng(spec.seed)
    shape = (spec.n_traces, spec.n_samples)
    words = (
        (rng.integers(0, 2, shape, dtype=np.uint32) << 31)
        | (rng.integers(34, 97, shape, dtype=np.uint32) << 24)
        | rng.integers(0x100000, 0x1000000, shape, dtype=np.uint32)
    )
    words[::3] = rng.integers(0, 2**32, (len(words[::3]), spec.n_samples), dtype=np.uint64)
    raw = words.astype(">u4" if spec.endian == "big" else "<u4").view(np.uint8)
    size = 240 + 4 * spec.n_samples
    for t in range(spec.n_traces):
        start = 3600 + t * size + 240
        data[start : start + 4 * spec.n_samples] = raw[t].tobytes()
    return bytes(data)


@pytest.mark.parametrize("endian", ["big", "little"])
@pytest.mark.parametrize("segments", [False, True])
def test_unnormalised_ibm_round_trips_byte_for_byte(
    tmp_path: Path, endian: str, segments: bool
) -> None:
    data = mixed_ibm(SegySpec(n_traces=30, n_samples=7, format_code=1, endian=endian, seed=9))
    source, dataset, back = import_export(tmp_path, data, workers=3, segments=segments)
    words = np.frombuffer(data, np.uint8)[3600:].reshape(30, 240 + 28)[:, 240:]
    words = np.ascontiguousarray(words).view(">u4" if endian == "big" else "<u4")
    again, _ = float32_to_ibm_reference(ibm_to_float32_reference(words.astype(np.uint32)))
    inexact = np.flatnonzero((again != words).any(axis=1))
    assert 0 < len(inexact) < 30
    assert np.load(dataset / "ibm_raw" / "traces.npy").tolist() == inexact.tolist()
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["ibm_raw_traces"] == len(inexact)
    assert back.read_bytes() == source.read_bytes()


def test_an_edited_ibm_trace_is_encoded_from_its_new_values(tmp_path: Path) -> None:
    data = mixed_ibm(SegySpec(n_traces=12, n_samples=5, format_code=1, seed=10))
    source, dataset, back = import_export(tmp_path, data)
    kept = np.load(dataset / "ibm_raw" / "traces.npy")
    edited = int(kept[0])
    traces = np.load(dataset / "traces.npy", mmap_mode="r+")
    traces[edited] = np.arange(5, dtype=np.float32)
    traces.flush()
    del traces
    back.unlink()
    ParallelExportCoordinator(ExportConfig(dataset, back, workers=2)).run()
    out = np.frombuffer(back.read_bytes(), np.uint8)[3600:].reshape(12, -1)
    src = np.frombuffer(source.read_bytes(), np.uint8)[3600:].reshape(12, -1)
    assert not np.array_equal(out[edited], src[edited])
    words = np.ascontiguousarray(out[edited, 240:]).view(">u4").astype(np.uint32)
    assert ibm_to_float32_reference(words).tolist() == [0, 1, 2, 3, 4]
    others = [t for t in range(12) if t != edited]
    np.testing.assert_array_equal(out[others], src[others])


def test_cli_info_shows_the_decisions_of_a_liberal_reading(tmp_path: Path) -> None:
    case = next(c for c in LIBERAL if c.name == "junk-revision-word-and-additional-headers")
    source = tmp_path / "junk.sgy"
    source.write_bytes(case.data)
    shown = run_cli("info", source)
    assert shown.returncode == 0, shown.stderr
    assert "decision        revision word 0x2425" in shown.stdout
    data = json.loads(run_cli("info", source, "--json").stdout)
    assert data["revision"] == "unknown" and data["reading"]["decisions"]


def test_textual_encoding_override_decodes_the_text_as_told(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(seed=60))  # an EBCDIC textual header
    _, dataset, _ = import_export(tmp_path, built.data, textual_encoding="ascii")
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["textual_encoding"] == "ascii"
    first_line = built.data[:80].decode("latin-1").rstrip("\x00 ")
    assert meta["textual_header"].splitlines()[0] == first_line
    assert not meta["textual_header"].startswith("C 1 SEGYCORE")


def test_a_byte_order_change_of_additional_headers_is_refused(tmp_path: Path) -> None:
    built = rev2_segy(Rev2Spec(extra=1, seed=61))
    _, dataset, _ = import_export(tmp_path, built.data)
    with pytest.raises(SegyError, match="cannot be converted to little-endian"):
        ParallelExportCoordinator(ExportConfig(dataset, tmp_path / "le.sgy", endian="little"))
    assert not (tmp_path / "le.sgy").exists()


VARIABLE = [
    Rev2Spec(n_traces=6, n_samples=20, lengths=(20, 7, 13, 20, 1, 5), seed=80),
    Rev2Spec(n_traces=5, n_samples=9, lengths=(3, 9, 5, 9, 2), extra=1, endian="little", seed=81),
    Rev2Spec(n_traces=4, n_samples=30, lengths=(30, 2, 17, 9), extra=2, trailer=1, seed=82),
    Rev2Spec(n_traces=5, n_samples=11, lengths=(11, 4, 4, 6, 1), format_code=1, seed=83),
]


@pytest.mark.parametrize("spec", VARIABLE, ids=lambda s: str(s.seed))
@pytest.mark.parametrize("segments", [False, True])
def test_variable_length_traces_import_padded_and_export_at_their_lengths(
    tmp_path: Path, spec: Rev2Spec, segments: bool
) -> None:
    built = rev2_segy(spec)
    source, dataset, back = import_export(tmp_path, built.data, workers=3, segments=segments)
    ds = open_dataset(dataset)
    np.testing.assert_array_equal(np.asarray(ds.traces), built.samples)  # zero-padded
    assert np.load(dataset / "trace_samples.npy").tolist() == list(spec.lengths)
    assert ds.headers(["n_samples"]).column("n_samples").to_pylist() == list(spec.lengths)
    if spec.extra:
        np.testing.assert_array_equal(np.load(dataset / "extra_headers.npy"), built.extra_headers)
    meta = json.loads((dataset / "metadata.json").read_text())
    assert meta["reading"]["variable_length"] is True
    assert back.read_bytes() == source.read_bytes()


def test_variable_length_unnormalised_ibm_round_trips(tmp_path: Path) -> None:
    spec = Rev2Spec(n_traces=4, n_samples=8, lengths=(8, 3, 5, 8), format_code=1, seed=84)
    data = bytearray(rev2_segy(spec).data)
    source = tmp_path / "probe.sgy"
    source.write_bytes(bytes(data))
    offsets = read_layout(source).trace_offsets
    for trace, word in ((1, 0x4100_0123), (3, 0x4200_0000)):  # unnormalised, zero + exponent
        at = int(offsets[trace]) + 240 + 4
        data[at : at + 4] = word.to_bytes(4, "big")
    source, dataset, back = import_export(tmp_path / "run", bytes(data))
    assert np.load(dataset / "ibm_raw" / "traces.npy").tolist() == [1, 3]
    assert back.read_bytes() == source.read_bytes()
