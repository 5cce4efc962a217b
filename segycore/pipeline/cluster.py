"""The cluster backend: the parallel stages as dask.distributed tasks, the caller as driver.

:class:`ClusterBackend` is the :class:`~segycore.pipeline.workers.Backend` that
``scheduler=`` selects. The driver (the supervisor) probes every worker for the shared
filesystem, re-plans the coordinator's ranges into page-aligned ones, submits one task
per range - the same pure task function the threads run (:mod:`segycore.pipeline.tasks`)
over a copy of the same plain-data record (paths, offsets, its trace range; never
arrays) -, sums the tasks' progress events into per-task statuses for the stage's
report, and does the serial stages itself.

- **Ranges**: a few hundred MB each, at least :data:`MIN_TASKS_PER_THREAD` per worker
  thread, their byte ranges in the output aligned to the page size so no two concurrent
  tasks write the same page of one file (the NFS caveat, ``docs/cluster.md``). Where the
  layout admits no aligned boundary, the few traces around it form a *seam* range that
  runs after the others have finished, so a shared page is never written concurrently.
- **Progress**: tasks call :meth:`distributed.Worker.log_event` at most every
  :data:`REPORT_SECONDS`; the driver receives them with
  :meth:`distributed.Client.subscribe_topic`.
- **Cancel and faults**: a :class:`distributed.Event` per job that tasks check between
  chunks; pending futures are cancelled and the driver waits until no task of the job is
  executing on any worker before it returns, so cleanup never removes a file under a
  running task. A dead worker's task is re-run by the scheduler (tasks are idempotent);
  when the scheduler gives up (:class:`distributed.KilledWorker`) or goes away, the job
  fails with a :class:`ClusterError` naming what died.

``distributed`` is imported lazily: segycore works without the ``dask`` extra, and only
``scheduler=`` needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import mmap
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import JobCancelled, SegycoreError
from ..format.spec import sample_format
from .scheduler_option import (
    MISSING_EXTRA,
    ClusterError,
    check_scheduler_address,
    check_scheduler_option,
)
from .tasks import ExportTask, ImportTask
from .workers import ProgressSink, RateLimiter, WorkerStatus

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "DEFAULT_TASK_BYTES",
    "MIN_TASKS_PER_THREAD",
    "MISSING_EXTRA",
    "ClusterBackend",
    "ClusterError",
    "ClusterSession",
    "PathCheck",
    "RangePlan",
    "TaskReporter",
    "check_scheduler_address",
    "check_scheduler_option",
    "cluster_backend",
    "configured_task_bytes",
    "connect",
    "distributed_module",
    "plan_ranges",
]

#: Bytes of output per task: large enough that scheduling costs nothing, small enough
#: that a re-run after a worker died repeats little and the tasks balance.
DEFAULT_TASK_BYTES = 256 * 2**20
#: Environment variable overriding :data:`DEFAULT_TASK_BYTES`, in MB (a tuning knob for
#: a cluster's deployment; ``benchmarks/bench_cluster.py`` measures the choice).
TASK_MB_VARIABLE = "SEGYCORE_TASK_MB"
#: Tasks per worker thread at least, so a slow worker does not hold up the end.
MIN_TASKS_PER_THREAD = 3
#: A task reports (and checks cancel) at most this often.
REPORT_SECONDS = 0.25
#: The driver polls its futures and republishes progress this often.
POLL_SECONDS = 0.05
#: How long the driver waits for the tasks of a stopped job to leave the workers.
STOP_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
#: How long a job waits for a first worker on a cluster that has none (yet).
WORKERS_TIMEOUT = 10.0
#: Bytes hashed at the start, middle and end of a file to tell two copies apart.
PROBE_BYTES = 64 * 1024
#: Re-runs of a task that raised an unexpected error (an OSError on a flaky mount, ...).
#: Errors segycore itself raises (bad input, cancel) are never retried.
TASK_RETRIES = 2


def configured_task_bytes() -> int:
    """Output bytes per task: ``$SEGYCORE_TASK_MB`` MB if set, else the default."""
    value = os.environ.get(TASK_MB_VARIABLE, "").strip()
    if not value:
        return DEFAULT_TASK_BYTES
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = 0.0
    if not megabytes > 0:
        raise ClusterError(f"{TASK_MB_VARIABLE} must be a positive number of MB, not {value!r}")
    return max(1, int(megabytes * 2**20))


def distributed_module() -> ModuleType:
    """``distributed``, or a :class:`ClusterError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(MISSING_EXTRA) from None
    return distributed


def connect(address: str, timeout: float | None = None) -> Client:
    """A client of the scheduler at ``address``; a clear error if it cannot be reached
    within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`)."""
    distributed = distributed_module()
    address = check_scheduler_address(address)
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the dask scheduler at {address} within {timeout:g} s: {exc}"
        ) from None
    return client


# -- planning -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RangePlan:
    """Trace ranges of one parallel stage: ``ranges`` run together, then ``seams``.

    Every range of ``ranges`` writes bytes on pages no other range of ``ranges`` touches;
    a seam holds the traces around a boundary that could not be put on a page boundary
    and runs once the ranges are done, so no page is ever written by two tasks at once.
    """

    ranges: tuple[tuple[int, int], ...]
    seams: tuple[tuple[int, int], ...] = ()

    @property
    def ordered(self) -> list[tuple[int, int]]:
        """Every range of the plan, in trace order."""
        return sorted(self.ranges + self.seams)


def plan_ranges(
    n_traces: int,
    first_byte: int,
    bytes_per_trace: int,
    threads: int,
    task_bytes: int = DEFAULT_TASK_BYTES,
    page: int = mmap.PAGESIZE,
) -> RangePlan:
    """Split ``range(n_traces)`` into page-aligned ranges of about ``task_bytes`` each.

    Trace ``i`` occupies output bytes ``first_byte + i * bytes_per_trace`` onwards. There
    are at least ``MIN_TASKS_PER_THREAD * threads`` ranges (fewer only when there are
    fewer traces than that); each boundary is moved forward to the first trace that
    starts on a page boundary, or, where the layout has none nearby, becomes a seam.
    """
    if n_traces <= 0:
        return RangePlan(())
    if bytes_per_trace <= 0 or threads < 1 or task_bytes < 1 or page < 1:
        raise ValueError("bytes per trace, threads, task bytes and page must be positive")
    total = n_traces * bytes_per_trace
    parts = max(math.ceil(total / task_bytes), MIN_TASKS_PER_THREAD * threads)
    parts = min(parts, n_traces)
    # Boundaries b with (first_byte + b * bytes_per_trace) % page == 0 repeat every
    # `period` traces, if there are any (first_byte must be a multiple of the gcd).
    g = math.gcd(bytes_per_trace, page)
    period = page // g
    aligned = first_byte % g == 0
    ranges: list[tuple[int, int]] = []
    seams: list[tuple[int, int]] = []
    start = 0
    for k in range(1, parts):
        nominal = n_traces * k // parts
        if nominal <= start:
            continue
        if aligned:
            offset = (first_byte + nominal * bytes_per_trace) % page
            # traces to advance so that the boundary lands on a page start
            step = (
                0
                if offset == 0
                else next(
                    s for s in range(1, period + 1) if (offset + s * bytes_per_trace) % page == 0
                )
            )
            boundary = nominal + step
            if boundary < n_traces and boundary > start:
                ranges.append((start, boundary))
                start = boundary
            continue
        # No aligned boundary: the traces touching the page around `nominal` form a seam.
        byte = first_byte + nominal * bytes_per_trace
        page_start = byte // page * page
        lo = max(start, (page_start - first_byte) // bytes_per_trace)
        hi = min(n_traces, -(-(page_start + page - first_byte) // bytes_per_trace))
        if lo <= start or hi >= n_traces:
            continue
        ranges.append((start, lo))
        seams.append((lo, hi))
        start = hi
    ranges.append((start, n_traces))
    return RangePlan(tuple(ranges), tuple(seams))


# -- the probe ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PathCheck:
    """What a worker must see at ``path``: a file of ``size`` bytes with ``digest``
    (of its first, middle and last :data:`PROBE_BYTES`), or a folder holding the token
    file ``token`` with ``digest`` as its content."""

    path: str
    size: int
    digest: str
    token: str | None = None


def _digest(path: Path, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - PROBE_BYTES // 2), max(0, size - PROBE_BYTES)}):
            fh.seek(offset)
            h.update(fh.read(PROBE_BYTES))
    return h.hexdigest()


def expect_file(path: Path) -> PathCheck:
    """The check of a file every worker must read (the source, the dataset's traces)."""
    path = Path(path).resolve()
    size = path.stat().st_size
    return PathCheck(str(path), size, _digest(path, size))


def expect_folder(path: Path, token: str | None = None) -> PathCheck:
    """Write a token file (named ``token``, default a hidden random name) into ``path``,
    a folder every worker writes into, and return its check; the caller removes the
    token (``Path(check.path, check.token)``) afterwards."""
    path = Path(path).resolve()
    token = token or f".segycore-probe-{secrets.token_hex(8)}"
    content = secrets.token_bytes(32)
    with open(path / token, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    digest = hashlib.blake2b(content, digest_size=16).hexdigest()
    return PathCheck(str(path), len(content), digest, token)


def _boot_id() -> str:
    """Identifies the running kernel: equal boot ids share one page cache (no fsync needed)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"{socket.gethostname()}-unknown"


def _probe(checks: Sequence[PathCheck]) -> tuple[str, list[str]]:
    """Run on every worker: its boot id and what it sees differently from the driver."""
    problems = []
    for check in checks:
        path = Path(check.path)
        try:
            if check.token is not None:
                target = path / check.token
                data = target.read_bytes()
                digest = hashlib.blake2b(data, digest_size=16).hexdigest()
                if digest != check.digest:
                    problems.append(f"{path} is a different folder there (its probe token differs)")
                elif not os.access(path, os.W_OK | os.X_OK):
                    problems.append(f"{path} is not writable there")
            else:
                size = path.stat().st_size
                if size != check.size:
                    problems.append(f"{path} has {size} bytes there, not {check.size}")
                elif _digest(path, size) != check.digest:
                    problems.append(f"{path} has a different content there")
        except OSError as exc:
            what = "the probe token of " if check.token is not None else ""
            problems.append(f"cannot read {what}{path} there: {exc.strerror or exc}")
    return _boot_id(), problems


def probe_workers(client: Client, checks: Sequence[PathCheck]) -> dict[str, str]:
    """Check that every worker sees each path as the driver does; their boot ids.

    Raises
    ------
    ClusterError
        When there are no workers, or a worker cannot see a path (one message naming
        the worker and the path, and how many others failed).
    """
    if not client.scheduler_info().get("workers"):
        try:  # an adaptive cluster (dask-jobqueue, dask-kubernetes) may be starting them
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except (TimeoutError, OSError):
            raise ClusterError(
                f"the dask scheduler at {client.scheduler.address} has no workers "
                f"(none arrived within {WORKERS_TIMEOUT:g} s)"
            ) from None
    replies = client.run(_probe, list(checks), on_error="return")
    failures = []
    boot_ids = {}
    for worker, reply in sorted(replies.items()):
        if isinstance(reply, BaseException):
            failures.append(f"worker {worker} could not run the probe: {reply}")
            continue
        boot_ids[worker] = reply[0]
        failures += [f"worker {worker}: {problem}" for problem in reply[1]]
    if failures:
        more = f" (and {len(failures) - 1} more problems)" if len(failures) > 1 else ""
        raise ClusterError(
            f"{failures[0]}{more}; every worker must see the source and the destination's "
            "folder at the same path (a shared filesystem)"
        )
    return boot_ids


# -- the task side ------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskInfo:
    """What the driver tells every task besides its own record (plain data)."""

    topic: str
    cancel_event: str
    fsync: bool
    rate_limit: float | None = None


class _ClusterCancel:
    """The job's distributed Event as a task sees it: :meth:`is_set` asks the scheduler
    at most every :data:`REPORT_SECONDS`; :meth:`wait` (the rate limiter's pause) wakes
    within that interval of a cancel."""

    def __init__(self, name: str) -> None:
        self._event = distributed_module().Event(name)
        self._checked = 0.0
        self._set = False

    def is_set(self, fresh: bool = False) -> bool:
        now = time.monotonic()
        if not self._set and (fresh or now - self._checked >= REPORT_SECONDS):
            self._checked = now
            self._set = bool(self._event.is_set())
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (timeout or 0.0)
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, REPORT_SECONDS))
        return self._set


class TaskReporter:
    """A task's progress events: ``(task, run, traces done, bytes done)`` at most every
    :data:`REPORT_SECONDS`, plus one at the start and one at the end."""

    def __init__(self, info: TaskInfo, task: int) -> None:
        self._worker = distributed_module().get_worker()
        self._info = info
        self._task = task
        self._run = secrets.token_hex(4)  # a re-run after a worker died starts afresh
        self._last = 0.0

    def report(self, done: int, nbytes: int, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= REPORT_SECONDS:
            self._last = now
            self._worker.log_event(
                self._info.topic,
                {"task": self._task, "run": self._run, "done": done, "bytes": nbytes},
            )


class _TaskContext:
    """The :class:`~segycore.pipeline.workers.TaskContext` of a task on a cluster worker:
    progress events, the job's distributed cancel Event, the task's share of the rate cap."""

    def __init__(self, task: Any, info: TaskInfo, cancel: _ClusterCancel) -> None:
        self.index, self.start, self.stop = task.index, task.start, task.stop
        self.done = 0
        self.bytes_done = 0
        self._cancel = cancel
        self._limiter = RateLimiter(info.rate_limit)
        self.reporter = TaskReporter(info, task.index)

    def advance(self, traces: int, nbytes: int = 0) -> None:
        self.done += traces
        self.bytes_done += nbytes
        self.reporter.report(self.done, self.bytes_done)
        self.check_cancel()
        self._limiter.consume(nbytes, self._cancel)  # type: ignore[arg-type]
        self.check_cancel()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled("cancelled by the user")


@dataclass(frozen=True)
class _Failed:
    """A task's SegycoreError, returned rather than raised so the scheduler never retries it."""

    error: SegycoreError


def _written(task: Any, result: Any) -> list[Path]:
    """The files a finished task wrote (fsynced when the driver runs on another kernel)."""
    if isinstance(task, ImportTask):
        return [Path(task.traces_path), *result.header_segments]
    if isinstance(task, ExportTask):
        return [Path(task.output)]
    raise ClusterError(f"no cluster plan for tasks of type {type(task).__name__}")


def _run_task(fn: Callable[[Any, Any], Any], task: Any, info: TaskInfo) -> Any:
    """What every task runs: check cancel, run ``fn(task, ctx)``, fsync, report the end."""
    cancel = _ClusterCancel(info.cancel_event)
    if cancel.is_set(fresh=True):
        return _Failed(JobCancelled("cancelled by the user"))
    ctx = _TaskContext(task, info, cancel)
    ctx.reporter.report(0, 0, force=True)
    try:
        result = fn(task, ctx)
        if info.fsync:
            _fsync_paths(_written(task, result))
    except SegycoreError as exc:
        return _Failed(exc)
    finally:
        ctx.reporter.report(ctx.done, ctx.bytes_done, force=True)
    return result


def _executing(prefix: str, dask_worker: Any = None) -> list[str]:
    """Run on every worker: keys of the job's tasks its threads are still executing."""
    state = dask_worker.state
    running = list(state.executing) + list(getattr(state, "long_running", ()))
    return [str(ts.key) for ts in running if str(ts.key).startswith(prefix)]


def _fsync_paths(paths: Sequence[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- the driver side ----------------------------------------------------------------------
class _Progress:
    """The tasks' events summed: per-task statuses for the stage's progress report."""

    def __init__(self, tasks: Sequence[Any]) -> None:
        self.tasks = {t.index: t for t in tasks}
        self._lock = threading.Lock()
        self._done: dict[int, tuple[str, int, int]] = {}
        self._finished: set[int] = set()

    def on_event(self, event: tuple[float, Any]) -> None:
        """The subscribe_topic handler (runs in the client's event loop thread)."""
        msg = event[1]
        if not isinstance(msg, dict) or msg.get("task") not in self.tasks:
            return
        with self._lock:
            if msg["task"] not in self._finished:
                self._done[msg["task"]] = (str(msg["run"]), int(msg["done"]), int(msg["bytes"]))

    def finish(self, index: int) -> None:
        with self._lock:
            self._finished.add(index)
            task = self.tasks[index]
            run, _, nbytes = self._done.get(index, ("", 0, 0))
            self._done[index] = (run, task.stop - task.start, nbytes)

    def statuses(self) -> list[WorkerStatus]:
        """One status per task that has started: running, or done."""
        with self._lock:
            return [
                WorkerStatus(
                    i,
                    self.tasks[i].start,
                    self.tasks[i].stop,
                    done,
                    nbytes,
                    "done" if i in self._finished else "running",
                )
                for i, (_, done, nbytes) in sorted(self._done.items())
            ]


class ClusterSession:
    """One job's connection to a cluster: probe, run a stage's tasks, stop cleanly.

    Parameters
    ----------
    address
        The scheduler, ``tcp://host:port``.
    cancel
        The job's cancel flag (the coordinator's); set, it stops the running stage.
    rate_limit
        The job's I/O cap in MB/s, shared out evenly between the cluster's threads.
    task_bytes
        Output bytes per task (see :func:`plan_ranges`); default :func:`configured_task_bytes`.
    """

    def __init__(
        self,
        address: str,
        cancel: threading.Event,
        rate_limit: float | None = None,
        task_bytes: int | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.address = check_scheduler_address(address)
        self.cancel = cancel
        self.rate_limit = rate_limit
        self.task_bytes = task_bytes or configured_task_bytes()
        self.job_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.client = connect(self.address, connect_timeout)
        self.boot_ids: dict[str, str] = {}

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client whose scheduler died
            self.client.close()

    def __enter__(self) -> ClusterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def threads(self) -> int:
        """Worker threads of the cluster now."""
        workers = self.client.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def probe(
        self, files: Sequence[Path], folders: Sequence[Path], token: str | None = None
    ) -> None:
        """Check every worker sees ``files`` (same content) and ``folders`` (same folder),
        through a token file named ``token`` (default a hidden random name) in each."""
        checks = [expect_file(p) for p in files]
        tokens = []
        try:
            for folder in folders:
                check = expect_folder(folder, token)
                tokens.append(Path(check.path, check.token or ""))
                checks.append(check)
            self.boot_ids = probe_workers(self.client, checks)
        finally:
            for path in tokens:
                path.unlink(missing_ok=True)

    def plan(self, n_traces: int, first_byte: int, bytes_per_trace: int) -> RangePlan:
        """The stage's ranges for this cluster's threads (see :func:`plan_ranges`)."""
        return plan_ranges(n_traces, first_byte, bytes_per_trace, self.threads, self.task_bytes)

    @property
    def needs_fsync(self) -> bool:
        """Whether some worker runs on another kernel than the driver (its page cache
        is not the driver's: tasks must fsync before the driver reads)."""
        return any(b != _boot_id() for b in self.boot_ids.values())

    def run_stage(
        self,
        stage: str,
        fn: Callable[[Any, Any], Any],
        waves: Sequence[Sequence[Any]],
        on_progress: ProgressSink | None = None,
    ) -> list[Any]:
        """Run ``fn(task, ctx)`` for every task, wave after wave, on the cluster.

        Tasks are plain records with ``index``, ``start`` and ``stop``; the tasks of a
        wave run at the same time, a wave starts once the one before has finished.
        Returns the results ordered by task index. Raises :class:`JobCancelled` when
        the cancel flag was set, the first task's error, or a :class:`ClusterError` when
        workers or the scheduler died; in every case only once no task of the job runs.
        """
        distributed = distributed_module()
        prefix = f"segycore-{self.job_id}-{stage}-"
        info = TaskInfo(
            topic=f"segycore-{self.job_id}-{stage}",
            cancel_event=f"segycore-{self.job_id}-cancel",
            fsync=self.needs_fsync,
            rate_limit=None if self.rate_limit is None else self.rate_limit / self.threads,
        )
        sums = _Progress([t for wave in waves for t in wave])
        event = distributed.Event(info.cancel_event, client=self.client)
        self.client.subscribe_topic(info.topic, sums.on_event)
        results: dict[int, Any] = {}
        try:
            for wave in waves:
                futures = {
                    task.index: self.client.submit(
                        _run_task,
                        fn,
                        task,
                        info,
                        key=f"{prefix}{task.index}",
                        retries=TASK_RETRIES,
                        pure=False,
                    )
                    for task in wave
                }
                try:
                    self._await(futures, sums, on_progress, results)
                except BaseException:
                    self._stop(event, list(futures.values()), prefix)
                    raise
        finally:
            self._unsubscribe(info.topic)
            if on_progress is not None:
                on_progress(sums.statuses())
        return [results[i] for i in sorted(results)]

    def _await(
        self,
        futures: dict[int, Any],
        sums: _Progress,
        on_progress: ProgressSink | None,
        results: dict[int, Any],
    ) -> None:
        distributed = distributed_module()
        pending = dict(futures)
        while pending:
            if self.cancel.is_set():
                raise JobCancelled("cancelled by the user")
            if not self._connected():
                raise self._fault(next(iter(pending.values())).key, None)
            for i, future in list(pending.items()):
                status = future.status
                if status == "pending":
                    continue
                del pending[i]
                if status == "finished":
                    value = future.result()
                    if isinstance(value, _Failed):
                        raise value.error
                    results[i] = value
                    sums.finish(i)
                    continue
                try:
                    exc = future.exception(timeout=5)
                except distributed.client.FutureCancelledError as cancelled:
                    exc = cancelled
                except Exception as other:  # lost connection, timeouts
                    exc = other
                raise self._fault(future.key, exc)
            if on_progress is not None:
                on_progress(sums.statuses())
            time.sleep(POLL_SECONDS)

    def _fault(self, key: str, exc: BaseException | None) -> BaseException:
        """The error a failed future stands for, with what died in its message."""
        distributed = distributed_module()
        if isinstance(exc, distributed.KilledWorker):
            worker = getattr(exc.last_worker, "address", exc.last_worker)
            return ClusterError(
                f"the dask workers running task {key} died {exc.allowed_failures + 1} times "
                f"(last: worker {worker}); the scheduler gave up on it"
            )
        cancelled = isinstance(exc, distributed.client.FutureCancelledError | TimeoutError)
        if exc is None or cancelled or not self._connected():
            why = f": {exc}" if exc is not None else ""
            return ClusterError(
                f"lost the dask scheduler at {self.address} while task {key} ran{why}"
            )
        return exc

    def _connected(self) -> bool:
        return self.client.status == "running"

    def _stop(self, event: Any, futures: Sequence[Any], prefix: str) -> None:
        """Stop the job's tasks: set the Event, cancel what has not started, and wait until
        no worker executes a task of the job (a cancelled running task keeps running in
        distributed). Best effort when the scheduler is gone: then nothing can be asked."""
        if not self._connected():
            return  # the scheduler is gone: there is no one to ask (docs/cluster.md)
        try:
            event.set()
            self.client.cancel([f for f in futures if not f.done()])
            deadline = time.monotonic() + STOP_TIMEOUT
            quiet = 0
            while time.monotonic() < deadline and quiet < 2:
                running = self.client.run(_executing, prefix, on_error="ignore")
                quiet = quiet + 1 if not any(running.values()) else 0
                time.sleep(POLL_SECONDS)
        except Exception:  # the scheduler is gone: no task can be asked
            pass
        finally:
            with contextlib.suppress(Exception):
                event.clear()  # frees the Event's state on the scheduler

    def _unsubscribe(self, topic: str) -> None:
        with contextlib.suppress(Exception):  # the scheduler is gone
            self.client.unsubscribe_topic(topic)


# -- the backend ---------------------------------------------------------------------------
def _geometry(task: Any) -> tuple[int, int]:
    """Where trace ``i`` of a task's output starts: ``(offset of trace 0, bytes per trace)``."""
    if isinstance(task, ImportTask):  # rows of traces.npy
        return task.data_start, task.n_samples * sample_format(task.format_code).dtype.itemsize
    if isinstance(task, ExportTask):  # records of the pre-sized output
        if task.new_file:
            raise ClusterError("segments are not used on a cluster: each task writes its slice")
        return task.output_base, task.trace_size
    raise ClusterError(f"no cluster plan for tasks of type {type(task).__name__}")


def _probe_targets(task: Any) -> tuple[list[Path], list[Path], str | None]:
    """What every worker must see for a task: files to read, folders to write, and the
    probe token's name (a staging name where the folder is the user's)."""
    if isinstance(task, ImportTask):  # the source; the staging folder
        return [Path(task.source)], [Path(task.segment_dir)], None
    output = Path(task.output)  # export: the dataset's files; the output's folder
    files = [Path(task.traces_path), Path(task.headers_path)]
    return files, [output.parent], f"{output.name}-probe"


class ClusterBackend:
    """The :class:`~segycore.pipeline.workers.Backend` of ``scheduler=``: a stage's tasks
    as dask.distributed tasks (see the module docstring).

    ``run`` re-plans the coordinator's tasks into page-aligned ranges of about
    ``task_bytes`` each (at least :data:`MIN_TASKS_PER_THREAD` per worker thread of the
    cluster), each a copy of the coordinator's first task with its own index and range,
    and returns their results in trace order.
    """

    def __init__(
        self,
        address: str,
        rate_limit: float | None = None,
        task_bytes: int | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.address = check_scheduler_address(address)
        self.rate_limit = rate_limit
        self.task_bytes = task_bytes
        self.connect_timeout = connect_timeout

    def run(
        self,
        tasks: Sequence[T],
        fn: Callable[[T, Any], R],
        on_progress: ProgressSink | None,
        cancel_event: threading.Event,
    ) -> list[R]:
        if not tasks:
            return []
        first = min(tasks, key=lambda t: t.start)
        start, stop = first.start, max(t.stop for t in tasks)
        offset, bytes_per_trace = _geometry(first)
        with ClusterSession(
            self.address, cancel_event, self.rate_limit, self.task_bytes, self.connect_timeout
        ) as session:
            session.probe(*_probe_targets(first))
            plan = session.plan(stop - start, offset + start * bytes_per_trace, bytes_per_trace)
            index = {r: i for i, r in enumerate(plan.ordered)}

            def records(ranges: Sequence[tuple[int, int]]) -> list[T]:
                return [
                    replace(first, index=index[(a, b)], start=start + a, stop=start + b)
                    for a, b in ranges
                ]

            stage = getattr(fn, "__name__", "stage").removesuffix("_range")
            return session.run_stage(
                stage, fn, [records(plan.ranges), records(plan.seams)], on_progress
            )


def cluster_backend(scheduler: str | None, rate_limit: float | None) -> ClusterBackend | None:
    """The backend a config's ``scheduler=`` asks for (``None``: the default threads)."""
    return None if scheduler is None else ClusterBackend(scheduler, rate_limit)
