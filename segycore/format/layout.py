"""Reading a SEG-Y file's structure: textual, binary and extended headers, byte order, sizes.

:func:`read_layout` validates everything a reader needs before any trace is touched, so
bad input fails at once with one message naming the problem and nothing is written.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from ..errors import SegyError, SegyFormatError
from .spec import (
    BINARY_FIELDS,
    BINARY_HEADER_SIZE,
    BYTE_ORDER_CONSTANT,
    SAMPLE_FORMATS,
    STANZA_SIZE,
    TEXTUAL_HEADER_SIZE,
    TRACE_FIELDS,
    TRACE_HEADER_SIZE,
    BinaryField,
    SampleFormat,
    TraceField,
    sample_format,
)
from .stanzas import END_TEXT_STANZA, is_end_text, starts_stanza

__all__ = [
    "END_TEXT_STANZA",
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
#: A -1 extended-header count means "read until EndText"; stop looking after this many.
MAX_EXTENDED_HEADERS = 10_000
#: Additional 240-byte trace headers per trace segycore considers (rev 2 allows 65,535).
MAX_ADDITIONAL_HEADERS = 1_000
#: Trailer records a -1 trailer count (bytes 3529-3532) is searched for.
MAX_TRAILER_SCAN = 1_000
#: Bytes between the file headers and the first trace kept raw (rev 2 bytes 3521-3528).
MAX_HEADER_GAP = 64 * 2**20
#: The largest sample count an override may give (rev 2's 4-byte count, within reason).
MAX_SAMPLES = 2**31 - 1
#: Traces a variable-length file may have (each is one read while the layout is found).
MAX_VARIABLE_TRACES = 10_000_000
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


def decode_textual_header(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a 3200-byte textual header; return ``(text, encoding)``.

    The encoding is ``"ebcdic"`` or ``"ascii"``: ``encoding`` if given (an override), else
    the one whose decoding yields more printable text (EBCDIC letters and spaces live in
    0x40-0xF9, ASCII's below 0x7F). The text is split into 80-character card images
    joined by newlines.
    """
    ebcdic = codecs.decode(raw, EBCDIC_CODEC)
    ascii_text = raw.decode("latin-1")

    def printable(text: str) -> int:
        return sum(ch.isprintable() and ord(ch) < 0x7F for ch in text)

    if encoding is not None:
        text, encoding = (ebcdic, "ebcdic") if encoding == "ebcdic" else (ascii_text, "ascii")
    elif printable(ebcdic) > printable(ascii_text):
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
    """Everything needed to read a SEG-Y file's traces, validated against its size.

    A trace record is the 240-byte standard trace header, ``extra_headers`` additional
    240-byte trace headers (rev 2), then the samples. ``header_gap`` holds the bytes between
    the extended textual headers and the first trace (rev 2 first-trace offset, bytes
    3521-3528) and ``trailer`` the data trailer stanzas after the last trace (bytes
    3529-3532): both raw, so the file can be written back byte for byte. ``decisions``
    says how an ambiguous or contradictory header was read, ``warnings`` what is wrong with
    the file, ``overrides`` each user override as read and as used, and ``salvage`` what a
    salvaging read dropped (``None`` when nothing was).
    """

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
    extra_headers: int = 0
    header_gap: bytes = field(default=b"", repr=False)
    trailer: bytes = field(default=b"", repr=False)
    decisions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    salvage: Mapping[str, Any] | None = None
    #: Variable-length traces (fixed-length flag 0): each trace's own sample count;
    #: ``n_samples`` is then the longest and ``trace_size`` its record.
    trace_samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def variable(self) -> bool:
        """Whether the traces have sample counts of their own (see :attr:`trace_samples`)."""
        return self.trace_samples is not None

    @property
    def trace_offsets(self) -> np.ndarray:
        """Byte offset of every trace record, and past the last (``n_traces + 1``, int64)."""
        if self.trace_samples is None:
            return self.data_offset + self.trace_size * np.arange(self.n_traces + 1)
        sizes = self.trace_header_size + self.trace_samples * self.format.itemsize
        return self.data_offset + np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def trace_header_size(self) -> int:
        """Header bytes per trace: the standard header plus the additional ones."""
        return TRACE_HEADER_SIZE * (1 + self.extra_headers)

    @property
    def trace_size(self) -> int:
        """Bytes per trace record: trace header(s) plus samples."""
        return self.trace_header_size + self.n_samples * self.format.itemsize

    @property
    def data_end(self) -> int:
        """Byte offset just past the last complete trace."""
        if self.trace_samples is not None:
            return int(self.trace_offsets[-1])
        return self.data_offset + self.n_traces * self.trace_size

    @property
    def little_endian(self) -> bool:
        return self.endian == "little"

    @property
    def file_header(self) -> bytes:
        """Every byte before the first trace: textual, binary, extended headers and gap."""
        return (
            self.textual_header
            + self.binary_header
            + b"".join(self.extended_textual_headers)
            + self.header_gap
        )

    def reading_record(self) -> dict[str, Any]:
        """How the file was read, for ``metadata.json`` and ``segycore info`` (JSON-ready)."""
        return {
            "additional_trace_headers": self.extra_headers,
            "trace_record_bytes": self.trace_size,
            "data_offset": self.data_offset,
            "decisions": list(self.decisions),
            "warnings": list(self.warnings),
            "overrides": {k: dict(v) for k, v in self.overrides.items()},
            "salvage": None if self.salvage is None else dict(self.salvage),
            "trailer_bytes": len(self.trailer),
            "header_gap_bytes": len(self.header_gap),
            "variable_length": self.variable,
        }


def _plausibility(binary: dict[str, int | float], data_bytes: int, fmt_code: int | None) -> int:
    """Score how plausible a binary header decoding is (higher is better)."""
    score = 0
    code = int(binary["format_code"]) if fmt_code is None else fmt_code
    if code in SAMPLE_FORMATS:
        score += 4
    n_samples = int(binary["samples_per_trace"])
    if 0 < n_samples <= 50_000:
        score += 1
        fmt = SAMPLE_FORMATS.get(code)
        if fmt is not None and data_bytes % (TRACE_HEADER_SIZE + n_samples * fmt.itemsize) == 0:
            score += 2
    if 0 < binary["sample_interval"] <= 100_000:
        score += 1
    if 0 <= binary["extended_textual_headers"] <= 100 or binary["extended_textual_headers"] == -1:
        score += 1
    return score


def _detect_endian(raw_binary: bytes, data_bytes: int, fmt_code: int | None) -> tuple[Endian, str]:
    for endian in ("big", "little"):
        constant = int.from_bytes(raw_binary[96:100], endian)
        if constant == BYTE_ORDER_CONSTANT:
            return endian, "constant"
    big = _plausibility(decode_binary_header(raw_binary, "big"), data_bytes, fmt_code)
    little = _plausibility(decode_binary_header(raw_binary, "little"), data_bytes, fmt_code)
    return ("little" if little > big else "big"), "detected"


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


RevisionKind = Literal["0", "1", "2.0", "2.1", "unknown"]


def _revision(binary: dict[str, int | float]) -> tuple[str, RevisionKind]:
    """The revision as written (``"2.1"``) and how segycore reads it.

    Rev 0 and 1 writers put anything in the minor byte, so only the major number counts
    for them; rev 2 minor numbers above 1 are read as 2.1 (later minors only add fields).
    Anything else is ``"unknown"``: read as rev 1 first, rev 2 fields as a fallback.
    """
    major, minor = int(binary["revision_major"]), int(binary["revision_minor"])
    text = f"{major}.{minor}"
    if major in (0, 1):
        return text, str(major)  # type: ignore[return-value]
    if major == 2:
        return text, "2.0" if minor == 0 else "2.1"
    return "unknown", "unknown"


@dataclass(frozen=True)
class _Option:
    """One way to read one layout quantity: its value and where it came from."""

    value: int
    source: str


class _File:
    """Positional reads of the open source, never past its end."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh, self.size = fh, size

    def read(self, offset: int, size: int) -> bytes:
        if offset < 0 or offset >= self.size or size <= 0:
            return b""
        self.fh.seek(offset)
        return self.fh.read(min(size, self.size - offset))


def _extended_options(
    f: _File, binary: dict[str, int | float], kind: RevisionKind, name: str
) -> list[tuple[tuple[bytes, ...], str]]:
    """The ways to read the extended textual headers (bytes 3505-3506), preferred first.

    Revisions 1 and 2 define the count: a wrong count is an error. Rev 0 does not, and an
    unknown revision may not: there the count is used where it can be read (as segyio
    does), else ignored.
    """
    count = int(binary["extended_textual_headers"])
    if count == 0:
        return [((), "none")]
    strict = kind not in ("0", "unknown")
    try:
        blocks = _read_extended_headers(f, count, name)
        declared = [(blocks, f"binary header bytes 3505-3506 ({count})")]
    except SegyFormatError:
        if strict:
            raise
        declared = []
    none = [((), f"none (bytes 3505-3506 hold {count}, a field rev {kind} does not define)")]
    return declared if strict else declared + none


def _read_extended_headers(f: _File, count: int, name: str) -> tuple[bytes, ...]:
    """Read ``count`` 3200-byte extended textual headers (-1: up to the EndText stanza)."""
    if count < -1:
        raise SegyFormatError(
            f"{name}: binary header (bytes 3505-3506) gives an impossible number of extended "
            f"textual headers: {count}"
        )
    end_of_headers = FILE_HEADER_SIZE + TEXTUAL_HEADER_SIZE * count
    if count > 0 and end_of_headers > f.size:
        raise SegyFormatError(
            f"{name}: binary header (bytes 3505-3506) announces {count} extended textual "
            f"headers ({TEXTUAL_HEADER_SIZE * count} bytes) but the file ends at byte {f.size}"
        )
    headers: list[bytes] = []
    offset = FILE_HEADER_SIZE
    for _ in range(MAX_EXTENDED_HEADERS if count == -1 else count):
        block = f.read(offset, TEXTUAL_HEADER_SIZE)
        if len(block) < TEXTUAL_HEADER_SIZE:
            raise SegyFormatError(
                f"{name}: the extended textual headers run past the end of the file "
                f"(no {END_TEXT_STANZA} stanza found)"
            )
        headers.append(block)
        offset += TEXTUAL_HEADER_SIZE
        if count == -1 and is_end_text(block):
            break
    else:
        if count == -1:
            raise SegyFormatError(
                f"{name}: no {END_TEXT_STANZA} stanza in the first {MAX_EXTENDED_HEADERS} "
                "extended textual headers"
            )
    return tuple(headers)


def _extra_options(raw_binary: bytes, endian: Endian, kind: RevisionKind) -> list[_Option]:
    """Additional 240-byte trace headers per trace (rev 2 bytes 3507-3510 / 3507-3508).

    Rev 2.0 gives the count 4 bytes, rev 2.1 2 bytes (3509-3510 became the survey type);
    the other width is a fallback either way. Zero and impossible counts are left out
    (``none`` stands for 0).
    """
    wide = int.from_bytes(raw_binary[306:310], endian, signed=True)
    narrow = int.from_bytes(raw_binary[306:308], endian, signed=True)
    as_20 = _Option(wide, "binary header bytes 3507-3510 (rev 2.0)")
    as_21 = _Option(narrow, "binary header bytes 3507-3508 (rev 2.1)")
    none = _Option(0, "none")
    if kind in ("0", "1"):
        order = [none]
    elif kind == "2.0":
        order = [as_20, as_21, none]
    elif kind == "2.1":
        order = [as_21, as_20, none]
    else:
        order = [none, as_20, as_21]
    order = [none if o.value == 0 else o for o in order]  # a stated 0 is "none"
    return _unique([o for o in order if o is none or 0 < o.value <= MAX_ADDITIONAL_HEADERS])


def _unique(options: list[_Option]) -> list[_Option]:
    seen: set[int] = set()
    out = []
    for option in options:
        if option.value not in seen:
            seen.add(option.value)
            out.append(option)
    return out


def _offset_options(
    binary: dict[str, int | float], kind: RevisionKind, end_of_headers: int, file_size: int
) -> list[_Option]:
    """Where the first trace starts: after the extended headers, or rev 2 bytes 3521-3528."""
    after = _Option(end_of_headers, "the end of the file headers")
    stated = int(binary["first_trace_offset"])
    if stated == 0 or stated == end_of_headers or kind in ("0", "1"):
        return [after]
    if not end_of_headers < stated < file_size:
        return [after]
    declared = _Option(stated, "binary header bytes 3521-3528")
    return [declared, after] if kind in ("2.0", "2.1") else [after, declared]


def _first_trace_samples(f: _File, offset: int, extra: int, endian: Endian) -> list[_Option]:
    """Sample counts the first trace states: bytes 115-116, and 137-140 of extension 1."""
    header = f.read(offset, TRACE_HEADER_SIZE * (1 + min(extra, 1)))
    out = []
    if len(header) >= TRACE_HEADER_SIZE:
        count = int.from_bytes(header[114:116], endian, signed=True)
        out.append(_Option(count, "first trace header bytes 115-116"))
    if extra and len(header) >= 2 * TRACE_HEADER_SIZE:
        count = int.from_bytes(header[TRACE_HEADER_SIZE + 136 : TRACE_HEADER_SIZE + 140], endian)
        out.append(_Option(count, "first trace header extension 1 bytes 137-140"))
    return out


def _sample_options(
    binary: dict[str, int | float],
    kind: RevisionKind,
    first_trace: list[_Option],
    override: int | None,
) -> list[_Option]:
    """Samples per trace, in the order the revision makes each source authoritative."""
    if override is not None:
        return [_Option(override, "the samples override")]
    main = _Option(int(binary["samples_per_trace"]), "binary header bytes 3221-3222")
    ext = _Option(int(binary["ext_samples_per_trace"]), "binary header bytes 3269-3272")
    in_trace = first_trace[:1]
    in_ext1 = first_trace[1:]
    if kind in ("2.0", "2.1"):
        order = [ext, main, *in_trace, *in_ext1]
    elif kind == "unknown":
        order = [main, *in_trace, ext, *in_ext1]
    else:
        order = [main, *in_trace]
    return _unique([o for o in order if o.value > 0])


def _trailer_options(
    f: _File,
    binary: dict[str, int | float],
    kind: RevisionKind,
    data_offset: int,
    trace_size: int,
) -> list[_Option]:
    """Data trailer stanza records after the last trace (rev 2 bytes 3529-3532)."""
    none = _Option(0, "none")
    if kind in ("0", "1"):
        return [none]
    stated = int(binary["trailer_stanzas"])
    data = f.size - data_offset
    if stated > 0:
        start = f.size - stated * STANZA_SIZE
        option = _Option(stated, "binary header bytes 3529-3532")
        if start < data_offset:
            return [none]
        if kind != "unknown" and starts_stanza(f.read(start, STANZA_SIZE)):
            return [option, none]
        return [none, option]
    if stated == -1 and kind != "unknown":  # a variable number: find where the traces end
        announced = int(binary["n_traces_in_file"])
        if announced > 0 and announced * trace_size <= data:
            rest = data - announced * trace_size
            if rest % STANZA_SIZE == 0:
                return [_Option(rest // STANZA_SIZE, "bytes 3513-3520 (traces in the file)")]
        found = none
        for k in range(1, min(data // STANZA_SIZE, MAX_TRAILER_SCAN) + 1):
            if (data - k * STANZA_SIZE) % trace_size == 0 and starts_stanza(
                f.read(f.size - k * STANZA_SIZE, STANZA_SIZE)
            ):
                found = _Option(k, "a scan for the first trailer stanza (bytes 3529-3532: -1)")
        return [found] if found.value else [none]
    return [none]


@dataclass(frozen=True)
class _Reading:
    """One complete way of reading the file's layout, with how far it strays from the header."""

    rank: int
    extended: tuple[bytes, ...]
    choices: tuple[tuple[str, _Option, _Option], ...]  # (what, used, preferred)
    data_offset: int
    extra: int
    n_samples: int
    trailer: int
    trace_size: int
    n_traces: int
    leftover: int

    @property
    def consistent(self) -> bool:
        return self.n_traces > 0 and self.leftover == 0


def _readings(
    f: _File,
    binary: dict[str, int | float],
    raw_binary: bytes,
    endian: Endian,
    kind: RevisionKind,
    fmt: SampleFormat,
    samples_override: int | None,
    name: str,
) -> list[_Reading]:
    """Every combination of the ways to read each layout quantity, best first."""
    out: list[_Reading] = []
    announced = int(binary["n_traces_in_file"]) if kind in ("2.0", "2.1") else 0
    stated = {} if samples_override is not None else _stated(binary, raw_binary, endian, kind)
    ext_opts = _extended_options(f, binary, kind, name)
    for ei, (extended, ext_source) in enumerate(ext_opts):
        end_of_headers = FILE_HEADER_SIZE + TEXTUAL_HEADER_SIZE * len(extended)
        ext_choice = (
            "extended textual headers",
            _Option(len(extended), ext_source),
            _Option(len(ext_opts[0][0]), ext_opts[0][1]),
        )
        offsets = _offset_options(binary, kind, end_of_headers, f.size)
        for oi, offset in enumerate(offsets):
            extras = _extra_options(raw_binary, endian, kind)
            for xi, extra in enumerate(extras):
                first = _first_trace_samples(f, offset.value, extra.value, endian)
                samples = _sample_options(binary, kind, first, samples_override)
                for si, n_samples in enumerate(samples):
                    trace_size = TRACE_HEADER_SIZE * (1 + extra.value)
                    trace_size += n_samples.value * fmt.itemsize
                    trailers = _trailer_options(f, binary, kind, offset.value, trace_size)
                    for ti, trailer in enumerate(trailers):
                        data = f.size - offset.value - trailer.value * STANZA_SIZE
                        n_traces, leftover = divmod(data, trace_size) if data >= 0 else (0, 1)
                        misses = bool(announced) and n_traces != announced
                        out.append(
                            _Reading(
                                rank=ei + oi + xi + si + ti + misses,
                                extended=extended,
                                choices=(
                                    ext_choice,
                                    _choice("first trace offset", offset, offsets, stated),
                                    _choice("additional trace headers", extra, extras, stated),
                                    _choice("samples per trace", n_samples, samples, stated),
                                    _choice("trailer stanzas", trailer, trailers, stated),
                                ),
                                data_offset=offset.value,
                                extra=extra.value,
                                n_samples=n_samples.value,
                                trailer=trailer.value,
                                trace_size=trace_size,
                                n_traces=n_traces,
                                leftover=leftover,
                            )
                        )
    out.sort(key=lambda r: r.rank)  # stable: ties keep the preferred order
    return out


def _choice(
    what: str, used: _Option, options: list[_Option], stated: dict[str, _Option]
) -> tuple[str, _Option, _Option]:
    """``(what, used, what the header says)``; the header's word is the preferred option."""
    return what, used, stated.get(what, options[0])


def _stated(
    binary: dict[str, int | float], raw_binary: bytes, endian: Endian, kind: RevisionKind
) -> dict[str, _Option]:
    """What a rev 2 binary header states about the layout (empty for other revisions)."""
    if kind not in ("2.0", "2.1"):
        return {}
    out = {}
    if int(binary["first_trace_offset"]):
        out["first trace offset"] = _Option(
            int(binary["first_trace_offset"]), "binary header bytes 3521-3528"
        )
    width = 4 if kind == "2.0" else 2
    out["additional trace headers"] = _Option(
        int.from_bytes(raw_binary[306 : 306 + width], endian, signed=True),
        f"binary header bytes 3507-{3506 + width} (rev {kind})",
    )
    if int(binary["ext_samples_per_trace"]) > 0:
        out["samples per trace"] = _Option(
            int(binary["ext_samples_per_trace"]), "binary header bytes 3269-3272"
        )
    elif int(binary["samples_per_trace"]) > 0:
        out["samples per trace"] = _Option(
            int(binary["samples_per_trace"]), "binary header bytes 3221-3222"
        )
    trailer = int(binary["trailer_stanzas"])
    source = "binary header bytes 3529-3532" + (" (a variable number)" if trailer == -1 else "")
    out["trailer stanzas"] = _Option(trailer, source)
    return out


def _check_override_args(
    endian: str | None, fmt: int | None, samples: int | None, textual_encoding: str | None
) -> None:
    if endian not in (None, "big", "little"):
        raise ValueError(f"byte order must be 'big' or 'little', not {endian!r}")
    if textual_encoding not in (None, "ebcdic", "ascii"):
        raise SegyError(f"textual encoding must be 'ebcdic' or 'ascii', not {textual_encoding!r}")
    if fmt is not None:
        try:
            code = sample_format(fmt)
        except ValueError as exc:
            raise SegyError(f"format override: {exc}") from None
        if not code.supported:
            raise SegyError(f"format override: sample format {fmt} ({code.name}) is not supported")
    if samples is not None and not 0 < int(samples) <= MAX_SAMPLES:
        raise SegyError(f"samples override must be 1 to {MAX_SAMPLES}, not {samples}")


def _ignored_fields(binary: dict[str, int | float], raw: bytes, kind: RevisionKind) -> list[str]:
    """Decisions for non-zero rev 2 fields in a file whose revision does not define them."""
    if kind not in ("0", "1"):
        return []
    out = []
    for name, first, last in _REV2_ONLY:
        value = raw[first - 3201 : last - 3200]
        if any(value):
            shown = binary.get(name, int.from_bytes(value, "big"))
            out.append(
                f"binary header bytes {first}-{last} ({name} = {shown}) are not defined in "
                f"revision {kind}: ignored"
            )
    return out


#: Rev 2 binary-header fields a rev 0/1 file may hold junk in: (name, first byte, last byte).
_REV2_ONLY = (
    ("ext_samples_per_trace", 3269, 3272),
    ("ext_sample_interval", 3273, 3280),
    ("max_additional_trace_headers", 3507, 3510),
    ("n_traces_in_file", 3513, 3520),
    ("first_trace_offset", 3521, 3528),
    ("trailer_stanzas", 3529, 3532),
)


def read_layout(
    path: str | os.PathLike[str],
    endian: Endian | None = None,
    *,
    format: int | None = None,
    samples: int | None = None,
    textual_encoding: str | None = None,
    salvage: bool = False,
) -> SegyLayout:
    """Read and validate a SEG-Y file's structure.

    Each layout quantity (extended textual headers, first-trace offset, additional trace
    headers, samples per trace, trailer stanzas) may be stated in more than one place, or
    in a field the file's revision does not define. Every combination is tried in the order
    the revision makes each source authoritative, and the first that makes the file's size
    consistent (a whole number of traces) is used; each departure from the preferred
    reading is recorded in :attr:`SegyLayout.decisions`.

    Parameters
    ----------
    path
        The SEG-Y file; opened read-only.
    endian
        ``"big"`` or ``"little"`` to override detection. Detection uses the rev 2
        byte-order constant where present, else the plausibility of format code, sample
        count and file size.
    format, samples, textual_encoding
        Overrides of the stated sample format code, samples per trace and textual header
        encoding (``"ebcdic"`` or ``"ascii"``); each is recorded as read and as used.
    salvage
        Accept a damaged file: keep every complete trace, record what was dropped
        (:attr:`SegyLayout.salvage`) and warn. A file without a complete trace is refused.

    Raises
    ------
    SegyFormatError
        When the file is not SEG-Y, is truncated (without ``salvage``), or its sizes are
        impossible.
    SegyError
        When an override is invalid or contradicts the file's size.
    OSError
        When the path cannot be opened (missing, a directory, unreadable).
    """
    path = Path(path)
    if path.is_dir():
        raise SegyFormatError(f"{path} is a directory, not a SEG-Y file")
    _check_override_args(endian, format, samples, textual_encoding)
    name = path.name
    with _open_regular(path) as fh:
        file_size = os.fstat(fh.fileno()).st_size
        if file_size < FILE_HEADER_SIZE:
            raise SegyFormatError(
                f"{name} is not a SEG-Y file: it has {file_size} bytes, fewer than the "
                f"{FILE_HEADER_SIZE}-byte textual and binary file header"
            )
        f = _File(fh, file_size)
        textual = f.read(0, TEXTUAL_HEADER_SIZE)
        raw_binary = f.read(TEXTUAL_HEADER_SIZE, BINARY_HEADER_SIZE)
        overrides: dict[str, dict[str, Any]] = {}
        detected, endian_source = _detect_endian(raw_binary, file_size - FILE_HEADER_SIZE, format)
        if endian is None:
            endian = detected
        else:
            overrides["endian"] = {"read": detected, "used": endian}
            endian_source = "override"
        binary = decode_binary_header(raw_binary, endian)
        fmt = _sample_format(binary, format, endian, name, overrides)
        revision, kind = _revision(binary)
        decisions: list[str] = []
        if kind == "unknown":
            word = int.from_bytes(raw_binary[300:302], "big")
            decisions.append(
                f"revision word 0x{word:04X} (bytes 3501-3502) is not a SEG-Y revision: read "
                "as revision 1, with revision 2 fields only where the file size needs them"
            )
        decisions += _ignored_fields(binary, raw_binary, kind)
        readings = _readings(f, binary, raw_binary, endian, kind, fmt, samples, name)
        if not readings:
            _no_samples(f, binary, endian, name)
        chosen = next((r for r in readings if r.consistent), None)
        salvage_record: dict[str, Any] | None = None
        warnings: list[str] = []
        trace_samples = None
        if chosen is None and samples is None and _may_vary(binary):
            found = _scan_variable(f, readings[0], fmt, endian)
            cut = None if found else _scan_variable(f, readings[0], fmt, endian, partial=True)
            if cut is not None and not salvage:
                r, counts = cut
                end = r.data_offset + int(_record_sizes(counts, r.extra, fmt).sum())
                raise SegyFormatError(
                    f"{name} is truncated: its {r.n_traces} complete traces of varying length "
                    f"(fixed-length flag 0, bytes 3503-3504) end at byte {end}, then "
                    f"{r.leftover} bytes do not hold the next; --salvage imports the "
                    f"{r.n_traces} complete traces"
                )
            if found is not None or cut is not None:
                chosen, trace_samples = found or cut  # type: ignore[misc]
                decisions.append(
                    f"traces of varying length (fixed-length flag 0, bytes 3503-3504): "
                    f"{chosen.n_traces} traces of {int(trace_samples.min())} to "
                    f"{int(trace_samples.max())} samples, each as its trace header says; "
                    f"the dataset pads them to {chosen.n_samples}"
                )
            if cut is not None:
                sizes = _record_sizes(trace_samples, chosen.extra, fmt)
                end = chosen.data_offset + int(sizes.sum())
                salvage_record, warnings = _salvage_record(f, binary, kind, chosen, end)
        if chosen is None:
            chosen = _refuse_or_salvage(
                f, binary, readings, fmt, samples, format is not None, salvage, name
            )
            salvage_record, warnings = _salvage_record(f, binary, kind, chosen)
        if samples is not None:
            overrides["samples"] = {"read": _stated_samples(binary, kind), "used": samples}
        decisions += _describe(chosen)
        if kind in ("2.0", "2.1") or (kind == "unknown" and chosen.extra):
            warnings += _extension_warnings(f, chosen, endian)
        end_of_headers = FILE_HEADER_SIZE + TEXTUAL_HEADER_SIZE * len(chosen.extended)
        gap = f.read(end_of_headers, chosen.data_offset - end_of_headers)
        trailer_bytes = chosen.trailer * STANZA_SIZE
        trailer = f.read(file_size - trailer_bytes, trailer_bytes) if trailer_bytes else b""
        first_trace = f.read(chosen.data_offset, TRACE_HEADER_SIZE)
        if len(gap) > MAX_HEADER_GAP:
            raise SegyFormatError(
                f"{name}: the first trace starts {len(gap)} bytes after the file headers "
                f"(binary header bytes 3521-3528), more than the {MAX_HEADER_GAP} kept raw"
            )

    interval = float(binary["sample_interval"])
    if kind in ("2.0", "2.1") and float(binary["ext_sample_interval"]) > 0:
        interval = float(binary["ext_sample_interval"])
    if interval == 0 and len(first_trace) == TRACE_HEADER_SIZE:
        interval = float(
            np.frombuffer(first_trace, trace_header_dtype(endian), 1)[0]["sample_interval"]
        )
    _, detected_encoding = decode_textual_header(textual)
    encoding = detected_encoding
    if textual_encoding is not None:
        overrides["textual_encoding"] = {"read": detected_encoding, "used": textual_encoding}
        encoding = textual_encoding
    return SegyLayout(
        path=path,
        file_size=file_size,
        endian=endian,
        endian_source=endian_source,
        textual_header=textual,
        textual_encoding=encoding,
        extended_textual_headers=chosen.extended,
        binary_header=raw_binary,
        binary=binary,
        revision=revision,
        format=fmt,
        n_samples=chosen.n_samples,
        sample_interval=interval,
        data_offset=chosen.data_offset,
        n_traces=chosen.n_traces,
        extra_headers=chosen.extra,
        header_gap=gap,
        trailer=trailer,
        decisions=tuple(decisions),
        warnings=tuple(warnings),
        overrides=overrides,
        salvage=salvage_record,
        trace_samples=trace_samples,
    )


def _may_vary(binary: dict[str, int | float]) -> bool:
    """Whether the binary header allows traces of varying length (rev 1+: flag 0)."""
    return int(binary["fixed_length_traces"]) == 0 and int(binary["revision_major"]) >= 1


def _record_sizes(counts: np.ndarray, extra: int, fmt: SampleFormat) -> np.ndarray:
    """Bytes of each variable-length record."""
    return TRACE_HEADER_SIZE * (1 + extra) + np.asarray(counts, dtype=np.int64) * fmt.itemsize


def _scan_variable(
    f: _File, r: _Reading, fmt: SampleFormat, endian: Endian, partial: bool = False
) -> tuple[_Reading, np.ndarray] | None:
    """Walk the traces by their own sample counts; the reading if they end where the data
    does (before the trailer), else None. A trace's count is bytes 137-140 of its header
    extension 1 where present and non-zero, else bytes 115-116 (unsigned, as rev 2 says).
    With ``partial`` the walk may stop at a record the file cuts short (``leftover``
    bytes remain): the complete traces of a truncated file."""
    head = TRACE_HEADER_SIZE * (1 + r.extra)
    end = f.size - r.trailer * STANZA_SIZE
    offset, counts = r.data_offset, []
    while offset < end:
        if len(counts) >= MAX_VARIABLE_TRACES:
            return None
        header = f.read(offset, head)
        n = int.from_bytes(header[114:116], endian) if len(header) >= 116 else 0
        if r.extra and len(header) == head:
            ext1 = header[TRACE_HEADER_SIZE + 136 : TRACE_HEADER_SIZE + 140]
            n = int.from_bytes(ext1, endian) or n
        if len(header) < head or n == 0 or offset + head + n * fmt.itemsize > end:
            if not partial:
                return None
            break
        offset += head + n * fmt.itemsize
        counts.append(n)
    if (offset != end and not partial) or len(set(counts)) < 2:
        return None
    trace_samples = np.array(counts, dtype=np.int64)
    longest = int(trace_samples.max())
    reading = dataclasses.replace(
        r,
        n_samples=longest,
        n_traces=len(counts),
        leftover=end - offset,
        trace_size=head + longest * fmt.itemsize,
    )
    return reading, trace_samples


def _sample_format(
    binary: dict[str, int | float],
    override: int | None,
    endian: Endian,
    name: str,
    overrides: dict[str, dict[str, Any]],
) -> SampleFormat:
    """The sample format: the override, else binary header bytes 3225-3226."""
    stated = int(binary["format_code"])
    if override is not None:
        overrides["format"] = {"read": stated, "used": int(override)}
        return SAMPLE_FORMATS[int(override)]
    if stated not in SAMPLE_FORMATS:
        raise SegyFormatError(
            f"{name}: unknown sample format code {stated} in the binary header "
            f"(bytes 3225-3226, read {endian}-endian); is this a SEG-Y file? "
            "(--format CODE reads it as another format)"
        )
    fmt = SAMPLE_FORMATS[stated]
    if not fmt.supported:
        raise SegyFormatError(
            f"{name}: sample format {stated} ({fmt.name}) is not supported: it "
            "was withdrawn in SEG-Y rev 1 and files using it do not agree on its layout"
        )
    return fmt


def _stated_samples(binary: dict[str, int | float], kind: RevisionKind) -> int:
    if kind in ("2.0", "2.1") and int(binary["ext_samples_per_trace"]) > 0:
        return int(binary["ext_samples_per_trace"])
    return int(binary["samples_per_trace"])


def _no_samples(f: _File, binary: dict[str, int | float], endian: Endian, name: str) -> None:
    """Refuse a file that states no positive sample count anywhere."""
    first = f.read(FILE_HEADER_SIZE, TRACE_HEADER_SIZE)
    if len(first) == TRACE_HEADER_SIZE:
        count = int.from_bytes(first[114:116], endian, signed=True)
        in_trace = f"{count} in the first trace header (bytes 115-116)"
    else:
        in_trace = "the file ends before the first trace header"
    raise SegyFormatError(
        f"{name}: the number of samples per trace is {int(binary['samples_per_trace'])} in "
        f"the binary header (bytes 3221-3222) and {in_trace}"
    )


def _refuse_or_salvage(
    f: _File,
    binary: dict[str, int | float],
    readings: list[_Reading],
    fmt: SampleFormat,
    samples_override: int | None,
    format_override: bool,
    salvage: bool,
    name: str,
) -> _Reading:
    """No reading fits the size: refuse (naming the preferred reading), or salvage it."""
    best = readings[0]
    with_traces = [r for r in readings if r.n_traces > 0]
    sources = dict((what, used.source) for what, used, _ in best.choices)
    data_bytes = f.size - best.data_offset - best.trailer * STANZA_SIZE
    if not with_traces or (best.n_traces == 0 and salvage is False):
        raise SegyFormatError(
            f"{name} holds no complete trace: {max(data_bytes, 0)} bytes after the file "
            f"headers, but one trace of {best.n_samples} samples in format {fmt.code} takes "
            f"{best.trace_size} bytes (samples per trace from {sources['samples per trace']}, "
            "format from bytes 3225-3226)"
        )
    if salvage:
        return with_traces[0]
    start = best.data_offset + best.n_traces * best.trace_size
    variable = int(binary["fixed_length_traces"]) == 0 and int(binary["revision_major"]) >= 1
    why = (
        "traces of varying length (fixed-length flag 0, bytes 3503-3504) whose trace headers' "
        "sample counts (bytes 115-116) do not lead to the end of the file, "
        if variable
        else ""
    )
    given = [f"samples {samples_override}"] if samples_override is not None else []
    given += [f"format {fmt.code}"] if format_override else []
    lead = (
        f"the override ({', '.join(given)}) does not fit {name}: "
        if given
        else f"{name} is truncated or has traces of varying length: "
    )
    raise SegyFormatError(
        f"{lead}{why}{data_bytes} bytes of trace data are not a whole number of "
        f"{best.trace_size}-byte traces ({best.n_traces} whole traces, then "
        f"{best.leftover} bytes from byte offset {start}); --salvage imports the "
        f"{best.n_traces} complete traces"
    )


def _salvage_record(
    f: _File,
    binary: dict[str, int | float],
    kind: RevisionKind,
    r: _Reading,
    data_end: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """What a salvaging read keeps and drops, and one warning per problem (``data_end``:
    where the complete traces end, for traces of varying length)."""
    if data_end is None:
        data_end = r.data_offset + r.n_traces * r.trace_size
    trailer_start = f.size - r.trailer * STANZA_SIZE
    dropped = [{"start": data_end, "stop": trailer_start, "bytes": trailer_start - data_end}]
    warnings = [
        f"dropped bytes {data_end}-{trailer_start} ({trailer_start - data_end} bytes) after "
        f"the last complete trace: not a whole {r.trace_size}-byte trace (a last trace cut "
        "short, or trailing bytes)"
    ]
    announced = int(binary["n_traces_in_file"]) if kind in ("2.0", "2.1") else 0
    missing = max(0, announced - r.n_traces)
    if missing:
        warnings.append(
            f"the binary header (bytes 3513-3520) announces {announced} traces; "
            f"{missing} of them are missing or incomplete"
        )
    partial = 1 if trailer_start - data_end >= TRACE_HEADER_SIZE * (1 + r.extra) else 0
    record = {
        "complete_traces": r.n_traces,
        "trace_record_bytes": r.trace_size,
        "dropped": dropped,
        "dropped_bytes": trailer_start - data_end,
        "partial_traces_dropped": partial,
        "traces_announced": announced or None,
        "traces_missing": missing or None,
        "warnings": list(warnings),
    }
    return record, warnings


def _describe(r: _Reading) -> list[str]:
    """One decision per quantity read from another source than the preferred one."""
    out = []
    for what, used, preferred in r.choices:
        if used.value != preferred.value:
            out.append(
                f"{what}: {used.value} from {used.source}, not {preferred.value} from "
                f"{preferred.source}; that reading gives a whole number of traces "
                f"({r.n_traces} of {r.trace_size} bytes)"
            )
    return out


def _extension_warnings(f: _File, r: _Reading, endian: Endian) -> list[str]:
    """Warnings where the first trace's extension 1 contradicts the layout used."""
    if not r.extra:
        return []
    ext1 = f.read(r.data_offset + TRACE_HEADER_SIZE, TRACE_HEADER_SIZE)
    if len(ext1) < TRACE_HEADER_SIZE:
        return []
    out = []
    count = int.from_bytes(ext1[156:158], endian)
    if count not in (0, r.extra):
        out.append(
            f"the first trace's header extension 1 (bytes 157-158) gives {count} additional "
            f"trace headers; the file's size fits {r.extra} per trace, which is used"
        )
    return out


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
    if layout.variable:  # records of their own sizes: one read per trace
        offsets = layout.trace_offsets
        with open(layout.path, "rb") as fh:
            for i in range(n):
                fh.seek(int(offsets[start + i]))
                out[i] = np.frombuffer(fh.read(TRACE_HEADER_SIZE), dtype=np.uint8)
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
