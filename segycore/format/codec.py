"""Trace-record conversion for the coordinators: the compiled kernels behind argument checks.

A SEG-Y trace record is a 240-byte trace header followed by ``n_samples`` samples of the
format's ``itemsize`` bytes. :func:`decode_records` turns whole records into header bytes
and dataset samples (import), :func:`encode_records` does the inverse (export). Both run
``segycore.format._convert`` without the GIL; this module turns bad arguments into one clear
``ValueError`` and accepts any contiguous buffer (bytes, bytearray, mmap, numpy array).
"""

from __future__ import annotations

import mmap

import numpy as np

from . import _convert
from .spec import TRACE_HEADER_SIZE, SampleFormat, sample_format

__all__ = [
    "BufferLike",
    "decode_records",
    "encode_records",
    "float32_to_ibm",
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
