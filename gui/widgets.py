"""Small widget helpers shared by the dialogs and the viewer."""

from __future__ import annotations

from PyQt6.QtGui import QFontDatabase
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

__all__ = ["monospace_text", "path_row", "scheduler_edit", "scheduler_option"]


def monospace_text(parent: QWidget | None = None) -> QPlainTextEdit:
    """A read-only, unwrapped, fixed-font text view (textual headers are 80-column cards)."""
    text = QPlainTextEdit(parent)
    text.setReadOnly(True)
    text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    return text


def path_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    """A line edit with its Browse button, as one form row."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


def ok_cancel_buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """The dialog's OK (labelled ``ok_text``) and Cancel buttons, wired to accept/reject."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def scheduler_edit() -> QLineEdit:
    """The "Run on cluster" field: a dask scheduler address, empty for this machine."""
    edit = QLineEdit()
    edit.setPlaceholderText("tcp://host:8786 (empty: worker threads on this machine)")
    edit.setToolTip(
        "Run the parallel stage on the dask.distributed cluster of this scheduler. Every "
        "worker must see the source and the destination at the same path (docs/cluster.md)."
    )
    return edit


def scheduler_option(edit: QLineEdit) -> str | None:
    """The ``scheduler=`` option of a "Run on cluster" field."""
    return edit.text().strip() or None
