"""The import dialog: pick a SEG-Y file, see what it holds, choose keys and workers.

Picking a file starts a quick scan in the background; the dialog then shows format,
byte order, revision, traces, samples, interval, the textual header and the first
trace headers, with the number of ensembles each header field gives over the preview
(tick the fields to index ensembles on).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segycore.format.spec import TRACE_FIELDS

from .background import run_in_background
from .geometry_options import GeometryOptions
from .messages import explain_error
from .source_scan import FIRST_TRACES, SourceScan, scan_source
from .widgets import monospace_text, ok_cancel_buttons, path_row, scheduler_edit, scheduler_option

__all__ = ["BYTE_ORDERS", "ImportDialog"]

#: Byte-order choices: label -> ``endian`` option (None: detect).
BYTE_ORDERS: dict[str, str | None] = {
    "Detect": None,
    "Big-endian": "big",
    "Little-endian": "little",
}
DEFAULT_KEYS = ("field_record",)


class ImportDialog(QDialog):
    """Collects :meth:`options` for :meth:`segycore_gui.MainWindow.start_import`.

    Signals
    -------
    scanned()
        A scan ended (see :attr:`scan` and :attr:`scan_error`).
    """

    scanned = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, source: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import SEG-Y")
        self.resize(980, 720)
        self.scan: SourceScan | None = None
        self.scan_error = ""
        self._generation = 0

        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("SEG-Y file to import")
        self.source_edit.editingFinished.connect(self._source_edited)
        browse_source = QPushButton("Browse...")
        browse_source.clicked.connect(self._browse_source)
        self.byte_order = QComboBox()
        self.byte_order.addItems(list(BYTE_ORDERS))
        self.byte_order.currentIndexChanged.connect(lambda _: self.start_scan())
        self.destination_edit = QLineEdit()
        self.destination_edit.setPlaceholderText("dataset folder to create")
        self.destination_edit.textChanged.connect(self._update_ok)
        browse_destination = QPushButton("Browse...")
        browse_destination.clicked.connect(self._browse_destination)
        self.workers = QSpinBox(minimum=1, maximum=64)
        self.workers.setValue(os.cpu_count() or 1)
        self.overwrite = QCheckBox("Replace an existing dataset")
        self.salvage = QCheckBox("Salvage damaged file (import every complete trace)")
        self.salvage.setToolTip(
            "A truncated file, trailing bytes or a last trace cut short: import the complete "
            "traces; what was dropped is listed in the summary and in metadata.json"
        )
        self.salvage.toggled.connect(lambda _: self.start_scan())
        self.scheduler = scheduler_edit()

        self.facts: dict[str, QLabel] = {}
        facts = QGridLayout()
        names = ("format", "byte order", "revision", "traces", "samples", "interval", "size")
        for i, name in enumerate(names):
            label = QLabel("-")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[name] = label
            facts.addWidget(QLabel(f"{name}:"), i // 4, 2 * (i % 4))
            facts.addWidget(label, i // 4, 2 * (i % 4) + 1)
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.textual_header = monospace_text(self)
        self.fields = QTableWidget(len(TRACE_FIELDS), 3 + FIRST_TRACES)
        self.fields.setHorizontalHeaderLabels(
            ["field (tick: ensemble key)", "bytes", "ensembles"]
            + [f"trace {n}" for n in range(1, FIRST_TRACES + 1)]
        )
        self.fields.verticalHeader().setVisible(False)
        self.fields.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, field in enumerate(TRACE_FIELDS):
            item = QTableWidgetItem(field.name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            checked = field.name in DEFAULT_KEYS
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setToolTip(f"segyio name: {field.segyio_name}")
            self.fields.setItem(row, 0, item)
            self.fields.setItem(
                row, 1, QTableWidgetItem(f"{field.byte}-{field.byte + field.width - 1}")
            )
        self.fields.resizeColumnToContents(0)

        form = QFormLayout()
        form.addRow("Source", path_row(self.source_edit, browse_source))
        form.addRow("Byte order", self.byte_order)
        form.addRow("Destination", path_row(self.destination_edit, browse_destination))
        form.addRow("Workers", self.workers)
        form.addRow("Run on cluster", self.scheduler)
        form.addRow("", self.overwrite)
        form.addRow("", self.salvage)
        self.geometry_options = GeometryOptions(custom_fields=True)  # custom fields, geometry
        form.addRow(self.geometry_options)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.textual_header)
        splitter.addWidget(self.fields)
        self.buttons = ok_cancel_buttons(self, "Import")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(facts)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)
        self._update_ok()
        if source is not None:
            self.set_source(source)

    # -- choices ---------------------------------------------------------------------
    def set_source(self, path: Path | str) -> None:
        """Choose the source file; proposes ``<name>.dataset`` beside it and scans it."""
        path = Path(path)
        self.source_edit.setText(str(path))
        if not self.destination_edit.text():
            self.destination_edit.setText(str(path.with_suffix(".dataset")))
        self.start_scan()

    def ensemble_keys(self) -> list[str]:
        """The ticked header fields."""
        return [
            self.fields.item(row, 0).text()
            for row in range(self.fields.rowCount())
            if self.fields.item(row, 0).checkState() == Qt.CheckState.Checked
        ]

    def set_ensemble_keys(self, keys: list[str]) -> None:
        for row in range(self.fields.rowCount()):
            item = self.fields.item(row, 0)
            checked = item.text() in keys
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`segycore_gui.MainWindow.start_import`."""
        return {
            "source": Path(self.source_edit.text()),
            "destination": Path(self.destination_edit.text()),
            "workers": self.workers.value(),
            "ensemble_keys": tuple(self.ensemble_keys()),
            "endian": BYTE_ORDERS[self.byte_order.currentText()],
            "overwrite": self.overwrite.isChecked(),
            "salvage": self.salvage.isChecked(),
            "scheduler": scheduler_option(self.scheduler),
            **self.geometry_options.options(),
        }

    # -- scanning --------------------------------------------------------------------
    def start_scan(self) -> None:
        """Scan the chosen source in the background (a newer scan supersedes an older)."""
        text = self.source_edit.text().strip()
        self._generation += 1
        generation = self._generation
        self.scan = None
        self.scan_error = ""
        self._update_ok()
        if not text:
            return
        self.status.setText("Scanning...")
        path, endian = Path(text), BYTE_ORDERS[self.byte_order.currentText()]
        salvage = self.salvage.isChecked()

        def done(scan: SourceScan) -> None:
            if generation == self._generation:
                self._show_scan(scan)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.scan_error = explain_error(exc)[0]
                self.status.setText(f"<font color='#b00020'>{self.scan_error}</font>")
                self._update_ok()
                self.scanned.emit()

        run_in_background(self, lambda: scan_source(path, endian, salvage), done, failed)

    def _show_scan(self, scan: SourceScan) -> None:
        self.scan = scan
        info = scan.info
        self.facts["format"].setText(f"{info['sample_format']} ({info['sample_format_name']})")
        self.facts["byte order"].setText(f"{info['byte_order']} ({info['byte_order_source']})")
        self.facts["revision"].setText(str(info["revision"]))
        self.facts["traces"].setText(f"{info['n_traces']:,}")
        self.facts["samples"].setText(f"{info['n_samples']:,}")
        self.facts["interval"].setText(f"{info['sample_interval']:g} us")
        self.facts["size"].setText(f"{info['size_bytes'] / 1e6:,.1f} MB")
        extended = info["extended_textual_headers"]
        self.status.setText(
            f"Textual header: {info['textual_encoding']}"
            + (f", {extended} extended" if extended else "")
            + f". Ensemble counts over the first {scan.preview_traces:,} traces."
        )
        self.textual_header.setPlainText(info["textual_header"])
        for row, field in enumerate(TRACE_FIELDS):
            count = scan.ensemble_counts.get(field.name, 0)
            self.fields.setItem(row, 2, QTableWidgetItem(f"{count:,}"))
            for n, value in enumerate(scan.first_headers.get(field.name, [])):
                self.fields.setItem(row, 3 + n, QTableWidgetItem(str(value)))
            for n in range(len(scan.first_headers.get(field.name, [])), FIRST_TRACES):
                self.fields.setItem(row, 3 + n, QTableWidgetItem(""))
        self._update_ok()
        self.scanned.emit()

    # -- helpers ---------------------------------------------------------------------
    def _source_edited(self) -> None:
        if self.source_edit.text().strip() and (
            self.scan is None or self.scan.info["path"] != self.source_edit.text().strip()
        ):
            self.set_source(self.source_edit.text().strip())

    def _browse_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "SEG-Y file to import", "", "SEG-Y files (*.sgy *.segy *.SGY *.SEGY);;All (*)"
        )
        if path:
            self.destination_edit.clear()
            self.set_source(path)

    def _browse_destination(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Dataset folder to create")
        if path:
            self.destination_edit.setText(path)

    def _update_ok(self) -> None:
        ready = self.scan is not None and bool(self.destination_edit.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)
