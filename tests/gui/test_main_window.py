"""Imports and exports through the main window: stage dialogs in order, an event loop
that never stalls, cancel that leaves nothing, failures as messages, closing mid-job."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES
from segycore_gui import MainWindow
from tests.gui.support import JOB_TIMEOUT_MS, Heartbeat
from tests.helpers import assert_no_staging, segy_data

pytestmark = pytest.mark.gui

#: The event loop may never stall longer than this (DESIGN.md).
MAX_GAP_MS = 50.0
#: I/O cap of the "slow" jobs, MB/s: the ~8 MB survey takes about a second per stage.
SLOW = {"workers": 1, "rate_limit": 8}


def _shm_blocks() -> set[str]:
    """This process's progress blocks (other processes may run jobs meanwhile)."""
    return {p.name for p in Path("/dev/shm").glob(f"segycore_{os.getpid()}_*")}


def _expected_dialogs(stages) -> list[tuple[str, str]]:
    return [(s.name, s.unit) for s in stages]


def _wait_until_running(qtbot, window: MainWindow, stage: int) -> None:
    def running() -> bool:
        snap = window.runner.snapshot
        return (
            snap is not None
            and snap.state == "running"
            and window.runner.stage_index == stage
            and snap.stages[stage].done > 0
        )

    qtbot.waitUntil(running, timeout=JOB_TIMEOUT_MS)


def _click_cancel(qtbot, window: MainWindow) -> None:
    dialog = window.stage_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)


def _assert_nothing_left(window: MainWindow, destination: Path, shm_before: set[str]) -> None:
    assert not destination.exists()
    assert_no_staging(destination.parent)
    pid = window.runner.job.pid if window.runner.job else None
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert _shm_blocks() <= shm_before


@pytest.fixture(scope="module")
def slow_dataset(slow_survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("gui-export") / "slow.dataset"
    ParallelImportCoordinator(ImportConfig(slow_survey, destination, workers=2)).run()
    return destination


def test_import_runs_the_stages_in_order_without_stalling(
    qtbot, window: MainWindow, survey: Path, tmp_path: Path, heartbeat: Heartbeat
) -> None:
    destination = tmp_path / "survey.dataset"
    heartbeat.start()
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(survey, destination, workers=2)
    state, result = finished.args
    qtbot.waitUntil(lambda: window.panel.gather_view.gather is not None, timeout=5000)
    heartbeat.stop()
    assert state == "done", result
    assert window.stage_dialogs == _expected_dialogs(IMPORT_STAGES)
    assert heartbeat.max_gap_ms < MAX_GAP_MS, f"event loop stalled {heartbeat.max_gap_ms:.0f} ms"
    assert result["n_traces"] == 192 and Path(result["dataset"]) == destination
    summary = window.last_message
    assert summary.level == "information" and "192 traces x 200 samples" in summary.text
    assert all(stage.name in summary.text for stage in IMPORT_STAGES)
    assert window.dataset is not None and window.dataset.path == destination  # opened
    assert window.panel.gather_view.gather.data.shape == (48, 200)
    assert window.recent_datasets()[0] == str(destination)
    assert window.stage_dialog is None and window.import_action.isEnabled()


def test_export_runs_the_stages_in_order_without_stalling(
    qtbot, window: MainWindow, slow_survey: Path, slow_dataset: Path, tmp_path: Path,
    heartbeat: Heartbeat,
) -> None:  # fmt: skip
    destination = tmp_path / "round.sgy"
    heartbeat.start()
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_export(slow_dataset, destination, workers=2)
    heartbeat.stop()
    state, result = finished.args
    assert state == "done", result
    assert window.stage_dialogs == _expected_dialogs(EXPORT_STAGES)
    assert heartbeat.max_gap_ms < MAX_GAP_MS, f"event loop stalled {heartbeat.max_gap_ms:.0f} ms"
    assert destination.read_bytes() == slow_survey.read_bytes()
    assert result["size_bytes"] == slow_survey.stat().st_size
    assert "Merge segments" in window.last_message.text


def test_cancel_in_the_parallel_import_leaves_nothing(
    qtbot, window: MainWindow, slow_survey: Path, tmp_path: Path
) -> None:
    shm_before = _shm_blocks()
    destination = tmp_path / "cancelled.dataset"
    window.start_import(slow_survey, destination, **SLOW)
    _wait_until_running(qtbot, window, 0)
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        _click_cancel(qtbot, window)
    assert finished.args[0] == "cancelled"
    assert window.stage_dialogs == _expected_dialogs(IMPORT_STAGES[:1])
    assert window.last_message.title == "Import cancelled"
    _assert_nothing_left(window, destination, shm_before)


def test_cancel_in_the_merge_leaves_nothing(
    qtbot, window: MainWindow, slow_dataset: Path, tmp_path: Path
) -> None:
    shm_before = _shm_blocks()
    destination = tmp_path / "cancelled.sgy"
    # segments=True: workers write segment files that the merge then copies (by default
    # they write into the output in place and the merge only writes the file headers)
    window.start_export(slow_dataset, destination, segments=True, chunk_bytes=256 * 1024, **SLOW)
    _wait_until_running(qtbot, window, 1)
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        _click_cancel(qtbot, window)
    assert finished.args[0] == "cancelled"
    assert window.stage_dialogs == _expected_dialogs(EXPORT_STAGES[:2])
    _assert_nothing_left(window, destination, shm_before)


def test_broken_file_ends_in_an_error_message(qtbot, window: MainWindow, tmp_path: Path) -> None:
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(segy_data("broken.sgy"), tmp_path / "ds")
    state, info = finished.args
    assert state == "failed"
    message = window.last_message
    assert message.level == "critical" and message.title == "Import failed"
    assert message.text.startswith("broken.sgy is truncated") and "\n" not in message.text
    assert "Traceback" not in message.text + message.details
    assert info["error"] == message.text
    assert list(tmp_path.iterdir()) == []


def test_bad_option_ends_in_an_error_message(qtbot, window: MainWindow, survey: Path) -> None:
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(survey, survey.with_name("never.dataset"), workers=0)
    assert finished.args[0] == "failed"
    assert window.last_message.text == "workers must be at least 1, got 0"
    assert window.stage_dialogs == _expected_dialogs(IMPORT_STAGES[:1])


def test_killed_supervisor_shows_an_error_within_two_seconds(
    qtbot, window: MainWindow, slow_survey: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "killed.dataset"
    window.start_import(slow_survey, destination, **SLOW)
    _wait_until_running(qtbot, window, 0)
    with pytest.raises(RuntimeError, match="already running"):
        window.start_import(slow_survey, tmp_path / "second.dataset")
    # The event wait is the check: the end is signalled within 2 s of the kill (well
    # before a stale heartbeat could tell), through the supervisor's exit status.
    with qtbot.waitSignal(window.jobFinished, timeout=2000) as finished:
        os.kill(window.runner.job.pid, signal.SIGKILL)
    state, info = finished.args
    assert state == "failed"
    assert "supervisor process" in info["error"] and "signal 9" in info["error"]
    assert window.last_message.level == "critical"
    assert not destination.exists()
    assert_no_staging(tmp_path)


def test_closing_during_a_job_cancels_it_then_closes(
    qtbot, window: MainWindow, slow_survey: Path, tmp_path: Path
) -> None:
    window.show()
    qtbot.waitExposed(window)
    destination = tmp_path / "closed.dataset"
    window.start_import(slow_survey, destination, **SLOW)
    _wait_until_running(qtbot, window, 0)
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        assert not window.close()  # deferred until the job has ended
        assert window.isVisible()
        assert window.last_message.level == "question"
    assert finished.args[0] == "cancelled"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not destination.exists()


def test_closing_can_be_refused(
    qtbot, window: MainWindow, slow_survey: Path, tmp_path: Path
) -> None:
    window.show()
    window.notifier.answer = False  # "No, keep the job running"
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(slow_survey, tmp_path / "kept.dataset", **SLOW)
        _wait_until_running(qtbot, window, 0)
        assert not window.close()
        assert not window.runner.cancel_requested
    assert finished.args[0] == "done"
    assert window.isVisible()
    assert open_dataset(tmp_path / "kept.dataset").n_traces == 2000
