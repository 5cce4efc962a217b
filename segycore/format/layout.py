"""Reading a SEG-Y file's structure: textual, binary and extended headers, byte order, sizes.

:func:`read_layout` validates everything a reader needs before any trace is touched, so
bad input fails at once with one message naming the problem and nothing is written.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from ..errors import SegyFormatError
from .spec import (
    BINARY_FIELDS,
    BINARY_HEADER_SIZE,
    BYTE_ORDER_CONSTANT,
    SAMPLE_FORMATS,
    TEXTUAL_HEADER_SIZE,
    TRACE_FIELDS,
    TRACE_HEADER_SIZE,
    BinaryField,
    SampleFormat,
    TraceField,
)

__all__ = [
    "Endian",
    "SegyLayout",
    "binary_header_dtype",
    "decode_binary_header",
    "decode_textual_header",
    "encode_textual_header",
    "read_layout",
    "read_trace_headers",
    "trace_header_dtype",
]

Endian = Literal["big", "little"]
FILE_HEADER_SIZE = TEXTUAL_HEADER_SIZE + BINARY_HEADER_SIZE
END_TEXT_STANZA = "((SEG: EndText))"
#: A -1 extended-header count means "read until EndText"; stop looking after this many.
MAX_EXTENDED_HEADERS = 10_000
EBCDIC_CODEC = "cp037"


def _fields_dtype(
    fields: Sequence[BinaryField | TraceField], size: int, endian: Endian
) -> np.dtype:
    """A structured dtype naming every field of a header of ``size`` bytes."""
    order = ">" if endian == "big" else "<"
    return np.dtype(
        {
            "names": [f.name for f in fields],
            "formats": [f.dtype.newbyteorder(order) for f in fields],
            "offsets": [f.offset for f in fields],
            "itemsize": size,
        }
    )


def binary_header_dtype(endian: Endian) -> np.dtype:
    """A structured dtype over the 400-byte binary header with every named field."""
    return _fields_dtype(BINARY_FIELDS, BINARY_HEADER_SIZE, endian)


def trace_header_dtype(endian: Endian) -> np.dtype:
    """A structured dtype over one 240-byte trace header with every standard field."""
    return _fields_dtype(TRACE_FIELDS, TRACE_HEADER_SIZE, endian)


def decode_binary_header(raw: bytes, endian: Endian) -> dict[str, int | float]:
    """Decode every binary header field of revisions 0, 1 and 2 to Python numbers."""
    record = np.frombuffer(raw, dtype=binary_header_dtype(endian), count=1)[0]
    return {name: record[name].item() for name in record.dtype.names}


def decode_textual_header(raw: bytes) -> tuple[str, str]:
    """Decode a 3200-byte textual header; return ``(text, encoding)``.

    The encoding is ``"ebcdic"`` or ``"ascii"``, chosen by which decoding yields more
    printable text (EBCDIC letters and spaces live in 0x40-0xF9, ASCII's below 0x7F).
    The text is split into 80-character card images joined by newlines.
    """
    ebcdic = codecs.decode(raw, EBCDIC_CODEC)
    ascii_text = raw.decode("latin-1")

    def printable(text: str) -> int:
        return sum(ch.isprintable() and ord(ch) < 0x7F for ch in text)

    if printable(ebcdic) > printable(ascii_text):
        text, encoding = ebcdic, "ebcdic"
    else:
        text, encoding = ascii_text, "ascii"
    lines = [text[i : i + 80].rstrip("\x00 ") for i in range(0, len(text), 80)]
    return "\n".join(lines), encoding


def encode_textual_header(text: str, encoding: str) -> bytes:
    """Encode text as a 3200-byte textual header: 40 lines of 80 characters, space padded."""
    lines = text.splitlines()[:40]
    card = "".join(line[:80].ljust(80) for line in lines).ljust(TEXTUAL_HEADER_SIZE)
    if encoding == "ebcdic":
        return codecs.encode(card, EBCDIC_CODEC, errors="replace")
    return card.encode("ascii", errors="replace")


@dataclass(frozen=True)
class SegyLayout:
    """Everything needed to read a SEG-Y file's traces, validated against its size."""

    path: Path
    file_size: int
    endian: Endian
    endian_source: str  # "constant", "detected" or "override"
    textual_header: bytes
    textual_encoding: str
    extended_textual_headers: tuple[bytes, ...]
    binary_header: bytes
    binary: dict[str, int | float] = field(repr=False)
    revision: str
    format: SampleFormat
    n_samples: int
    sample_interval: float  # microseconds (or the unit of the survey's domain)
    data_offset: int
    n_traces: int

    @property
    def trace_size(self) -> int:
        """Bytes per trace record: 240-byte header plus samples."""
        return TRACE_HEADER_SIZE + self.n_samples * self.format.itemsize

    @property
    def little_endian(self) -> bool:
        return self.endian == "little"

    @property
    def file_header(self) -> bytes:
        """Textual, binary and extended textual headers: the bytes before the first trace."""
        return self.textual_header + self.binary_header + b"".join(self.extended_textual_headers)


def _plausibility(binary: dict[str, int | float], data_bytes: int) -> int:
    """Score how plausible a binary header decoding is (higher is better)."""
    score = 0
    if binary["format_code"] in SAMPLE_FORMATS:
        score += 4
    n_samples = int(binary["samples_per_trace"])
    if 0 < n_samples <= 50_000:
        score += 1
        fmt = SAMPLE_FORMATS.get(int(binary["format_code"]))
        if fmt is not None and data_bytes % (TRACE_HEADER_SIZE + n_samples * fmt.itemsize) == 0:
            score += 2
    if 0 < binary["sample_interval"] <= 100_000:
        score += 1
    if 0 <= binary["extended_textual_headers"] <= 100 or binary["extended_textual_headers"] == -1:
        score += 1
    return score


def _detect_endian(raw_binary: bytes, data_bytes: int) -> tuple[Endian, str]:
    for endian in ("big", "little"):
        constant = int.from_bytes(raw_binary[96:100], endian)
        if constant == BYTE_ORDER_CONSTANT:
            return endian, "constant"
    big = _plausibility(decode_binary_header(raw_binary, "big"), data_bytes)
    little = _plausibility(decode_binary_header(raw_binary, "little"), data_bytes)
    return ("little" if little > big else "big"), "detected"


def _read_extended_headers(fh, count: int, file_size: int) -> tuple[bytes, ...]:
    """Read ``count`` 3200-byte extended textual headers (-1: up to the EndText stanza)."""
    headers: list[bytes] = []
    limit = MAX_EXTENDED_HEADERS if count == -1 else count
    if count < -1:
        raise SegyFormatError(
            f"binary header (bytes 3505-3506) gives an impossible number of extended "
            f"textual headers: {count}"
        )
    end_of_headers = FILE_HEADER_SIZE + TEXTUAL_HEADER_SIZE * count
    if count > 0 and end_of_headers > file_size:
        raise SegyFormatError(
            f"binary header (bytes 3505-3506) announces {count} extended textual headers "
            f"({TEXTUAL_HEADER_SIZE * count} bytes) but the file ends at byte {file_size}"
        )
    for _ in range(limit):
        block = fh.read(TEXTUAL_HEADER_SIZE)
        if len(block) < TEXTUAL_HEADER_SIZE:
            raise SegyFormatError(
                "the extended textual headers run past the end of the file "
                "(no ((SEG: EndText)) stanza found)"
            )
        headers.append(block)
        if count == -1 and END_TEXT_STANZA in decode_textual_header(block)[0]:
            break
    return tuple(headers)


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` read-only, refusing anything but a regular file.

    ``O_NONBLOCK`` keeps a FIFO (or a device) from blocking the open forever; it has no
    effect on regular files.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device or special file"
            raise SegyFormatError(f"{path} is not a regular file ({kind}), not a SEG-Y file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _revision(binary: dict[str, int | float]) -> str:
    return f"{binary['revision_major']}.{binary['revision_minor']}"


def read_layout(path: str | os.PathLike[str], endian: Endian | None = None) -> SegyLayout:
    """Read and validate a SEG-Y file's structure.

    Parameters
    ----------
    path
        The SEG-Y file; opened read-only.
    endian
        ``"big"`` or ``"little"`` to override detection. Detection uses the rev 2
        byte-order constant where present, else the plausibility of format code, sample
        count and file size.

    Raises
    ------
    SegyFormatError
        When the file is not SEG-Y, is truncated, or its sizes are impossible.
    OSError
        When the path cannot be opened (missing, a directory, unreadable).
    """
    path = Path(path)
    if path.is_dir():
        raise SegyFormatError(f"{path} is a directory, not a SEG-Y file")
    if endian not in (None, "big", "little"):
        raise ValueError(f"byte order must be 'big' or 'little', not {endian!r}")
    with _open_regular(path) as fh:
        file_size = os.fstat(fh.fileno()).st_size
        if file_size < FILE_HEADER_SIZE:
            raise SegyFormatError(
                f"{path.name} is not a SEG-Y file: it has {file_size} bytes, fewer than the "
                f"{FILE_HEADER_SIZE}-byte textual and binary file header"
            )
        textual = fh.read(TEXTUAL_HEADER_SIZE)
        raw_binary = fh.read(BINARY_HEADER_SIZE)
        if endian is None:
            endian, endian_source = _detect_endian(raw_binary, file_size - FILE_HEADER_SIZE)
        else:
            endian_source = "override"
        binary = decode_binary_header(raw_binary, endian)
        fmt_code = int(binary["format_code"])
        if fmt_code not in SAMPLE_FORMATS:
            raise SegyFormatError(
                f"{path.name}: unknown sample format code {fmt_code} in the binary header "
                f"(bytes 3225-3226, read {endian}-endian); is this a SEG-Y file?"
            )
        fmt = SAMPLE_FORMATS[fmt_code]
        if not fmt.supported:
            raise SegyFormatError(
                f"{path.name}: sample format {fmt_code} ({fmt.name}) is not supported: it "
                "was withdrawn in SEG-Y rev 1 and files using it do not agree on its layout"
            )
        rev2 = int(binary["revision_major"]) >= 2
        if rev2 and int(binary["max_additional_trace_headers"]) > 0:
            raise SegyFormatError(
                f"{path.name}: additional 240-byte trace headers (rev 2, bytes 3507-3510) "
                "are not supported"
            )
        if rev2 and int(binary["trailer_stanzas"]) != 0:
            raise SegyFormatError(
                f"{path.name}: trailer stanzas (rev 2, bytes 3529-3532) are not supported"
            )
        extended = _read_extended_headers(fh, int(binary["extended_textual_headers"]), file_size)
        data_offset = FILE_HEADER_SIZE + TEXTUAL_HEADER_SIZE * len(extended)
        first_trace = fh.read(TRACE_HEADER_SIZE)

    n_samples = int(binary["samples_per_trace"])
    samples_from = "binary header bytes 3221-3222"
    if rev2 and int(binary["ext_samples_per_trace"]) > 0:
        n_samples = int(binary["ext_samples_per_trace"])
        samples_from = "binary header bytes 3269-3272"
    if n_samples == 0 and len(first_trace) == TRACE_HEADER_SIZE:
        n_samples = int(np.frombuffer(first_trace, trace_header_dtype(endian), 1)[0]["n_samples"])
        samples_from = "first trace header bytes 115-116"
    if n_samples <= 0:
        in_trace = (
            f"{n_samples} in the first trace header (bytes 115-116)"
            if len(first_trace) == TRACE_HEADER_SIZE
            else "the file ends before the first trace header"
        )
        raise SegyFormatError(
            f"{path.name}: the number of samples per trace is 0 in the binary header "
            f"(bytes 3221-3222) and {in_trace}"
        )
    interval = float(binary["sample_interval"])
    if rev2 and float(binary["ext_sample_interval"]) > 0:
        interval = float(binary["ext_sample_interval"])
    if interval == 0 and len(first_trace) == TRACE_HEADER_SIZE:
        interval = float(
            np.frombuffer(first_trace, trace_header_dtype(endian), 1)[0]["sample_interval"]
        )

    trace_size = TRACE_HEADER_SIZE + n_samples * fmt.itemsize
    data_bytes = file_size - data_offset
    n_traces, leftover = divmod(data_bytes, trace_size)
    if n_traces == 0:
        raise SegyFormatError(
            f"{path.name} holds no complete trace: {data_bytes} bytes after the file headers, "
            f"but one trace of {n_samples} samples in format {fmt_code} takes {trace_size} "
            f"bytes (samples per trace from {samples_from}, format from bytes 3225-3226)"
        )
    if leftover:
        raise SegyFormatError(
            f"{path.name} is truncated or has traces of varying length: {data_bytes} bytes of "
            f"trace data are not a whole number of {trace_size}-byte traces ({n_traces} whole "
            f"traces, then {leftover} bytes from byte offset {data_offset + n_traces * trace_size})"
        )
    textual_text, encoding = decode_textual_header(textual)
    del textual_text
    return SegyLayout(
        path=path,
        file_size=file_size,
        endian=endian,
        endian_source=endian_source,
        textual_header=textual,
        textual_encoding=encoding,
        extended_textual_headers=extended,
        binary_header=raw_binary,
        binary=binary,
        revision=_revision(binary),
        format=fmt,
        n_samples=n_samples,
        sample_interval=interval,
        data_offset=data_offset,
        n_traces=n_traces,
    )


def read_trace_headers(layout: SegyLayout, start: int = 0, count: int | None = None) -> np.ndarray:
    """Raw 240-byte headers of traces ``start`` to ``start + count``, shape ``(n, 240)``.

    For previews (``info``, the import dialog): reads only the header bytes, through a
    strided view of a read-only memory map.
    """
    stop = layout.n_traces if count is None else min(layout.n_traces, start + count)
    if not 0 <= start <= stop:
        raise ValueError(f"trace range {start}:{stop} outside 0:{layout.n_traces}")
    n = stop - start
    out = np.empty((n, TRACE_HEADER_SIZE), dtype=np.uint8)
    if n == 0:
        return out
    with open(layout.path, "rb") as fh:
        data = np.memmap(
            fh,
            dtype=np.uint8,
            mode="r",
            offset=layout.data_offset,
            shape=(layout.n_traces, layout.trace_size),
        )
        out[:] = data[start:stop, :TRACE_HEADER_SIZE]
        del data
    return out
