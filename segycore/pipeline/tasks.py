"""The per-range work of the parallel stages, as pure module-level task functions.

:func:`import_range` and :func:`export_range` each convert one contiguous trace range.
They take a task description of plain, picklable data - paths, byte offsets, a trace
range, layout numbers, a chunk size; never arrays, never file contents - and a
:class:`~segycore.pipeline.workers.TaskContext` for progress and cancel checks. Every
input is read from, and every output written to, files named in the task at
positions it gives, so the same function runs in a worker thread
(:class:`~segycore.pipeline.workers.ThreadBackend`) or as a task on another machine
that sees the same file system. A task writes only its own byte ranges (of a
pre-sized file) or files of its own: re-running it after a worker died is harmless.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow.parquet as pq

from ..dataset.header_blocks import iter_header_blocks
from ..dataset.headers import ROW_GROUP_SIZE
from ..errors import SegyError, SegyFormatError, UnrepresentableValueError
from ..format import codec
from ..format.layout import Endian
from ..format.spec import INTEGER_RANGES, TRACE_HEADER_SIZE, SampleFormat, sample_format
from ..storage.fileio import open_for_reading, open_for_writing, pread_exact, pwrite_all
from .ibm_raw import IbmRawPart, IbmRawRestorer
from .rev2 import RecordSplitter, join_records, read_extra_rows, record_offsets
from .workers import TaskContext

__all__ = [
    "ExportTask",
    "ImportTask",
    "ImportWorkerResult",
    "chunk_traces",
    "convert_samples",
    "export_range",
    "import_range",
    "segment_path",
]


def chunk_traces(chunk_bytes: int, record_bytes: int, n_traces: int) -> int:
    """Traces per chunk: ``chunk_bytes`` worth of ``record_bytes`` records, at least 1,
    at most ``n_traces`` (the whole range)."""
    return max(1, min(chunk_bytes // record_bytes, n_traces))


# -- import --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportTask:
    """One range of an import: SEG-Y trace records -> rows of ``traces.npy`` + header segments.

    ``traces_path`` is pre-sized; its rows start at byte ``data_start``. Raw headers
    go to files ``headers-<index>-<n>.bin`` in ``segment_dir``, one per Parquet row group.
    With ``extra_headers`` (rev 2 additional 240-byte headers per trace) those go to the
    rows of the pre-sized ``extra_path`` from byte ``extra_start``; with ``ibm_raw_dir``
    the raw samples of IBM traces re-encoding would change go to a part file there.
    """

    index: int
    start: int
    stop: int
    source: str
    data_offset: int
    trace_size: int
    n_samples: int
    format_code: int
    little_endian: bool
    traces_path: str
    data_start: int
    segment_dir: str
    chunk_bytes: int
    extra_headers: int = 0
    extra_path: str = ""
    extra_start: int = 0
    ibm_raw_dir: str = ""
    trace_samples_path: str = ""


@dataclass(frozen=True)
class ImportWorkerResult:
    """One worker's share: its trace range and the header segment files it wrote, in order."""

    index: int
    first_trace: int
    end_trace: int
    header_segments: tuple[Path, ...]
    seconds: float


def segment_path(folder: Path, worker: int, number: int) -> Path:
    """Header segment ``number`` of task ``worker``: names sort in trace order. A writer
    closes a segment before it creates the next one (what a reader may rely on)."""
    return folder / f"headers-{worker:04d}-{number:06d}.bin"


class _SegmentWriter:
    """A worker's raw trace headers, in files of :data:`ROW_GROUP_SIZE` headers each.

    One segment per Parquet row group lets the merge-headers stage report progress
    every row group rather than once per worker.
    """

    def __init__(self, folder: Path, worker: int) -> None:
        self._folder = folder
        self._worker = worker
        self.paths: list[Path] = []
        self._file: BinaryIO | None = None
        self._room = 0

    def write(self, headers: np.ndarray) -> None:
        while len(headers):
            if self._room == 0:
                self._rotate()
            piece = headers[: self._room]
            self._file.write(memoryview(piece).cast("B"))  # type: ignore[union-attr]
            self._room -= len(piece)
            headers = headers[len(piece) :]

    def _rotate(self) -> None:
        self.close()
        path = segment_path(self._folder, self._worker, len(self.paths))
        self._file = open(path, "wb")  # noqa: SIM115 (closed in close())
        self.paths.append(path)
        self._room = ROW_GROUP_SIZE

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> _SegmentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def import_range(task: ImportTask, ctx: TaskContext) -> ImportWorkerResult:
    """Decode traces ``[task.start, task.stop)`` of the source into their rows and segments."""
    if task.trace_samples_path:
        return _import_variable_range(task, ctx)
    started = time.monotonic()
    fmt = sample_format(task.format_code)
    trace_size = task.trace_size
    row_bytes = task.n_samples * fmt.dtype.itemsize
    chunk = chunk_traces(task.chunk_bytes, trace_size, task.stop - task.start)
    buffer = np.empty(chunk * trace_size, dtype=np.uint8)
    headers = np.empty((chunk, TRACE_HEADER_SIZE), dtype=np.uint8)
    samples = np.empty((chunk, task.n_samples), dtype=fmt.dtype)
    name = Path(task.source).name

    def ended(offset: int) -> SegyFormatError:
        return SegyFormatError(
            f"{name} ended at byte {offset} while being imported "
            "(was it truncated or replaced during the import?)"
        )

    src = open_for_reading(task.source)
    try:
        dst = open_for_writing(task.traces_path)
    except BaseException:
        os.close(src)
        raise
    segments = _SegmentWriter(Path(task.segment_dir), task.index)
    splitter = RecordSplitter(trace_size, task.extra_headers, chunk)
    ibm_raw = (
        IbmRawPart(Path(task.ibm_raw_dir), task.index, task.n_samples, task.little_endian)
        if task.ibm_raw_dir
        else None
    )
    extra = open_for_writing(task.extra_path) if task.extra_headers else -1
    try:
        with segments:
            for first in range(task.start, task.stop, chunk):
                n = min(chunk, task.stop - first)
                view = memoryview(buffer)[: n * trace_size]
                pread_exact(src, view, task.data_offset + first * trace_size, ended)
                records, extra_rows = splitter.split(buffer, n)
                splitter.write_extra(extra, extra_rows, task.extra_start, first)
                codec.decode_records(
                    records,
                    n,
                    task.n_samples,
                    task.format_code,
                    task.little_endian,
                    headers[:n],
                    samples[:n],
                )
                if ibm_raw is not None:
                    ibm_raw.check(records, first, n)
                offset = task.data_start + first * row_bytes
                pwrite_all(dst, memoryview(samples[:n]).cast("B"), offset)
                segments.write(headers[:n])
                ctx.advance(n, n * trace_size)
    finally:
        os.close(src)
        os.close(dst)
        if extra >= 0:
            os.close(extra)
        if ibm_raw is not None:
            ibm_raw.close()
    return ImportWorkerResult(
        task.index, task.start, task.stop, tuple(segments.paths), time.monotonic() - started
    )


def _import_variable_range(task: ImportTask, ctx: TaskContext) -> ImportWorkerResult:
    """:func:`import_range` for traces of varying length (``task.trace_samples_path``):
    each record decoded at its own sample count into a zero-padded row."""
    started = time.monotonic()
    fmt = sample_format(task.format_code)
    counts = np.load(task.trace_samples_path, mmap_mode="r")
    head = TRACE_HEADER_SIZE * (1 + task.extra_headers)
    offsets = task.data_offset + record_offsets(counts, head, fmt.itemsize)
    row_bytes = task.n_samples * fmt.dtype.itemsize
    chunk = chunk_traces(task.chunk_bytes, task.trace_size, task.stop - task.start)
    buffer = np.empty(chunk * task.trace_size, dtype=np.uint8)
    headers = np.empty((chunk, TRACE_HEADER_SIZE), dtype=np.uint8)
    extra_rows = np.empty((chunk, head - TRACE_HEADER_SIZE), dtype=np.uint8)
    samples = np.empty((chunk, task.n_samples), dtype=fmt.dtype)
    name = Path(task.source).name

    def ended(offset: int) -> SegyFormatError:
        return SegyFormatError(f"{name} ended at byte {offset} while being imported")

    ibm_raw = (
        IbmRawPart(Path(task.ibm_raw_dir), task.index, task.n_samples, task.little_endian)
        if task.ibm_raw_dir
        else None
    )
    src = open_for_reading(task.source)
    dst = extra = -1
    try:
        dst = open_for_writing(task.traces_path)
        extra = open_for_writing(task.extra_path) if task.extra_headers else -1
        with _SegmentWriter(Path(task.segment_dir), task.index) as segments:
            for first in range(task.start, task.stop, chunk):
                n = min(chunk, task.stop - first)
                lo, hi = int(offsets[first]), int(offsets[first + n])
                pread_exact(src, memoryview(buffer)[: hi - lo], lo, ended)
                samples[:n] = 0
                for j in range(n):
                    k = int(counts[first + j])
                    rec = buffer[int(offsets[first + j]) - lo :][: head + k * fmt.itemsize]
                    headers[j] = rec[:TRACE_HEADER_SIZE]
                    extra_rows[j] = rec[TRACE_HEADER_SIZE:head]
                    compact = np.concatenate([rec[:TRACE_HEADER_SIZE], rec[head:]])
                    row = samples[j : j + 1, :k]
                    codec.decode_records(
                        compact, 1, k, task.format_code, task.little_endian, None, row
                    )
                    if ibm_raw is not None:
                        ibm_raw.check(compact, first + j, 1)
                offset = task.data_start + first * row_bytes
                pwrite_all(dst, memoryview(samples[:n]).cast("B"), offset)
                segments.write(headers[:n])
                if extra >= 0:
                    width = head - TRACE_HEADER_SIZE
                    rows = memoryview(extra_rows[:n]).cast("B")
                    pwrite_all(extra, rows, task.extra_start + first * width)
                ctx.advance(n, hi - lo)
    finally:
        for fd in (src, dst, extra):
            if fd >= 0:
                os.close(fd)
        if ibm_raw is not None:
            ibm_raw.close()
    return ImportWorkerResult(
        task.index, task.start, task.stop, tuple(segments.paths), time.monotonic() - started
    )


# -- export --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportTask:
    """One range of an export: dataset rows + header rows -> SEG-Y trace records.

    Samples are read from ``traces_path`` (rows of ``source_dtype`` from byte
    ``traces_offset``), headers from ``headers_path``. Trace ``i`` is written at
    ``output_base + i * trace_size`` of ``output``: a pre-sized file, or with
    ``new_file`` a segment file this task creates (then ``output_base`` is
    ``-start * trace_size``). With ``extra_headers`` each record gets that many
    additional 240-byte headers from the rows of ``extra_path`` (from ``extra_start``);
    with ``ibm_raw_dir`` the kept raw IBM samples are written back where they still match.
    """

    index: int
    start: int
    stop: int
    traces_path: str
    traces_offset: int
    source_dtype: str
    headers_path: str
    n_samples: int
    format_code: int
    endian: Endian
    source_endian: Endian
    trace_size: int
    output: str
    output_base: int
    new_file: bool
    chunk_bytes: int
    extra_headers: int = 0
    extra_path: str = ""
    extra_start: int = 0
    ibm_raw_dir: str = ""
    trace_samples_path: str = ""
    #: Read only the stored raw headers (unchanged ``headers.parquet``, same byte order)
    #: in chunk-sized blocks; otherwise rebuild every field, a row group at a time.
    raw_only: bool = False


def _cannot_hold(target: SampleFormat, value: np.generic, trace: int, sample: int) -> str:
    """The refusal message for one sample ``target`` cannot hold."""
    number = value.item()
    if isinstance(number, float) and (number != number or abs(number) == float("inf")):
        why = "not a finite number"
    elif target.code in INTEGER_RANGES and float(number) != round(float(number)):
        why = "not an integer"
    else:
        why = "out of range"
    return (
        f"sample format {target.code} ({target.name}) cannot hold {number!r} at trace {trace}, "
        f"sample {sample}: {why}"
    )


def convert_samples(samples: np.ndarray, target: SampleFormat, first_trace: int = 0) -> np.ndarray:
    """Cast samples to ``target``'s dataset dtype, refusing any value it cannot hold.

    Integer targets need finite, integral values within range; float targets need
    values within range (they round to the nearest representable value, as SEG-Y
    writers do).
    """
    dtype = target.dtype
    if samples.dtype == dtype:
        return samples

    def refuse(mask: np.ndarray) -> None:
        trace, sample = np.unravel_index(int(np.argmax(mask)), mask.shape)
        raise UnrepresentableValueError(
            _cannot_hold(target, samples[trace, sample], first_trace + int(trace), int(sample))
        )

    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if samples.dtype.kind == "f":
            bad = ~np.isfinite(samples) | (samples != np.trunc(samples))
            if bad.any():
                refuse(bad)
            low, high = float(info.min), float(info.max)
        else:
            low, high = int(info.min), int(info.max)
        bad = (samples < low) | (samples > high)
        if bad.any():
            refuse(bad)
        return samples.astype(dtype)
    converted = samples.astype(dtype)
    if samples.dtype.kind == "f":
        bad = np.isinf(converted) & np.isfinite(samples)
        if bad.any():
            refuse(bad)
    return converted


def _damaged(offset: int) -> SegyError:
    return SegyError(f"traces.npy ended at byte {offset}: the dataset is damaged")


def _header_blocks(
    task: ExportTask, headers: pq.ParquetFile, chunk: int
) -> Iterator[tuple[int, np.ndarray]]:
    """The task's raw headers in output order: ``raw_header`` alone in chunk-sized blocks
    when ``task.raw_only``, else every field rebuilt a row group at a time."""
    return iter_header_blocks(
        headers,
        task.start,
        task.stop,
        task.endian,
        task.source_endian,
        task.raw_only,
        chunk if task.raw_only else ROW_GROUP_SIZE,
    )


def export_range(task: ExportTask, ctx: TaskContext) -> Path | None:
    """Encode traces ``[task.start, task.stop)``; return the segment written, if any."""
    if task.trace_samples_path:
        return _export_variable_range(task, ctx)
    fmt = sample_format(task.format_code)
    n_samples = task.n_samples
    source_dtype = np.dtype(task.source_dtype)
    row_bytes = n_samples * source_dtype.itemsize
    trace_size = task.trace_size
    chunk = chunk_traces(task.chunk_bytes, trace_size, task.stop - task.start)
    samples = np.empty((chunk, n_samples), dtype=source_dtype)
    record = np.empty(chunk * trace_size, dtype=np.uint8)
    extra_bytes = TRACE_HEADER_SIZE * task.extra_headers
    compact = np.empty(chunk * (trace_size - extra_bytes) if extra_bytes else 0, np.uint8)
    little = task.endian == "little"
    restorer = (
        IbmRawRestorer(Path(task.ibm_raw_dir), n_samples, little) if task.ibm_raw_dir else None
    )
    fd = open_for_reading(task.traces_path)
    out = xfd = -1
    try:
        out = open_for_writing(task.output, create=task.new_file)
        xfd = open_for_reading(task.extra_path) if extra_bytes else -1
    except BaseException:
        for opened in (fd, out):
            if opened >= 0:
                os.close(opened)
        raise
    try:
        with pq.ParquetFile(task.headers_path) as headers:
            for lo, raw in _header_blocks(task, headers, chunk):
                hi = lo + len(raw)
                for first in range(lo, hi, chunk):
                    n = min(chunk, hi - first)
                    view = memoryview(samples[:n]).cast("B")
                    pread_exact(fd, view, task.traces_offset + first * row_bytes, _damaged)
                    values = convert_samples(samples[:n], fmt, first)
                    nbytes = n * trace_size
                    encoded = (compact if extra_bytes else record)[: nbytes - n * extra_bytes]
                    bad = codec.encode_records(
                        raw[first - lo : first - lo + n],
                        np.ascontiguousarray(values),
                        fmt.code,
                        little,
                        encoded,
                    )
                    if bad != -1:
                        trace, sample = divmod(bad, n_samples)
                        raise UnrepresentableValueError(
                            _cannot_hold(fmt, values[trace, sample], first + trace, sample)
                        )
                    if restorer is not None:
                        restorer.restore(encoded, values, first, n)
                    if extra_bytes:
                        rows = read_extra_rows(
                            xfd, task.extra_start, first, n, task.extra_headers, _damaged
                        )
                        join_records(encoded, rows, n, record)
                    offset = task.output_base + first * trace_size
                    pwrite_all(out, memoryview(record[:nbytes]), offset)
                    ctx.advance(n, nbytes)
    finally:
        os.close(fd)
        os.close(out)
        if xfd >= 0:
            os.close(xfd)
    return Path(task.output) if task.new_file else None


def _export_variable_range(task: ExportTask, ctx: TaskContext) -> Path | None:
    """:func:`export_range` for traces of varying length (``task.trace_samples_path``):
    trace ``t`` is written with its own sample count at ``output_base + offsets[t]``,
    ``offsets`` the records' positions relative to the first."""
    fmt = sample_format(task.format_code)
    counts = np.load(task.trace_samples_path, mmap_mode="r")
    head = TRACE_HEADER_SIZE * (1 + task.extra_headers)
    offsets = record_offsets(counts, head, fmt.itemsize)
    source_dtype = np.dtype(task.source_dtype)
    row_bytes = task.n_samples * source_dtype.itemsize
    chunk = chunk_traces(task.chunk_bytes, task.trace_size, task.stop - task.start)
    samples = np.empty((chunk, task.n_samples), dtype=source_dtype)
    record = np.empty(chunk * task.trace_size, dtype=np.uint8)
    compact = np.empty(TRACE_HEADER_SIZE + task.n_samples * fmt.itemsize, dtype=np.uint8)
    little = task.endian == "little"
    restorer = (
        IbmRawRestorer(Path(task.ibm_raw_dir), task.n_samples, little) if task.ibm_raw_dir else None
    )
    fd = open_for_reading(task.traces_path)
    out = xfd = -1
    try:
        out = open_for_writing(task.output, create=task.new_file)
        xfd = open_for_reading(task.extra_path) if task.extra_headers else -1
        with pq.ParquetFile(task.headers_path) as headers:
            for lo, raw in _header_blocks(task, headers, chunk):
                hi = lo + len(raw)
                for first in range(lo, hi, chunk):
                    n = min(chunk, hi - first)
                    view = memoryview(samples[:n]).cast("B")
                    pread_exact(fd, view, task.traces_offset + first * row_bytes, _damaged)
                    values = convert_samples(samples[:n], fmt, first)
                    rows = None
                    if xfd >= 0:
                        extra = task.extra_headers
                        rows = read_extra_rows(xfd, task.extra_start, first, n, extra, _damaged)
                    base = int(offsets[first])
                    for j in range(n):
                        k = int(counts[first + j])
                        size = TRACE_HEADER_SIZE + k * fmt.itemsize
                        bad = codec.encode_records(
                            raw[first - lo + j : first - lo + j + 1],
                            np.ascontiguousarray(values[j : j + 1, :k]),
                            fmt.code,
                            little,
                            compact[:size],
                        )
                        if bad != -1:
                            raise UnrepresentableValueError(
                                _cannot_hold(fmt, values[j, bad], first + j, bad)
                            )
                        if restorer is not None:
                            restorer.restore(compact[:size], values[j : j + 1, :k], first + j, 1)
                        at = int(offsets[first + j]) - base
                        rec = record[at : at + head + k * fmt.itemsize]
                        rec[:TRACE_HEADER_SIZE] = compact[:TRACE_HEADER_SIZE]
                        if rows is not None:
                            rec[TRACE_HEADER_SIZE:head] = rows[j]
                        rec[head:] = compact[TRACE_HEADER_SIZE:size]
                    nbytes = int(offsets[first + n]) - base
                    pwrite_all(out, memoryview(record[:nbytes]), task.output_base + base)
                    ctx.advance(n, nbytes)
    finally:
        for opened in (fd, out, xfd):
            if opened >= 0:
                os.close(opened)
    return Path(task.output) if task.new_file else None
