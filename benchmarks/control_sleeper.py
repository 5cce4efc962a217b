"""Control sleepers: one tiny process per CPU that sleeps 10 ms at a time and logs late wake-ups.

The GUI benchmark's heartbeat measures how late the GUI thread's 10 ms timer fires. A late
tick has two kinds of cause: the GUI process itself (its own work, its locks, the job's
threads taking its CPU) and the machine (a virtual CPU the hypervisor did not run, a
timer interrupt delivered late). These sleepers tell them apart: each is pinned to one
CPU, does nothing but ``time.sleep(0.01)`` at normal priority and writes down every
wake-up that came at least :data:`LATE_MS` late. A GUI stall that one of them shared (a
late interval of its own covering most of the stall) happened to the machine, not to
segycore; one that none shared is the application's to explain.

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

__all__ = ["LATE_MS", "PERIOD_S", "Interval", "control_sleepers", "read_intervals", "shared_ms"]

PERIOD_S = 0.010
#: a wake-up at least this much later than asked is written down
LATE_MS = 20.0

Interval = tuple[float, float]  # (went to sleep, woke up), perf_counter seconds


def sleep_loop(cpu: int, out: Path) -> None:
    """Sleep :data:`PERIOD_S` at a time on ``cpu`` forever; append late wake-ups to ``out``."""
    os.sched_setaffinity(0, {cpu})
    with open(out, "a", buffering=1) as log:  # whole lines: a terminate never cuts one
        last = time.perf_counter()
        while True:
            time.sleep(PERIOD_S)
            now = time.perf_counter()
            if now - last >= PERIOD_S + LATE_MS / 1000:
                log.write(f"{last:.6f} {now:.6f}\n")
            last = now


def read_intervals(folder: Path) -> list[Interval]:
    """Every sleeper's late intervals in ``folder``, sorted by start."""
    intervals = []
    for path in sorted(folder.glob("sleeper-*.log")):
        for line in path.read_text().splitlines():
            start, end = line.split()
            intervals.append((float(start), float(end)))
    return sorted(intervals)


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
    sleep_loop(cpu_arg, folder_arg / f"sleeper-{cpu_arg}.log")
