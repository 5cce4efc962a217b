"""Table models over a dataset: trace headers paged lazily from Parquet, and ensembles.

:class:`HeaderTableModel` never holds the whole header table: it reads one Parquet row
group (65,536 traces) at a time, in a background thread, when a view first asks for a
row in it, and keeps the few pages last used.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt

from segycore.dataset.headers import RAW_HEADER_COLUMN
from segycore.format.spec import resolve_trace_field

from .background import run_in_background

__all__ = ["EnsembleTableModel", "HeaderTableModel"]

#: Row groups kept in memory (each about 65,536 rows x 90 columns).
CACHED_PAGES = 4
PLACEHOLDER = "..."
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _read_layout(path: Path) -> tuple[list[str], list[int]]:
    """The field columns and the first row of each row group (plus the row count)."""
    with pq.ParquetFile(path) as parquet:  # the footer only
        names = parquet.schema_arrow.names
        meta = parquet.metadata
        starts = [0]
        for group in range(meta.num_row_groups):
            starts.append(starts[-1] + meta.row_group(group).num_rows)
    return [n for n in names if n != RAW_HEADER_COLUMN], starts


def _read_page(path: Path, page: int, columns: list[str]) -> dict[str, np.ndarray]:
    with pq.ParquetFile(path) as parquet:
        table = parquet.read_row_group(page, columns=columns)
    return {name: table.column(name).to_numpy() for name in columns}


class HeaderTableModel(QAbstractTableModel):
    """Every standard trace-header field (columns) of every trace (rows), read on demand."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._columns: list[str] = []
        self._starts: list[int] = [0]  # first row of each row group, plus the row count
        self._pages: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        self._loading: set[int] = set()
        self._generation = 0
        self.errors: list[str] = []

    def set_source(self, path: Path | None) -> None:
        """Show the headers of ``path`` (a dataset's ``headers.parquet``), or nothing.

        The Parquet footer is read in the background; the model resets (``modelReset``)
        once it is known how many rows and which columns there are.
        """
        self._reset(None, [], [0])
        if path is None:
            return
        generation = self._generation

        def known(layout: tuple[list[str], list[int]]) -> None:
            if generation == self._generation:
                self._reset(path, *layout)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.errors.append(f"cannot read {path}: {exc}")

        run_in_background(self, lambda: _read_layout(path), known, failed)

    def _reset(self, path: Path | None, columns: list[str], starts: list[int]) -> None:
        self.beginResetModel()
        self._generation += 1
        self._pages.clear()
        self._loading.clear()
        self._path, self._columns, self._starts = path, columns, starts
        self.endResetModel()

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def loaded_pages(self) -> list[int]:
        return list(self._pages)

    def page_of(self, row: int) -> int:
        """The row group holding ``row``."""
        return bisect.bisect_right(self._starts, row) - 1

    # -- Qt model interface ----------------------------------------------------------
    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else self._starts[-1]

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row = index.row()
        page = self.page_of(row)
        values = self._pages.get(page)
        if values is None:
            self._request(page)
            return PLACEHOLDER
        self._pages.move_to_end(page)
        return str(values[self._columns[index.column()]][row - self._starts[page]])

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            return str(section) if role == Qt.ItemDataRole.DisplayRole else None
        if not 0 <= section < len(self._columns):
            return None
        name = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return name
        if role == Qt.ItemDataRole.ToolTipRole:
            field = resolve_trace_field(name)
            last = field.byte + field.width - 1
            return f"{name}: bytes {field.byte}-{last} ({field.segyio_name})"
        return None

    # -- paging ----------------------------------------------------------------------
    def _request(self, page: int) -> None:
        if page in self._loading or self._path is None:
            return
        self._loading.add(page)
        generation = self._generation
        path, columns = self._path, list(self._columns)

        def loaded(values: dict[str, np.ndarray]) -> None:
            if generation != self._generation:
                return
            self._loading.discard(page)
            self._pages[page] = values
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
            first, last = self._starts[page], self._starts[page + 1] - 1
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(self._columns) - 1), []
            )

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.errors.append(f"cannot read trace headers {page}: {exc}")

        run_in_background(self, lambda: _read_page(path, page, columns), loaded, failed)


class EnsembleTableModel(QAbstractTableModel):
    """One row per ensemble of one key: its value, first trace and trace count."""

    HEADERS = ("value", "first trace", "traces")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns: tuple[np.ndarray, ...] = (np.empty(0, np.int64),) * 3

    def set_ensembles(self, value: np.ndarray, first: np.ndarray, count: np.ndarray) -> None:
        self.beginResetModel()
        self._columns = (np.asarray(value), np.asarray(first), np.asarray(count))
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._columns[0])

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        return f"{int(self._columns[index.column()][index.row()]):,}"

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return str(section + 1)
