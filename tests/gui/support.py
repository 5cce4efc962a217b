"""Helpers of the GUI tests: the event-loop heartbeat and the job timeout."""

from __future__ import annotations

import time

from PyQt6.QtCore import Qt, QTimer

__all__ = ["JOB_TIMEOUT_MS", "Heartbeat"]

#: Longest time the GUI waits for a job in a test (the jobs here take about a second).
JOB_TIMEOUT_MS = 30_000


class Heartbeat:
    """A 10 ms timer in the GUI thread; the largest gap between ticks is the worst stall."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    @property
    def max_gap_ms(self) -> float:
        return 1000 * max(self.gaps, default=0.0)
