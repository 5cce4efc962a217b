"""Message boxes that never block the event loop, and a record of every message shown.

Every box is window-modal and opened with :meth:`QDialog.open` (no nested event loop).
Scripts and tests switch the boxes off (``show_boxes = False``): messages are then only
recorded, and questions get the preset :attr:`Notifier.answer`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox, QWidget

from segycore.errors import is_internal, user_message

__all__ = ["Message", "Notifier", "explain_error"]


@dataclass(frozen=True)
class Message:
    """One message for the user: ``level`` is information, warning, critical or question."""

    level: str
    title: str
    text: str
    details: str = ""


_ICONS = {
    "information": QMessageBox.Icon.Information,
    "warning": QMessageBox.Icon.Warning,
    "critical": QMessageBox.Icon.Critical,
    "question": QMessageBox.Icon.Question,
}


def explain_error(exc: BaseException) -> tuple[str, str]:
    """A one-line cause a user can act on, and the details (a traceback for surprises).

    The cause is :func:`segycore.errors.user_message`'s, as the CLI and the supervisor
    report it.
    """
    message = user_message(exc)
    if is_internal(exc):
        return message.splitlines()[0], "".join(traceback.format_exception(exc))
    return message.splitlines()[0], str(exc) or message


class Notifier:
    """Shows (or, with boxes off, only records) messages and questions for one window."""

    def __init__(self, parent: QWidget, show_boxes: bool = True) -> None:
        self.parent = parent
        self.show_boxes = show_boxes
        #: The answer a question gets while boxes are off (``True``: yes).
        self.answer = True
        self.messages: list[Message] = []

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    def inform(self, title: str, text: str, details: str = "") -> None:
        self._show(Message("information", title, text, details))

    def warn(self, title: str, text: str, details: str = "") -> None:
        self._show(Message("warning", title, text, details))

    def fail(self, title: str, text: str, details: str = "") -> None:
        self._show(Message("critical", title, text, details))

    def ask(self, title: str, text: str, on_yes: Callable[[], None]) -> None:
        """Ask a yes/no question; ``on_yes`` runs later, from the event loop, on yes."""
        message = Message("question", title, text)
        self.messages.append(message)
        if not self.show_boxes:
            if self.answer:
                on_yes()
            return
        box = self._box(message)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes.value:
                on_yes()

        box.finished.connect(answered)
        box.open()

    def _show(self, message: Message) -> None:
        self.messages.append(message)
        if self.show_boxes:
            self._box(message).open()

    def _box(self, message: Message) -> QMessageBox:
        box = QMessageBox(self.parent)
        box.setIcon(_ICONS[message.level])
        box.setWindowTitle(message.title)
        box.setText(message.text)
        if message.details and message.details != message.text:
            box.setDetailedText(message.details)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return box
