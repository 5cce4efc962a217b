"""Drive a :class:`segycore.runtime.jobs.Job` from the GUI thread without ever blocking it.

:meth:`Job.snapshot` is a pure read, but starting a job starts a process and, once the
job has ended, :meth:`Job.reap` waits for the supervisor to exit and removes leftovers.
So a small poll thread owns every call on the ``Job`` (it reaps the job before it
reports the end); the GUI thread only reads the latest snapshot the thread published
(one attribute read) on a 100 ms ``QTimer`` tick (10 Hz: counters and a bar read
smoothly at that rate, and every tick costs the GUI thread some work) and turns it
into signals.

The poll thread lives until the job has ended: on Linux the supervisor's parent-death
signal fires when the *thread* that spawned it exits, so it must not exit earlier.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from segycore.pipeline.stages import Stage
from segycore.runtime.jobs import FINAL_STATES, Job

from .messages import explain_error

__all__ = ["JobRunner"]

#: How often the poll thread reads the progress block (the supervisor beats every 100 ms);
#: twice per GUI tick, so a tick never shows a snapshot older than half a tick.
POLL_SECONDS = 0.05
#: How often the GUI thread looks at the latest snapshot (10 Hz).
TICK_MS = 100


class _Poller(threading.Thread):
    """Starts the job, then reads its snapshot until it ends; relays cancel requests."""

    def __init__(self, launch: Callable[[], Job]) -> None:
        super().__init__(name="segycore-gui-poll", daemon=True)
        self._launch = launch
        self._wake = threading.Event()
        self._cancel = threading.Event()
        self.job: Job | None = None
        self.latest: Any = None  # the newest Snapshot; replaced whole, never mutated
        self.failure: tuple[str, str] | None = None  # (cause, details) if the job never ran
        self.ended = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()
        self._wake.set()

    def run(self) -> None:
        try:
            job = self._launch()
        except BaseException as exc:
            self.failure = explain_error(exc)
            self.ended.set()
            return
        self.job = job
        cancel_sent = False
        try:
            while True:
                if self._cancel.is_set() and not cancel_sent:
                    job.cancel()
                    cancel_sent = True
                snap = job.snapshot()
                if snap.state in FINAL_STATES:
                    job.reap()  # the supervisor gone and the block freed before the end shows
                    self.latest = snap
                    break
                self.latest = snap
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
        except BaseException as exc:
            cause, details = explain_error(exc)
            self.failure = (f"lost track of the job: {cause}", details)
            with contextlib.suppress(BaseException):
                job.close()
        finally:
            self.ended.set()


class JobRunner(QObject):
    """Polls one job at a time and reports it as signals, all in the GUI thread.

    Signals
    -------
    stageStarted(int)
        A stage began (emitted for every stage in order, even one that ran between two
        ticks, so each gets its dialog; the first at :meth:`start`).
    progress(object)
        A new :class:`~segycore.runtime.progress.Snapshot`.
    finished(str, object)
        The final state (``done``, ``failed``, ``cancelled``) and the last snapshot, or
        ``None`` when the job could not start (see :attr:`failure`).
    """

    stageStarted = pyqtSignal(int)
    progress = pyqtSignal(object)
    finished = pyqtSignal(str, object)

    def __init__(self, parent: QObject | None = None, interval_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._poller: _Poller | None = None
        self._seen: Any = None
        self._stage = -1
        self.kind = ""
        self.stages: tuple[Stage, ...] = ()
        self.cancel_requested = False
        self._failure: tuple[str, str] | None = None
        self._last_job: Job | None = None
        #: Timer ticks handled so far (benchmarks divide the GUI thread's CPU time by it).
        self.ticks = 0

    # -- state -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A job was started and its final state has not been reported yet."""
        return self._poller is not None

    @property
    def job(self) -> Job | None:
        """The job once its supervisor started (``None`` before); kept after its end."""
        return self._poller.job if self._poller is not None else self._last_job

    @property
    def snapshot(self) -> Any:
        """The last snapshot reported (``None`` before the first)."""
        return self._seen

    @property
    def stage_index(self) -> int:
        """The stage whose dialog is open (-1 before the start)."""
        return self._stage

    @property
    def failure(self) -> tuple[str, str] | None:
        """``(cause, details)`` when the job could not be started or followed."""
        return self._poller.failure if self._poller is not None else self._failure

    # -- control ---------------------------------------------------------------------
    def start(self, kind: str, stages: tuple[Stage, ...], launch: Callable[[], Job]) -> None:
        """Start a job with ``launch`` (run in the poll thread) and follow it."""
        if self._poller is not None:
            raise RuntimeError("a job is already running")
        self.kind = kind
        self.stages = stages
        self.cancel_requested = False
        self._failure = None
        self._last_job = None
        self._seen = None
        self._stage = -1
        self._poller = _Poller(launch)
        self._poller.start()
        self._timer.start()
        self._advance(0)

    def cancel(self) -> None:
        """Ask the job to stop; its final state arrives later through :attr:`finished`."""
        if self._poller is not None and not self.cancel_requested:
            self.cancel_requested = True
            self._poller.cancel()

    # -- polling ---------------------------------------------------------------------
    def _advance(self, index: int) -> None:
        while self._stage < min(index, len(self.stages) - 1):
            self._stage += 1
            self.stageStarted.emit(self._stage)

    def _tick(self) -> None:
        poller = self._poller
        if poller is None:
            return
        self.ticks += 1
        ended = poller.ended.is_set()  # read before the snapshot: then it is the final one
        snap = poller.latest
        if snap is not None and snap is not self._seen:
            self._seen = snap
            if snap.state == "done":
                self._advance(len(self.stages) - 1)
            elif snap.state == "running":
                self._advance(snap.stage_index)
            self.progress.emit(snap)
        if not ended:
            return
        self._timer.stop()
        self._poller = None
        self._failure = poller.failure
        self._last_job = poller.job
        if self._failure is not None or snap is None:
            self.finished.emit("failed", None)
        else:
            self.finished.emit(snap.state, snap)
