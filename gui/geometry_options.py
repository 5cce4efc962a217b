"""The survey-geometry fields (inline / crossline / offset) and, at import, custom header
fields: one widget for the import and the index dialogs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PyQt6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from segycore.format.spec import TRACE_FIELDS

__all__ = ["GEOMETRY_DEFAULTS", "GeometryOptions"]

GEOMETRY_DEFAULTS = ("inline", "crossline", "offset")


def _field(text: str) -> str | int:
    text = text.strip()
    return int(text) if text.isdigit() else text


class GeometryOptions(QWidget):
    """Detect-geometry checkbox, its three fields (names or byte positions, as segyio's
    ``iline=``/``xline=``) and, with ``custom_fields``, a ``NAME:BYTE:TYPE`` list."""

    def __init__(
        self,
        names: Sequence[str] = (),
        detect: bool = True,
        custom_fields: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        names = list(names) or [f.name for f in TRACE_FIELDS]
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.header_fields: QLineEdit | None = None
        if custom_fields:
            self.header_fields = QLineEdit()
            self.header_fields.setPlaceholderText("e.g. iline:17:int32, xline:13:int32")
            self.header_fields.setToolTip(
                "Custom trace-header fields NAME:BYTE:TYPE, comma-separated (TYPE: int8, "
                "int16, int32, int64, uint8, uint16, uint32, float32, ibm32)"
            )
            form.addRow("Custom header fields", self.header_fields)
        self.detect = QCheckBox("Detect the survey geometry")
        self.detect.setChecked(detect)
        form.addRow("", self.detect)
        self.boxes: list[QComboBox] = []
        for label, default in zip(
            ("Inline", "Crossline", "Offset"), GEOMETRY_DEFAULTS, strict=True
        ):
            box = QComboBox()
            box.setEditable(True)  # a byte position (17) or a custom field's name works too
            box.addItems(names)
            box.setCurrentText(default)
            self.detect.toggled.connect(box.setEnabled)
            form.addRow(f"{label} field", box)
            self.boxes.append(box)

    def geometry_keys(self) -> tuple[str | int, ...] | None:
        if not self.detect.isChecked():
            return None
        return tuple(_field(box.currentText()) for box in self.boxes)

    def options(self) -> dict[str, Any]:
        """``geometry_keys`` (and ``header_fields`` when offered) config keywords."""
        options: dict[str, Any] = {"geometry_keys": self.geometry_keys()}
        if self.header_fields is not None:
            specs = [s.strip() for s in self.header_fields.text().split(",")]
            options["header_fields"] = tuple(s for s in specs if s)
        return options
