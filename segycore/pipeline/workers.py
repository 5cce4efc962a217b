"""Parallel stages: the executor seam ("backend") and its thread implementation.

A parallel stage is a list of plain-data *tasks* (one per contiguous trace range, see
:mod:`segycore.pipeline.tasks`) and one module-level *task function*
``fn(task, ctx) -> result``. A backend runs every task and returns the results in task
order::

    results = backend.run(tasks, fn, on_progress, cancel_event)

- ``tasks``: a sequence of picklable records, each with ``index``, ``start`` and
  ``stop`` (its trace range) - nothing else is required of them.
- ``fn``: called once per task with a :class:`TaskContext`; it calls
  ``ctx.advance(traces, nbytes)`` after each chunk (which raises
  :class:`~segycore.errors.JobCancelled` once the job is cancelled or another task
  failed) and may call ``ctx.check_cancel()`` at any time.
- ``on_progress(statuses)``: called every ~50 ms and once at the end with one
  :class:`WorkerStatus` per task (its slot, range, traces and bytes done, state).
- ``cancel_event``: set by the coordinator's ``cancel()``; tasks stop at their next
  chunk.
- Errors: the first real failure stops the other tasks at their next chunk and is
  raised once all have stopped; a cancelled run raises ``JobCancelled``.

:class:`ThreadBackend` is the default: one thread per task inside the calling process.
Threads, not processes: every hot step (pread, the nogil Cython codec, pwrite)
releases the GIL, so two threads keep two cores busy, and a thread starts in
microseconds where a spawned process importing numpy and pyarrow takes about half a
second (measured in ``benchmarks/``). A cluster backend runs the same task functions
elsewhere (they take only paths, offsets and layout numbers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ..errors import JobCancelled

__all__ = [
    "POLL_SECONDS",
    "Backend",
    "ProgressSink",
    "RangeTask",
    "RateLimiter",
    "TaskContext",
    "ThreadBackend",
    "WorkerContext",
    "WorkerStatus",
    "split_range",
]

T = TypeVar("T", bound="RangeTask")
R = TypeVar("R")
#: How often a parallel stage reports progress.
POLL_SECONDS = 0.05


def split_range(n: int, parts: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most ``parts`` contiguous, nearly equal, non-empty ranges."""
    parts = max(1, min(parts, n))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]


class RateLimiter:
    """Cap a job's I/O at ``mb_per_second`` (shared by its threads), so a shared
    workstation stays usable during a long job; ``None`` means no cap."""

    def __init__(self, mb_per_second: float | None) -> None:
        if mb_per_second is not None and mb_per_second <= 0:
            raise ValueError(f"rate limit must be positive, got {mb_per_second}")
        self._rate = None if mb_per_second is None else mb_per_second * 1e6
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._consumed = 0

    def consume(self, nbytes: int, interrupt: threading.Event) -> None:
        """Account for ``nbytes`` of I/O, pausing as the cap requires or until ``interrupt``."""
        if self._rate is None:
            return
        with self._lock:
            self._consumed += nbytes
            due = self._started + self._consumed / self._rate
        delay = due - time.monotonic()
        if delay > 0:
            interrupt.wait(delay)


# -- the seam ----------------------------------------------------------------------------
class RangeTask(Protocol):
    """What a backend needs of a task: its slot and its trace range ``[start, stop)``."""

    index: int
    start: int
    stop: int


class TaskContext(Protocol):
    """What a task function gets besides its task: progress reports and cancel checks."""

    def advance(self, traces: int, nbytes: int = 0) -> None:
        """Record ``traces`` (and ``nbytes`` of I/O) done; raise ``JobCancelled`` if stopped."""

    def check_cancel(self) -> None:
        """Raise :class:`~segycore.errors.JobCancelled` if the job should stop."""


@dataclass(frozen=True)
class WorkerStatus:
    """One task's progress as a backend reports it."""

    index: int
    start: int
    stop: int
    done: int
    bytes_done: int
    state: str  # "running", "done", "failed" or "cancelled"

    @property
    def total(self) -> int:
        return self.stop - self.start

    @property
    def finished(self) -> bool:
        return self.state != "running"


ProgressSink = Callable[[Sequence[WorkerStatus]], None]


class Backend(Protocol):
    """Runs a parallel stage's tasks; see the module docstring for the contract."""

    def run(
        self,
        tasks: Sequence[T],
        fn: Callable[[T, Any], R],
        on_progress: ProgressSink | None,
        cancel_event: threading.Event,
    ) -> list[R]: ...


# -- threads -------------------------------------------------------------------------------
@dataclass
class WorkerContext:
    """A thread's :class:`TaskContext`: its slot and range, progress, cancel and rate cap."""

    index: int
    start: int
    stop: int
    cancel_event: threading.Event
    failed_event: threading.Event
    limiter: RateLimiter
    done: int = 0
    bytes_done: int = 0
    state: str = "running"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def advance(self, traces: int, nbytes: int = 0) -> None:
        """Record progress; raise :class:`JobCancelled` if the job was cancelled."""
        with self._lock:
            self.done += traces
            self.bytes_done += nbytes
        self.check_cancel()
        self.limiter.consume(nbytes, self.failed_event)  # woken at once by a stop
        self.check_cancel()

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` if the user cancelled or another worker failed."""
        if self.cancel_event.is_set() or self.failed_event.is_set():
            raise JobCancelled("cancelled by the user")

    def status(self) -> WorkerStatus:
        with self._lock:
            return WorkerStatus(
                self.index, self.start, self.stop, self.done, self.bytes_done, self.state
            )


class _Outcome(Generic[R]):
    def __init__(self) -> None:
        self.value: R | None = None
        self.error: BaseException | None = None


class ThreadBackend:
    """Run each task in its own thread of this process (the default backend).

    ``limiter`` caps the I/O of all the threads together (``None``: no cap).
    """

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter(None)

    def run(
        self,
        tasks: Sequence[T],
        fn: Callable[[T, Any], R],
        on_progress: ProgressSink | None,
        cancel_event: threading.Event,
    ) -> list[R]:
        # ``stop`` is set by the first failure or by a cancel: it interrupts every
        # worker, also one waiting on the rate limiter.
        stop = threading.Event()
        contexts = [
            WorkerContext(t.index, t.start, t.stop, cancel_event, stop, self.limiter) for t in tasks
        ]
        outcomes: list[_Outcome[R]] = [_Outcome() for _ in contexts]

        def target(task: T, ctx: WorkerContext, outcome: _Outcome[R]) -> None:
            state = "done"
            try:
                outcome.value = fn(task, ctx)
            except BaseException as exc:
                outcome.error = exc
                if isinstance(exc, JobCancelled):
                    state = "cancelled"
                else:
                    state = "failed"
                    stop.set()  # stop the other workers at their next chunk
            finally:
                ctx.state = state

        threads = [
            threading.Thread(
                target=target, args=(t, c, o), name=f"segycore-worker-{c.index}", daemon=True
            )
            for t, c, o in zip(tasks, contexts, outcomes, strict=True)
        ]
        for t in threads:
            t.start()

        def report() -> None:
            if on_progress is not None:
                on_progress([c.status() for c in contexts])

        try:
            while alive := [t for t in threads if t.is_alive()]:
                alive[0].join(POLL_SECONDS)
                if cancel_event.is_set():
                    stop.set()
                report()
        finally:
            stop.set()  # all done already, or the caller is unwinding: stop the rest
            for t in threads:
                t.join()
        report()
        errors = [o.error for o in outcomes if o.error is not None]
        real = [e for e in errors if not isinstance(e, JobCancelled)]
        if real:
            raise real[0]
        if errors:
            raise JobCancelled("cancelled by the user")
        return [o.value for o in outcomes]  # type: ignore[misc]
