"""The guest kernel's free page reporting: how much freed memory it hands back to the host.

On a virtual machine with a balloon device that does free page reporting, the kernel
hands free memory back to the host in passes; on this VM each pass that reports a few
hundred MB stops both virtual CPUs for tens of milliseconds (hypervisor steal time), and
after gigabytes are freed (a deleted dataset's page cache) the passes come every 2.1 s
for 10-25 s. A benchmark of the GUI's event loop that starts right after deleting the
previous run's files measures those passes, not segycore. So the benchmark waits until
reporting has gone quiet before each run (:func:`wait_until_quiet`) and logs what is
reported during the run (:class:`ReportingLog`), to set beside each stall.

The counter read is ``/sys/module/page_reporting/parameters/reported_kib`` (this VM's
kernel; a stock kernel has no such counter). Where it is missing, :func:`reported_kib`
gives None, nothing waits and the log stays empty.
"""

from __future__ import annotations

import bisect
import threading
import time
from pathlib import Path

__all__ = ["COUNTER", "ReportingLog", "reported_kib", "wait_until_quiet"]

COUNTER = Path("/sys/module/page_reporting/parameters/reported_kib")
#: reporting is quiet when less than this was reported over :data:`QUIET_WINDOW_S`
QUIET_MIB = 64
QUIET_WINDOW_S = 6.0
#: never wait longer than this before a run
SETTLE_TIMEOUT_S = 120.0


def reported_kib(counter: Path = COUNTER) -> int | None:
    """KiB reported to the host since boot, or None where the kernel does not say."""
    try:
        return int(counter.read_text())
    except (OSError, ValueError):
        return None


def wait_until_quiet(
    counter: Path = COUNTER,
    quiet_mib: float = QUIET_MIB,
    window_s: float = QUIET_WINDOW_S,
    timeout_s: float = SETTLE_TIMEOUT_S,
    poll_s: float = 0.25,
) -> float | None:
    """Wait until less than ``quiet_mib`` was reported over the last ``window_s`` seconds
    (at most ``timeout_s``); the seconds waited, or None without a counter."""
    first = reported_kib(counter)
    if first is None:
        return None
    began = time.monotonic()
    readings = [(began, first)]
    while True:
        now = time.monotonic()
        if now - began >= window_s:
            # the reading ``window_s`` ago (or the earliest one after it)
            old = next(kib for at, kib in readings if at >= now - window_s - poll_s)
            if (readings[-1][1] - old) / 1024 < quiet_mib:
                return now - began
        if now - began >= timeout_s:
            return now - began
        time.sleep(poll_s)
        value = reported_kib(counter)
        if value is not None:  # a reading that failed is skipped, the wait stays bounded
            readings.append((time.monotonic(), value))


class ReportingLog(threading.Thread):
    """Reads the counter every ``period_s`` in a thread of its own while it runs; knows how
    much was reported in any interval (``time.perf_counter`` seconds, the heartbeat's
    clock)."""

    def __init__(self, counter: Path = COUNTER, period_s: float = 0.02) -> None:
        super().__init__(name="bench-page-reporting", daemon=True)
        self.counter = counter
        self.period_s = period_s
        self.times: list[float] = []
        self.kib: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        if reported_kib(self.counter) is None:
            return  # no counter here
        while not self.halt.is_set():
            value = reported_kib(self.counter)
            if value is not None:
                self.times.append(time.perf_counter())
                self.kib.append(value)
            self.halt.wait(self.period_s)

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def reported_mib(self, start: float, end: float) -> float | None:
        """MiB reported between the readings around ``[start, end]`` (None: no readings)."""
        if not self.times:
            return None
        lo = max(0, bisect.bisect_right(self.times, start) - 1)
        hi = min(len(self.times) - 1, bisect.bisect_left(self.times, end))
        return (self.kib[hi] - self.kib[lo]) / 1024
