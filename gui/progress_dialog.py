"""One progress dialog per stage: the stage's label and unit, Cancel only where it may.

A window-modal :class:`QProgressDialog` that appears only when its stage lasts longer
than ``minimum_duration`` (instant stages do not flicker), never resets or closes by
itself, and is updated without :meth:`QProgressDialog.setValue`'s hidden
``processEvents()`` call: values go straight to the dialog's own progress bar.

An update costs the GUI thread next to nothing (it runs on every tick of a job):
widgets change only when what they show changes; the label's text goes straight to the
label, and the dialog's size is recomputed only when the text needs more room than it
had (:meth:`QProgressDialog.setLabelText` lays the dialog out on every call); and the
bar is repainted with the next paint event instead of :meth:`QProgressBar.setValue`'s
synchronous ``repaint()``.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QShowEvent
from PyQt6.QtWidgets import (
    QLabel,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QStyle,
    QWidget,
)

from segycore.pipeline.stages import Stage, stage_label

__all__ = ["INT_RANGE", "StageProgressDialog", "scaled"]

#: The largest value a Qt progress bar holds (a C int).
INT_RANGE = 2**31 - 1
CANCELLING_NOTE = "Cancelling..."
NOT_CANCELLABLE_NOTE = "Stopping after this stage (it cannot be cancelled)..."


def scaled(done: int, total: int) -> tuple[int, int]:
    """``(value, maximum)`` for a progress bar: byte counts of TB-sized files fit a C int."""
    total = max(int(total), 0)
    divisor = max(1, -(-total // INT_RANGE))
    return min(max(int(done), 0), total) // divisor, total // divisor


class StageProgressDialog(QProgressDialog):
    """The progress dialog of one stage of a job.

    Parameters
    ----------
    stage
        The stage (title, label, unit and cancel rule come from it).
    parent
        The window the dialog is modal to.
    minimum_duration
        Milliseconds a stage must last before its dialog shows.

    Signals
    -------
    cancelRequested()
        The user pressed Cancel (or Escape, or closed the dialog) in a cancellable stage.
    """

    cancelRequested = pyqtSignal()

    def __init__(self, stage: Stage, parent: QWidget | None = None, minimum_duration: int = 300):
        super().__init__(parent)
        self.stage = stage
        self._cancelling = False
        self._text = ""
        self._room = (0, 0)  # (lines, longest line) the dialog was last sized for
        #: Whether the dialog appeared (a stage shorter than the minimum duration: never).
        self.was_shown = False
        self.setObjectName(f"stage-{stage.key}")
        self.setWindowTitle(stage.name)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAutoReset(False)
        self.setAutoClose(False)
        self._bar = QProgressBar(self)
        self._bar.setTextVisible(True)
        self.setBar(self._bar)
        self._label = QLabel(self)
        hint = QStyle.StyleHint.SH_ProgressDialog_TextLabelAlignment  # as QProgressDialog's own
        self._label.setAlignment(Qt.AlignmentFlag(self.style().styleHint(hint, None, self)))
        self.setLabel(self._label)
        self.canceled.disconnect()  # not QProgressDialog.cancel(): it hides the dialog
        if stage.cancellable:
            self.setCancelButton(QPushButton("Cancel", self))
            self.canceled.connect(self._on_cancel)
        else:
            self.setCancelButton(None)
        self.setMinimumWidth(420)
        self.show_progress(0, 0)
        self.setMinimumDuration(minimum_duration)
        # From the minimum: this arms the show timer (the dialog appears after the delay).
        self.setValue(self.minimum())

    @property
    def label_text(self) -> str:
        """The text shown under the title (what :func:`stage_label` gives, plus notes)."""
        return self._text

    @property
    def cancelling(self) -> bool:
        return self._cancelling

    def show_progress(
        self,
        done: int,
        total: int,
        active_workers: int = 0,
        eta_seconds: float | None = None,
    ) -> None:
        """Show ``done`` of ``total`` in the stage's unit (cheap: called on every tick)."""
        value, maximum = scaled(done, total)
        if self._bar.maximum() != maximum or (maximum and self._bar.value() != value):
            self._set_bar(value, maximum)
        text = stage_label(self.stage, done, total, active_workers, eta_seconds)
        if self._cancelling:
            text += "\n" + (CANCELLING_NOTE if self.stage.cancellable else NOT_CANCELLABLE_NOTE)
        self._show_text(text)

    def _set_bar(self, value: int, maximum: int) -> None:
        """Range and value, painted with the next paint event (never a synchronous repaint)."""
        self._bar.setUpdatesEnabled(False)  # QProgressBar.setValue calls repaint() otherwise
        try:
            if self._bar.maximum() != maximum:
                self._bar.setRange(0, maximum)
            if maximum:
                self._bar.setValue(value)
        finally:
            self._bar.setUpdatesEnabled(True)  # schedules one update()

    def _show_text(self, text: str) -> None:
        """Show ``text``; lay the dialog out again only if it needs more room than before."""
        if text == self._text:
            return
        self._text = text
        lines = text.split("\n")
        room = (len(lines), max(len(line) for line in lines))
        if room[0] > self._room[0] or room[1] > self._room[1]:
            self._room = (max(room[0], self._room[0]), max(room[1], self._room[1]))
            self.setLabelText(text)  # sets the text and grows the dialog to fit it
        else:
            self._label.setText(text)

    def mark_cancelling(self) -> None:
        """Say that a cancel was asked for, and stop offering it."""
        if self._cancelling:
            return
        self._cancelling = True
        button = self.findChild(QPushButton)
        if button is not None:
            button.setEnabled(False)
        self._show_text(
            self._text
            + "\n"
            + (CANCELLING_NOTE if self.stage.cancellable else NOT_CANCELLABLE_NOTE)
        )

    def finish(self) -> None:
        """Close for good: stop the show timer, hide, and delete later."""
        self.reset()  # stops the delayed show of a dialog that never appeared
        self.hide()
        self.deleteLater()

    def showEvent(self, event: QShowEvent) -> None:
        self.was_shown = True
        super().showEvent(event)

    # -- the user closing the dialog is a cancel request, never a silent close -------
    def _on_cancel(self) -> None:
        if not self._cancelling:
            self.cancelRequested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        if self.stage.cancellable:
            self._on_cancel()

    def reject(self) -> None:
        if self.stage.cancellable:
            self._on_cancel()
