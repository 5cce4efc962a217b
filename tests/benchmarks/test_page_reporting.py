"""The GUI benchmark's watch on free page reporting, against a counter file that moves."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import page_reporting  # noqa: E402


def _report(counter: Path, kib: int) -> None:
    """Set the counter in one step, as sysfs shows it (never a half-written file)."""
    fresh = counter.with_suffix(".new")
    fresh.write_text(f"{kib}\n")
    fresh.replace(counter)


def test_no_counter_means_no_wait_and_an_empty_log(tmp_path: Path) -> None:
    missing = tmp_path / "reported_kib"
    assert page_reporting.reported_kib(missing) is None
    assert page_reporting.wait_until_quiet(missing) is None
    log = page_reporting.ReportingLog(missing)
    log.start()
    log.stop()
    assert log.reported_mib(0.0, time.perf_counter()) is None


def test_the_wait_lasts_until_reporting_stops(tmp_path: Path) -> None:
    counter = tmp_path / "reported_kib"
    _report(counter, 1000)
    busy_until = time.monotonic() + 1.0

    def keep_reporting() -> None:  # 256 MiB every 0.1 s for a second, then nothing
        kib = 1000
        while time.monotonic() < busy_until:
            kib += 256 * 1024
            _report(counter, kib)
            time.sleep(0.1)

    reporter = threading.Thread(target=keep_reporting)
    reporter.start()
    waited = page_reporting.wait_until_quiet(counter, window_s=0.5, timeout_s=10, poll_s=0.05)
    reporter.join()
    assert waited is not None
    assert 1.0 <= waited < 5.0  # not before the reporting stopped, and soon after


def test_the_wait_gives_up_at_its_timeout(tmp_path: Path) -> None:
    counter = tmp_path / "reported_kib"
    _report(counter, 0)
    stop = threading.Event()

    def keep_reporting() -> None:
        kib = 0
        while not stop.is_set():
            kib += 128 * 1024
            _report(counter, kib)
            time.sleep(0.05)

    reporter = threading.Thread(target=keep_reporting)
    reporter.start()
    try:
        waited = page_reporting.wait_until_quiet(counter, window_s=0.3, timeout_s=1.0, poll_s=0.05)
    finally:
        stop.set()
        reporter.join()
    assert waited == pytest.approx(1.0, abs=0.5)


def test_the_log_tells_what_was_reported_in_an_interval(tmp_path: Path) -> None:
    counter = tmp_path / "reported_kib"
    _report(counter, 0)
    log = page_reporting.ReportingLog(counter, period_s=0.01)
    log.start()
    time.sleep(0.2)
    before = time.perf_counter()
    _report(counter, 300 * 1024)  # one pass of 300 MiB
    time.sleep(0.2)
    after = time.perf_counter()
    time.sleep(0.2)
    log.stop()
    assert log.reported_mib(before - 0.05, after) == pytest.approx(300.0)
    assert log.reported_mib(after + 0.05, time.perf_counter()) == pytest.approx(0.0)
    assert log.reported_mib(0.0, before - 0.1) == pytest.approx(0.0)
