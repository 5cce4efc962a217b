"""The export dialog: a dataset, the SEG-Y file to write, sample format, byte order, workers.

Choosing a dataset checks it (opens its metadata, memory map and Parquet footer) in a
background thread; the dialog says "Checking..." and keeps Export disabled meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from segycore.dataset.dataset import Dataset, open_dataset
from segycore.format.spec import SAMPLE_FORMATS

from .background import run_in_background
from .messages import explain_error
from .widgets import ok_cancel_buttons, path_row, scheduler_edit, scheduler_option

__all__ = ["CHECKING", "ExportDialog"]

SAME_AS_SOURCE = "Same as the source file"
CHECKING = "Checking the dataset..."


class ExportDialog(QDialog):
    """Collects :meth:`options` for :meth:`segycore_gui.MainWindow.start_export`.

    Signals
    -------
    checked()
        The dataset chosen last has been checked (see :attr:`source_format`).
    """

    checked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, dataset: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export SEG-Y")
        self.resize(640, 300)
        self.source_format: int | None = None
        self._generation = 0

        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("dataset folder to export")
        self.dataset_edit.editingFinished.connect(
            lambda: self.set_dataset(self.dataset_edit.text())
        )
        browse_dataset = QPushButton("Browse...")
        browse_dataset.clicked.connect(self._browse_dataset)
        self.destination_edit = QLineEdit()
        self.destination_edit.setPlaceholderText("SEG-Y file to create")
        self.destination_edit.textChanged.connect(self._update_ok)
        browse_destination = QPushButton("Browse...")
        browse_destination.clicked.connect(self._browse_destination)
        self.summary = QLabel("-")
        self.summary.setWordWrap(True)

        self.sample_format = QComboBox()
        self.sample_format.addItem(SAME_AS_SOURCE, None)
        for code, fmt in SAMPLE_FORMATS.items():
            if fmt.supported:
                self.sample_format.addItem(f"{code}: {fmt.name}", code)
        self.byte_order = QComboBox()
        self.byte_order.addItem(SAME_AS_SOURCE, None)
        self.byte_order.addItem("Big-endian", "big")
        self.byte_order.addItem("Little-endian", "little")
        self.workers = QSpinBox(minimum=1, maximum=64)
        self.workers.setValue(os.cpu_count() or 1)
        self.overwrite = QCheckBox("Replace an existing file")
        self.scheduler = scheduler_edit()

        form = QFormLayout()
        form.addRow("Dataset", path_row(self.dataset_edit, browse_dataset))
        form.addRow("", self.summary)
        form.addRow("Destination", path_row(self.destination_edit, browse_destination))
        form.addRow("Sample format", self.sample_format)
        form.addRow("Byte order", self.byte_order)
        form.addRow("Workers", self.workers)
        form.addRow("Run on cluster", self.scheduler)
        form.addRow("", self.overwrite)
        self.buttons = ok_cancel_buttons(self, "Export")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._update_ok()
        if dataset is not None:
            self.set_dataset(dataset)

    def set_dataset(self, path: Path | str) -> None:
        """Choose the dataset and check it in the background (only its metadata is read);
        propose ``<name>.sgy`` beside it. :attr:`checked` follows."""
        text = str(path).strip()
        self.dataset_edit.setText(text)
        self.source_format = None
        self._generation += 1
        generation = self._generation
        self._update_ok()
        if not text:
            self.summary.setText("-")
            self.checked.emit()
            return
        self.summary.setText(CHECKING)

        def opened(ds: Dataset) -> None:
            if generation == self._generation:
                self.source_format = ds.sample_format
                self.summary.setText(
                    f"{ds.n_traces:,} traces x {ds.n_samples:,} samples, "
                    f"format {ds.sample_format}, {ds.byte_order}-endian"
                )
                if not self.destination_edit.text():
                    self.destination_edit.setText(str(Path(text).with_suffix(".sgy")))
                self._update_ok()
                self.checked.emit()

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.summary.setText(f"<font color='#b00020'>{explain_error(exc)[0]}</font>")
                self._update_ok()
                self.checked.emit()

        run_in_background(self, lambda: open_dataset(text), opened, failed)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`segycore_gui.MainWindow.start_export`."""
        return {
            "dataset": Path(self.dataset_edit.text()),
            "destination": Path(self.destination_edit.text()),
            "workers": self.workers.value(),
            "format_code": self.sample_format.currentData(),
            "endian": self.byte_order.currentData(),
            "overwrite": self.overwrite.isChecked(),
            "scheduler": scheduler_option(self.scheduler),
        }

    def _browse_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder to export")
        if path:
            self.destination_edit.clear()
            self.set_dataset(path)

    def _browse_destination(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "SEG-Y file to create", "", "SEG-Y files (*.sgy *.segy);;All (*)"
        )
        if path:
            self.destination_edit.setText(path)

    def _update_ok(self) -> None:
        ready = self.source_format is not None and bool(self.destination_edit.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)
