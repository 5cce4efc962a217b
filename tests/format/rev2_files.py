"""SEG-Y rev 2.0 / 2.1 files built byte by byte from the standard, with what they hold.

Like :mod:`tests.reliability.malformed`, this writes every field with plain ``struct`` at
the standard's byte positions (never with segycore's tables) and returns, beside the
file, the samples, trace headers and additional headers it wrote, so tests compare
segycore's reading with values that never passed through segycore.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass

import numpy as np

from tests.reliability.malformed import TEXTUAL_SIZE, put

__all__ = ["Rev2File", "Rev2Spec", "ibm_bytes", "rev2_segy"]

#: numpy dtypes of the formats the builder writes (IBM is built separately).
_NUMPY = {2: "i4", 3: "i2", 5: "f4", 6: "f8", 8: "i1", 9: "i8", 10: "u4", 11: "u2", 12: "u8"}


@dataclass(frozen=True)
class Rev2Spec:
    """What :func:`rev2_segy` writes.

    ``extended`` is the number of extended textual headers; ``extended_field`` what bytes
    3505-3506 say (default: ``extended``; -1 for "read up to EndText"), ``end_text`` the
    closing stanza as written. ``trailer`` trailer stanza records follow the last trace;
    ``trailer_field`` is bytes 3529-3532 (default ``trailer``). ``gap`` bytes lie between
    the extended headers and the first trace, announced in bytes 3521-3528.
    ``samples_in`` says where the sample count is: ``"both"`` (3221 and 3269),
    ``"extended"`` (3269 only, 3221 zero) or ``"binary"`` (3221 only). With ``lengths``
    the fixed-length flag is 0 and trace ``t`` has ``lengths[t]`` samples (its header says
    so); ``n_samples`` must be their maximum and ``n_traces`` their count.
    """

    n_traces: int = 5
    n_samples: int = 17
    format_code: int = 5
    endian: str = "big"
    minor: int = 0
    extra: int = 0
    extended: int = 0
    extended_field: int | None = None
    end_text: str = "((SEG: EndText))"
    trailer: int = 0
    trailer_field: int | None = None
    gap: int = 0
    samples_in: str = "both"
    announce_traces: bool = True
    byte_order_constant: bool = True
    lengths: tuple[int, ...] | None = None  # variable-length traces: samples of each
    seed: int = 0


@dataclass(frozen=True)
class Rev2File:
    """The bytes of a built file and what it holds."""

    data: bytes
    spec: Rev2Spec
    headers: np.ndarray  # (n, 240) uint8: standard trace headers
    extra_headers: np.ndarray  # (n, 240 * extra) uint8
    samples: np.ndarray  # (n, n_samples), the values written (zero past a trace's end)
    raw_samples: np.ndarray  # (n, n_samples * itemsize) uint8: the sample bytes (ditto)
    trailer: bytes
    gap: bytes
    data_offset: int


def _card(text: str, encoding: str = "cp037") -> bytes:
    return codecs.encode(text.ljust(TEXTUAL_SIZE), encoding)


def ibm_bytes(words: np.ndarray, endian: str) -> np.ndarray:
    """uint32 IBM words as bytes in ``endian`` order."""
    return words.astype(">u4" if endian == "big" else "<u4").view(np.uint8)


def _samples(spec: Rev2Spec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Values and their bytes for ``spec.format_code``."""
    shape = (spec.n_traces, spec.n_samples)
    order = ">" if spec.endian == "big" else "<"
    if spec.format_code == 1:  # normalised IBM floats of small integers: exact in float32
        ints = rng.integers(-1000, 1000, shape)
        words = np.zeros(shape, np.uint32)
        for idx, v in np.ndenumerate(ints):
            if v:
                mag, exp = abs(int(v)), 64
                frac = mag
                while frac >= 1 << 24:
                    frac >>= 4
                    exp += 1
                while frac < 1 << 20:
                    frac <<= 4
                    exp -= 1
                exp += 6  # value = frac * 16**(exp-70)
                words[idx] = (0x80000000 if v < 0 else 0) | (exp << 24) | frac
        raw = ibm_bytes(words, spec.endian).reshape(spec.n_traces, -1)
        return ints.astype(np.float32), raw
    dtype = np.dtype(order + _NUMPY[spec.format_code])
    if dtype.kind == "f":
        values = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        native = rng.integers(
            info.min, info.max, shape, dtype=dtype.newbyteorder("="), endpoint=True
        )
        values = native.astype(dtype)
    return values, values.view(np.uint8).reshape(spec.n_traces, -1)


def rev2_segy(spec: Rev2Spec = Rev2Spec()) -> Rev2File:
    """Build a rev 2.``minor`` file following the standard's tables 2 and 3."""
    rng = np.random.default_rng(spec.seed)
    e = spec.endian
    b = bytearray(400)

    def bin_put(byte: int, value: int | float, width: int, kind: str = "i") -> None:
        put(b, byte - TEXTUAL_SIZE, value, width, e, kind)

    bin_put(3213, 1, 2)
    bin_put(3217, 4000, 2, "u")
    if spec.samples_in in ("both", "binary"):
        bin_put(3221, spec.n_samples, 2, "u")
    bin_put(3225, spec.format_code, 2)
    if spec.samples_in in ("both", "extended"):
        bin_put(3269, spec.n_samples, 4)
    bin_put(3273, 4000.0, 8, "f")  # extended sample interval (IEEE double)
    if spec.byte_order_constant:
        bin_put(3297, 0x01020304, 4, "u")
    bin_put(3501, 2, 1, "u")
    bin_put(3502, spec.minor, 1, "u")
    bin_put(3503, 0 if spec.lengths else 1, 2)  # fixed-length traces
    ext_field = spec.extended if spec.extended_field is None else spec.extended_field
    bin_put(3505, ext_field, 2)
    if spec.minor >= 1:
        bin_put(3507, spec.extra, 2)
        bin_put(3509, 3, 2)  # survey type (rev 2.1)
    else:
        bin_put(3507, spec.extra, 4)
    bin_put(3511, 1, 2)  # time basis code
    if spec.announce_traces:
        bin_put(3513, spec.n_traces, 8, "u")
    data_offset = 3600 + 3200 * spec.extended + spec.gap
    if spec.gap:
        bin_put(3521, data_offset, 8, "u")
    trailer_field = spec.trailer if spec.trailer_field is None else spec.trailer_field
    bin_put(3529, trailer_field, 4)

    out = io.BytesIO()
    out.write(_card("C 1 SEGYCORE REV 2 TEST FILE"))
    out.write(bytes(b))
    for i in range(spec.extended):
        last = i == spec.extended - 1
        # alternate encodings: rev 2 allows ASCII or EBCDIC per record
        encoding = "cp037" if i % 2 == 0 else "latin-1"
        out.write(_card(spec.end_text if last else f"((SEG: Text {i}))", encoding))
    gap = rng.integers(0, 256, spec.gap, dtype=np.uint8).tobytes()
    out.write(gap)
    values, raw = _samples(spec, rng)
    lengths = spec.lengths or (spec.n_samples,) * spec.n_traces
    itemsize = raw.shape[1] // spec.n_samples
    values, raw = values.copy(), raw.copy()
    for t, n in enumerate(lengths):
        values[t, n:] = 0
        raw[t, n * itemsize :] = 0
    headers = np.zeros((spec.n_traces, 240), np.uint8)
    extra = np.zeros((spec.n_traces, 240 * spec.extra), np.uint8)
    for t in range(spec.n_traces):
        h = bytearray(240)
        put(h, 1, t + 1, 4, e)
        put(h, 5, t + 1, 4, e)
        put(h, 9, 100 + t // 2, 4, e)
        put(h, 13, t % 2 + 1, 4, e)
        put(h, 21, 7 + t, 4, e)
        put(h, 115, lengths[t] if lengths[t] < 2**15 else 0, 2, e)
        put(h, 117, 4000, 2, e, "u")
        h[232:240] = b"SEG00000"
        headers[t] = np.frombuffer(bytes(h), np.uint8)
        out.write(bytes(h))
        for k in range(spec.extra):
            x = bytearray(rng.integers(0, 256, 240, dtype=np.uint8).tobytes())
            if k == 0:  # trace header extension 1, table 4
                put(x, 1, 10_000_000_000 + t, 8, e, "u")  # 8-byte sequence numbers
                put(x, 9, 20_000_000_000 + t, 8, e, "u")
                put(x, 17, -(2**40) - t, 8, e)
                put(x, 25, 2**33 + t, 8, e)
                put(x, 97, 1.5e6 + t, 8, e, "f")  # source x
                put(x, 137, lengths[t], 4, e, "u")
                put(x, 145, 4000.0, 8, e, "f")
                put(x, 157, spec.extra, 2, e, "u")
                put(x, 159, 1 if t == spec.n_traces - 1 else 0, 2, e)
                x[232:240] = b"SEG00001"
            else:  # a proprietary header: random bytes with a name
                x[232:240] = f"PROP{k:04d}".encode("ascii")
            extra[t, 240 * k : 240 * (k + 1)] = np.frombuffer(bytes(x), np.uint8)
            out.write(bytes(x))
        out.write(raw[t, : lengths[t] * itemsize].tobytes())
    trailer = b""
    for i in range(spec.trailer):
        text = "((SEG: Trailer))" if i == 0 else f"continued trailer record {i}"
        trailer += _card(text + f" stanza record {i}", "latin-1")
    out.write(trailer)
    return Rev2File(
        data=out.getvalue(),
        spec=spec,
        headers=headers,
        extra_headers=extra,
        samples=values,
        raw_samples=raw,
        trailer=trailer,
        gap=gap,
        data_offset=data_offset,
    )
