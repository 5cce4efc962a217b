"""The "Add index..." dialog: which header fields to index, and the geometry's fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segycore.dataset.dataset import Dataset
from segycore.format.spec import TRACE_FIELDS

from .geometry_options import GeometryOptions
from .widgets import ok_cancel_buttons

__all__ = ["IndexChoices", "IndexDialog"]


@dataclass(frozen=True)
class IndexChoices:
    """What the dialog offers, read from the dataset (off the GUI thread: it reads files)."""

    name: str
    fields: tuple[str, ...]
    indexed: frozenset[str]
    has_geometry: bool

    @classmethod
    def read(cls, dataset: Dataset) -> IndexChoices:
        fields = [f.name for f in dataset.custom_fields] + [f.name for f in TRACE_FIELDS]
        return cls(
            dataset.path.name,
            tuple(fields),
            frozenset(dataset.ensemble_keys),
            dataset.geometry_info is not None,
        )


class IndexDialog(QDialog):
    """Collects :meth:`options` (``IndexConfig`` fields) for an index job."""

    def __init__(self, choices: IndexChoices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add index")
        self.resize(480, 560)
        indexed = choices.indexed
        names = list(choices.fields)
        self.fields = QListWidget()
        for name in names:
            item = QListWidgetItem(f"{name}  (indexed: rebuild)" if name in indexed else name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.fields.addItem(item)
        self.fields.itemChanged.connect(self._update_ok)
        self.geometry_options = GeometryOptions(names, detect=not choices.has_geometry)
        self.geometry = self.geometry_options.detect
        self.geometry.toggled.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Index header fields of <b>{choices.name}</b>:"))
        layout.addWidget(self.fields, 1)
        layout.addWidget(self.geometry_options)
        self.buttons = ok_cancel_buttons(self, "Build index")
        layout.addWidget(self.buttons)
        self._update_ok()

    def selected_keys(self) -> list[str]:
        return [
            self.fields.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.fields.count())
            if self.fields.item(i).checkState() == Qt.CheckState.Checked
        ]

    def check(self, *names: str) -> None:
        """Tick the fields ``names`` (for scripts and tests)."""
        for i in range(self.fields.count()):
            item = self.fields.item(i)
            if item.data(Qt.ItemDataRole.UserRole) in names:
                item.setCheckState(Qt.CheckState.Checked)

    def options(self) -> dict[str, Any]:
        """``IndexConfig`` keyword arguments."""
        return {"ensemble_keys": self.selected_keys(), **self.geometry_options.options()}

    def _update_ok(self, *_: object) -> None:
        ok = self.buttons.button(self.buttons.StandardButton.Ok)
        ok.setEnabled(bool(self.selected_keys()) or self.geometry.isChecked())
