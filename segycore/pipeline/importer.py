"""Staged parallel import: SEG-Y file -> dataset folder.

Stages (see :data:`segycore.pipeline.stages.IMPORT_STAGES`): parallel import, merge headers,
build ensemble index, cleanup. Each is a method so front ends can run and report them
one by one; :meth:`ParallelImportCoordinator.run` runs them all.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from ..dataset.dataset import HEADERS_FILE, INDEX_DIR, TRACES_FILE, layout_metadata, write_metadata
from ..dataset.headers import ROW_GROUP_SIZE, headers_to_table, iter_raw_headers, open_header_writer
from ..dataset.indexing import build_indexes
from ..errors import JobCancelled, SegyFormatError
from ..format import codec
from ..format.layout import Endian, SegyLayout, read_layout
from ..format.spec import TRACE_HEADER_SIZE, resolve_trace_field
from ..storage.fileio import pread_exact, pwrite_all
from ..storage.staging import (
    check_destination,
    check_free_space,
    discard_paths,
    publish,
    staging_path,
)
from .stages import ParallelProgress, ProgressCallback, Throttle
from .workers import (
    RateLimiter,
    WorkerContext,
    check_job_options,
    run_workers,
    split_range,
)

__all__ = ["ImportConfig", "ImportResult", "ImportWorkerResult", "ParallelImportCoordinator"]

#: Bytes of trace records a worker reads and converts at a time: bounded memory per worker.
CHUNK_BYTES = 2 * 1024 * 1024
#: Header blocks decoded ahead of the Parquet writer during the merge-headers stage.
MERGE_LOOKAHEAD = 2


@dataclass(frozen=True)
class ImportConfig:
    """What to import and how.

    Parameters
    ----------
    source
        The SEG-Y file (opened read-only, never modified).
    destination
        The dataset folder to create.
    workers
        Worker threads; default the CPU count.
    ensemble_keys
        Header fields to index ensembles on (any accepted field name or byte position).
    endian
        ``"big"`` or ``"little"`` to override byte-order detection.
    overwrite
        Replace an existing destination (only once the new dataset is complete).
    chunk_bytes
        Bytes of trace records a worker converts at a time (bounds its memory).
    rate_limit
        Cap on the job's I/O in MB/s, to keep a shared workstation responsive.
    """

    source: Path | str
    destination: Path | str
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    ensemble_keys: Sequence[str | int] = ("field_record",)
    endian: Endian | None = None
    overwrite: bool = False
    chunk_bytes: int = CHUNK_BYTES
    rate_limit: float | None = None

    def __post_init__(self) -> None:
        check_job_options(self.workers, self.endian, self.chunk_bytes, self.rate_limit)


@dataclass(frozen=True)
class ImportWorkerResult:
    """One worker's share: its trace range and the header segment files it wrote, in order."""

    index: int
    first_trace: int
    end_trace: int
    header_segments: tuple[Path, ...]
    seconds: float


def header_segments(worker_results: Sequence[ImportWorkerResult]) -> list[Path]:
    """Every header segment of a parallel import, in trace order."""
    ordered = sorted(worker_results, key=lambda r: r.index)
    return [path for result in ordered for path in result.header_segments]


@dataclass(frozen=True)
class ImportResult:
    """A finished import."""

    dataset: Path
    n_traces: int
    n_samples: int
    sample_format: int
    stage_seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": str(self.dataset),
            "n_traces": self.n_traces,
            "n_samples": self.n_samples,
            "sample_format": self.sample_format,
            "stage_seconds": self.stage_seconds,
        }


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
        path = self._folder / f"headers-{self._worker:04d}-{len(self.paths):06d}.bin"
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


class ParallelImportCoordinator:
    """Runs the import stages of one SEG-Y file into one dataset folder.

    The source is validated in the constructor: bad input fails there, before anything
    is written. The dataset is built in a hidden staging folder beside the destination
    and renamed into place by the last stage; :meth:`abort` removes it.
    """

    def __init__(self, config: ImportConfig) -> None:
        self.config = config
        self.source = Path(config.source)
        self.destination = Path(config.destination)
        self.keys = [resolve_trace_field(k).name for k in config.ensemble_keys]
        self.layout: SegyLayout = read_layout(self.source, config.endian)
        check_destination(self.destination, config.overwrite, self.source)
        self.staging = staging_path(self.destination)
        self.stage_seconds: dict[str, float] = {}
        self._cancel = threading.Event()
        self._published = False
        self._limiter = RateLimiter(config.rate_limit)

    # -- control ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running stage to stop at its next chunk (only the parallel stage stops)."""
        self._cancel.set()

    @property
    def was_cancelled(self) -> bool:
        return self._cancel.is_set()

    def abort(self) -> None:
        """Remove everything this job wrote (a no-op once the dataset is published).

        Best effort: never raises, so the error that stopped the job is the one reported.
        """
        if not self._published:
            discard_paths(self.staging)

    def _source_ended(self, offset: int) -> SegyFormatError:
        return SegyFormatError(
            f"{self.source.name} ended at byte {offset} while being imported "
            "(was it truncated or replaced during the import?)"
        )

    # -- stage 1 ---------------------------------------------------------------------
    def run_parallel_import(
        self,
        progress_callback: Callable[[ParallelProgress], None] | None = None,
        worker_callback: Callable[[Sequence[WorkerContext]], None] | None = None,
    ) -> tuple[list[ImportWorkerResult], int]:
        """Convert every trace into ``traces.npy`` and write one raw header segment per worker."""
        started = time.monotonic()
        layout = self.layout
        dtype = layout.format.dtype
        sample_bytes = layout.n_traces * layout.n_samples * dtype.itemsize
        check_free_space(
            self.destination.parent, sample_bytes + 2 * layout.n_traces * TRACE_HEADER_SIZE
        )
        self.staging.mkdir()
        traces_path = self.staging / TRACES_FILE
        with open(traces_path, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh,
                {
                    "descr": np.lib.format.dtype_to_descr(dtype),
                    "fortran_order": False,
                    "shape": (layout.n_traces, layout.n_samples),
                },
            )
            data_start = fh.tell()
            fh.truncate(data_start + sample_bytes)

        ranges = split_range(layout.n_traces, int(self.config.workers))

        def work(ctx: WorkerContext) -> ImportWorkerResult:
            return self._import_range(ctx, traces_path, data_start)

        results = run_workers(
            ranges, work, self._cancel, progress_callback, worker_callback, self._limiter
        )
        if self._cancel.is_set():
            raise JobCancelled("import cancelled by the user")
        self.stage_seconds["import"] = time.monotonic() - started
        return results, layout.n_traces

    def _import_range(
        self, ctx: WorkerContext, traces_path: Path, data_start: int
    ) -> ImportWorkerResult:
        started = time.monotonic()
        layout = self.layout
        trace_size = layout.trace_size
        row_bytes = layout.n_samples * layout.format.dtype.itemsize
        chunk = max(1, min(self.config.chunk_bytes // trace_size, ctx.stop - ctx.start))
        buffer = np.empty(chunk * trace_size, dtype=np.uint8)
        headers = np.empty((chunk, TRACE_HEADER_SIZE), dtype=np.uint8)
        samples = np.empty((chunk, layout.n_samples), dtype=layout.format.dtype)
        src = os.open(self.source, os.O_RDONLY)
        dst = os.open(traces_path, os.O_WRONLY)
        segments = _SegmentWriter(self.staging, ctx.index)
        try:
            with segments:
                for first in range(ctx.start, ctx.stop, chunk):
                    n = min(chunk, ctx.stop - first)
                    view = memoryview(buffer)[: n * trace_size]
                    pread_exact(
                        src, view, layout.data_offset + first * trace_size, self._source_ended
                    )
                    codec.decode_records(
                        buffer[: n * trace_size],
                        n,
                        layout.n_samples,
                        layout.format.code,
                        layout.little_endian,
                        headers[:n],
                        samples[:n],
                    )
                    pwrite_all(
                        dst, memoryview(samples[:n]).cast("B"), data_start + first * row_bytes
                    )
                    segments.write(headers[:n])
                    ctx.advance(n, n * trace_size)
        finally:
            os.close(src)
            os.close(dst)
        return ImportWorkerResult(
            ctx.index, ctx.start, ctx.stop, tuple(segments.paths), time.monotonic() - started
        )

    # -- stage 2 ---------------------------------------------------------------------
    def run_merge_headers(
        self,
        worker_results: Sequence[ImportWorkerResult],
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Stream the header segments, in order, into ``headers.parquet``; report segments.

        Decoding the next blocks (numpy, GIL released) overlaps writing the current one
        (pyarrow, GIL released); at most :data:`MERGE_LOOKAHEAD` blocks are in memory.
        """
        started = time.monotonic()
        path = self.staging / HEADERS_FILE
        ordered = header_segments(worker_results)
        report = Throttle(progress_callback, len(ordered))
        report(0, force=True)

        def blocks() -> Iterator[tuple[np.ndarray, int]]:
            """Raw header blocks, each with the segments completed once it is written."""
            for done, segment in enumerate(ordered, 1):
                previous = None
                for raw in iter_raw_headers(segment):
                    if previous is not None:
                        yield previous, done - 1
                    previous = raw
                if previous is not None:
                    yield previous, done

        pending: deque[tuple[Future[pa.Table], int]] = deque()
        with (
            ThreadPoolExecutor(MERGE_LOOKAHEAD, thread_name_prefix="segycore-headers") as pool,
            pa.OSFile(str(path), "wb") as sink,  # closed even if the writer fails (disk full)
            open_header_writer(sink) as writer,
        ):

            def write_oldest() -> None:
                table, done = pending.popleft()
                writer.write_table(table.result(), row_group_size=ROW_GROUP_SIZE)
                report(done)

            for raw, done in blocks():
                pending.append((pool.submit(headers_to_table, raw, self.layout.endian), done))
                if len(pending) > MERGE_LOOKAHEAD:
                    write_oldest()
            while pending:
                write_oldest()
        report(len(ordered), force=True)
        self.stage_seconds["merge_headers"] = time.monotonic() - started
        return path

    # -- stage 3 ---------------------------------------------------------------------
    def run_build_index(
        self, headers_path: Path, progress_callback: ProgressCallback | None = None
    ) -> dict[str, Path]:
        """Index every key and detect the survey grid (``dataset.indexing``); report traces."""
        started = time.monotonic()
        report = Throttle(progress_callback, self.layout.n_traces)
        report(0, force=True)
        build_indexes(
            headers_path,
            self.layout.n_traces,
            self.keys,
            self.staging,
            report=report,
            cancelled=self._cancel.is_set,
        )
        report(self.layout.n_traces, force=True)
        self.stage_seconds["build_index"] = time.monotonic() - started
        return {key: self.staging / INDEX_DIR / f"{key}.parquet" for key in self.keys}

    # -- stage 4 ---------------------------------------------------------------------
    def run_cleanup(
        self,
        worker_results: Sequence[ImportWorkerResult],
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Remove the header segments, write ``metadata.json`` and publish the dataset."""
        started = time.monotonic()
        segments = header_segments(worker_results)
        report = Throttle(progress_callback, len(segments))
        report(0, force=True)
        for done, segment in enumerate(segments, 1):
            segment.unlink(missing_ok=True)
            report(done)
        self.stage_seconds["cleanup"] = time.monotonic() - started
        metadata = layout_metadata(self.layout)
        metadata["ensemble_keys"] = self.keys
        metadata["stage_seconds"] = dict(self.stage_seconds)
        metadata["workers"] = int(self.config.workers)
        write_metadata(self.staging, metadata)
        publish(self.staging, self.destination, self.config.overwrite)
        self._published = True
        return self.destination

    # -- all stages ------------------------------------------------------------------
    def run(self, progress_callback: Callable[[str, Any], None] | None = None) -> ImportResult:
        """Run every stage; ``progress_callback(stage_key, progress)`` sees them all.

        On failure or cancel everything written is removed and the error is raised
        (:class:`~segycore.errors.JobCancelled` for a cancel).
        """

        def for_stage(key: str) -> ProgressCallback | None:
            if progress_callback is None:
                return None
            if key == "import":
                return lambda record: progress_callback(key, record)
            return lambda done, total: progress_callback(key, (done, total))

        try:
            results, _ = self.run_parallel_import(for_stage("import"))
            headers_path = self.run_merge_headers(results, for_stage("merge_headers"))
            self.run_build_index(headers_path, for_stage("build_index"))
            self.run_cleanup(results, for_stage("cleanup"))
        except BaseException:
            self.abort()
            raise
        return ImportResult(
            self.destination,
            self.layout.n_traces,
            self.layout.n_samples,
            self.layout.format.code,
            dict(self.stage_seconds),
        )
