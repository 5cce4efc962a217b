"""Synthetic pre-stack surveys: the demo's data and the tests' and benchmarks' workloads.

A survey is a line of shots, each a gather of ``traces_per_shot`` traces with
hyperbolic reflections (Ricker wavelets), written as real SEG-Y in any sample format
and byte order, in bounded chunks so multi-GB files need little memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import codec
from .layout import Endian, binary_header_dtype, encode_textual_header, trace_header_dtype
from .spec import BINARY_HEADER_SIZE, INTEGER_RANGES, TRACE_HEADER_SIZE, sample_format

__all__ = ["survey_size", "write_records", "write_survey"]

CHUNK_TRACES = 4096


def _textual_header(n_shots: int, traces_per_shot: int, n_samples: int, fmt: int) -> str:
    lines = [
        "C 1 SEGYCORE SYNTHETIC PRE-STACK SURVEY",
        f"C 2 {n_shots} SHOTS X {traces_per_shot} CHANNELS, {n_samples} SAMPLES, FORMAT {fmt}",
        "C 3 HYPERBOLIC REFLECTIONS, RICKER WAVELET 25 HZ",
        "C 4 FIELD RECORD IN BYTES 9-12, CHANNEL IN 13-16, CDP IN 21-24, OFFSET IN 37-40",
    ]
    lines += [f"C{n:2d}" for n in range(5, 40)] + ["C40 END TEXTUAL HEADER"]
    return "\n".join(lines)


def _base_gather(traces_per_shot: int, n_samples: int, interval_s: float) -> np.ndarray:
    """One shot gather: a few hyperbolic reflections convolved with a Ricker wavelet."""
    offsets = 50.0 + 25.0 * np.arange(traces_per_shot)
    t = np.arange(n_samples) * interval_s
    gather = np.zeros((traces_per_shot, n_samples), dtype=np.float64)
    duration = n_samples * interval_s
    for t0, velocity, amplitude in ((0.15, 1600, 1.0), (0.4, 2100, -0.7), (0.75, 2600, 0.5)):
        t0 *= duration
        arrival = np.sqrt(t0**2 + (offsets / velocity) ** 2)[:, None]
        arg = (np.pi * 25.0 * (t[None, :] - arrival)) ** 2
        gather += amplitude * (1 - 2 * arg) * np.exp(-arg)
    gather *= np.exp(-t / duration)[None, :] * 1000.0
    return gather


def _to_format(values: np.ndarray, fmt: int) -> np.ndarray:
    """Scale and round synthetic values into what ``fmt`` holds exactly."""
    dtype = sample_format(fmt).dtype
    if fmt not in INTEGER_RANGES:
        return values.astype(dtype)
    lo, hi = INTEGER_RANGES[fmt]
    span = min(hi - lo, 2**24)  # float32 datasets hold integers exactly up to 2**24
    mid = 0.0 if lo < 0 else span / 2
    scaled = np.rint(values / 1000.0 * span * 0.4 + mid)
    return np.clip(scaled, max(lo, -(2**24)), min(hi, 2**24)).astype(dtype)


def survey_size(n_traces: int, n_samples: int, format_code: int = 1) -> int:
    """Bytes of a survey file without extended textual headers."""
    return 3600 + n_traces * (TRACE_HEADER_SIZE + n_samples * sample_format(format_code).itemsize)


def write_survey(
    path: str | os.PathLike[str],
    n_shots: int = 8,
    traces_per_shot: int = 48,
    n_samples: int = 500,
    *,
    sample_interval_us: int = 2000,
    format_code: int = 1,
    endian: Endian = "big",
) -> Path:
    """Write a synthetic shot-gather survey as a SEG-Y rev 1 file and return its path."""
    path = Path(path)
    little = endian == "little"
    n_traces = n_shots * traces_per_shot
    binary = np.zeros(1, dtype=binary_header_dtype(endian))
    binary["job_id"] = 1
    binary["line_number"] = 1
    binary["traces_per_ensemble"] = traces_per_shot
    binary["sample_interval"] = sample_interval_us
    binary["samples_per_trace"] = n_samples
    binary["format_code"] = format_code
    binary["ensemble_fold"] = 1
    binary["sorting_code"] = 1
    binary["measurement_system"] = 1
    binary["revision_major"] = 1
    binary["fixed_length_traces"] = 1
    raw_binary = binary.tobytes()
    assert len(raw_binary) == BINARY_HEADER_SIZE

    fmt = sample_format(format_code)
    base = _base_gather(traces_per_shot, n_samples, sample_interval_us * 1e-6)
    header_dtype = trace_header_dtype(endian)
    with open(path, "wb") as fh:
        fh.write(
            encode_textual_header(
                _textual_header(n_shots, traces_per_shot, n_samples, format_code), "ebcdic"
            )
        )
        fh.write(raw_binary)
        for first in range(0, n_traces, CHUNK_TRACES):
            n = min(CHUNK_TRACES, n_traces - first)
            trace = np.arange(first, first + n)
            shot, channel = np.divmod(trace, traces_per_shot)
            headers = np.zeros(n, dtype=header_dtype)
            headers["trace_sequence_line"] = trace + 1
            headers["trace_sequence_file"] = trace + 1
            headers["field_record"] = shot + 1001
            headers["trace_number"] = channel + 1
            headers["energy_source_point"] = shot + 1
            headers["cdp"] = 2 * shot + channel + 1
            headers["cdp_trace"] = 1
            headers["trace_identification_code"] = 1
            headers["offset"] = 50 + 25 * channel
            headers["coordinate_scalar"] = -10
            headers["source_x"] = (500_000 + 500 * shot) * 10
            headers["group_x"] = (500_000 + 500 * shot + 50 + 25 * channel) * 10
            headers["n_samples"] = n_samples
            headers["sample_interval"] = sample_interval_us
            values = base[channel] * (1.0 + 0.1 * np.sin(shot))[:, None]
            samples = np.ascontiguousarray(_to_format(values, format_code))
            # Sized by the file's sample width, not the dataset dtype's (int16 is held in
            # float32, so the dtype's 4 bytes would leave 2 stray bytes per sample).
            record = np.empty(n * (TRACE_HEADER_SIZE + n_samples * fmt.itemsize), np.uint8)
            header_bytes = headers.view(np.uint8).reshape(n, TRACE_HEADER_SIZE)
            bad = codec.encode_records(header_bytes, samples, format_code, little, record)
            if bad != -1:
                raise AssertionError(f"synthetic sample {bad} not representable")
            fh.write(record)
    return path


def write_records(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    fields: dict[str, np.ndarray] | None = None,
    raw_fields: dict[int, tuple[str, np.ndarray]] | None = None,
    *,
    format_code: int = 5,
    endian: Endian = "big",
    sample_interval_us: int = 4000,
) -> Path:
    """Write a SEG-Y rev 1 file of the given traces and trace-header values.

    ``samples`` is (n_traces, n_samples) in ``format_code``'s dataset dtype; ``fields``
    maps standard field names (``inline``, ``crossline``, ``offset`` ...) to one value
    per trace; ``raw_fields`` maps a 1-based byte position to ``(numpy dtype code,
    values)`` written there in ``endian`` order, for fields at non-standard bytes
    (written last, over standard fields). For the tests' 3D surveys in any trace order.
    """
    path = Path(path)
    samples = np.ascontiguousarray(samples, dtype=sample_format(format_code).dtype)
    n, n_samples = samples.shape
    binary = np.zeros(1, dtype=binary_header_dtype(endian))
    binary["sample_interval"] = sample_interval_us
    binary["samples_per_trace"] = n_samples
    binary["format_code"] = format_code
    binary["revision_major"] = 1
    binary["fixed_length_traces"] = 1
    headers = np.zeros(n, dtype=trace_header_dtype(endian))
    headers["trace_sequence_line"] = np.arange(1, n + 1)
    headers["trace_sequence_file"] = np.arange(1, n + 1)
    headers["n_samples"] = n_samples
    headers["sample_interval"] = sample_interval_us
    for name, values in (fields or {}).items():
        headers[name] = values
    header_bytes = headers.view(np.uint8).reshape(n, TRACE_HEADER_SIZE).copy()
    order = ">" if endian == "big" else "<"
    for byte, (code, values) in (raw_fields or {}).items():
        dtype = np.dtype(code).newbyteorder(order) if np.dtype(code).itemsize > 1 else code
        encoded = np.asarray(values).astype(dtype).view(np.uint8).reshape(n, -1)
        header_bytes[:, byte - 1 : byte - 1 + encoded.shape[1]] = encoded
    itemsize = sample_format(format_code).itemsize
    record = np.empty(n * (TRACE_HEADER_SIZE + n_samples * itemsize), np.uint8)
    bad = codec.encode_records(header_bytes, samples, format_code, endian == "little", record)
    if bad != -1:
        raise ValueError(f"sample {bad} not representable in format {format_code}")
    with open(path, "wb") as fh:
        fh.write(encode_textual_header("C 1 SEGYCORE TEST RECORDS", "ebcdic"))
        fh.write(binary.tobytes())
        fh.write(record)
    return path
