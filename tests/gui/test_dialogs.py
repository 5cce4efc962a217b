"""The import dialog's quick scan and choices, and the export dialog's options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QDialogButtonBox

from segycore import ImportConfig, ParallelImportCoordinator
from segycore.pipeline.stages import IMPORT_STAGES
from segycore_gui.export_dialog import CHECKING, ExportDialog
from segycore_gui.import_dialog import ImportDialog
from segycore_gui.summary import summarize
from tests.helpers import segy_data

pytestmark = pytest.mark.gui


def _ok_enabled(dialog) -> bool:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_import_dialog_scans_the_source(qtbot, survey: Path) -> None:
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10_000):
        dialog.set_source(survey)
    assert dialog.scan_error == ""
    assert dialog.facts["traces"].text() == "192"
    assert dialog.facts["samples"].text() == "200"
    assert dialog.facts["format"].text().startswith("1 (4-byte IBM")
    assert dialog.facts["byte order"].text().startswith("big")
    assert dialog.textual_header.toPlainText().startswith("C 1 SEGYCORE SYNTHETIC")
    rows = {dialog.fields.item(r, 0).text(): r for r in range(dialog.fields.rowCount())}
    counts = {name: dialog.fields.item(r, 2).text() for name, r in rows.items()}
    assert counts["field_record"] == "4"  # 4 shots
    assert counts["trace_number"] == "192"  # channel changes every trace
    assert dialog.fields.item(rows["field_record"], 3).text() == "1001"  # trace 1
    assert dialog.fields.item(rows["offset"], 4).text() == "75"  # trace 2
    assert _ok_enabled(dialog)
    options = dialog.options()
    assert options["destination"] == survey.with_suffix(".dataset")
    assert options["ensemble_keys"] == ("field_record",)
    assert options["workers"] == (os.cpu_count() or 1)
    assert options["endian"] is None and options["overwrite"] is False
    dialog.set_ensemble_keys(["cdp", "offset"])
    with qtbot.waitSignal(dialog.scanned, timeout=10_000):  # a new byte order: a new scan
        dialog.byte_order.setCurrentText("Little-endian")
    assert dialog.options()["ensemble_keys"] == ("cdp", "offset")
    assert dialog.options()["endian"] == "little"


def test_import_dialog_reports_a_broken_file(qtbot) -> None:
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10_000):
        dialog.set_source(segy_data("broken.sgy"))
    assert dialog.scan is None
    assert dialog.scan_error.startswith("broken.sgy is truncated")
    assert "Traceback" not in dialog.status.text()
    assert not _ok_enabled(dialog)


def test_import_dialog_salvages_a_broken_file_and_the_summary_warns(qtbot) -> None:
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.scanned, timeout=10_000):
        dialog.set_source(segy_data("broken.sgy"))
    assert "--salvage" in dialog.scan_error
    with qtbot.waitSignal(dialog.scanned, timeout=10_000):  # ticking it rescans
        dialog.salvage.setChecked(True)
    assert dialog.scan is not None and dialog.scan_error == ""
    assert dialog.facts["traces"].text() == "3"  # the complete traces
    assert _ok_enabled(dialog)
    assert dialog.options()["salvage"] is True
    result = {
        "n_traces": 3,
        "n_samples": 4,
        "sample_format": 1,
        "size_bytes": 10836,
        "dataset": "broken.dataset",
        "stage_seconds": {},
        "warnings": ["dropped bytes 10768-10836 (68 bytes) after the last complete trace"],
    }
    text = summarize("import", result, IMPORT_STAGES)
    assert "Warnings:\n- dropped bytes 10768-10836" in text


def test_export_dialog_defaults_to_the_source_format(qtbot, survey: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "survey.dataset"
    ParallelImportCoordinator(ImportConfig(survey, dataset, workers=1)).run()
    dialog = ExportDialog(dataset=dataset)
    qtbot.addWidget(dialog)
    assert dialog.summary.text() == CHECKING and not _ok_enabled(dialog)  # read off-thread
    qtbot.waitUntil(lambda: dialog.source_format is not None, timeout=10_000)
    assert "192 traces x 200 samples, format 1" in dialog.summary.text()
    assert _ok_enabled(dialog)
    options = dialog.options()
    assert options["destination"] == tmp_path / "survey.sgy"
    assert options["format_code"] is None and options["endian"] is None
    dialog.sample_format.setCurrentIndex(dialog.sample_format.findData(5))
    dialog.byte_order.setCurrentIndex(dialog.byte_order.findData("little"))
    assert dialog.options()["format_code"] == 5
    assert dialog.options()["endian"] == "little"
    with qtbot.waitSignal(dialog.checked, timeout=10_000):
        dialog.set_dataset(tmp_path / "missing")
    assert not _ok_enabled(dialog)
    assert "not a segycore dataset" in dialog.summary.text()
