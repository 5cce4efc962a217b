"""Export in another trace order or a subset: parse ``--sort``/``--select``, plan the order,
and read a chunk of planned traces in source order.

The plan is one array, ``order[i]`` = the source trace written as output trace ``i``
(stable sort by the sort keys after filtering by every ``KEY=LO:HI``). Workers take
contiguous ranges of output positions; :func:`read_planned` reads a range's samples
and headers sorted by source trace number, in runs of consecutive traces (one
``pread`` per run), and scatters them into output order, so a reordered export reads
``traces.npy`` mostly forwards instead of one random seek per trace.

Headers are staged once (:func:`stage_raw_headers`) into a flat file of 240-byte
records in the output byte order (edits applied) so workers read any trace's header
with one ``pread`` like its samples, in memory bounded by a chunk.

Binary-header fields the new order or count makes wrong, and only those, are updated
(:func:`reordered_binary_header`): trace sorting code (byte 3229) from the first sort
key; traces per ensemble (3213, and 3261 in rev 2 files) and, for a CDP sort, ensemble
fold (3227; 3293 in rev 2) from the largest ensemble of the first sort key; the trace
count (3513) of rev 2 files that state it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..dataset.dataset import Dataset
from ..dataset.headers import table_to_headers
from ..errors import JobCancelled, SegyError, UnrepresentableValueError
from ..format import codec
from ..format.layout import Endian, binary_header_dtype
from ..format.spec import TRACE_HEADER_SIZE, sample_format
from ..storage.fileio import open_for_reading, open_for_writing, pread_exact, pwrite_all
from .ibm_raw import IbmRawRestorer
from .selection_syntax import Selection, check_selection, parse_select, parse_sort
from .tasks import ExportTask, _cannot_hold, _damaged, chunk_traces, convert_samples
from .workers import TaskContext

__all__ = [
    "SORTING_CODES",
    "ExportPlan",
    "PlannedExportTask",
    "Selection",
    "check_selection",
    "export_planned",
    "parse_select",
    "parse_sort",
    "plan_export",
    "plan_order",
    "read_planned",
    "reordered_binary_header",
    "stage_raw_headers",
]

#: SEG-Y trace sorting codes (binary header byte 3229) by the first sort key's column.
SORTING_CODES = {
    "cdp": 2,
    "field_record": 5,
    "energy_source_point": 5,
    "offset": 7,
}


def plan_order(
    dataset: Dataset,
    sort_keys: Sequence[str | int] = (),
    selections: Sequence[Selection] = (),
) -> tuple[np.ndarray, dict[str, int]]:
    """The output order (source trace per output trace) and facts for the binary header.

    Raises SegyError for an unknown key or a selection that matches no trace.
    """
    sort_names = [dataset.column_name(k) for k in sort_keys]
    select_names = [dataset.column_name(s.key) for s in selections]
    needed = list(dict.fromkeys([*sort_names, *select_names]))
    table = pq.read_table(dataset.headers_path, columns=needed) if needed else None
    keep = np.ones(dataset.n_traces, dtype=bool)
    for selection, name in zip(selections, select_names, strict=True):
        column = table.column(name).to_numpy()  # type: ignore[union-attr]
        keep &= (column >= selection.lo) & (column <= selection.hi)
    order = np.flatnonzero(keep)
    if order.size == 0:
        pairs = zip(selections, select_names, strict=True)
        wanted = " and ".join(f"{n} in {s.lo:g}..{s.hi:g}" for s, n in pairs)
        raise SegyError(f"the selection matches no trace ({wanted})")
    facts: dict[str, int] = {}
    if sort_names:
        assert table is not None
        columns = [table.column(n).to_numpy()[order] for n in sort_names]
        order = order[np.lexsort(columns[::-1])]  # lexsort is stable: ties in file order
        first = columns[0]
        _, counts = np.unique(first, return_counts=True)
        facts["largest_ensemble"] = int(counts.max())
        facts["sorting_code"] = SORTING_CODES.get(sort_names[0], -1)
        facts["primary_is_cdp"] = int(sort_names[0] == "cdp")
    order = order.astype(np.int32 if dataset.n_traces < 2**31 else np.int64)
    return order, facts


def reordered_binary_header(
    raw: bytes, endian: Endian, n_traces: int, facts: dict[str, int]
) -> bytes:
    """The binary header ``raw`` (in ``endian``) with the fields the new order makes wrong."""
    out = np.frombuffer(bytearray(raw), dtype=binary_header_dtype(endian), count=1)
    if "sorting_code" in facts:
        out["sorting_code"] = facts["sorting_code"]
        largest = facts["largest_ensemble"]
        out["traces_per_ensemble"] = largest if largest < 2**15 else 0
        if int(out["ext_traces_per_ensemble"][0]) or largest >= 2**15:
            out["ext_traces_per_ensemble"] = largest
        if facts.get("primary_is_cdp"):
            out["ensemble_fold"] = largest if largest < 2**15 else 0
            if int(out["ext_ensemble_fold"][0]) or largest >= 2**15:
                out["ext_ensemble_fold"] = largest
    if int(out["n_traces_in_file"][0]):
        out["n_traces_in_file"] = n_traces
    return out.tobytes()


def stage_raw_headers(
    dataset: Dataset,
    endian: Endian,
    path: Path,
    cancelled: Callable[[], bool] = lambda: False,
    workers: int = 1,
) -> None:
    """Write every trace's 240 output header bytes (edits applied) to ``path``, in trace
    order: one row group per step, ``workers`` row groups at a time (pyarrow and numpy
    release the GIL), each written at its own offset of the pre-sized file through a
    handle of its own (the portable fallback of :func:`pwrite_all` seeks the handle)."""
    source_endian = dataset.byte_order
    with open(path, "wb") as fh:
        fh.truncate(dataset.n_traces * TRACE_HEADER_SIZE)
    with pq.ParquetFile(dataset.headers_path) as headers:
        meta = headers.metadata
        firsts = np.concatenate(
            ([0], np.cumsum([meta.row_group(i).num_rows for i in range(meta.num_row_groups)]))
        )

    def stage(group: int) -> None:
        if cancelled():
            raise JobCancelled("export cancelled by the user")
        with pq.ParquetFile(dataset.headers_path) as headers:
            table = headers.read_row_group(group)
        raw = table_to_headers(table, endian, source_endian)
        fd = open_for_writing(path)
        try:
            pwrite_all(fd, memoryview(raw).cast("B"), int(firsts[group]) * TRACE_HEADER_SIZE)
        finally:
            os.close(fd)

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="segycore-plan") as pool:
        for future in [pool.submit(stage, g) for g in range(len(firsts) - 1)]:
            future.result()


def _runs(numbers: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of consecutive numbers in a sorted array: (position, first number, length)."""
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.append(breaks, numbers.size)
    return [(int(a), int(numbers[a]), int(b - a)) for a, b in zip(starts, ends, strict=True)]


def read_planned(
    planned: np.ndarray,
    traces_fd: int,
    traces_offset: int,
    headers_fd: int,
    samples: np.ndarray,
    headers: np.ndarray,
    on_end: Callable[[int], Exception],
) -> None:
    """Read the samples and staged headers of source traces ``planned`` into output order.

    ``samples`` is (len(planned), n_samples) of the dataset dtype, ``headers``
    (len(planned), 240) uint8; reads go in ascending source order, one per run.
    """
    n = planned.size
    if samples.shape[0] != n or headers.shape != (n, TRACE_HEADER_SIZE):
        raise ValueError("buffers do not match the planned traces")
    perm = np.argsort(planned, kind="stable")
    ordered = planned[perm].astype(np.int64)
    row = samples.shape[1] * samples.dtype.itemsize
    sorted_samples = np.empty_like(samples)
    sorted_headers = np.empty_like(headers)
    for position, first, length in _runs(ordered):
        view = memoryview(sorted_samples[position : position + length]).cast("B")
        pread_exact(traces_fd, view, traces_offset + first * row, on_end)
        hview = memoryview(sorted_headers[position : position + length]).cast("B")
        pread_exact(headers_fd, hview, first * TRACE_HEADER_SIZE, on_end)
    samples[perm] = sorted_samples
    headers[perm] = sorted_headers


@dataclass(frozen=True)
class ExportPlan:
    """A reordered or subset export: the output order and facts for the binary header."""

    order: np.ndarray
    facts: dict[str, int]

    @property
    def n_traces(self) -> int:
        return int(self.order.size)

    def prepare(
        self,
        tasks: Sequence[ExportTask],
        folder: Path,
        dataset: Dataset,
        endian: Endian,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[PlannedExportTask]:
        """Write the plan and the staged headers into ``folder`` (created here); the
        tasks, as planned tasks over output positions."""
        folder.mkdir()
        order_path, headers_path = folder / "order.npy", folder / "headers.bin"
        with open(order_path, "wb") as fh:
            np.save(fh, self.order, allow_pickle=False)
        workers = max(1, len(tasks))
        stage_raw_headers(dataset, endian, headers_path, cancelled, workers)
        return [
            PlannedExportTask(
                **asdict(task), order_path=str(order_path), staged_headers=str(headers_path)
            )
            for task in tasks
        ]


def check_plannable(name: str, trace_samples: object, extra: int) -> None:
    """Refuse ``--sort``/``--select`` on datasets whose records are not all alike yet:
    variable-length traces, additional trace headers."""
    why = (
        "variable-length traces"
        if trace_samples is not None
        else f"{extra} additional trace headers per trace"
        if extra
        else ""
    )
    if why:
        raise SegyError(f"{name} has {why}: --sort and --select do not support that yet")


def plan_export(
    dataset: Dataset, sort: str | Sequence[str | int] = (), select: Sequence[str] = ()
) -> ExportPlan | None:
    """The plan of an export with ``--sort``/``--select``; None for a plain export."""
    if not sort and not select:
        return None
    keys = parse_sort(sort) if sort else ()
    order, facts = plan_order(dataset, keys, [parse_select(s) for s in select])
    return ExportPlan(order, facts)


@dataclass(frozen=True)
class PlannedExportTask(ExportTask):
    """Output positions ``[start, stop)`` of a planned export: their source traces are
    ``order[start:stop]`` of the plan file ``order_path``, their headers come from
    ``staged_headers`` (see :func:`stage_raw_headers`) rather than ``headers_path``."""

    order_path: str = ""
    staged_headers: str = ""


def export_planned(task: PlannedExportTask, ctx: TaskContext) -> Path | None:
    """Encode output traces ``[task.start, task.stop)`` of a planned export.

    Reads each chunk's source traces sorted by trace number, in runs (:func:`read_planned`),
    and writes the chunk's records contiguously at their output positions.
    """
    fmt = sample_format(task.format_code)
    trace_size = task.trace_size
    chunk = chunk_traces(task.chunk_bytes, trace_size, task.stop - task.start)
    samples = np.empty((chunk, task.n_samples), dtype=np.dtype(task.source_dtype))
    headers = np.empty((chunk, TRACE_HEADER_SIZE), dtype=np.uint8)
    record = np.empty(chunk * trace_size, dtype=np.uint8)
    order = np.load(task.order_path, mmap_mode="r", allow_pickle=False)
    little = task.endian == "little"
    restorer = (
        IbmRawRestorer(Path(task.ibm_raw_dir), task.n_samples, little) if task.ibm_raw_dir else None
    )
    with contextlib.ExitStack() as stack:
        fd = open_for_reading(task.traces_path)
        stack.callback(os.close, fd)
        hfd = open_for_reading(task.staged_headers)
        stack.callback(os.close, hfd)
        out = open_for_writing(task.output, create=task.new_file)
        stack.callback(os.close, out)
        for first in range(task.start, task.stop, chunk):
            n = min(chunk, task.stop - first)
            planned = np.asarray(order[first : first + n])
            read_planned(planned, fd, task.traces_offset, hfd, samples[:n], headers[:n], _damaged)
            values = np.ascontiguousarray(convert_samples(samples[:n], fmt, first))
            nbytes = n * trace_size
            bad = codec.encode_records(headers[:n], values, fmt.code, little, record[:nbytes])
            if bad != -1:
                trace, sample = divmod(bad, task.n_samples)
                raise UnrepresentableValueError(
                    _cannot_hold(fmt, values[trace, sample], int(planned[trace]), sample)
                )
            if restorer is not None:  # raw IBM bytes of the traces kept at import
                kept = np.flatnonzero(np.isin(planned, restorer.traces))
                for t in kept:
                    row = record[t * trace_size : (t + 1) * trace_size]
                    restorer.restore(row, values[t : t + 1], int(planned[t]), 1)
            pwrite_all(out, memoryview(record[:nbytes]), task.output_base + first * trace_size)
            ctx.advance(n, nbytes)
    return Path(task.output) if task.new_file else None
