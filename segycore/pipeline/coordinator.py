"""What every coordinator shares: cancel and abort, stage timing, the parallel stage.

A coordinator runs one job's stages. Its ``run(progress_callback=None, *,
reporter=None)`` is the one place the stage order is written; each stage method
computes its own total and reports through a
:class:`~segycore.pipeline.reporting.StageReporter`. The public stage methods keep the
seed's callbacks by wrapping them in a
:class:`~segycore.pipeline.reporting.CallbackReporter`.

To add a job kind, subclass :class:`Coordinator`: set :attr:`stages` and
:attr:`kind`, implement :meth:`abort` and ``run`` (calling :meth:`_reporter` and each
stage inside ``try: ... except BaseException: self.abort(); raise``), and register it
(see :mod:`segycore.runtime.registry`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from ..errors import JobCancelled
from .reporting import CallbackReporter, NullReporter, ParallelReport, StageReporter
from .stages import ProgressCallback, Stage
from .workers import Backend, RangeTask, RateLimiter, ThreadBackend

__all__ = ["Coordinator"]

T = TypeVar("T", bound=RangeTask)
R = TypeVar("R")


class Coordinator:
    """Base of the import and export coordinators (and of any further job kind).

    Parameters
    ----------
    rate_limit
        The job's I/O cap in MB/s (``None``: none), shared by all its workers.
    backend
        Runs the parallel stage's tasks; default a
        :class:`~segycore.pipeline.workers.ThreadBackend` honouring ``rate_limit``.
    """

    #: The job kind's stages, in order (what front ends show).
    stages: ClassVar[tuple[Stage, ...]] = ()
    #: The job kind's name (``"import"``, ``"export"``), used in messages.
    kind: ClassVar[str] = "job"

    def __init__(self, rate_limit: float | None = None, backend: Backend | None = None) -> None:
        self.stage_seconds: dict[str, float] = {}
        self._cancel = threading.Event()
        self._limiter = RateLimiter(rate_limit)
        self.backend: Backend = backend if backend is not None else ThreadBackend(self._limiter)

    # -- control ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running stage to stop at its next chunk (only cancellable stages stop)."""
        self._cancel.set()

    @property
    def was_cancelled(self) -> bool:
        return self._cancel.is_set()

    def abort(self) -> None:
        """Remove everything this job wrote; best effort, never raises."""

    def _cancelled(self) -> JobCancelled:
        return JobCancelled(f"{self.kind} cancelled by the user")

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise self._cancelled()

    # -- reporting -------------------------------------------------------------------
    @staticmethod
    def _reporter(
        progress_callback: Callable[[str, Any], None] | None, reporter: StageReporter | None
    ) -> StageReporter:
        """What ``run`` reports to: ``reporter``, or ``progress_callback(stage_key, progress)``."""
        if reporter is not None:
            return reporter
        if progress_callback is None:
            return NullReporter()
        return CallbackReporter(progress_callback, keyed=True)

    @staticmethod
    def _callbacks(
        progress_callback: ProgressCallback | None,
        worker_callback: Callable[[Sequence[Any]], None] | None = None,
    ) -> StageReporter:
        """A stage method's seed callbacks as a reporter."""
        if progress_callback is None and worker_callback is None:
            return NullReporter()
        return CallbackReporter(progress_callback, worker_callback)

    def _stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def _begin(self, reporter: StageReporter, key: str, total: int, bytes_total: int = 0) -> float:
        """Report stage ``key`` begun with ``total`` units; return its start time."""
        reporter.begin(self._stage(key), total, bytes_total)
        return time.monotonic()

    def _timed(self, key: str, started: float) -> None:
        """Record stage ``key``'s duration in :attr:`stage_seconds`."""
        self.stage_seconds[key] = time.monotonic() - started

    def _finish(self, reporter: StageReporter, key: str, started: float) -> None:
        """Record stage ``key``'s duration and report it finished."""
        self._timed(key, started)
        reporter.finish()

    # -- the parallel stage ----------------------------------------------------------
    def _run_parallel(
        self,
        reporter: StageReporter,
        key: str,
        tasks: Sequence[T],
        fn: Callable[[T, Any], R],
        total: int,
        started: float,
    ) -> list[R]:
        """Run ``fn`` over ``tasks`` on the backend as stage ``key`` (begun at ``started``
        with ``total`` traces); return the results in task order."""
        results = self.backend.run(tasks, fn, ParallelReport(reporter, total), self._cancel)
        self._check_cancel()
        self._finish(reporter, key, started)
        return results
