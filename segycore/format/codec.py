"""Trace-record conversion for the coordinators: the compiled kernels behind argument checks.

A SEG-Y trace record is a 240-byte trace header followed by ``n_samples`` samples of the
format's ``itemsize`` bytes. :func:`decode_records` turns whole records into header bytes
and dataset samples (import), :func:`encode_records` does the inverse (export). Both run
``segycore.format._convert`` without the GIL; this module turns bad arguments into one clear
``ValueError`` and accepts any contiguous buffer (bytes, bytearray, mmap, numpy array).
:func:`header_columns` decodes the standard trace-header fields of many headers at once
(``segycore.format._header_columns``).
"""

from __future__ import annotations

import mmap

import numpy as np

from . import _convert, _header_columns
from .spec import TRACE_FIELDS, TRACE_HEADER_SIZE, SampleFormat, TraceField, sample_format

__all__ = [
    "BufferLike",
    "decode_records",
    "encode_records",
    "float32_to_ibm",
    "header_columns",
    "ibm_inexact_traces",
    "ibm_to_float32",
    "record_size",
]

#: What the record arguments accept: anything exposing a C-contiguous buffer.
BufferLike = bytes | bytearray | memoryview | mmap.mmap | np.ndarray

ibm_to_float32 = _convert.ibm_to_float32
float32_to_ibm = _convert.float32_to_ibm


def _supported(format_code: int) -> SampleFormat:
    fmt = sample_format(format_code)
    if not fmt.supported:
        raise ValueError(f"sample format {fmt.code} ({fmt.name}) is not supported")
    return fmt


def _byte_view(buffer: BufferLike, name: str, *, writable: bool) -> memoryview:
    """A flat uint8 view of ``buffer``, without copying."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError(
            f"{name} must be a bytes-like buffer, got {type(buffer).__name__}"
        ) from None
    if not view.c_contiguous:
        raise ValueError(f"{name} must be a contiguous buffer")
    if writable and view.readonly:
        raise ValueError(f"{name} must be writable")
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _check_bool(value: bool, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def record_size(n_samples: int, format_code: int) -> int:
    """Bytes in one trace record: the 240-byte header plus ``n_samples`` samples."""
    if n_samples < 0:
        raise ValueError(f"n_samples must be non-negative, got {n_samples}")
    return TRACE_HEADER_SIZE + int(n_samples) * _supported(format_code).itemsize


def decode_records(
    src: BufferLike,
    n_traces: int,
    n_samples: int,
    format_code: int,
    little_endian: bool,
    headers_out: np.ndarray | None,
    samples_out: np.ndarray,
) -> None:
    """Decode ``n_traces`` records from ``src`` into ``headers_out`` and ``samples_out``.

    ``headers_out`` is uint8 ``(n_traces, 240)`` or None (headers skipped);
    ``samples_out`` is C-contiguous ``(n_traces, n_samples)`` of the format's dataset
    dtype. IBM floats round once to float32 (ties to even, subnormals kept, signed zeros
    kept, magnitudes beyond float32 clamp to FLT_MAX). See ``segycore.format._convert``.
    """
    _supported(format_code)
    _convert.decode_records(
        _byte_view(src, "src", writable=False),
        n_traces,
        n_samples,
        format_code,
        _check_bool(little_endian, "little_endian"),
        headers_out,
        samples_out,
    )


def encode_records(
    headers: np.ndarray,
    samples: np.ndarray,
    format_code: int,
    little_endian: bool,
    dest: BufferLike,
) -> int:
    """Encode ``headers`` (uint8 ``(n, 240)``) and ``samples`` as records into ``dest``.

    Returns -1 when every sample was written exactly, else the flat index
    (``trace * n_samples + sample``) of the first sample the format cannot hold (NaN or
    infinity for IBM; non-integral or out-of-range values for integer formats).
    """
    _supported(format_code)
    return _convert.encode_records(
        headers,
        samples,
        format_code,
        _check_bool(little_endian, "little_endian"),
        _byte_view(dest, "dest", writable=True),
    )


def _field_offsets(fields: tuple[TraceField, ...], width: int) -> np.ndarray:
    return np.array([f.offset for f in fields if f.width == width], dtype=np.int64)


def header_columns(
    raw: np.ndarray, little_endian: bool, fields: tuple[TraceField, ...] = TRACE_FIELDS
) -> list[np.ndarray]:
    """Every field of ``raw`` headers (uint8 ``(n, 240)``) as its own contiguous column.

    One pass over the headers in compiled code instead of one strided cast per field;
    returns, in the order of ``fields`` (2- or 4-byte signed fields), int16/int32 arrays
    of length ``n`` (rows of one block each, so no copy is made per column).
    """
    if (
        not isinstance(raw, np.ndarray)
        or raw.dtype != np.uint8
        or raw.ndim != 2
        or raw.shape[1] != TRACE_HEADER_SIZE
    ):
        raise ValueError(f"raw headers must be a (n, {TRACE_HEADER_SIZE}) uint8 array")
    if any(f.width not in (2, 4) for f in fields):
        raise ValueError("header_columns decodes 2- and 4-byte fields only")
    raw = np.ascontiguousarray(raw)
    offsets2, offsets4 = _field_offsets(fields, 2), _field_offsets(fields, 4)
    out2 = np.empty((offsets2.size, raw.shape[0]), np.int16)
    out4 = np.empty((offsets4.size, raw.shape[0]), np.int32)
    _header_columns.decode_fields(
        raw, offsets2, offsets4, _check_bool(little_endian, "little_endian"), out2, out4
    )
    rows2, rows4 = iter(out2), iter(out4)
    return [next(rows2) if f.width == 2 else next(rows4) for f in fields]


def ibm_inexact_traces(
    src: BufferLike, n_traces: int, n_samples: int, little_endian: bool
) -> np.ndarray:
    """Which of ``n_traces`` IBM (format 1) records re-encoding would not reproduce.

    Returns a bool array of shape ``(n_traces,)``: True where some sample's bytes are not
    what :func:`encode_records` writes for its decoded value (unnormalised fractions,
    zeros with an exponent, magnitudes beyond float32, values losing bits below float32's
    normal range). Import keeps the raw bytes of just those traces.
    """
    flags = np.zeros(n_traces, dtype=np.uint8)
    _convert.ibm_inexact_traces(
        _byte_view(src, "src", writable=False),
        n_traces,
        n_samples,
        _check_bool(little_endian, "little_endian"),
        flags,
    )
    return flags.view(bool)
