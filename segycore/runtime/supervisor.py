"""The supervisor process: runs one job's stages and publishes progress into the block.

Started by :mod:`segycore.runtime.jobs` with the spawn start method. It is the sole writer of
the block's job header; its worker threads' progress is published per worker slot.
It dies with its front end: on Linux through the parent-death signal, everywhere
through a watcher thread that notices the parent is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import JobCancelled, SegycoreError
from ..pipeline.exporter import ExportConfig, ParallelExportCoordinator
from ..pipeline.importer import ImportConfig, ParallelImportCoordinator, header_segments
from ..pipeline.stages import ParallelProgress
from ..pipeline.workers import WorkerContext
from .progress import ProgressBlock

__all__ = ["supervisor_main"]

HEARTBEAT_SECONDS = 0.1
#: After its front end died, the supervisor gets this long to remove what it wrote.
ORPHAN_GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1


def _arm_parent_death_signal() -> None:
    """On Linux, have the kernel send SIGTERM when the front end dies (else: the watcher)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


class _Watcher(threading.Thread):
    """Heartbeat, parent watch and cancel relay, every 100 ms, while the process lives."""

    def __init__(self, block: ProgressBlock, parent_pid: int) -> None:
        super().__init__(name="segycore-watch", daemon=True)
        self.block = block
        self.parent_pid = parent_pid
        self._target: Callable[[], None] | None = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def stop(self) -> None:
        """Stop beating (before the block is closed)."""
        self._halt.set()
        self.join()

    def orphaned(self) -> None:
        """The front end is gone: cancel, and exit hard if cleanup overruns its grace."""
        killer = threading.Timer(ORPHAN_GRACE_SECONDS, os._exit, args=(1,))
        killer.daemon = True
        killer.start()
        self.request_cancel()

    def request_cancel(self) -> None:
        with self._lock:
            if not self._cancelled:
                self._cancelled = True
                if self._target is not None:
                    self._target()

    def relay_cancel_to(self, cancel: Callable[[], None]) -> None:
        """Route a cancel request to ``cancel`` (at once if one already arrived)."""
        with self._lock:
            self._target = cancel
            if self._cancelled:
                cancel()

    def run(self) -> None:
        orphan = False
        while not self._halt.is_set():
            if not orphan and os.getppid() != self.parent_pid:
                orphan = True
                self.orphaned()
            self.block.beat()
            if self.block.cancel_requested():
                self.request_cancel()
            self._halt.wait(HEARTBEAT_SECONDS)


def user_message(exc: BaseException, context: str | None = None) -> str:
    """One line naming the problem, for errors a user can act on; more for surprises.

    An OSError that names no file (a full disk during ``write``) gets ``context``, such
    as ``"import to /data/survey.dataset"``, so the user knows where it happened.
    """
    if isinstance(exc, SegycoreError):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.filename:
            target = f": {exc.filename}"
            if exc.filename2:
                target += f" -> {exc.filename2}"
        else:
            target = f" ({context})" if context else ""
        return f"{exc.strerror or exc}{target}"
    return f"internal error: {type(exc).__name__}: {exc}"


class _Publisher:
    """Turns coordinator callbacks into block writes for one stage table."""

    def __init__(self, block: ProgressBlock) -> None:
        self.block = block

    def begin(self, index: int, total: int, bytes_total: int = 0) -> None:
        self.block.begin_stage(index, total, bytes_total)

    def parallel(self, record: ParallelProgress) -> None:
        self.block.update_stage(
            record.done, record.bytes_done, record.active_workers, record.eta_seconds
        )

    def workers(self, contexts: Sequence[WorkerContext]) -> None:
        for ctx in contexts:
            state = "done" if ctx.finished else "running"
            self.block.update_worker(ctx.index, ctx.done, ctx.stop - ctx.start, state)


#: Warnings a job result carries (the result block is small; metadata.json has them all).
MAX_RESULT_WARNINGS = 20


def _run_import(config: ImportConfig, block: ProgressBlock, watcher: _Watcher) -> dict[str, Any]:
    coordinator = ParallelImportCoordinator(config)
    watcher.relay_cancel_to(coordinator.cancel)
    pub = _Publisher(block)
    layout = coordinator.layout
    try:
        pub.begin(0, layout.n_traces, layout.file_size - layout.data_offset)
        results, _ = coordinator.run_parallel_import(pub.parallel, pub.workers)
        block.finish_stage()
        pub.begin(1, len(header_segments(results)))
        headers = coordinator.run_merge_headers(results, lambda d, t: block.update_stage(d))
        block.finish_stage()
        pub.begin(2, layout.n_traces)
        coordinator.run_build_index(headers, lambda d, t: block.update_stage(d))
        block.finish_stage()
        pub.begin(3, len(header_segments(results)))
        coordinator.run_cleanup(results, lambda d, t: block.update_stage(d))
        block.finish_stage()
    except BaseException:
        coordinator.abort()
        raise
    return {
        "kind": "import",
        "dataset": str(coordinator.destination),
        "n_traces": layout.n_traces,
        "n_samples": layout.n_samples,
        "sample_format": layout.format.code,
        "size_bytes": layout.file_size,
        "stage_seconds": coordinator.stage_seconds,
        "warnings": list(layout.warnings[:MAX_RESULT_WARNINGS]),
    }


def _run_export(config: ExportConfig, block: ProgressBlock, watcher: _Watcher) -> dict[str, Any]:
    coordinator = ParallelExportCoordinator(config)
    watcher.relay_cancel_to(coordinator.cancel)
    pub = _Publisher(block)
    n_traces = coordinator.dataset.n_traces
    try:
        pub.begin(0, n_traces, n_traces * coordinator.trace_size)
        segments, _, n_samples = coordinator.run_parallel_export(pub.parallel, pub.workers)
        block.finish_stage()
        size = coordinator.get_merge_stats(segments)["output_size_bytes"]
        pub.begin(1, size, size)
        coordinator.run_merge(segments, n_samples, lambda d, t: block.update_stage(d, d))
        block.finish_stage()
        pub.begin(2, len(segments))
        coordinator.run_cleanup(
            segments, coordinator.segment_dir, lambda d, t: block.update_stage(d)
        )
        block.finish_stage()
    except BaseException:
        coordinator.abort()
        raise
    return {
        "kind": "export",
        "destination": str(coordinator.destination),
        "n_traces": n_traces,
        "n_samples": n_samples,
        "sample_format": coordinator.format.code,
        "size_bytes": size,
        "stage_seconds": coordinator.stage_seconds,
    }


def supervisor_main(block_name: str, kind: str, config: Any, parent_pid: int) -> None:
    """Entry point of the supervisor process (the target of a spawned Process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the front end, which cancels
    block = ProgressBlock.attach(block_name)
    block.set_supervisor_pid(os.getpid())
    block.set_state("running")
    watcher = _Watcher(block, parent_pid)
    signal.signal(signal.SIGTERM, lambda signum, frame: watcher.orphaned())
    _arm_parent_death_signal()
    watcher.start()
    try:
        runner = _run_import if kind == "import" else _run_export
        result = runner(config, block, watcher)
    except JobCancelled:
        block.set_state("cancelled")
    except BaseException as exc:
        message = user_message(exc, f"{kind} to {config.destination}")
        if not isinstance(exc, SegycoreError | OSError):
            message += "\n" + traceback.format_exc()
        block.set_error(message)
        block.set_state("failed")
    else:
        block.set_result(result)
        block.set_state("done")
    finally:
        watcher.stop()
        block.beat()
        block.close()
