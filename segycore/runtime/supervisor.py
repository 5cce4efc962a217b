"""The supervisor process: runs one job's coordinator and publishes progress into the block.

Started by :mod:`segycore.runtime.jobs` as ``python -m segycore.runtime.supervisor``
with one JSON object on standard input::

    {"block": "<progress block name>", "kind": "import", "config": {...}, "parent_pid": 123}

(``config`` is the job config as plain data, see
:func:`segycore.pipeline.options.config_to_data`; nothing is pickled, and the caller's
``__main__`` is never imported, so a job starts from any script, from standard input,
``python -c`` or Jupyter). It is the sole writer of the block's job header; its worker
threads' progress is published per worker slot. It knows nothing of a coordinator but
what :mod:`segycore.runtime.registry` promises: construct, ``cancel()``,
``run(reporter=...)``, ``result.to_dict()``.

It dies with its front end: on Linux through the parent-death signal, everywhere
through a watcher thread that notices the parent is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import JobCancelled, is_internal, user_message
from ..pipeline.options import config_from_data
from ..pipeline.stages import ParallelProgress, Stage
from ..pipeline.workers import WorkerStatus
from ..storage.capabilities import arm_parent_death_signal
from .priority import apply_job_priority, threads_started
from .progress import ProgressBlock
from .registry import job_kind

__all__ = ["BlockReporter", "main", "supervisor_main"]

HEARTBEAT_SECONDS = 0.1
#: After its front end died, the supervisor gets this long to remove what it wrote.
ORPHAN_GRACE_SECONDS = 10.0


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
            threads_started()  # lower threads started since the last beat (priority.py)
            if self.block.cancel_requested():
                self.request_cancel()
            self._halt.wait(HEARTBEAT_SECONDS)


class BlockReporter:
    """A :class:`~segycore.pipeline.reporting.StageReporter` writing the progress block."""

    def __init__(self, block: ProgressBlock, stages: Sequence[Stage]) -> None:
        self.block = block
        self._index = {stage.key: i for i, stage in enumerate(stages)}

    def begin(self, stage: Stage, total: int, bytes_total: int = 0) -> None:
        self.block.begin_stage(self._index[stage.key], total, bytes_total)

    def advance(self, done: int, bytes_done: int = 0) -> None:
        self.block.update_stage(done, bytes_done)

    def parallel(self, progress: ParallelProgress) -> None:
        self.block.update_stage(
            progress.done, progress.bytes_done, progress.active_workers, progress.eta_seconds
        )

    def workers(self, statuses: Sequence[WorkerStatus]) -> None:
        for status in statuses:
            if status.index < self.block.n_workers:
                self.block.update_worker(status.index, status.done, status.total, status.state)

    def finish(self) -> None:
        self.block.finish_stage()


def supervisor_main(block_name: str, kind: str, config: Any, parent_pid: int) -> None:
    """Run one job: attach to the block, run the kind's coordinator, publish the outcome.

    ``config`` is the job config as plain data (or a config object, for in-process use).
    """
    block = ProgressBlock.attach(block_name)
    block.set_supervisor_pid(os.getpid())
    block.set_state("running")
    watcher = _Watcher(block, parent_pid)
    signal.signal(signal.SIGTERM, lambda signum, frame: watcher.orphaned())
    arm_parent_death_signal(signal.SIGTERM)
    watcher.start()
    context: str | None = None
    try:
        job = job_kind(kind)
        if isinstance(config, dict):
            config = config_from_data(job.config, config)
        context = job.target(config)
        coordinator = job.coordinator(config)
        watcher.relay_cancel_to(coordinator.cancel)
        result = coordinator.run(reporter=BlockReporter(block, job.stages))
    except JobCancelled:
        block.set_state("cancelled")
    except BaseException as exc:
        message = user_message(exc, context)
        if is_internal(exc):
            message += "\n" + traceback.format_exc()
        block.set_error(message)
        block.set_state("failed")
    else:
        block.set_result({"kind": kind, **result.to_dict()})
        block.set_state("done")
    finally:
        watcher.stop()
        block.beat()
        block.close()


def main() -> int:
    """``python -m segycore.runtime.supervisor``: read the job request from stdin, run it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the front end, which cancels
    apply_job_priority()  # SEGYCORE_PRIORITY, default low: the job yields to its front end
    try:
        request = json.loads(sys.stdin.read())
        block, kind = str(request["block"]), str(request["kind"])
        config, parent_pid = request["config"], int(request["parent_pid"])
    except (ValueError, KeyError, TypeError) as exc:
        print(f"segycore supervisor: bad job request on stdin: {exc}", file=sys.stderr)
        return 2
    supervisor_main(block, kind, config, parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
