"""The one interface through which every stage reports its progress.

A coordinator's stage computes its own total and calls, in order::

    reporter.begin(stage, total, bytes_total)   # once; total in the stage's own unit
    reporter.advance(done, bytes_done)          # sequential stages, as work completes
    reporter.parallel(ParallelProgress(...))    # parallel stages, every ~50 ms
    reporter.workers(statuses)                  # parallel stages: one WorkerStatus per task
    reporter.finish()                           # once, when the stage completed

Implementations: :class:`CallbackReporter` turns it into the seed's callbacks
(``(done, total)`` per stage, :class:`~segycore.pipeline.stages.ParallelProgress` for
the parallel stages, optionally keyed by stage as ``run(cb)`` reports them); the
supervisor's block reporter (:mod:`segycore.runtime.supervisor`) writes the
shared-memory progress block. :class:`ParallelReport` is how a parallel stage turns a
backend's per-task statuses into those calls (one place computes the ETA).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .stages import ParallelProgress, ProgressCallback, Stage, Throttle
from .workers import WorkerStatus

__all__ = [
    "CallbackReporter",
    "NullReporter",
    "ParallelReport",
    "StageReporter",
    "reporter_for",
]


class StageReporter(Protocol):
    """Receives one job's stage progress (see the module docstring for the order)."""

    def begin(self, stage: Stage, total: int, bytes_total: int = 0) -> None: ...

    def advance(self, done: int, bytes_done: int = 0) -> None: ...

    def parallel(self, progress: ParallelProgress) -> None: ...

    def workers(self, statuses: Sequence[WorkerStatus]) -> None: ...

    def finish(self) -> None: ...


class NullReporter:
    """Reports nothing."""

    def begin(self, stage: Stage, total: int, bytes_total: int = 0) -> None:
        pass

    def advance(self, done: int, bytes_done: int = 0) -> None:
        pass

    def parallel(self, progress: ParallelProgress) -> None:
        pass

    def workers(self, statuses: Sequence[WorkerStatus]) -> None:
        pass

    def finish(self) -> None:
        pass


class CallbackReporter:
    """The seed's callbacks behind the reporter interface.

    Parameters
    ----------
    callback
        Sequential stages: ``callback(done, total)``, throttled to every 1% or 50 ms
        (first and last always); parallel stages: ``callback(ParallelProgress)``.
        With ``keyed``, ``callback(stage.key, payload)`` with those payloads (``(done,
        total)`` as a tuple), which is what ``run(cb)`` reports.
    on_workers
        Parallel stages: ``on_workers(statuses)`` with each report.
    """

    def __init__(
        self,
        callback: Callable[..., None] | None = None,
        on_workers: Callable[[Sequence[WorkerStatus]], None] | None = None,
        *,
        keyed: bool = False,
    ) -> None:
        self._callback = callback
        self._on_workers = on_workers
        self._keyed = keyed
        self._stage: Stage | None = None
        self._total = 0
        self._throttle = Throttle(None, 0)

    def _emit(self, payload: Any) -> None:
        if self._callback is None or self._stage is None:
            return
        if self._keyed:
            self._callback(self._stage.key, payload)
        else:
            self._callback(payload)

    def _pair(self, done: int, total: int) -> None:
        if self._keyed:
            self._emit((done, total))
        elif self._callback is not None:
            self._callback(done, total)

    def begin(self, stage: Stage, total: int, bytes_total: int = 0) -> None:
        self._stage = stage
        self._total = total
        self._throttle = Throttle(self._pair if self._callback else None, total)
        if not stage.parallel:
            self._throttle(0, force=True)

    def advance(self, done: int, bytes_done: int = 0) -> None:
        self._throttle(done)

    def parallel(self, progress: ParallelProgress) -> None:
        self._emit(progress)

    def workers(self, statuses: Sequence[WorkerStatus]) -> None:
        if self._on_workers is not None:
            self._on_workers(statuses)

    def finish(self) -> None:
        if self._stage is not None and not self._stage.parallel:
            self._throttle(self._total, force=True)
        self._stage = None


def reporter_for(callback: ProgressCallback | None, keyed: bool = False) -> StageReporter:
    """A :class:`CallbackReporter` for ``callback``, or a :class:`NullReporter` for ``None``."""
    return NullReporter() if callback is None else CallbackReporter(callback, keyed=keyed)


class ParallelReport:
    """Turns a backend's per-task statuses into ``parallel`` and ``workers`` reports.

    Traces done are summed over the tasks, workers still running counted, and the ETA
    extrapolated from the rate since the stage started.
    """

    def __init__(self, reporter: StageReporter, total: int) -> None:
        self._reporter = reporter
        self._total = total
        self._started = time.monotonic()

    def __call__(self, statuses: Sequence[WorkerStatus]) -> None:
        done = sum(s.done for s in statuses)
        active = sum(not s.finished for s in statuses)
        elapsed = time.monotonic() - self._started
        eta = (self._total - done) * elapsed / done if done and elapsed > 0 else None
        self._reporter.parallel(
            ParallelProgress(done, self._total, active, eta, sum(s.bytes_done for s in statuses))
        )
        self._reporter.workers(statuses)
