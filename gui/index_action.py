"""The "Dataset > Add index..." action: the index dialog, then the index job with its stage
dialog (through :meth:`segycore_gui.MainWindow.start_index`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PyQt6.QtGui import QAction

from .background import run_in_background
from .index_dialog import IndexChoices, IndexDialog
from .messages import explain_error

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["install_index_action", "show_index_dialog"]


def install_index_action(window: MainWindow) -> QAction:
    """Add the Dataset menu with "Add index..." (enabled once a dataset is open)."""
    menu = window.menuBar().addMenu("&Dataset")
    action = QAction("Add &index...", window)
    action.setEnabled(False)
    action.setStatusTip("Index more header fields or detect the survey geometry")
    action.triggered.connect(lambda: show_index_dialog(window))
    menu.addAction(action)
    window.datasetOpened.connect(lambda path: action.setEnabled(True))
    return action


def show_index_dialog(
    window: MainWindow, shown: Callable[[IndexDialog], None] | None = None
) -> None:
    """Open the index dialog for the dataset on screen (its fields are read in the
    background first; ``shown(dialog)`` follows); OK starts the job."""
    dataset = window.dataset
    if dataset is None:
        return

    def ready(choices: IndexChoices) -> None:
        dialog = IndexDialog(choices, window)
        dialog.accepted.connect(lambda: window.start_index(dataset.path, **dialog.options()))
        dialog.open()
        if shown is not None:
            shown(dialog)

    def failed(exc: BaseException) -> None:
        cause, details = explain_error(exc)
        window.notifier.fail("Cannot index the dataset", cause, details)

    run_in_background(window, lambda: IndexChoices.read(dataset), ready, failed)
