"""Staged parallel export: dataset folder -> SEG-Y file.

Stages (see :data:`segycore.pipeline.stages.EXPORT_STAGES`): parallel export (one segment file
per worker), merge segments (file headers + segments into the destination), cleanup.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from ..dataset.dataset import Dataset, open_dataset
from ..dataset.headers import table_to_headers
from ..errors import JobCancelled, SegyError, UnrepresentableValueError
from ..format import codec
from ..format.layout import Endian, binary_header_dtype, encode_textual_header
from ..format.spec import INTEGER_RANGES, TRACE_HEADER_SIZE, SampleFormat, sample_format
from ..storage import merge
from ..storage.fileio import pread_exact, pwrite_all
from ..storage.staging import (
    check_destination,
    check_free_space,
    discard_paths,
    publish,
    remove_path,
    staging_path,
)
from .ibm_raw import IbmRawRestorer
from .rev2 import (
    EXTRA_HEADERS_FILE,
    extra_headers_offset,
    join_records,
    read_extra_rows,
    structure_of,
)
from .stages import ParallelProgress, ProgressCallback, Throttle
from .workers import (
    RateLimiter,
    WorkerContext,
    check_job_options,
    run_workers,
    split_range,
)

__all__ = [
    "ExportConfig",
    "ExportResult",
    "ParallelExportCoordinator",
    "convert_samples",
    "export_binary_header",
]

CHUNK_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class ExportConfig:
    """What to export and how.

    Parameters
    ----------
    dataset
        The dataset folder to export.
    destination
        The SEG-Y file to create.
    workers
        Worker threads; default the CPU count.
    format_code
        Output sample format; default the source file's.
    endian
        Output byte order; default the source file's.
    textual_header
        Text replacing the textual header (40 lines of 80 characters, in the source's
        encoding); default the source's bytes.
    overwrite
        Replace an existing destination (only once the new file is complete).
    segments
        Write each worker's traces to a segment file of its own, then merge the
        segments into the output (the original scheme: twice the disk space and every
        byte written twice). By default workers write straight into their slice of the
        pre-sized output file and the merge stage only writes the file headers.
    merge_method
        How segments are merged (see :func:`segycore.storage.merge.available_methods`).
    chunk_bytes
        Bytes a worker encodes, and the merge copies, at a time.
    rate_limit
        Cap on the job's I/O in MB/s, to keep a shared workstation responsive.
    """

    dataset: Path | str
    destination: Path | str
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    format_code: int | None = None
    endian: Endian | None = None
    textual_header: str | None = None
    overwrite: bool = False
    segments: bool = False
    merge_method: str = "auto"
    chunk_bytes: int = CHUNK_BYTES
    rate_limit: float | None = None

    def __post_init__(self) -> None:
        check_job_options(self.workers, self.endian, self.chunk_bytes, self.rate_limit)


@dataclass(frozen=True)
class ExportResult:
    """A finished export."""

    destination: Path
    n_traces: int
    n_samples: int
    sample_format: int
    size_bytes: int
    stage_seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": str(self.destination),
            "n_traces": self.n_traces,
            "n_samples": self.n_samples,
            "sample_format": self.sample_format,
            "size_bytes": self.size_bytes,
            "stage_seconds": self.stage_seconds,
        }


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


def export_binary_header(
    raw: bytes, source_endian: Endian, endian: Endian, format_code: int
) -> bytes:
    """The output binary header: the source's bytes with the format code (and byte order)."""
    source = np.frombuffer(raw, dtype=binary_header_dtype(source_endian), count=1)
    out = np.frombuffer(bytearray(raw), dtype=binary_header_dtype(endian), count=1)
    if endian != source_endian:
        for name in source.dtype.names:
            out[name] = source[name]
    out["format_code"] = format_code
    return out.tobytes()


def _damaged(offset: int) -> SegyError:
    return SegyError(f"traces.npy ended at byte {offset}: the dataset is damaged")


class ParallelExportCoordinator:
    """Runs the export stages of one dataset into one SEG-Y file.

    Arguments are validated in the constructor, before anything is written. Segments go
    to a hidden staging folder beside the destination, the merge to a hidden staging
    file that the last stage renames into place; :meth:`abort` removes both.
    """

    def __init__(self, config: ExportConfig) -> None:
        self.config = config
        self.dataset: Dataset = open_dataset(config.dataset)
        self.destination = Path(config.destination)
        self.source_endian: Endian = self.dataset.byte_order  # type: ignore[assignment]
        self.endian: Endian = config.endian or self.source_endian
        self.format = sample_format(config.format_code or self.dataset.sample_format)
        if not self.format.supported:
            raise SegyError(
                f"sample format {self.format.code} ({self.format.name}) is not supported"
            )
        if config.merge_method not in ("auto", *merge.available_methods()):
            raise SegyError(
                f"unknown merge method {config.merge_method!r} "
                f"(available: auto, {', '.join(merge.available_methods())})"
            )
        check_destination(self.destination, config.overwrite, self.dataset.path)
        self.segment_dir = staging_path(self.destination, "segments")
        self.staged_file = staging_path(self.destination)
        self.stage_seconds: dict[str, float] = {}
        self._cancel = threading.Event()
        self._published = False
        self._file_header: bytes | None = None
        self._limiter = RateLimiter(config.rate_limit)
        self.extra, self.header_gap, self.trailer = structure_of(self.dataset.metadata)
        self._ibm_raw: IbmRawRestorer | None = None
        same_ibm = self.format.code == 1 == self.dataset.sample_format
        if (
            same_ibm
            and self.endian == self.source_endian
            and IbmRawRestorer.present(self.dataset.path)
        ):
            try:
                self._ibm_raw = IbmRawRestorer(
                    self.dataset.path, self.dataset.n_samples, self.endian == "little"
                )
            except (OSError, ValueError) as exc:
                raise SegyError(f"{self.dataset.path}: {exc}") from None
        self._extra_start = 0
        if self.extra:
            try:
                self._extra_start = extra_headers_offset(
                    self.dataset.path, self.dataset.n_traces, self.extra
                )
            except (OSError, ValueError) as exc:
                raise SegyError(f"{self.dataset.path / EXTRA_HEADERS_FILE}: {exc}") from None

    # -- control ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running stage to stop at its next chunk (parallel export and merge)."""
        self._cancel.set()

    @property
    def was_cancelled(self) -> bool:
        return self._cancel.is_set()

    def abort(self) -> None:
        """Remove everything this job wrote (a no-op once the file is published).

        Best effort: never raises, so the error that stopped the job is the one reported.
        """
        discard_paths(self.segment_dir)
        if not self._published:
            discard_paths(self.staged_file)

    @property
    def trace_size(self) -> int:
        """Bytes per output record: the trace header(s) and the samples."""
        return TRACE_HEADER_SIZE * (1 + self.extra) + self.dataset.n_samples * self.format.itemsize

    def file_header(self) -> bytes:
        """Textual, binary and extended textual headers of the output file (built once)."""
        if self._file_header is None:
            self._file_header = self._build_file_header()
        return self._file_header

    def _build_file_header(self) -> bytes:
        headers = self.dataset.file_headers
        textual = headers.textual
        if self.config.textual_header is not None:
            encoding = str(self.dataset.metadata.get("textual_encoding", "ebcdic"))
            textual = encode_textual_header(self.config.textual_header, encoding)
        binary = headers.binary  # the source's own bytes, also after an import override
        if self.endian != self.source_endian or self.format.code != self.dataset.sample_format:
            binary = export_binary_header(
                headers.binary, self.source_endian, self.endian, self.format.code
            )
        return textual + binary + b"".join(headers.extended) + self.header_gap

    # -- stage 1 ---------------------------------------------------------------------
    def run_parallel_export(
        self,
        progress_callback: Callable[[ParallelProgress], None] | None = None,
        worker_callback: Callable[[Sequence[WorkerContext]], None] | None = None,
    ) -> tuple[list[Path], int, int]:
        """Encode every trace; report traces done.

        With ``segments`` each worker writes a segment file (returned, in order);
        otherwise each writes its slice of the pre-sized output and none are returned.
        """
        started = time.monotonic()
        n_traces, n_samples = self.dataset.n_traces, self.dataset.n_samples
        trace_bytes = n_traces * self.trace_size
        if self.config.segments:
            check_free_space(self.destination.parent, 2 * trace_bytes)
            self.segment_dir.mkdir()
        else:
            check_free_space(self.destination.parent, trace_bytes)
            with open(self.staged_file, "xb") as fh:
                fh.truncate(len(self.file_header()) + trace_bytes + len(self.trailer))
        ranges = split_range(n_traces, int(self.config.workers))
        results = run_workers(
            ranges,
            self._export_range,
            self._cancel,
            progress_callback,
            worker_callback,
            self._limiter,
        )
        if self._cancel.is_set():
            raise JobCancelled("export cancelled by the user")
        self.stage_seconds["export"] = time.monotonic() - started
        segments = [path for path in results if path is not None]
        return segments, n_traces, n_samples

    def _row_groups(self, headers: pq.ParquetFile, start: int, stop: int):
        """Yield ``(row_group, first_row_of_group)`` for groups overlapping [start, stop)."""
        first = 0
        for i in range(headers.metadata.num_row_groups):
            rows = headers.metadata.row_group(i).num_rows
            if first < stop and first + rows > start:
                yield i, first
            first += rows

    def _open_output(self, ctx: WorkerContext) -> tuple[int, int, Path | None]:
        """Where a worker writes: ``(fd, offset of trace 0, segment path or None)``."""
        if self.config.segments:
            segment = self.segment_dir / f"segment-{ctx.index:04d}.sgy"
            fd = os.open(segment, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            return fd, -ctx.start * self.trace_size, segment
        fd = os.open(self.staged_file, os.O_WRONLY)
        return fd, len(self.file_header()), None

    def _export_range(self, ctx: WorkerContext) -> Path | None:
        n_samples = self.dataset.n_samples
        traces = self.dataset.traces
        source_dtype = traces.dtype
        row_bytes = n_samples * source_dtype.itemsize
        chunk = max(1, min(self.config.chunk_bytes // self.trace_size, ctx.stop - ctx.start))
        samples = np.empty((chunk, n_samples), dtype=source_dtype)
        record = np.empty(chunk * self.trace_size, dtype=np.uint8)
        compact = np.empty(chunk * (self.trace_size - TRACE_HEADER_SIZE * self.extra), np.uint8)
        little = self.endian == "little"
        fd = os.open(self.dataset.path / "traces.npy", os.O_RDONLY)
        xfd = os.open(self.dataset.path / EXTRA_HEADERS_FILE, os.O_RDONLY) if self.extra else -1
        out, base, segment = self._open_output(ctx)
        try:
            with pq.ParquetFile(self.dataset.headers_path) as headers:
                for group, group_first in self._row_groups(headers, ctx.start, ctx.stop):
                    table = headers.read_row_group(group)
                    lo = max(ctx.start, group_first)
                    hi = min(ctx.stop, group_first + table.num_rows)
                    raw = table_to_headers(
                        table.slice(lo - group_first, hi - lo), self.endian, self.source_endian
                    )
                    for first in range(lo, hi, chunk):
                        n = min(chunk, hi - first)
                        view = memoryview(samples[:n]).cast("B")
                        pread_exact(fd, view, traces.offset + first * row_bytes, _damaged)
                        values = convert_samples(samples[:n], self.format, first)
                        nbytes = n * self.trace_size
                        encoded = compact if self.extra else record
                        bad = codec.encode_records(
                            raw[first - lo : first - lo + n],
                            np.ascontiguousarray(values),
                            self.format.code,
                            little,
                            encoded[: nbytes - n * TRACE_HEADER_SIZE * self.extra],
                        )
                        if bad != -1:
                            trace, sample = divmod(bad, n_samples)
                            raise UnrepresentableValueError(
                                _cannot_hold(
                                    self.format, values[trace, sample], first + trace, sample
                                )
                            )
                        if self._ibm_raw is not None:
                            self._ibm_raw.restore(
                                encoded[: nbytes - n * TRACE_HEADER_SIZE * self.extra],
                                values,
                                first,
                                n,
                            )
                        if self.extra:
                            rows = read_extra_rows(
                                xfd, self._extra_start, first, n, self.extra, _damaged
                            )
                            join_records(compact, rows, n, record)
                        pwrite_all(out, memoryview(record[:nbytes]), base + first * self.trace_size)
                        ctx.advance(n, nbytes)
        finally:
            os.close(fd)
            os.close(out)
            if xfd >= 0:
                os.close(xfd)
        return segment

    # -- stage 2 ---------------------------------------------------------------------
    def get_merge_stats(self, segment_paths: Sequence[Path]) -> dict[str, int]:
        """Sizes the merge will write: ``output_size_bytes`` and its parts."""
        header = len(self.file_header())
        if segment_paths:
            segments = sum(Path(p).stat().st_size for p in segment_paths)
        else:
            segments = self.dataset.n_traces * self.trace_size  # already in place
        return {
            "output_size_bytes": header + segments + len(self.trailer),
            "header_bytes": header,
            "segment_bytes": segments,
            "segments": len(segment_paths),
        }

    def run_merge(
        self,
        segment_paths: Sequence[Path],
        n_samples: int,
        progress_callback: ProgressCallback | None = None,
    ) -> int:
        """Write file headers then the segments, in order, to the staging file; report bytes.

        Without segments (the traces are in place already) only the headers are written.
        """
        started = time.monotonic()
        if not segment_paths:
            return self._write_header_in_place(progress_callback, started)
        segment_bytes = sum(Path(p).stat().st_size for p in segment_paths)
        trace_size = TRACE_HEADER_SIZE * (1 + self.extra) + n_samples * self.format.itemsize
        n_traces, leftover = divmod(segment_bytes, trace_size)
        if leftover:
            raise SegyError(
                f"segments hold {segment_bytes} bytes, not whole {trace_size}-byte traces"
            )
        copied = 0

        def on_progress(done: int, total: int) -> None:
            nonlocal copied
            self._limiter.consume(done - copied, self._cancel)
            copied = done
            if progress_callback is not None:
                progress_callback(done, total)

        try:
            merge.merge_files(
                self.file_header(),
                [Path(p) for p in segment_paths],
                self.staged_file,
                method=self.config.merge_method,
                progress=on_progress,
                should_cancel=self._cancel.is_set,
                chunk_size=self.config.chunk_bytes,
            )
        except merge.MergeCancelled:
            raise JobCancelled("export cancelled by the user") from None
        if self.trailer:
            with open(self.staged_file, "ab") as fh:
                fh.write(self.trailer)
        self.stage_seconds["merge"] = time.monotonic() - started
        return n_traces

    def _write_header_in_place(
        self, progress_callback: ProgressCallback | None, started: float
    ) -> int:
        if self._cancel.is_set():
            raise JobCancelled("export cancelled by the user")
        header = self.file_header()
        expected = len(header) + self.dataset.n_traces * self.trace_size + len(self.trailer)
        fd = os.open(self.staged_file, os.O_WRONLY)
        try:
            if os.fstat(fd).st_size != expected:
                raise SegyError(f"{self.staged_file} does not hold the exported traces")
            pwrite_all(fd, memoryview(header), 0)
            if self.trailer:
                pwrite_all(fd, memoryview(self.trailer), expected - len(self.trailer))
        finally:
            os.close(fd)
        if progress_callback is not None:
            progress_callback(expected, expected)
        self.stage_seconds["merge"] = time.monotonic() - started
        return self.dataset.n_traces

    # -- stage 3 ---------------------------------------------------------------------
    def run_cleanup(
        self,
        segment_paths: Sequence[Path],
        segments: Path | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Remove the segment files (and their folder ``segments``), publish the output."""
        started = time.monotonic()
        report = Throttle(progress_callback, len(segment_paths))
        report(0, force=True)
        for done, path in enumerate(segment_paths, 1):
            Path(path).unlink(missing_ok=True)
            report(done)
        remove_path(segments or self.segment_dir)
        publish(self.staged_file, self.destination, self.config.overwrite)
        self._published = True
        self.stage_seconds["cleanup"] = time.monotonic() - started
        return self.destination

    # -- all stages ------------------------------------------------------------------
    def run(self, progress_callback: Callable[[str, Any], None] | None = None) -> ExportResult:
        """Run every stage; ``progress_callback(stage_key, progress)`` sees them all."""

        def for_stage(key: str) -> ProgressCallback | None:
            if progress_callback is None:
                return None
            if key == "export":
                return lambda record: progress_callback(key, record)
            return lambda done, total: progress_callback(key, (done, total))

        try:
            segments, _, n_samples = self.run_parallel_export(for_stage("export"))
            n_traces = self.run_merge(segments, n_samples, for_stage("merge"))
            self.run_cleanup(segments, self.segment_dir, for_stage("cleanup"))
        except BaseException:
            self.abort()
            raise
        return ExportResult(
            self.destination,
            n_traces,
            n_samples,
            self.format.code,
            self.destination.stat().st_size,
            dict(self.stage_seconds),
        )
