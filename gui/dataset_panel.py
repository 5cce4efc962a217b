"""The dataset viewer: ensembles and a gather, trace headers, the file headers.

Left: the ensemble key and the ensemble list; right: tabs with the gather display,
the trace-header table (paged from Parquet on demand), the textual header and the
binary header. Every file read (the ensemble index, header pages, gathers) runs in a
background thread; the widgets say "Loading..." meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.dataset  # noqa: F401  (pq.read_table imports it on first use: a 150 ms stall)
from PyQt6.QtCore import QItemSelectionModel, QModelIndex, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segycore.dataset.dataset import Dataset

from .background import call_later, run_in_background
from .ensemble_source import ensemble_source
from .gather_view import GatherView
from .section_view import SectionView
from .table_models import EnsembleTableModel, HeaderTableModel
from .widgets import monospace_text

__all__ = ["LOADING_ENSEMBLES", "DatasetPanel", "EnsembleList", "read_ensembles"]

#: Pause between the loading steps of a dataset: other timers (and paints) run between.
STEP_DELAY_MS = 15
EMPTY_TEXT = "No dataset open.<br>Import a SEG-Y file or open a dataset (File menu)."
LOADING_ENSEMBLES = "Loading ensembles..."


@dataclass(frozen=True)
class EnsembleList:
    """One key's ensembles for the list and the gather view (its rows' trace ranges)."""

    traces: np.ndarray
    values: np.ndarray
    first: np.ndarray  # range of each ensemble in ``traces``
    end: np.ndarray
    first_trace: np.ndarray  # the first trace number of each ensemble in the file
    counts: np.ndarray


def read_ensembles(dataset: Dataset, key: str) -> EnsembleList:
    """The ensemble index of ``key`` (reads Parquet: call it off the GUI thread); every
    trace of each value, contiguous or not (:func:`.ensemble_source.ensemble_source`)."""
    src = ensemble_source(dataset, key)
    return EnsembleList(src.traces, src.values, src.first, src.end, src.first_trace, src.counts)


class DatasetPanel(QWidget):
    """Everything about one open dataset.

    Signals
    -------
    loaded()
        The dataset set last is shown (ensembles listed, the first gather requested).
    """

    loaded = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self._generation = 0
        self._listing = 0  # generation of the last ensemble-list request
        self._loaded_pending = False  # loaded() not yet emitted for the dataset set last

        self.summary = QLabel(EMPTY_TEXT)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_box = QComboBox()
        self.key_box.currentTextChanged.connect(self._show_key)
        self.ensemble_model = EnsembleTableModel(self)
        self.ensemble_table = QTableView()
        self.ensemble_table.setModel(self.ensemble_model)
        self.ensemble_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.ensemble_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.ensemble_table.verticalHeader().setVisible(False)
        self.ensemble_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.ensemble_table.selectionModel().currentRowChanged.connect(self._row_selected)

        left = QWidget()
        form = QFormLayout()
        form.addRow("Ensemble key", self.key_box)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.summary)
        left_layout.addLayout(form)
        left_layout.addWidget(self.ensemble_table, 1)

        self.gather_view = GatherView()
        self.gather_view.ensembleChanged.connect(self._select_row)
        self.header_model = HeaderTableModel(self)
        self.header_table = QTableView()
        self.header_table.setModel(self.header_model)
        self.header_table.verticalHeader().setDefaultSectionSize(22)
        self.textual_header = monospace_text(self)
        self.binary_header = QTableWidget(0, 2)
        self.binary_header.setHorizontalHeaderLabels(["field", "value"])
        self.binary_header.verticalHeader().setVisible(False)
        self.binary_header.horizontalHeader().setStretchLastSection(True)
        self.binary_header.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.gather_view, "Gather")
        self.tabs.addTab(self.header_table, "Trace headers")
        self.tabs.addTab(self.textual_header, "Textual header")
        self.tabs.addTab(self.binary_header, "Binary header")
        self.section_view = SectionView()  # inline / crossline / time slice, with a grid
        self.tabs.insertTab(1, self.section_view, "Sections")
        self.tabs.setTabVisible(1, False)
        self.section_view.available.connect(lambda ok: self.tabs.setTabVisible(1, ok))

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def set_dataset(self, dataset: Dataset) -> None:
        """Show ``dataset``, in short steps that leave the event loop free in between.

        Traces are memory-mapped and read per gather, trace headers per Parquet row
        group, both in the background; :attr:`loaded` follows when the ensemble list
        is filled (on a later event loop turn).
        """
        self.dataset = dataset
        self._generation += 1
        generation = self._generation
        meta = dataset.metadata
        self.summary.setText(
            f"<b>{dataset.path.name}</b><br>"
            f"{dataset.n_traces:,} traces x {dataset.n_samples:,} samples<br>"
            f"format {dataset.sample_format} ({meta.get('sample_format_name', '')}), "
            f"{dataset.byte_order}-endian, rev {meta.get('revision', '?')}<br>"
            f"interval {dataset.sample_interval:g} us, stored as {dataset.traces.dtype}"
        )
        self.textual_header.setPlainText(self._textual_text(meta))
        binary = meta.get("binary_header", {})
        self.binary_header.setRowCount(len(binary))
        for row, (name, value) in enumerate(binary.items()):
            self.binary_header.setItem(row, 0, QTableWidgetItem(name))
            self.binary_header.setItem(row, 1, QTableWidgetItem(str(value)))
        self.header_model.set_source(dataset.headers_path)
        self.section_view.set_dataset(dataset)
        self.key_box.blockSignals(True)
        self.key_box.clear()
        self.key_box.addItems(dataset.ensemble_keys)
        self.key_box.blockSignals(False)
        call_later(self, STEP_DELAY_MS, lambda: self._finish_loading(generation))

    def _finish_loading(self, generation: int) -> None:
        if generation == self._generation:
            self._loaded_pending = True
            self._show_key(self.key_box.currentText())

    @staticmethod
    def _textual_text(meta: dict) -> str:
        parts = [meta.get("textual_header", "")]
        for n, text in enumerate(meta.get("extended_textual_headers", []), 1):
            parts.append(f"\n--- extended textual header {n} ---\n{text}")
        return "\n".join(parts)

    def _show_key(self, key: str) -> None:
        """List the ensembles of ``key`` (read in the background) and show the first."""
        ds = self.dataset
        if ds is None:
            return
        self._listing += 1
        listing = self._listing
        none = np.empty(0, np.int64)
        self.ensemble_model.set_ensembles(none, none, none)
        self.gather_view.set_source(None, none, none, none, "", 0.0)
        if not key:
            self._emit_loaded()
            return
        self.gather_view.title.setText(LOADING_ENSEMBLES)

        def listed(src: EnsembleList) -> None:
            if listing == self._listing:
                self.ensemble_model.set_ensembles(src.values, src.first_trace, src.counts)
                self.gather_view.set_source(
                    src.traces, src.values, src.first, src.end, key, ds.sample_interval
                )
                self._emit_loaded()

        def failed(exc: BaseException) -> None:
            if listing == self._listing:
                self.gather_view.title.setText(f"cannot read the {key} ensembles: {exc}")
                self._emit_loaded()

        run_in_background(self, lambda: read_ensembles(ds, key), listed, failed)

    def _emit_loaded(self) -> None:
        if self._loaded_pending:
            self._loaded_pending = False
            self.loaded.emit()

    def _row_selected(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.gather_view.show_ensemble(current.row())

    def _select_row(self, row: int) -> None:
        index = self.ensemble_model.index(row, 0)
        selection = self.ensemble_table.selectionModel()
        if selection.currentIndex().row() != row:
            selection.setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        self.ensemble_table.scrollTo(index)
