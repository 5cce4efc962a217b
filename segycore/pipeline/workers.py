"""Parallel stages: worker threads over contiguous trace ranges, with progress and cancel.

Workers are threads inside the supervisor, not processes: every hot step (pread, the
nogil Cython codec, pwrite) releases the GIL, so two threads keep two cores busy, and a
thread starts in microseconds where a spawned process importing numpy and pyarrow takes
about half a second (measured in ``benchmarks/``).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import JobCancelled, SegyError
from .stages import ParallelProgress

__all__ = [
    "RateLimiter",
    "WorkerContext",
    "check_job_options",
    "check_scheduler_option",
    "run_workers",
    "split_range",
]

R = TypeVar("R")
POLL_SECONDS = 0.05


def check_job_options(
    workers: int, endian: str | None, chunk_bytes: int, rate_limit: float | None
) -> None:
    """Refuse job options no run could honour, with a message naming the option."""
    if int(workers) < 1:
        raise SegyError(f"workers must be at least 1, got {workers}")
    if endian not in (None, "big", "little"):
        raise SegyError(f"byte order must be 'big' or 'little', got {endian!r}")
    if chunk_bytes < 1:
        raise SegyError(f"chunk size must be positive, got {chunk_bytes}")
    if rate_limit is not None and rate_limit <= 0:
        raise SegyError(f"rate limit must be positive MB/s, got {rate_limit}")


def check_scheduler_option(scheduler: str | None) -> None:
    """Refuse a scheduler address that cannot be one, or one without the dask extra.

    Cheap (no import of distributed): a GUI builds configs in its event-loop thread.
    """
    if scheduler is None:
        return
    from .cluster import MISSING_EXTRA, ClusterError, check_scheduler_address

    check_scheduler_address(scheduler)
    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ClusterError(MISSING_EXTRA)


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


@dataclass
class WorkerContext:
    """Handed to each worker: its slot, its range, and how to report and check cancel."""

    index: int
    start: int
    stop: int
    cancel_event: threading.Event
    failed_event: threading.Event
    limiter: RateLimiter
    done: int = 0
    bytes_done: int = 0
    finished: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def advance(self, traces: int, nbytes: int = 0) -> None:
        """Record progress; raise :class:`JobCancelled` if the job was cancelled."""
        with self._lock:
            self.done += traces
            self.bytes_done += nbytes
        self.check_cancel()
        self.limiter.consume(nbytes, self.cancel_event)
        self.check_cancel()

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` if the user cancelled or another worker failed."""
        if self.cancel_event.is_set() or self.failed_event.is_set():
            raise JobCancelled("cancelled by the user")


class _Outcome(Generic[R]):
    def __init__(self) -> None:
        self.value: R | None = None
        self.error: BaseException | None = None


def run_workers(
    ranges: Sequence[tuple[int, int]],
    work: Callable[[WorkerContext], R],
    cancel_event: threading.Event,
    progress: Callable[[ParallelProgress], None] | None = None,
    worker_progress: Callable[[Sequence[WorkerContext]], None] | None = None,
    limiter: RateLimiter | None = None,
) -> list[R]:
    """Run ``work`` once per range in its own thread; report every ~50 ms; return results.

    The first failing worker cancels the others and its error is raised once all have
    stopped; a cancelled job raises :class:`JobCancelled`.
    """
    failed = threading.Event()
    limiter = limiter or RateLimiter(None)
    contexts = [
        WorkerContext(i, a, b, cancel_event, failed, limiter) for i, (a, b) in enumerate(ranges)
    ]
    outcomes: list[_Outcome[R]] = [_Outcome() for _ in contexts]

    def target(ctx: WorkerContext, outcome: _Outcome[R]) -> None:
        try:
            outcome.value = work(ctx)
        except BaseException as exc:
            outcome.error = exc
            if not isinstance(exc, JobCancelled):
                failed.set()  # stop the other workers early
        finally:
            ctx.finished = True

    threads = [
        threading.Thread(target=target, args=(c, o), name=f"segycore-worker-{c.index}", daemon=True)
        for c, o in zip(contexts, outcomes, strict=True)
    ]
    total = sum(b - a for a, b in ranges)
    started = time.monotonic()
    for t in threads:
        t.start()

    def report() -> None:
        done = sum(c.done for c in contexts)
        active = sum(not c.finished for c in contexts)
        elapsed = time.monotonic() - started
        eta = (total - done) * elapsed / done if done and elapsed > 0 else None
        if progress is not None:
            progress(
                ParallelProgress(done, total, active, eta, sum(c.bytes_done for c in contexts))
            )
        if worker_progress is not None:
            worker_progress(contexts)

    try:
        while alive := [t for t in threads if t.is_alive()]:
            alive[0].join(POLL_SECONDS)
            report()
    finally:
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
