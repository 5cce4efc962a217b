"""No file access on the GUI thread: import -> open -> viewer -> export through the main
window, with every access to the survey's and the test's folders recorded per thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from segycore import open_dataset
from segycore_gui import MainWindow
from tests.gui.file_access import FileAccessRecorder
from tests.gui.support import JOB_TIMEOUT_MS

pytestmark = pytest.mark.gui


def _names(accesses, what: str) -> set[str]:
    return {Path(a.path).name for a in accesses if a.what == what}


def test_the_gui_thread_never_touches_a_file(
    qtbot, window: MainWindow, survey: Path, tmp_path: Path
) -> None:
    window.show()
    qtbot.waitExposed(window)
    destination = tmp_path / "survey.dataset"
    exported = tmp_path / "round.sgy"
    with FileAccessRecorder([tmp_path, survey.parent]) as recorder:
        # import: the dialog scans the source, the job runs, the dataset opens
        dialog = window.show_import_dialog(survey)
        qtbot.waitUntil(lambda: dialog.scan is not None, timeout=10_000)
        dialog.destination_edit.setText(str(destination))
        with qtbot.waitSignal(window.datasetOpened, timeout=JOB_TIMEOUT_MS):
            dialog.accept()
        # the viewer: gathers, another ensemble, trace-header pages
        panel = window.panel
        view = panel.gather_view
        qtbot.waitUntil(lambda: view.gather is not None, timeout=10_000)
        view.next()
        qtbot.waitUntil(lambda: view.gather.row == 1, timeout=10_000)
        panel.tabs.setCurrentWidget(panel.header_table)
        qtbot.waitUntil(lambda: bool(panel.header_model.loaded_pages), timeout=10_000)
        # export: the dialog checks the dataset, the job runs
        export = window.show_export_dialog()
        qtbot.waitUntil(lambda: export.source_format is not None, timeout=10_000)
        export.destination_edit.setText(str(exported))
        with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
            export.accept()
        # the recent list's check, and a dataset that is not there
        window._rebuild_recent_menu()
        window.open_dataset(tmp_path / "missing.dataset")

        def refused() -> bool:
            message = window.last_message
            return message is not None and message.title == "Cannot open dataset"

        qtbot.waitUntil(refused, timeout=10_000)
        qtbot.wait(200)  # the recent list's check ends
    assert finished.args[0] == "done", finished.args
    assert exported.read_bytes() == survey.read_bytes()
    assert window.last_message.title == "Cannot open dataset"
    assert recorder.on_gui_thread == [], "file access on the GUI thread"
    # the recorder saw the work, in other threads
    elsewhere = recorder.elsewhere
    assert {"metadata.json", "traces.npy"} <= _names(elsewhere, "open")
    if sys.platform.startswith("linux"):  # an mmap names an fd: its path is read from /proc
        assert "traces.npy" in _names(elsewhere, "mmap.__new__")
    assert {"headers.parquet", "field_record.parquet"} <= _names(elsewhere, "parquet")
    assert {"survey.dataset", "missing.dataset"} <= _names(elsewhere, "stat")
    assert "survey.sgy" in _names(elsewhere, "open")  # the import dialog's scan


def test_the_recorder_catches_an_open_on_the_gui_thread(survey: Path, tmp_path: Path) -> None:
    from segycore import ImportConfig, ParallelImportCoordinator

    dataset = tmp_path / "survey.dataset"
    ParallelImportCoordinator(ImportConfig(survey, dataset, workers=1)).run()
    with FileAccessRecorder([tmp_path]) as recorder:
        ds = open_dataset(dataset)
        ds.ensembles("field_record")
    what = {a.what for a in recorder.on_gui_thread}
    assert {"stat", "open", "parquet"} <= what
    assert "mmap.__new__" in what or not sys.platform.startswith("linux")
