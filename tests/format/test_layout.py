"""Reading SEG-Y structure: byte order, sizes, textual headers, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import segyio

from segycore.errors import SegyFormatError
from segycore.format.layout import decode_textual_header, encode_textual_header, read_layout
from tests.helpers import VALID, is_little, segy_data


@pytest.mark.parametrize("name", VALID)
def test_layout_agrees_with_segyio(name: str) -> None:
    path = segy_data(name)
    layout = read_layout(path)
    assert layout.endian == ("little" if is_little(name) else "big")
    endian = "little" if is_little(name) else "big"
    fmt = layout.format.code
    ignore = {"ignore_geometry": True, "endian": endian}
    if fmt in (7, 15):  # segyio cannot open these; the F3 subset has 414 x 75
        assert (layout.n_traces, layout.n_samples) == (414, 75)
        return
    with segyio.open(path, **ignore) as f:
        assert layout.n_traces == f.tracecount
        assert layout.n_samples == len(f.samples)
        assert layout.format.code == f.bin[segyio.BinField.Format]
        assert len(layout.extended_textual_headers) == f.ext_headers


def test_endian_override_wins() -> None:
    path = segy_data("small.sgy")
    with pytest.raises(SegyFormatError, match="unknown sample format code 256"):
        read_layout(path, endian="little")


def test_long_file_with_60000_samples_is_valid() -> None:
    # The shared README says long.sgy does not hold its 60,000 samples; it does:
    # 3600 + 3 * (240 + 60000 * 4) bytes exactly, and segyio reads all three traces.
    layout = read_layout(segy_data("long.sgy"))
    assert (layout.n_traces, layout.n_samples) == (3, 60000)
    assert layout.file_size == 3600 + 3 * (240 + 60000 * 4)


def test_broken_file_is_refused_with_the_offset() -> None:
    with pytest.raises(SegyFormatError, match=r"truncated.*3 whole traces.*byte offset 10768"):
        read_layout(segy_data("broken.sgy"))


@pytest.mark.parametrize("order", ["msb", "lsb"])
def test_format_4_is_refused_clearly(order: str) -> None:
    with pytest.raises(SegyFormatError, match="sample format 4 .* not supported"):
        read_layout(segy_data(f"multiformats/Format4{order}.sgy"))


def test_multi_text_extended_headers() -> None:
    layout = read_layout(segy_data("multi-text.sgy"))
    assert len(layout.extended_textual_headers) == 4
    assert layout.data_offset == 3600 + 4 * 3200


def test_textual_header_round_trip_both_encodings() -> None:
    text = "C 1 CLIENT SEGYCORE\nC 2 LINE 7"
    for encoding in ("ebcdic", "ascii"):
        raw = encode_textual_header(text, encoding)
        assert len(raw) == 3200
        decoded, detected = decode_textual_header(raw)
        assert detected == encoding
        assert decoded.splitlines()[:2] == text.splitlines()


def test_not_segy_and_short_files(tmp_path: Path) -> None:
    short = tmp_path / "short.sgy"
    short.write_bytes(b"\x00" * 100)
    with pytest.raises(SegyFormatError, match="fewer than the 3600-byte"):
        read_layout(short)
    with pytest.raises(SegyFormatError, match="is a directory"):
        read_layout(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_layout(tmp_path / "missing.sgy")
