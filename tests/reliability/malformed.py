"""Malformed SEG-Y for the reliability tests: valid files built byte by byte, then broken.

:func:`valid_segy` writes a small SEG-Y file with plain ``struct`` at the standard's byte
positions (not with segycore's own header tables, so a mistake there cannot hide here).
:data:`CASES` breaks such files in every region - textual header, binary header,
extended headers, first trace header, samples - and adds files that are not SEG-Y at
all and paths that are not files. Each case names the message fragments a user must
see, so the tests check that the message names the problem (and where, where it helps).
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "BINARY_SIZE",
    "CASES",
    "FILE_HEADER_SIZE",
    "LIBERAL",
    "TEXTUAL_SIZE",
    "TRACE_HEADER_SIZE",
    "Case",
    "LiberalCase",
    "SegySpec",
    "case_named",
    "put",
    "trace_size",
    "valid_segy",
]

TEXTUAL_SIZE = 3200
BINARY_SIZE = 400
FILE_HEADER_SIZE = TEXTUAL_SIZE + BINARY_SIZE
TRACE_HEADER_SIZE = 240
#: Bytes per sample of every format code SEG-Y defines.
ITEMSIZE = {1: 4, 2: 4, 3: 2, 4: 4, 5: 4, 6: 8, 7: 3, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 15: 3, 16: 1}
_INT = {1: "b", 2: "h", 4: "i", 8: "q"}
_UINT = {1: "B", 2: "H", 4: "I", 8: "Q"}


def put(
    data: bytearray, byte: int, value: int | float, width: int, endian: str, kind: str = "i"
) -> None:
    """Write ``value`` at the 1-based SEG-Y byte position ``byte`` (``kind``: i, u or f)."""
    code = {"i": _INT, "u": _UINT, "f": {4: "f", 8: "d"}}[kind][width]
    struct.pack_into((">" if endian == "big" else "<") + code, data, byte - 1, value)


@dataclass(frozen=True)
class SegySpec:
    """What :func:`valid_segy` writes."""

    n_traces: int = 6
    n_samples: int = 50
    format_code: int = 1
    endian: str = "big"
    revision: int = 1
    extended: int = 0  # extended textual headers (the last holds the EndText stanza)
    seed: int = 0


def trace_size(n_samples: int, format_code: int) -> int:
    """Bytes of one trace record."""
    return TRACE_HEADER_SIZE + n_samples * ITEMSIZE[format_code]


def _card(text: str) -> bytes:
    """One 3200-byte EBCDIC textual header holding ``text`` on its first line."""
    return codecs.encode(text.ljust(TEXTUAL_SIZE), "cp037")


def valid_segy(spec: SegySpec = SegySpec()) -> bytes:
    """A valid SEG-Y file: rev 0/1/2 header, ``spec.n_traces`` traces of random samples.

    Samples are random bytes (every bit pattern of the format may occur: the tests
    compare the import bit for bit with a reference decoding); field records change
    every three traces so ensembles exist.
    """
    rng = np.random.default_rng(spec.seed)
    e = spec.endian
    binary = bytearray(BINARY_SIZE)
    put(binary, 3213 - TEXTUAL_SIZE, 3, 2, e)  # traces per ensemble
    put(binary, 3217 - TEXTUAL_SIZE, 2000, 2, e, "u")  # sample interval, microseconds
    put(binary, 3221 - TEXTUAL_SIZE, spec.n_samples, 2, e, "u")
    put(binary, 3225 - TEXTUAL_SIZE, spec.format_code, 2, e)
    put(binary, 3501 - TEXTUAL_SIZE, spec.revision, 1, e, "u")
    put(binary, 3503 - TEXTUAL_SIZE, 1, 2, e)  # fixed-length traces
    put(binary, 3505 - TEXTUAL_SIZE, spec.extended, 2, e)
    if spec.revision >= 2:
        put(binary, 3297 - TEXTUAL_SIZE, 0x01020304, 4, e, "u")
    out = io.BytesIO()
    out.write(_card("C 1 SEGYCORE RELIABILITY TEST FILE"))
    out.write(bytes(binary))
    for i in range(spec.extended):
        last = i == spec.extended - 1
        out.write(_card("((SEG: EndText))" if last else f"C EXTENDED HEADER {i + 1}"))
    body = spec.n_samples * ITEMSIZE[spec.format_code]
    for t in range(spec.n_traces):
        header = bytearray(TRACE_HEADER_SIZE)
        put(header, 1, t + 1, 4, e)
        put(header, 5, t + 1, 4, e)
        put(header, 9, 1001 + t // 3, 4, e)
        put(header, 13, t % 3 + 1, 4, e)
        put(header, 21, t + 1, 4, e)
        put(header, 115, spec.n_samples, 2, e, "u")
        put(header, 117, 2000, 2, e, "u")
        out.write(bytes(header))
        out.write(rng.integers(0, 256, body, dtype=np.uint8).tobytes())
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    """One hostile input: how to make it in a folder and what the error must say.

    ``expect`` holds fragments the message must contain (case-insensitive).
    ``unprivileged`` marks a case that only fails for a process without DAC override
    (root reads a chmod 000 file).
    """

    name: str
    build: Callable[[Path], Path]
    expect: tuple[str, ...]
    unprivileged: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)


def _from_bytes(name: str, data: bytes, *expect: str) -> Case:
    def build(folder: Path) -> Path:
        path = folder / f"{name}.sgy"
        path.write_bytes(data)
        return path

    return Case(name, build, tuple(expect))


def _edited(
    name: str, edits: dict[int, tuple[int | float, int, str]], *expect: str, **spec: int | str
) -> Case:
    """A valid file with binary/trace header values replaced: ``{byte: (value, width, kind)}``."""
    s = SegySpec(**spec)  # type: ignore[arg-type]
    data = bytearray(valid_segy(s))
    for byte, (value, width, kind) in edits.items():
        put(data, byte, value, width, s.endian, kind)
    return _from_bytes(name, bytes(data), *expect)


def _cut(name: str, size: int, *expect: str, **spec: int | str) -> Case:
    return _from_bytes(name, valid_segy(SegySpec(**spec))[:size], *expect)  # type: ignore[arg-type]


def _zero_samples_header_only() -> bytes:
    data = bytearray(valid_segy()[: FILE_HEADER_SIZE + 100])
    put(data, 3221, 0, 2, "big", "u")
    return bytes(data)


def _directory(folder: Path) -> Path:
    path = folder / "a-folder.sgy"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "does-not-exist.sgy"


def _unreadable(folder: Path) -> Path:
    path = folder / "unreadable.sgy"
    path.write_bytes(valid_segy())
    path.chmod(0)
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.sgy"
    os.mkfifo(path)
    return path


def _symlink_loop(folder: Path) -> Path:
    path = folder / "loop.sgy"
    path.symlink_to(path.name)
    return path


def _dangling_symlink(folder: Path) -> Path:
    path = folder / "dangling.sgy"
    path.symlink_to("nowhere.sgy")
    return path


def _zip_of_segy() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("survey.sgy", valid_segy())
    return out.getvalue()


def _text_file() -> bytes:
    line = "This is a plain text file, not seismic data. " * 2
    return "\n".join(f"{i:4d} {line}" for i in range(200)).encode("ascii")


_TRACE = trace_size(SegySpec.n_samples, SegySpec.format_code)  # 440 bytes per default trace
_NO_TRACE = "holds no complete trace"
_TRUNCATED = "truncated or has traces of varying length"
_SHORT = "fewer than the 3600-byte"
_FORMAT = "unknown sample format code"

#: Every hostile input the reliability tests run, by region of the file.
CASES: tuple[Case, ...] = (
    # -- truncated in every region ----------------------------------------------------
    _from_bytes("empty", b"", "has 0 bytes", _SHORT),
    _cut("cut-in-textual-header", 1000, "has 1000 bytes", _SHORT),
    _cut("cut-in-binary-header", 3400, "has 3400 bytes", _SHORT),
    _cut(
        "cut-in-extended-header",
        FILE_HEADER_SIZE + 1000,
        "3 extended",
        "ends at byte 4600",
        extended=3,
    ),
    _cut("cut-in-first-trace-header", FILE_HEADER_SIZE + 100, _NO_TRACE, "100 bytes"),
    _cut("cut-in-first-trace-samples", FILE_HEADER_SIZE + 240 + 77, _NO_TRACE, "317 bytes"),
    _cut(
        "cut-in-later-samples",
        FILE_HEADER_SIZE + 3 * _TRACE + 300,
        _TRUNCATED,
        f"from byte offset {FILE_HEADER_SIZE + 3 * _TRACE}",
    ),
    _cut(
        "cut-in-later-trace-header",
        FILE_HEADER_SIZE + 4 * _TRACE + 10,
        _TRUNCATED,
        f"from byte offset {FILE_HEADER_SIZE + 4 * _TRACE}",
    ),
    # -- sizes that cannot be ---------------------------------------------------------
    _edited(
        "zero-samples",
        {3221: (0, 2, "u"), FILE_HEADER_SIZE + 115: (0, 2, "u")},
        "samples per trace is 0",
        "3221-3222",
        "0 in the first trace header",
    ),
    _from_bytes(
        "zero-samples-and-no-trace",
        _zero_samples_header_only(),
        "samples per trace is 0",
        "ends before the first trace header",
    ),
    _edited(
        "negative-samples-in-trace-header",
        {3221: (0, 2, "u"), FILE_HEADER_SIZE + 115: (-7, 2, "i")},
        "samples per trace is 0",
        "-7 in the first trace header",
    ),
    # (binary and trace header agree on a count the size cannot hold: no reading fits)
    _edited(
        "too-many-samples",
        {3221: (65535, 2, "u"), FILE_HEADER_SIZE + 115: (30000, 2, "i")},
        _NO_TRACE,
        "65535 samples",
    ),
    _edited(
        "rev2-huge-extended-samples",
        {3269: (2**31 - 1, 4, "i"), 3221: (77, 2, "u"), FILE_HEADER_SIZE + 115: (77, 2, "i")},
        _NO_TRACE,
        f"{2**31 - 1} samples",
        "3269-3272",
        revision=2,
    ),
    _edited(
        "samples-disagree-with-size",
        {3221: (77, 2, "u"), FILE_HEADER_SIZE + 115: (77, 2, "i")},
        _TRUNCATED,
        "byte offset",
        "--salvage",
    ),
    _from_bytes("zero-traces", valid_segy()[:FILE_HEADER_SIZE], _NO_TRACE, "0 bytes"),
    _from_bytes(
        "trailing-bytes",
        valid_segy() + b"\x00" * 7,
        _TRUNCATED,
        "then 7 bytes",
        "--salvage imports the 6 complete traces",
        f"from byte offset {FILE_HEADER_SIZE + 6 * _TRACE}",
    ),
    # -- format codes -----------------------------------------------------------------
    *(
        _edited(f"format-{code}", {3225: (code, 2, "i")}, _FORMAT, str(code), "3225-3226")
        for code in (0, 13, 14, 17, 99, 32767, -1, -5, -32768)
    ),
    _edited("format-4-withdrawn", {3225: (4, 2, "i")}, "format 4", "not supported"),
    # -- extended textual headers -----------------------------------------------------
    _edited("extended-count-past-end", {3505: (40, 2, "i")}, "announces 40 extended", "3505-3506"),
    _edited("extended-count-max", {3505: (32767, 2, "i")}, "announces 32767 extended"),
    _edited("extended-count-negative", {3505: (-2, 2, "i")}, "impossible number", "-2"),
    _edited("extended-no-endtext", {3505: (-1, 2, "i")}, "EndText"),
    # -- not SEG-Y at all -------------------------------------------------------------
    _from_bytes("random-bytes", np.random.default_rng(7).bytes(20_000), "sample format"),
    _from_bytes("all-zero-bytes", bytes(10_000), _FORMAT, "0"),
    _from_bytes("text-file", _text_file(), _FORMAT),
    _from_bytes("gzip-of-segy", gzip.compress(valid_segy(), mtime=0), "fewer than"),
    _from_bytes("zip-of-segy", _zip_of_segy(), "fewer than"),
    # -- paths that are not readable files --------------------------------------------
    Case("directory", _directory, ("is a directory",)),
    Case("missing", _missing, ("no such file", "does-not-exist.sgy")),
    Case("fifo", _fifo, ("not a regular file",)),
    Case("symlink-loop", _symlink_loop, ("symbolic links", "loop.sgy")),
    Case("dangling-symlink", _dangling_symlink, ("no such file", "dangling.sgy")),
    Case("unreadable", _unreadable, ("permission denied", "unreadable.sgy"), unprivileged=True),
)


@dataclass(frozen=True)
class LiberalCase:
    """A file whose headers contradict each other or hold junk, but whose traces are unambiguous.

    ``data`` is a valid file with ``edits`` applied; it reads as the unedited file would
    (``n_samples`` samples per trace, every trace), with a decision naming ``expect``.
    """

    name: str
    data: bytes
    spec: SegySpec
    expect: tuple[str, ...]


def _liberal(
    name: str, edits: dict[int, tuple[int | float, int, str]], *expect: str, **spec: int | str
) -> LiberalCase:
    # int16 samples: every bit pattern round-trips exactly (random IBM bytes need not)
    s = SegySpec(**{"format_code": 3, **spec})  # type: ignore[arg-type]
    data = bytearray(valid_segy(s))
    for byte, (value, width, kind) in edits.items():
        put(data, byte, value, width, s.endian, kind)
    return LiberalCase(name, bytes(data), s, tuple(expect))


#: Files segycore 0.1 refused that a liberal reading imports, with the decision it records.
LIBERAL: tuple[LiberalCase, ...] = (
    _liberal(
        "binary-samples-wrong-trace-header-right",
        {3221: (65535, 2, "u")},
        "samples per trace: 50 from first trace header bytes 115-116",
        "not 65535",
    ),
    _liberal(
        "binary-samples-77-trace-header-50",
        {3221: (77, 2, "u")},
        "samples per trace: 50 from first trace header",
    ),
    _liberal(
        "rev2-huge-extended-samples",
        {3269: (2**31 - 1, 4, "i")},
        "samples per trace: 50 from binary header bytes 3221-3222",
        f"not {2**31 - 1} from binary header bytes 3269-3272",
        revision=2,
    ),
    _liberal(
        "rev2-additional-trace-headers-the-size-denies",
        {3507: (2, 4, "i")},
        "additional trace headers: 0 from none, not 2 from binary header bytes 3507-3510",
        revision=2,
    ),
    _liberal(
        "rev2-trailer-stanzas-missing",
        {3529: (1, 4, "i")},
        "trailer stanzas: 0",
        revision=2,
    ),
    _liberal(
        "junk-revision-word-and-additional-headers",
        {3501: (0x2425, 2, "u"), 3507: (128, 4, "i")},
        "revision word 0x2425",
        "not a SEG-Y revision",
    ),
    _liberal(
        "rev1-with-junk-in-rev2-fields",
        {3507: (128, 4, "i"), 3529: (7, 4, "i"), 3269: (999, 4, "i")},
        "bytes 3507-3510 (max_additional_trace_headers = 128) are not defined in revision 1",
        "bytes 3529-3532",
        "bytes 3269-3272",
    ),
    _liberal(
        "rev0-with-junk-in-rev2-fields-little-endian",
        {3507: (3, 4, "i"), 3521: (12345, 8, "u")},
        "not defined in revision 0",
        revision=0,
        endian="little",
    ),
)


def case_named(name: str) -> Case:
    """The case called ``name``."""
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)
