"""Staged parallel export: dataset folder -> SEG-Y file.

Stages (see :data:`segycore.pipeline.stages.EXPORT_STAGES`): parallel export (one segment file
per worker), merge segments (file headers + segments into the destination), cleanup.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset.dataset import Dataset, open_dataset
from ..dataset.header_blocks import headers_unchanged
from ..errors import SegyError
from ..format.layout import Endian, binary_header_dtype, encode_textual_header
from ..format.spec import TRACE_HEADER_SIZE, sample_format
from ..storage import merge
from ..storage.fileio import open_for_writing, pwrite_all
from ..storage.prealloc import preallocate
from ..storage.staging import (
    check_destination,
    check_free_space,
    discard_paths,
    publish,
    remove_path,
    staging_path,
)
from .cluster import cluster_backend
from .configs import ExportConfig
from .coordinator import Coordinator
from .ibm_raw import IBM_RAW_DIR, IbmRawRestorer
from .reporting import StageReporter
from .rev2 import (
    EXTRA_HEADERS_FILE,
    TRACE_SAMPLES_FILE,
    extra_headers_offset,
    record_offsets,
    structure_of,
)
from .selection import (
    check_plannable,
    export_planned,
    plan_export,
    reordered_binary_header,
)
from .stages import EXPORT_STAGES, ParallelProgress, ProgressCallback
from .tasks import ExportTask, convert_samples, export_range
from .workers import Backend, WorkerStatus, split_range

__all__ = [
    "ExportConfig",
    "ExportResult",
    "ParallelExportCoordinator",
    "convert_samples",
    "export_binary_header",
]


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


class ParallelExportCoordinator(Coordinator):
    """Runs the export stages of one dataset into one SEG-Y file.

    Arguments are validated in the constructor, before anything is written. Segments go
    to a hidden staging folder beside the destination, the merge to a hidden staging
    file that the last stage renames into place; :meth:`abort` removes both.
    ``backend`` runs the parallel stage (default: worker threads of this process).
    """

    stages = EXPORT_STAGES
    kind = "export"

    def __init__(self, config: ExportConfig, backend: Backend | None = None) -> None:
        backend = backend or cluster_backend(config.scheduler, config.rate_limit)
        super().__init__(config.rate_limit, backend)
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
        check_destination(self.destination, config.overwrite, self.dataset.path)
        # --sort / --select: the output order, planned now so bad keys fail before writing.
        self.plan = plan_export(self.dataset, config.sort, config.select)
        self.plan_dir = staging_path(self.destination, "plan")
        self.segment_dir = staging_path(self.destination, "segments")
        self.staged_file = staging_path(self.destination)
        self._published = False
        self._file_header: bytes | None = None
        self.extra, self.header_gap, self.trailer = structure_of(self.dataset.metadata)
        if self.extra and self.endian != self.source_endian:
            raise SegyError(
                f"{self.dataset.path.name} has {self.extra} additional 240-byte trace headers "
                "per trace, kept as raw bytes whose fields segycore does not all know: "
                f"they cannot be converted to {self.endian}-endian"
            )
        self._extra_start = 0
        self._ibm_raw = ""
        self.trace_samples: np.ndarray | None = None
        try:
            if (self.dataset.path / TRACE_SAMPLES_FILE).is_file():
                self.trace_samples = np.load(self.dataset.path / TRACE_SAMPLES_FILE)
                if self.trace_samples.shape != (self.dataset.n_traces,) or not (
                    self.trace_samples.min() > 0
                    and self.trace_samples.max() <= self.dataset.n_samples
                ):
                    raise ValueError(f"{TRACE_SAMPLES_FILE} does not match the traces")
            if self.extra:
                self._extra_start = extra_headers_offset(
                    self.dataset.path, self.dataset.n_traces, self.extra
                )
            ibm_raw = self.dataset.path / IBM_RAW_DIR
            same_ibm = self.format.code == 1 == self.dataset.sample_format
            if same_ibm and self.endian == self.source_endian and IbmRawRestorer.present(ibm_raw):
                IbmRawRestorer(ibm_raw, self.dataset.n_samples, False)  # checked; tasks use it
                self._ibm_raw = str(ibm_raw)
        except (OSError, ValueError) as exc:
            raise SegyError(f"{self.dataset.path}: {exc}") from None
        if self.plan is not None:
            check_plannable(self.dataset.path.name, self.trace_samples, self.extra)

    def abort(self) -> None:
        """Remove everything this job wrote (a no-op once the file is published).

        Best effort: never raises, so the error that stopped the job is the one reported.
        """
        discard_paths(self.segment_dir, self.plan_dir)
        if not self._published:
            discard_paths(self.staged_file)

    # -- sizes (the one place they are computed) ------------------------------------
    @property
    def trace_size(self) -> int:
        """Bytes per output trace record: the trace header(s) and the samples."""
        headers = TRACE_HEADER_SIZE * (1 + self.extra)
        return headers + self.dataset.n_samples * self.format.itemsize

    @property
    def n_traces(self) -> int:
        """Output trace count (fewer than the dataset's with ``select``)."""
        return self.plan.n_traces if self.plan is not None else self.dataset.n_traces

    @property
    def traces_bytes(self) -> int:
        """Bytes of all output trace records."""
        if self.trace_samples is not None:
            return int(self._record_offsets()[-1])
        return self.n_traces * self.trace_size

    def _record_offsets(self) -> np.ndarray:
        """Variable-length traces: each output record's offset from the first, and the end."""
        head = TRACE_HEADER_SIZE * (1 + self.extra)
        return record_offsets(self.trace_samples, head, self.format.itemsize)

    @property
    def output_size(self) -> int:
        """Bytes of the output file: file headers, trace records and trailer."""
        return len(self.file_header()) + self.traces_bytes + len(self.trailer)

    def _first_record(self, trace: int) -> int:
        """Bytes of the output records before ``trace``."""
        if self.trace_samples is not None:
            return int(self._record_offsets()[trace])
        return trace * self.trace_size

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
        if self.plan is not None:
            binary = reordered_binary_header(binary, self.endian, self.n_traces, self.plan.facts)
        return textual + binary + b"".join(headers.extended) + self.header_gap

    # -- stage 1 ---------------------------------------------------------------------
    def run_parallel_export(
        self,
        progress_callback: Callable[[ParallelProgress], None] | None = None,
        worker_callback: Callable[[Sequence[WorkerStatus]], None] | None = None,
    ) -> tuple[list[Path], int, int]:
        """Encode every trace; report traces done.

        With ``segments`` each worker writes a segment file (returned, in order);
        otherwise each writes its slice of the pre-sized output and none are returned.
        """
        return self._parallel_export(self._callbacks(progress_callback, worker_callback))

    @property
    def raw_headers_only(self) -> bool:
        """True when the stored raw headers are the output's: ``headers.parquet`` is as
        imported (its fingerprint matches) and the byte order is unchanged."""
        return self.endian == self.source_endian and headers_unchanged(
            self.dataset.headers_path, self.dataset.metadata
        )

    def _parallel_export(self, reporter: StageReporter) -> tuple[list[Path], int, int]:
        n_traces, n_samples = self.n_traces, self.dataset.n_samples
        started = self._begin(reporter, "export", n_traces, self.traces_bytes)
        if self.config.segments:
            check_free_space(self.destination.parent, 2 * self.traces_bytes)
            self.segment_dir.mkdir()
        else:
            check_free_space(self.destination.parent, self.traces_bytes)
            with open(self.staged_file, "xb") as fh:
                preallocate(fh.fileno(), self.output_size)  # blocks, not a hole
        traces = self.dataset.traces
        segments = bool(self.config.segments)
        tasks = [
            ExportTask(
                index=i,
                start=start,
                stop=stop,
                traces_path=str(self.dataset.path / "traces.npy"),
                traces_offset=int(traces.offset),
                source_dtype=traces.dtype.str,
                headers_path=str(self.dataset.headers_path),
                n_samples=n_samples,
                format_code=self.format.code,
                endian=self.endian,
                source_endian=self.source_endian,
                trace_size=self.trace_size,
                output=str(
                    self.segment_dir / f"segment-{i:04d}.sgy" if segments else self.staged_file
                ),
                output_base=(-self._first_record(start) if segments else len(self.file_header())),
                new_file=segments,
                chunk_bytes=int(self.config.chunk_bytes),
                raw_only=self.raw_headers_only,
                extra_headers=self.extra,
                extra_path=str(self.dataset.path / EXTRA_HEADERS_FILE),
                extra_start=self._extra_start,
                ibm_raw_dir=self._ibm_raw,
                trace_samples_path=(
                    str(self.dataset.path / TRACE_SAMPLES_FILE)
                    if self.trace_samples is not None
                    else ""
                ),
            )
            for i, (start, stop) in enumerate(split_range(n_traces, int(self.config.workers)))
        ]
        task_fn: Callable[[Any, Any], Path | None] = export_range
        if self.plan is not None:
            cancelled = self._cancel.is_set
            tasks = self.plan.prepare(tasks, self.plan_dir, self.dataset, self.endian, cancelled)
            task_fn = export_planned
        results = self._run_parallel(reporter, "export", tasks, task_fn, n_traces, started)
        return [path for path in results if path is not None], n_traces, n_samples

    # -- stage 2 ---------------------------------------------------------------------
    def get_merge_stats(self, segment_paths: Sequence[Path]) -> dict[str, int]:
        """Sizes the merge will write: ``output_size_bytes`` and its parts."""
        header = len(self.file_header())
        if segment_paths:
            segments = sum(Path(p).stat().st_size for p in segment_paths)
        else:
            segments = self.traces_bytes  # already in place
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
        return self._merge(segment_paths, n_samples, self._callbacks(progress_callback))

    def _merge(self, segment_paths: Sequence[Path], n_samples: int, reporter: StageReporter) -> int:
        size = self.get_merge_stats(segment_paths)["output_size_bytes"]
        started = self._begin(reporter, "merge", size, size)
        if not segment_paths:
            n_traces = self._write_header_in_place()
            reporter.advance(size, size)
            self._finish(reporter, "merge", started)
            return n_traces
        segment_bytes = size - len(self.file_header()) - len(self.trailer)
        trace_size = TRACE_HEADER_SIZE * (1 + self.extra) + n_samples * self.format.itemsize
        n_traces, leftover = divmod(segment_bytes, trace_size)
        if self.trace_samples is not None:  # records of their own sizes
            n_traces, leftover = self.dataset.n_traces, segment_bytes - self.traces_bytes
        if leftover:
            raise SegyError(
                f"segments hold {segment_bytes} bytes, not whole {trace_size}-byte traces"
            )
        copied = 0

        def on_progress(done: int, total: int) -> None:
            nonlocal copied
            self._limiter.consume(done - copied, self._cancel)
            copied = done
            reporter.advance(done, done)

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
            raise self._cancelled() from None
        if self.trailer:
            with open(self.staged_file, "ab") as fh:
                fh.write(self.trailer)
        self._finish(reporter, "merge", started)
        return n_traces

    def _write_header_in_place(self) -> int:
        self._check_cancel()
        header = self.file_header()
        fd = open_for_writing(self.staged_file)
        try:
            if os.fstat(fd).st_size != self.output_size:
                raise SegyError(f"{self.staged_file} does not hold the exported traces")
            pwrite_all(fd, memoryview(header), 0)
            if self.trailer:
                pwrite_all(fd, memoryview(self.trailer), self.output_size - len(self.trailer))
        finally:
            os.close(fd)
        return self.n_traces

    # -- stage 3 ---------------------------------------------------------------------
    def run_cleanup(
        self,
        segment_paths: Sequence[Path],
        segments: Path | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> Path:
        """Remove the segment files (and their folder ``segments``), publish the output."""
        return self._cleanup(segment_paths, segments, self._callbacks(progress_callback))

    def _cleanup(
        self, segment_paths: Sequence[Path], segments: Path | None, reporter: StageReporter
    ) -> Path:
        started = self._begin(reporter, "cleanup", len(segment_paths))
        for done, path in enumerate(segment_paths, 1):
            Path(path).unlink(missing_ok=True)
            reporter.advance(done)
        remove_path(segments or self.segment_dir)
        remove_path(self.plan_dir)
        publish(self.staged_file, self.destination, self.config.overwrite)
        self._published = True
        self._finish(reporter, "cleanup", started)
        return self.destination

    # -- all stages ------------------------------------------------------------------
    def run(
        self,
        progress_callback: Callable[[str, Any], None] | None = None,
        *,
        reporter: StageReporter | None = None,
    ) -> ExportResult:
        """Run every stage, in order; ``progress_callback(stage_key, progress)`` sees them all
        (or ``reporter`` does: the supervisor's writes the progress block)."""
        report = self._reporter(progress_callback, reporter)
        try:
            segments, _, n_samples = self._parallel_export(report)
            n_traces = self._merge(segments, n_samples, report)
            self._cleanup(segments, self.segment_dir, report)
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
