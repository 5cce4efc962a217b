"""Fixtures of the GUI tests: offscreen Qt, a main window with message boxes recorded,
generated surveys, and an event-loop heartbeat.

``tests/conftest.py`` and this file both live outside a package, so pytest imports both
as the module ``conftest``, and the one imported last (this one) is what
``from conftest import ...`` finds in every test module collected after it, also in
``tests/``. So this module re-exports the helpers of ``tests/conftest.py``.
"""

from __future__ import annotations

import importlib.util
import os
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _reexport_root_helpers() -> None:
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("_segycore_tests_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value in vars(module).items():
        is_fixture = hasattr(value, "_fixture_function_marker") or hasattr(
            value, "_pytestfixturefunction"
        )
        if name.startswith("__") or is_fixture or isinstance(value, types.ModuleType):
            continue
        globals().setdefault(name, value)


_reexport_root_helpers()

from PyQt6.QtCore import QSettings, Qt, QTimer  # noqa: E402  (after QT_QPA_PLATFORM)

from segycore.format.synthetic import write_survey  # noqa: E402
from segycore_gui import MainWindow  # noqa: E402

GUI_DIR = Path(__file__).resolve().parent
#: Longest time the GUI waits for a job in a test (the jobs here take about a second).
JOB_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the ``gui`` marker."""
    for item in items:
        if GUI_DIR in item.path.parents:
            item.add_marker(pytest.mark.gui)


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


@pytest.fixture
def heartbeat() -> Iterator[Heartbeat]:
    beat = Heartbeat()
    yield beat
    beat.timer.stop()


@pytest.fixture
def window(qtbot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainWindow]:
    """A main window that records messages instead of showing boxes; no job outlives it."""
    ini = tmp_path_factory.mktemp("settings") / "segycore-gui.ini"
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, show_message_boxes=False)
    win.dialog_delay_ms = 100
    qtbot.addWidget(win)
    yield win
    if win.job_running:
        win.cancel_job()
        qtbot.waitUntil(lambda: not win.job_running, timeout=JOB_TIMEOUT_MS)


@pytest.fixture(scope="session")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 IBM-float shot gathers of 48 traces x 200 samples (175 kB)."""
    folder = tmp_path_factory.mktemp("gui-survey")
    return write_survey(folder / "survey.sgy", n_shots=4, traces_per_shot=48, n_samples=200)


@pytest.fixture(scope="session")
def slow_survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 8 MB: with a job's rate limit at 8 MB/s each stage lasts about a second."""
    folder = tmp_path_factory.mktemp("gui-slow-survey")
    return write_survey(folder / "slow.sgy", n_shots=20, traces_per_shot=100, n_samples=1000)
