"""The dialogs' "Run on cluster" field: its option, and a job run through it on a real
two-process dask LocalCluster, shown like any other job."""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest

from segycore import ImportConfig, ParallelImportCoordinator
from segycore_gui import MainWindow
from segycore_gui.export_dialog import ExportDialog
from segycore_gui.import_dialog import ImportDialog
from tests.gui.support import JOB_TIMEOUT_MS
from tests.helpers import assert_no_staging

pytestmark = pytest.mark.gui


@pytest.fixture
def local_cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", silence_logs=50,
    ) as lc:  # fmt: skip
        yield lc


def test_the_field_gives_the_scheduler_option(qtbot, survey: Path, tmp_path: Path) -> None:
    dialog = ImportDialog(source=survey)
    qtbot.addWidget(dialog)
    assert dialog.options()["scheduler"] is None  # empty: worker threads here
    dialog.scheduler.setText("  tcp://10.0.0.5:8786 ")
    assert dialog.options()["scheduler"] == "tcp://10.0.0.5:8786"
    export = ExportDialog()
    qtbot.addWidget(export)
    assert export.options()["scheduler"] is None
    export.scheduler.setText("tcp://head:8786")
    assert export.options()["scheduler"] == "tcp://head:8786"


def test_a_bad_address_is_an_error_message(qtbot, window: MainWindow, survey: Path) -> None:
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(survey, survey.with_name("never.dataset"), scheduler="head node")
    assert finished.args[0] == "failed"
    assert window.last_message.text.startswith("not a dask scheduler address: 'head node'")


@pytest.mark.slow
def test_import_and_export_on_a_cluster_from_the_window(
    qtbot, window: MainWindow, survey: Path, tmp_path: Path,
    local_cluster: distributed.LocalCluster,
) -> None:  # fmt: skip
    address = local_cluster.scheduler_address
    dataset = tmp_path / "c.dataset"
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_import(survey, dataset, scheduler=address)
    assert finished.args[0] == "done", finished.args[1]
    threads = tmp_path / "t.dataset"
    ParallelImportCoordinator(ImportConfig(survey, threads, workers=2)).run()
    assert filecmp.cmp(threads / "traces.npy", dataset / "traces.npy", shallow=False)
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_export(dataset, tmp_path / "c.sgy", scheduler=address)
    assert finished.args[0] == "done", finished.args[1]
    assert filecmp.cmp(survey, tmp_path / "c.sgy", shallow=False)
    assert_no_staging(tmp_path)
