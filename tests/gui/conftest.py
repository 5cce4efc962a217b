"""Fixtures of the GUI tests: offscreen Qt, a main window with message boxes recorded,
generated surveys, and an event-loop heartbeat (its class is in ``tests.gui.support``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from PyQt6.QtCore import QSettings

from segycore.format.synthetic import write_survey
from segycore_gui import MainWindow
from tests.gui.support import JOB_TIMEOUT_MS, Heartbeat

GUI_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the ``gui`` marker."""
    for item in items:
        if GUI_DIR in item.path.parents:
            item.add_marker(pytest.mark.gui)


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
