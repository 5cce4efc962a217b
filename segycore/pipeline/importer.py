"""Staged parallel import: SEG-Y file -> dataset folder.

Stages (see :data:`segycore.pipeline.stages.IMPORT_STAGES`): parallel import, merge headers,
build ensemble index, cleanup. Each is a method so front ends can run and report them
one by one; :meth:`ParallelImportCoordinator.run` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset.dataset import HEADERS_FILE, INDEX_DIR, TRACES_FILE, layout_metadata, write_metadata
from ..dataset.header_blocks import FINGERPRINT_KEY, headers_fingerprint
from ..dataset.indexing import build_indexes
from ..format.fields import parse_header_fields, resolve_columns
from ..format.layout import SegyLayout, read_layout
from ..format.spec import TRACE_HEADER_SIZE
from ..storage.prealloc import preallocate
from ..storage.staging import (
    check_destination,
    check_free_space,
    discard_paths,
    publish,
    staging_path,
)
from .cluster import cluster_backend
from .configs import ImportConfig
from .coordinator import Coordinator
from .header_merge import HeaderMerge
from .ibm_raw import IBM_RAW_DIR, join_parts
from .reporting import StageReporter
from .rev2 import (
    EXTRA_HEADERS_FILE,
    TRACE_SAMPLES_FILE,
    create_extra_headers,
    raw_structure,
    write_extension1,
)
from .stages import IMPORT_STAGES, ParallelProgress, ProgressCallback
from .tasks import ImportTask, ImportWorkerResult, import_range
from .workers import Backend, ThreadBackend, WorkerStatus, split_range

__all__ = ["ImportConfig", "ImportResult", "ImportWorkerResult", "ParallelImportCoordinator"]

#: Warnings a job result carries (the result block is small; metadata.json has them all).
MAX_RESULT_WARNINGS = 20


def header_segments(worker_results: Sequence[ImportWorkerResult]) -> list[Path]:
    """Every header segment of a parallel import, in trace order."""
    ordered = sorted(worker_results, key=lambda r: r.index)
    return [path for result in ordered for path in result.header_segments]


@dataclass(frozen=True)
class ImportResult:
    """A finished import (``size_bytes``: the source file's size)."""

    dataset: Path
    n_traces: int
    n_samples: int
    sample_format: int
    stage_seconds: dict[str, float]
    size_bytes: int = 0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": str(self.dataset),
            "n_traces": self.n_traces,
            "n_samples": self.n_samples,
            "sample_format": self.sample_format,
            "size_bytes": self.size_bytes,
            "stage_seconds": self.stage_seconds,
            "warnings": list(self.warnings[:MAX_RESULT_WARNINGS]),
        }


class ParallelImportCoordinator(Coordinator):
    """Runs the import stages of one SEG-Y file into one dataset folder.

    The source is validated in the constructor: bad input fails there, before anything
    is written. The dataset is built in a hidden staging folder beside the destination
    and renamed into place by the last stage; :meth:`abort` removes it. ``backend``
    runs the parallel stage (default: worker threads of this process).
    """

    stages = IMPORT_STAGES
    kind = "import"

    def __init__(self, config: ImportConfig, backend: Backend | None = None) -> None:
        backend = backend or cluster_backend(config.scheduler, config.rate_limit)
        super().__init__(config.rate_limit, backend)
        self.config = config
        self.source = Path(config.source)
        self.destination = Path(config.destination)
        self.custom_fields = parse_header_fields(config.header_fields)
        self.keys = list(dict.fromkeys(resolve_columns(config.ensemble_keys, self.custom_fields)))
        self.geometry_keys = (
            dict(
                zip(
                    ("inline", "crossline", "offset"),
                    resolve_columns(config.geometry_keys, self.custom_fields),
                    strict=True,
                )
            )
            if config.geometry_keys is not None
            else None
        )
        self.layout: SegyLayout = read_layout(
            self.source,
            config.endian,
            format=config.format_code,
            samples=config.samples,
            textual_encoding=config.textual_encoding,
            salvage=config.salvage,
        )
        check_destination(self.destination, config.overwrite, self.source)
        self.staging = staging_path(self.destination)
        self._published = False
        #: headers.parquet as the parallel stage began it (see pipeline.header_merge)
        self._header_merge: HeaderMerge | None = None

    def abort(self) -> None:
        """Remove everything this job wrote (a no-op once the dataset is published).

        Best effort: never raises, so the error that stopped the job is the one reported.
        """
        if self._header_merge is not None:
            self._header_merge.discard()
        if not self._published:
            discard_paths(self.staging)

    # -- stage 1 ---------------------------------------------------------------------
    def run_parallel_import(
        self,
        progress_callback: Callable[[ParallelProgress], None] | None = None,
        worker_callback: Callable[[Sequence[WorkerStatus]], None] | None = None,
    ) -> tuple[list[ImportWorkerResult], int]:
        """Convert every trace into ``traces.npy`` and write one raw header segment per worker."""
        return self._parallel_import(self._callbacks(progress_callback, worker_callback))

    def _parallel_import(self, reporter: StageReporter) -> tuple[list[ImportWorkerResult], int]:
        layout = self.layout
        started = self._begin(
            reporter, "import", layout.n_traces, layout.file_size - layout.data_offset
        )
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
            fh.flush()
            preallocate(fh.fileno(), data_start + sample_bytes)  # blocks, not a hole
        extra_start = create_extra_headers(self.staging, layout) or 0
        trace_samples = ""
        if layout.trace_samples is not None:
            trace_samples = str(self.staging / TRACE_SAMPLES_FILE)
            np.save(trace_samples, layout.trace_samples.astype(np.int64))
        keep_ibm = layout.format.code == 1 and self.config.ibm_exact
        ranges = split_range(layout.n_traces, int(self.config.workers))
        tasks = [
            ImportTask(
                index=i,
                start=start,
                stop=stop,
                source=str(self.source),
                data_offset=layout.data_offset,
                trace_size=layout.trace_size,
                n_samples=layout.n_samples,
                format_code=layout.format.code,
                little_endian=layout.little_endian,
                traces_path=str(traces_path),
                data_start=data_start,
                segment_dir=str(self.staging),
                chunk_bytes=int(self.config.chunk_bytes),
                extra_headers=layout.extra_headers,
                extra_path=str(self.staging / EXTRA_HEADERS_FILE),
                extra_start=extra_start,
                ibm_raw_dir=str(self.staging / IBM_RAW_DIR) if keep_ibm else "",
                trace_samples_path=trace_samples,
            )
            for i, (start, stop) in enumerate(ranges)
        ]
        # the first worker's finished header segments go into headers.parquet meanwhile
        merge = self._header_merge = HeaderMerge(
            self.staging / HEADERS_FILE, layout.endian, self.custom_fields
        )
        local = isinstance(self.backend, ThreadBackend)
        with merge.following(self.staging, 0) if local else nullcontext():
            results = self._run_parallel(
                reporter, "import", tasks, import_range, layout.n_traces, started
            )
        return results, layout.n_traces

    # -- stage 2 ---------------------------------------------------------------------
    def run_merge_headers(
        self,
        worker_results: Sequence[ImportWorkerResult],
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Stream the header segments, in order, into ``headers.parquet``; report segments.

        Segments the parallel stage already appended (:mod:`~segycore.pipeline.header_merge`)
        count as done at once; the stage writes the rest.
        """
        return self._merge_headers(worker_results, self._callbacks(progress_callback))

    def _merge_headers(
        self, worker_results: Sequence[ImportWorkerResult], reporter: StageReporter
    ) -> Path:
        path = self.staging / HEADERS_FILE
        ordered = header_segments(worker_results)
        started = self._begin(reporter, "merge_headers", len(ordered))
        merge = self._header_merge
        if merge is None or merge.written != ordered[: len(merge.written)]:
            if merge is not None:  # results of another run: start the file afresh
                merge.discard()
            merge = self._header_merge = HeaderMerge(path, self.layout.endian, self.custom_fields)
        if merge.written:
            reporter.advance(len(merge.written))
        merge.write(ordered[len(merge.written) :], reporter.advance)
        merge.close()
        self._header_merge = None
        self._finish(reporter, "merge_headers", started)
        return path

    # -- stage 3 ---------------------------------------------------------------------
    def run_build_index(
        self, headers_path: Path, progress_callback: ProgressCallback | None = None
    ) -> dict[str, Path]:
        """Index every key and detect the survey grid; report traces."""
        return self._build_index(headers_path, self._callbacks(progress_callback))

    def _build_index(self, headers_path: Path, reporter: StageReporter) -> dict[str, Path]:
        started = self._begin(reporter, "build_index", self.layout.n_traces)
        build_indexes(  # every key's complete index and the survey grid (dataset.indexing)
            headers_path,
            self.layout.n_traces,
            self.keys,
            self.staging,
            self.geometry_keys,
            report=reporter.advance,  # not cancellable in an import (stage rules)
        )
        self._finish(reporter, "build_index", started)
        return {key: self.staging / INDEX_DIR / f"{key}.parquet" for key in self.keys}

    # -- stage 4 ---------------------------------------------------------------------
    def run_cleanup(
        self,
        worker_results: Sequence[ImportWorkerResult],
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Remove the header segments, write ``metadata.json`` and publish the dataset."""
        return self._cleanup(worker_results, self._callbacks(progress_callback))

    def _cleanup(
        self, worker_results: Sequence[ImportWorkerResult], reporter: StageReporter
    ) -> Path:
        segments = header_segments(worker_results)
        started = self._begin(reporter, "cleanup", len(segments))
        for done, segment in enumerate(segments, 1):
            segment.unlink(missing_ok=True)
            reporter.advance(done)
        self._timed("cleanup", started)  # before the metadata, which records it
        metadata = layout_metadata(self.layout)
        metadata["ensemble_keys"] = self.keys
        metadata["header_fields"] = [f.spec for f in self.custom_fields]
        metadata["stage_seconds"] = dict(self.stage_seconds)
        metadata["workers"] = int(self.config.workers)
        metadata["raw"]["rev2"] = raw_structure(self.layout)
        write_extension1(self.staging, self.layout)
        metadata["ibm_raw_traces"] = join_parts(self.staging / IBM_RAW_DIR, self.layout.n_samples)
        if self.layout.salvage is not None:
            metadata["salvage"] = dict(self.layout.salvage)
        # export reads only raw_header while headers.parquet keeps this fingerprint
        metadata[FINGERPRINT_KEY] = headers_fingerprint(self.staging / HEADERS_FILE)
        write_metadata(self.staging, metadata)
        publish(self.staging, self.destination, self.config.overwrite)
        self._published = True
        reporter.finish()
        return self.destination

    # -- all stages ------------------------------------------------------------------
    def run(
        self,
        progress_callback: Callable[[str, Any], None] | None = None,
        *,
        reporter: StageReporter | None = None,
    ) -> ImportResult:
        """Run every stage, in order; ``progress_callback(stage_key, progress)`` sees them all
        (or ``reporter`` does: the supervisor's writes the progress block).

        On failure or cancel everything written is removed and the error is raised
        (:class:`~segycore.errors.JobCancelled` for a cancel).
        """
        report = self._reporter(progress_callback, reporter)
        try:
            results, _ = self._parallel_import(report)
            headers_path = self._merge_headers(results, report)
            self._build_index(headers_path, report)
            self._cleanup(results, report)
        except BaseException:
            self.abort()
            raise
        return ImportResult(
            self.destination,
            self.layout.n_traces,
            self.layout.n_samples,
            self.layout.format.code,
            dict(self.stage_seconds),
            self.layout.file_size,
            self.layout.warnings,
        )
