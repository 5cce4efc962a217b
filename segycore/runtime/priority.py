"""The job yields to its front end: lower CPU (and I/O) priority for a supervisor's threads.

A job keeps both cores of a small machine busy; a GUI thread that wakes for its 10 Hz
tick must then wait for a core, and on a 2-core machine that wait was 100-500 ms.
Running every thread of the supervisor at a lower priority lets the scheduler give the
GUI a core the moment it wakes. The knob is the environment variable
``SEGYCORE_PRIORITY`` (read by the supervisor, inherited from its front end):

``low`` (default)
    nice +10, ``SCHED_BATCH`` and idle-class I/O for every thread (Linux); the
    process's nice value elsewhere (``os.setpriority`` on macOS/BSD, psutil's
    below-normal priority class on Windows). On an idle machine this costs nothing: the
    job still gets every core nobody else wants.
``normal``
    leave the scheduler alone (what 0.1 did).

The default is ``low`` for every front end, the CLI included: the priority only decides
who waits when the machine is contended, and then an interactive session (a desktop,
an editor, a shell) should win over a batch copy.

On Linux nice values, scheduling policy and I/O priority belong to a *thread*:
``os.nice()`` in one thread changes only that thread and the threads it creates later.
So :func:`apply_job_priority` lowers every thread the process has (found in
``/proc/self/task``) once at start-up; threads created afterwards inherit the lowered
values from their creator, and :func:`threads_started` sweeps once more after a stage
starts its threads (worker threads, header decode pools, pyarrow's pools), in case a
library started a thread from a thread that was not lowered.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import threading
from dataclasses import dataclass

__all__ = [
    "LOW_NICE",
    "PRIORITY_ENV",
    "PRIORITY_LEVELS",
    "ThreadPriority",
    "apply_job_priority",
    "io_class",
    "job_priority",
    "lower_thread",
    "read_thread_priority",
    "threads_started",
]

PRIORITY_ENV = "SEGYCORE_PRIORITY"
PRIORITY_LEVELS = ("low", "normal")
#: The nice value of a low-priority job's threads (0 is normal, 19 the lowest).
LOW_NICE = 10

# Linux ioprio_set(2): who = a thread id, class IDLE (3) with level 0.
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_IDLE = 3
IOPRIO_CLASS_BE = 2
_SYSCALLS = {  # (ioprio_set, ioprio_get) per machine
    "x86_64": (251, 252),
    "aarch64": (30, 31),
    "i386": (289, 290),
    "i686": (289, 290),
    "armv7l": (314, 315),
    "ppc64le": (273, 274),
    "riscv64": (30, 31),
}

_LOCK = threading.Lock()
_active = ""  # the level applied to this process ("" until apply_job_priority)
_lowered: set[int] = set()  # thread ids already lowered


@dataclass(frozen=True)
class ThreadPriority:
    """What a thread runs at: nice value, scheduling policy name, I/O class (or None)."""

    tid: int
    nice: int
    policy: str
    io_class: int | None


def job_priority(default: str = "low") -> str:
    """The level the environment asks for (``SEGYCORE_PRIORITY``), else ``default``.

    An unknown value is reported on stderr and ``default`` is used: a scheduling hint
    must not fail a job.
    """
    level = os.environ.get(PRIORITY_ENV, "").strip().lower() or default
    if level not in PRIORITY_LEVELS:
        print(
            f"segycore: ignoring {PRIORITY_ENV}={level!r} (one of {', '.join(PRIORITY_LEVELS)})",
            file=sys.stderr,
        )
        return default
    return level


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _ioprio_syscalls() -> tuple[int, int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return _SYSCALLS.get(os.uname().machine)


def _set_io_idle(tid: int) -> bool:
    numbers, libc = _ioprio_syscalls(), _libc()
    if numbers is None or libc is None:
        return False
    value = IOPRIO_CLASS_IDLE << _IOPRIO_CLASS_SHIFT
    return libc.syscall(numbers[0], _IOPRIO_WHO_PROCESS, tid, value) == 0


def io_class(tid: int) -> int | None:
    """The I/O scheduling class of thread ``tid`` (Linux; None where unknown)."""
    numbers, libc = _ioprio_syscalls(), _libc()
    if numbers is None or libc is None:
        return None
    value = libc.syscall(numbers[1], _IOPRIO_WHO_PROCESS, tid)
    return None if value < 0 else value >> _IOPRIO_CLASS_SHIFT


def lower_thread(tid: int) -> bool:
    """Lower Linux thread ``tid`` to nice >= :data:`LOW_NICE`, ``SCHED_BATCH``, idle I/O.

    Each step is best effort (a thread that exited meanwhile, a policy the kernel
    refuses); returns whether the nice value was set.
    """
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < LOW_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, LOW_NICE)
    except OSError:
        return False
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):
            if os.sched_getscheduler(tid) == os.SCHED_OTHER:
                os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(OSError):
        _set_io_idle(tid)
    return True


def _task_ids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [threading.get_native_id()]


def _sweep() -> int:
    """Lower every thread of this process not lowered yet; how many were lowered."""
    count = 0
    with _LOCK:
        for tid in _task_ids():
            if tid not in _lowered and lower_thread(tid):
                _lowered.add(tid)
                count += 1
    return count


def _lower_process_elsewhere() -> None:
    """macOS/BSD: the process's nice value; Windows: a below-normal priority class."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            if os.getpriority(os.PRIO_PROCESS, 0) < LOW_NICE:
                os.setpriority(os.PRIO_PROCESS, 0, LOW_NICE)
        return
    with contextlib.suppress(Exception):
        import psutil

        psutil.Process().nice(getattr(psutil, "BELOW_NORMAL_PRIORITY_CLASS", LOW_NICE))


def apply_job_priority(level: str | None = None) -> str:
    """Put this process (a supervisor) at ``level`` (default: :func:`job_priority`).

    Call once at process start, before the job starts its threads. Returns the level.
    """
    global _active
    level = job_priority() if level is None else level
    if level not in PRIORITY_LEVELS:
        raise ValueError(f"priority must be one of {PRIORITY_LEVELS}, got {level!r}")
    _active = level
    if level == "low":
        if sys.platform.startswith("linux"):
            _sweep()
        else:
            _lower_process_elsewhere()
    return level


def threads_started() -> None:
    """Call after starting threads: lowers any the start-up sweep did not reach.

    Does nothing unless :func:`apply_job_priority` put this process at ``low``, so
    coordinators used in-process (a script, a notebook) never change their caller.
    """
    if _active == "low" and sys.platform.startswith("linux"):
        _sweep()


_POLICIES = {
    getattr(os, name): name.removeprefix("SCHED_").lower()
    for name in ("SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE", "SCHED_FIFO", "SCHED_RR")
    if hasattr(os, name)
}


def read_thread_priority(pid: int, tid: int) -> ThreadPriority:
    """Read back thread ``tid`` of process ``pid`` from ``/proc`` (Linux): for tests and
    benchmarks that check what a running job's threads got."""
    with open(f"/proc/{pid}/task/{tid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 of proc(5): nice is field 19, policy field 41
    nice, policy = int(fields[16]), int(fields[38])
    return ThreadPriority(tid, nice, _POLICIES.get(policy, str(policy)), io_class(tid))
