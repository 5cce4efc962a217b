"""Control sleepers: one tiny process per CPU that sleeps 10 ms at a time, logs late
wake-ups, and times a fixed piece of work after each wake-up.

The GUI benchmark's heartbeat measures how late the GUI thread's 10 ms timer fires. A late
tick has two kinds of cause: the GUI process itself (its own work, its locks, the job's
threads taking its CPU) and the machine (a virtual CPU the hypervisor did not run, a
timer interrupt delivered late). These sleepers tell them apart: each is pinned to one
CPU, does nothing but ``time.sleep(0.01)`` at normal priority and writes down every
wake-up that came at least :data:`LATE_MS` late. A GUI stall that one of them shared (a
late interval of its own covering most of the stall) happened to the machine, not to
segycore; one that none shared is the application's to explain.

A virtual CPU can also run *slowly* without stopping: a sleeper then wakes on time, but
the GUI thread's few milliseconds of painting take ten times as long. So after each
wake-up a sleeper also runs a fixed piece of pure-Python work (:data:`WORK_LOOPS`
iterations, about 0.2 ms, cache-resident) and writes down the *CPU time* it took.
Preemption inside the guest cannot inflate a thread's own CPU time; a host that takes
cycles from the virtual CPU while it runs (or a CPU slowed some other way) can. At
start-up each sleeper calibrates the work (its fastest of 50 runs); a stall during
which at least :data:`SLOW_SHARE` of the samples took :data:`SLOW_FACTOR` times that or
more happened to a machine whose CPUs were running slow.

Both sides use ``time.perf_counter`` (``CLOCK_MONOTONIC`` on Linux: one clock for every
process), so the intervals compare directly. Linux only (CPU affinity); elsewhere
:func:`control_sleepers` yields an empty reader.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "LATE_MS",
    "PERIOD_S",
    "SLOW_FACTOR",
    "SLOW_SHARE",
    "WORK_LOOPS",
    "Interval",
    "WorkSample",
    "control_sleepers",
    "read_intervals",
    "read_work",
    "shared_ms",
    "slowed_share",
]

PERIOD_S = 0.010
#: a wake-up at least this much later than asked is written down
LATE_MS = 20.0
#: iterations of the fixed work timed after each wake-up (about 0.2 ms of CPU)
WORK_LOOPS = 6000
#: a piece of work that took this many times its calibrated CPU time ran on a slow CPU ...
SLOW_FACTOR = 3.0
#: ... and a stall in which at least this share of the samples did was the machine's
SLOW_SHARE = 0.25

Interval = tuple[float, float]  # (went to sleep, woke up), perf_counter seconds
WorkSample = tuple[float, float]  # (when the work began, its CPU time / the calibrated one)


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i
    return total


def _cpu_time_of_work() -> float:
    began = time.thread_time()
    _work(WORK_LOOPS)
    return time.thread_time() - began


def sleep_loop(cpu: int, late_out: Path, work_out: Path) -> None:
    """Sleep :data:`PERIOD_S` at a time on ``cpu`` forever; append late wake-ups to
    ``late_out`` and each wake-up's work sample to ``work_out``."""
    os.sched_setaffinity(0, {cpu})
    calibrated = min(_cpu_time_of_work() for _ in range(50))
    # whole lines: a terminate never cuts one
    with open(late_out, "a", buffering=1) as late, open(work_out, "a", buffering=1) as work:
        last = time.perf_counter()
        while True:
            time.sleep(PERIOD_S)
            now = time.perf_counter()
            if now - last >= PERIOD_S + LATE_MS / 1000:
                late.write(f"{last:.6f} {now:.6f}\n")
            work.write(f"{now:.6f} {_cpu_time_of_work() / calibrated:.2f}\n")
            last = time.perf_counter()


def _read_pairs(folder: Path, pattern: str) -> list[tuple[float, float]]:
    """The two numbers on each line of every log matching ``pattern``, sorted."""
    pairs = []
    for path in sorted(folder.glob(pattern)):
        for line in path.read_text().splitlines():
            first, second = line.split()
            pairs.append((float(first), float(second)))
    return sorted(pairs)


def read_intervals(folder: Path) -> list[Interval]:
    """Every sleeper's late intervals in ``folder``, sorted by start."""
    return _read_pairs(folder, "sleeper-*.log")


def read_work(folder: Path) -> list[WorkSample]:
    """Every sleeper's work samples in ``folder``, sorted by time."""
    return _read_pairs(folder, "work-*.log")


def slowed_share(samples: list[WorkSample], start: float, end: float) -> float | None:
    """The share of the work samples in ``[start, end]`` that took :data:`SLOW_FACTOR`
    times their calibrated CPU time or more (None: fewer than two samples in it)."""
    inside = [factor for at, factor in samples if start <= at <= end]
    if len(inside) < 2:
        return None
    return sum(factor >= SLOW_FACTOR for factor in inside) / len(inside)


def shared_ms(intervals: list[Interval], start: float, end: float) -> float:
    """The longest stretch (ms) of ``[start, end]`` one late interval of a sleeper covers."""
    best = 0.0
    for lo, hi in intervals:
        overlap = min(hi, end) - max(lo, start)
        best = max(best, overlap)
    return 1000 * best


@contextmanager
def control_sleepers(folder: Path) -> Iterator[Path | None]:
    """One sleeper per CPU of this process's affinity set while the block runs; yields the
    folder their logs go to (None where CPU affinity is not available). Stopped by pid."""
    if not hasattr(os, "sched_getaffinity"):
        yield None
        return
    folder.mkdir(parents=True, exist_ok=True)
    sleepers = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(cpu), str(folder)],
            stdin=subprocess.DEVNULL,
        )
        for cpu in sorted(os.sched_getaffinity(0))
    ]
    try:
        yield folder
    finally:
        for sleeper in sleepers:
            sleeper.terminate()
        for sleeper in sleepers:
            sleeper.wait(10)


if __name__ == "__main__":
    cpu_arg, folder_arg = int(sys.argv[1]), Path(sys.argv[2])
    sleep_loop(cpu_arg, folder_arg / f"sleeper-{cpu_arg}.log", folder_arg / f"work-{cpu_arg}.log")
