"""The stage progress dialog: labels and units from the stage, the cancel rule, scaling."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QEvent, QObject, QSize, Qt
from PyQt6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, stage_label
from segycore_gui.progress_dialog import INT_RANGE, StageProgressDialog, scaled

pytestmark = pytest.mark.gui


@pytest.fixture
def parent(qtbot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_scaled_fits_terabytes_into_a_c_int() -> None:
    total = 5 * 10**12
    value, maximum = scaled(total // 2, total)
    assert maximum <= INT_RANGE
    assert value == pytest.approx(maximum / 2, rel=1e-6)
    assert scaled(7, 10) == (7, 10)
    assert scaled(12, 10) == (10, 10)  # never past the end


def test_label_is_the_stage_label_with_workers_and_eta(parent: QWidget) -> None:
    dialog = StageProgressDialog(IMPORT_STAGES[0], parent)
    dialog.show_progress(500, 1000, active_workers=2, eta_seconds=65)
    assert dialog.windowTitle() == IMPORT_STAGES[0].name
    assert dialog.label_text == stage_label(IMPORT_STAGES[0], 500, 1000, 2, 65)
    assert "2 workers active, 1:05 left" in dialog.label_text
    assert (dialog.value(), dialog.maximum()) == (500, 1000)
    dialog.finish()


def test_byte_stage_shows_gigabytes_and_scales_its_bar(parent: QWidget) -> None:
    merge = EXPORT_STAGES[1]
    dialog = StageProgressDialog(merge, parent)
    dialog.show_progress(1_200_000_000, 2_400_000_000)
    assert dialog.label_text == "Merging segment files...\n1.2 / 2.4 GB"
    assert dialog.maximum() <= INT_RANGE
    assert dialog.value() * 2 == dialog.maximum()
    dialog.finish()


def test_only_cancellable_stages_offer_cancel(qtbot, parent: QWidget) -> None:
    for stage in IMPORT_STAGES + EXPORT_STAGES:
        dialog = StageProgressDialog(stage, parent)
        buttons = dialog.findChildren(QPushButton)
        assert bool(buttons) == stage.cancellable, stage.name
        assert dialog.windowModality() == Qt.WindowModality.WindowModal
        assert not dialog.autoReset() and not dialog.autoClose()
        dialog.finish()


def test_cancel_button_asks_once_and_keeps_the_dialog_open(qtbot, parent: QWidget) -> None:
    dialog = StageProgressDialog(IMPORT_STAGES[0], parent, minimum_duration=0)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    button = dialog.findChild(QPushButton)
    with qtbot.waitSignal(dialog.cancelRequested, timeout=1000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog.mark_cancelling()
    assert dialog.isVisible()  # not QProgressDialog's own cancel(), which hides it
    assert not button.isEnabled()
    assert dialog.label_text.endswith("Cancelling...")
    dialog.finish()


def test_closing_a_non_cancellable_stage_does_nothing(qtbot, parent: QWidget) -> None:
    dialog = StageProgressDialog(IMPORT_STAGES[1], parent, minimum_duration=0)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    asked: list[bool] = []
    dialog.cancelRequested.connect(lambda: asked.append(True))
    dialog.close()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and not asked
    dialog.finish()
    assert not dialog.isVisible()


def test_dialog_appears_only_after_the_minimum_duration(qtbot, parent: QWidget) -> None:
    quick = StageProgressDialog(IMPORT_STAGES[3], parent, minimum_duration=150)
    slow = StageProgressDialog(IMPORT_STAGES[2], parent, minimum_duration=150)
    assert not quick.isVisible() and not slow.isVisible()
    shown: list[bool] = []
    quick.destroyed.connect(lambda: shown.append(quick.was_shown))
    quick.finish()  # an instant stage: its dialog never shows
    qtbot.waitUntil(slow.isVisible, timeout=2000)
    assert slow.was_shown
    qtbot.wait(200)
    assert shown == [False]  # deleted without ever having appeared
    slow.finish()


class _PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_a_tick_never_repaints_synchronously(qtbot, parent: QWidget) -> None:
    dialog = StageProgressDialog(IMPORT_STAGES[0], parent, minimum_duration=0)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.show_progress(1, 1000, 2, 10)
    qtbot.wait(50)
    bar = dialog.findChild(QProgressBar)
    counter = _PaintCounter()
    bar.installEventFilter(counter)
    dialog.show_progress(500, 1000, 2, 9)  # QProgressBar.setValue alone would repaint() here
    assert dialog.value() == 500 and counter.paints == 0
    qtbot.waitUntil(lambda: counter.paints > 0, timeout=2000)  # with the next paint event
    bar.removeEventFilter(counter)
    dialog.finish()


class _CountingDialog(StageProgressDialog):
    """Counts size-hint computations: QProgressDialog.setLabelText makes one per call."""

    hints = 0

    def sizeHint(self) -> QSize:
        self.hints += 1
        return super().sizeHint()


def test_the_dialog_is_laid_out_only_when_its_text_needs_room(qtbot, parent: QWidget) -> None:
    dialog = _CountingDialog(IMPORT_STAGES[0], parent, minimum_duration=0)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    label = dialog.findChild(QLabel)
    dialog.show_progress(100_000, 900_000, 2, 59)
    before = dialog.hints
    for done in range(100_001, 100_300):  # the text changes, its width does not
        dialog.show_progress(done, 900_000, 2, 59)
        assert label.text() == dialog.label_text
    assert dialog.hints == before
    dialog.show_progress(100_300, 900_000, 12, 3599)  # more room: laid out once
    assert dialog.hints > before
    assert dialog.size().expandedTo(dialog.sizeHint()) == dialog.size()
    dialog.finish()
