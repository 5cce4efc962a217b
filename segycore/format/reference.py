"""Plain-numpy reference implementations of the compiled trace conversion in ``_convert``.

Slow and simple on purpose: tests compare the kernels with these. The IBM conversions use
float64 arithmetic (``ldexp``, ``frexp``, ``rint``) rather than the kernels' bit tricks, so
the two implementations do not share a mistake.
"""

from __future__ import annotations

import numpy as np

from .spec import INTEGER_RANGES, TRACE_HEADER_SIZE, SampleFormat, sample_format

__all__ = [
    "decode_records_reference",
    "encode_records_reference",
    "float32_to_ibm_reference",
    "ibm_to_float32_reference",
]

FLT_MAX = float(np.finfo(np.float32).max)

# Formats whose file samples are a plain numpy type (kind and width in bytes).
_RAW_TYPES: dict[int, str] = {
    2: "i4",
    3: "i2",
    5: "u4",  # IEEE floats move as their bits: NaN payloads survive
    6: "u8",
    8: "i1",
    9: "i8",
    10: "u4",
    11: "u2",
    12: "u8",
    16: "u1",
}


def ibm_to_float32_reference(words: np.ndarray) -> np.ndarray:
    """IBM bit patterns (native uint32) -> float32: exact value rounded once, clamped."""
    words = np.asarray(words, dtype=np.uint32)
    exponent = ((words >> 24) & 0x7F).astype(np.int32)
    value = np.ldexp((words & 0xFFFFFF).astype(np.float64), 4 * (exponent - 64) - 24)
    value = np.minimum(value, FLT_MAX)
    return np.where(words >> 31 != 0, -value, value).astype(np.float32)


def float32_to_ibm_reference(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 -> IBM bit patterns (native uint32), rounded to nearest, ties to even.

    Returns the patterns and a mask of the values IBM cannot hold (NaN, infinity), whose
    patterns are 0.
    """
    values = np.asarray(values, dtype=np.float32)
    bad = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):  # widening a signalling NaN raises "invalid"
        magnitude = np.abs(np.where(bad, 0.0, values.astype(np.float64)))
    _, binary_exponent = np.frexp(magnitude)  # magnitude in [2**(x-1), 2**x)
    hex_exponent = -(-binary_exponent // 4)  # magnitude in [16**(h-1), 16**h)
    frac = np.rint(np.ldexp(magnitude, 24 - 4 * hex_exponent)).astype(np.uint32)
    words = ((hex_exponent + 64).astype(np.uint32) << 24) | frac
    words = np.where(magnitude == 0, 0, words).astype(np.uint32)
    words |= np.signbit(values).astype(np.uint32) << 31
    words[bad] = 0
    return words, bad


def _format(format_code: int) -> SampleFormat:
    fmt = sample_format(format_code)
    if not fmt.supported:
        raise ValueError(f"sample format {fmt.code} is not supported")
    return fmt


def _order(little_endian: bool) -> str:
    return "<" if little_endian else ">"


def _decode_body(body: np.ndarray, fmt: SampleFormat, little_endian: bool) -> np.ndarray:
    """File sample bytes (n_traces, n_samples * itemsize) -> dataset values."""
    n_traces = body.shape[0]
    if fmt.itemsize == 3:
        b = body.reshape(n_traces, -1, 3).astype(np.int64)
        if little_endian:
            b = b[..., ::-1]
        value = (b[..., 0] << 16) | (b[..., 1] << 8) | b[..., 2]
        if fmt.code == 7:
            value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32)
    raw_type = "u4" if fmt.code == 1 else _RAW_TYPES[fmt.code]
    raw = np.ascontiguousarray(body).view(np.dtype(_order(little_endian) + raw_type))
    native = raw.astype(raw_type)
    if fmt.code == 1:
        return ibm_to_float32_reference(native)
    if fmt.code in (5, 6):
        return native.view(fmt.dtype)
    return native.astype(fmt.dtype)


def _encode_body(
    samples: np.ndarray, fmt: SampleFormat, little_endian: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Dataset values -> file sample bytes (n_traces, n_samples * itemsize), bad-value mask."""
    n_traces = samples.shape[0]
    order = _order(little_endian)
    bad = np.zeros(samples.shape, dtype=bool)
    if fmt.code == 1:
        words, bad = float32_to_ibm_reference(samples)
        raw = words.astype(order + "u4")
    elif fmt.code in (5, 6):
        raw = samples.view(_RAW_TYPES[fmt.code]).astype(order + _RAW_TYPES[fmt.code])
    elif fmt.dtype != np.float32:  # the format's own integer type: always exact
        raw = samples.astype(order + _RAW_TYPES[fmt.code])
    else:
        lo, hi = INTEGER_RANGES[fmt.code]
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(samples) & (samples == np.trunc(samples)))
            bad |= (samples < lo) | (samples > hi)
        value = np.where(bad, 0, samples).astype(np.int64)
        if fmt.itemsize == 3:
            shifts = [16, 8, 0] if not little_endian else [0, 8, 16]
            raw = np.stack([(value >> s) & 0xFF for s in shifts], axis=-1).astype(np.uint8)
        else:
            raw = value.astype(order + _RAW_TYPES[fmt.code])
    return np.ascontiguousarray(raw).view(np.uint8).reshape(n_traces, -1), bad


def decode_records_reference(
    src: object,
    n_traces: int,
    n_samples: int,
    format_code: int,
    little_endian: bool,
    headers_out: np.ndarray | None,
    samples_out: np.ndarray,
) -> None:
    """Reference for ``_convert.decode_records`` (same arguments and results)."""
    fmt = _format(format_code)
    record = TRACE_HEADER_SIZE + n_samples * fmt.itemsize
    raw = np.frombuffer(src, dtype=np.uint8, count=n_traces * record).reshape(n_traces, record)
    if headers_out is not None:
        headers_out[...] = raw[:, :TRACE_HEADER_SIZE]
    samples_out[...] = _decode_body(raw[:, TRACE_HEADER_SIZE:], fmt, little_endian)


def encode_records_reference(
    headers: np.ndarray,
    samples: np.ndarray,
    format_code: int,
    little_endian: bool,
    dest: object,
) -> int:
    """Reference for ``_convert.encode_records``: -1 or the flat index of the first bad value."""
    fmt = _format(format_code)
    n_traces, n_samples = samples.shape
    record = TRACE_HEADER_SIZE + n_samples * fmt.itemsize
    out = np.frombuffer(dest, dtype=np.uint8, count=n_traces * record).reshape(n_traces, record)
    out[:, :TRACE_HEADER_SIZE] = headers
    body, bad = _encode_body(samples, fmt, little_endian)
    out[:, TRACE_HEADER_SIZE:] = body
    flat = np.flatnonzero(bad)
    return int(flat[0]) if flat.size else -1
