"""The main window: File menu, the dataset viewer, and imports/exports as staged jobs.

A job runs in a supervisor process (:mod:`segycore.runtime.jobs`); a :class:`JobRunner`
turns its snapshots into signals on a 100 ms timer, and the window shows one
:class:`StageProgressDialog` per stage, in order. Nothing here waits for the job:
every handler reads a snapshot, updates widgets and returns. Nothing here touches a
file either: a job's configuration is built in the job's poll thread, a dataset is
opened in a background thread, and the recent list is checked in one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QWidget

from segycore.dataset.dataset import Dataset, open_dataset
from segycore.pipeline.configs import ExportConfig, ImportConfig, IndexConfig
from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, INDEX_STAGES, Stage
from segycore.runtime.jobs import Job, start_export, start_import, start_index

from .background import call_later, run_in_background
from .dataset_panel import DatasetPanel
from .export_dialog import ExportDialog
from .import_dialog import ImportDialog
from .index_action import install_index_action
from .job_runner import JobRunner
from .messages import Message, Notifier, explain_error
from .progress_dialog import StageProgressDialog
from .recent import RecentDatasets, existing
from .summary import summarize

__all__ = ["MainWindow"]

#: Delay before a finished import's dataset opens: the event loop runs in between.
OPEN_DELAY_MS = 15
APP_TITLE = "segycore"


class MainWindow(QMainWindow):
    """The segycore desktop application's window.

    Parameters
    ----------
    settings
        Where recent datasets are remembered (default: the user's segycore settings).
    show_message_boxes
        ``False`` records messages in :attr:`messages` instead of showing boxes, and
        answers questions with :attr:`Notifier.answer` (for scripts and tests).

    Signals
    -------
    jobFinished(str, dict)
        A job's final state (``done``, ``failed``, ``cancelled``) with its result
        (done) or ``{"error": ..., "details": ..., "stage": ...}``.
    datasetOpened(str)
        A dataset is shown in the viewer.
    """

    jobFinished = pyqtSignal(str, dict)
    datasetOpened = pyqtSignal(str)

    def __init__(
        self,
        settings: QSettings | None = None,
        show_message_boxes: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("segycore", "segycore-gui")
        self.recent = RecentDatasets(self.settings)
        self.notifier = Notifier(self, show_message_boxes)
        #: Milliseconds a stage must last before its dialog appears.
        self.dialog_delay_ms = 300
        #: ``(title, unit)`` of every stage dialog the last job opened, in order.
        self.stage_dialogs: list[tuple[str, str]] = []
        self.stage_dialog: StageProgressDialog | None = None
        self.dataset: Dataset | None = None
        self._close_pending = False
        self._job_started = 0.0
        self._opening = 0  # generation of the last open_dataset request

        self.runner = JobRunner(self)
        self.runner.stageStarted.connect(self._on_stage_started)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)

        # Shown from the start, empty: its widgets are laid out and polished once, at
        # start-up, not in the event-loop turn that opens the first dataset.
        self.panel = DatasetPanel()
        self.setCentralWidget(self.panel)
        self._build_menus()
        self.index_action = install_index_action(self)  # Dataset > Add index...
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 800)
        self.statusBar().showMessage("Ready")

    # -- messages --------------------------------------------------------------------
    @property
    def show_message_boxes(self) -> bool:
        return self.notifier.show_boxes

    @show_message_boxes.setter
    def show_message_boxes(self, show: bool) -> None:
        self.notifier.show_boxes = show

    @property
    def messages(self) -> list[Message]:
        return self.notifier.messages

    @property
    def last_message(self) -> Message | None:
        return self.notifier.last

    # -- menus -----------------------------------------------------------------------
    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.import_action = QAction("&Import SEG-Y...", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.triggered.connect(self.show_import_dialog)
        self.export_action = QAction("&Export SEG-Y...", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.show_export_dialog)
        self.open_action = QAction("&Open dataset...", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._browse_dataset)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        menu.addAction(self.import_action)
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Recent datasets")
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self._rebuild_recent_menu()

    def recent_datasets(self) -> list[str]:
        """Datasets opened lately, newest first."""
        return self.recent.paths

    def _rebuild_recent_menu(self) -> None:
        """List the recent datasets; those no longer there are greyed out once a
        background check has looked (a dataset on a sleeping network disk may take seconds)."""
        self.recent_menu.clear()
        recent = self.recent_datasets()
        actions = []
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_dataset(p))
            actions.append(action)
        self.recent_menu.setEnabled(bool(recent) and not self.runner.busy)

        def checked(found: list[bool]) -> None:
            if self.recent_menu.actions() != actions:
                return  # rebuilt meanwhile
            for action, there in zip(actions, found, strict=True):
                action.setEnabled(there)
                action.setToolTip("" if there else "no longer there")

        if recent:
            run_in_background(self, lambda: existing(recent), checked, lambda exc: None)

    def _set_busy(self, busy: bool) -> None:
        for action in (self.import_action, self.export_action, self.open_action):
            action.setEnabled(not busy)
        self.recent_menu.setEnabled(not busy and bool(self.recent_datasets()))

    # -- dialogs ---------------------------------------------------------------------
    def show_import_dialog(self, source: Path | str | None = None) -> ImportDialog:
        """Open the import dialog (non-blocking); accepting it starts the import."""
        dialog = ImportDialog(self, Path(source) if source else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.start_import(**dialog.options()))
        dialog.open()
        return dialog

    def show_export_dialog(self) -> ExportDialog:
        """Open the export dialog (non-blocking); accepting it starts the export."""
        dialog = ExportDialog(self, self.dataset.path if self.dataset is not None else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.start_export(**dialog.options()))
        dialog.open()
        return dialog

    def _browse_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open dataset")
        if path:
            self.open_dataset(path)

    # -- datasets --------------------------------------------------------------------
    def open_dataset(self, path: Path | str) -> None:
        """Show the dataset at ``path`` in the viewer; returns at once.

        The dataset is opened (metadata, memory map, Parquet footer) in a background
        thread; :attr:`datasetOpened` follows, or a "Cannot open dataset" message. A
        newer request supersedes an older one still loading.
        """
        path = Path(path)
        self._opening += 1
        generation = self._opening
        self.statusBar().showMessage(f"Opening {path}...")

        def opened(dataset: Dataset) -> None:
            if generation == self._opening:
                self._show_dataset(path, dataset)

        def failed(exc: BaseException) -> None:
            if generation == self._opening:
                cause, details = explain_error(exc)
                self.statusBar().showMessage(f"Cannot open {path.name}")
                self.notifier.fail("Cannot open dataset", cause, details)

        run_in_background(self, lambda: open_dataset(path), opened, failed)

    def _show_dataset(self, path: Path, dataset: Dataset) -> None:
        try:
            self.panel.set_dataset(dataset)
        except Exception as exc:
            cause, details = explain_error(exc)
            self.notifier.fail("Cannot open dataset", cause, details)
            return
        self.dataset = dataset
        self.setWindowTitle(f"{path.name} - {APP_TITLE}")
        self.statusBar().showMessage(f"Opened {path.name}")
        self.recent.add(path)
        self._rebuild_recent_menu()
        self.datasetOpened.emit(str(path))

    # -- jobs ------------------------------------------------------------------------
    @property
    def job_running(self) -> bool:
        return self.runner.busy

    def start_import(self, source: Path | str, destination: Path | str, **options: Any) -> None:
        """Import ``source`` into the dataset folder ``destination``; returns at once.

        ``options`` are :class:`~segycore.pipeline.configs.ImportConfig` fields (``workers``,
        ``ensemble_keys``, ``endian``, ``overwrite``, ...). The end is reported by
        :attr:`jobFinished`; a done import opens in the viewer.
        """

        def launch() -> Job:  # in the poll thread: a configuration may look at files
            return start_import(ImportConfig(Path(source), Path(destination), **options))

        self._begin("import", IMPORT_STAGES, launch)

    def start_export(self, dataset: Path | str, destination: Path | str, **options: Any) -> None:
        """Export the dataset folder ``dataset`` to the SEG-Y file ``destination``.

        ``options`` are :class:`~segycore.pipeline.configs.ExportConfig` fields (``workers``,
        ``format_code``, ``endian``, ``overwrite``, ...); returns at once.
        """

        def launch() -> Job:  # in the poll thread: opening the dataset reads files
            return start_export(ExportConfig(Path(dataset), Path(destination), **options))

        self._begin("export", EXPORT_STAGES, launch)

    def start_index(self, dataset: Path | str, **options: Any) -> None:
        """Add or rebuild indexes of ``dataset`` (:class:`~segycore.IndexConfig` fields);
        returns at once; a done job reopens the dataset in the viewer."""

        def launch() -> Job:  # in the poll thread: the configuration opens the dataset
            return start_index(IndexConfig(Path(dataset), **options))

        self._begin("index", INDEX_STAGES, launch)

    def cancel_job(self) -> None:
        """Ask the running job to stop (its stage dialog says so until it has)."""
        if not self.runner.busy:
            return
        self.runner.cancel()
        if self.stage_dialog is not None:
            self.stage_dialog.mark_cancelling()
        self.statusBar().showMessage("Cancelling...")

    def _begin(self, kind: str, stages: tuple[Stage, ...], launch: Callable[[], Job]) -> None:
        if self.runner.busy:
            raise RuntimeError(f"a {self.runner.kind} is already running")
        self.stage_dialogs = []
        self._job_started = time.monotonic()
        self._set_busy(True)
        self.runner.start(kind, stages, launch)

    def _on_stage_started(self, index: int) -> None:
        self._close_stage_dialog()
        stage = self.runner.stages[index]
        dialog = StageProgressDialog(stage, self, self.dialog_delay_ms)
        dialog.cancelRequested.connect(self.cancel_job)
        if self.runner.cancel_requested:
            dialog.mark_cancelling()
        self.stage_dialog = dialog
        self.stage_dialogs.append((dialog.windowTitle(), stage.unit))
        self.statusBar().showMessage(stage.label)

    def _on_progress(self, snap: Any) -> None:
        dialog = self.stage_dialog
        index = self.runner.stage_index
        if dialog is None or not 0 <= index < len(snap.stages):
            return
        stage = snap.stages[index]
        dialog.show_progress(stage.done, stage.total, snap.active_workers, snap.eta_seconds)

    def _close_stage_dialog(self) -> None:
        if self.stage_dialog is not None:
            self.stage_dialog.finish()
            self.stage_dialog = None

    def _on_finished(self, state: str, snap: Any) -> None:
        self._close_stage_dialog()
        self._set_busy(False)
        kind = self.runner.kind
        title = kind.capitalize()
        closing = self._close_pending
        index = self.runner.stage_index
        stage_name = self.runner.stages[index].name if index >= 0 else ""
        info: dict[str, Any]
        if state == "done":
            info = dict(snap.result or {})
            info.setdefault("kind", kind)
            self.statusBar().showMessage(f"{title} finished")
            if not closing:
                self.notifier.inform(f"{title} finished", summarize(kind, info, self.runner.stages))
                if kind in ("import", "index") and "dataset" in info:
                    path = info["dataset"]
                    call_later(self, OPEN_DELAY_MS, lambda: self.open_dataset(path))
        elif state == "cancelled":
            info = {"error": "cancelled by the user", "details": "", "stage": stage_name}
            self.statusBar().showMessage(f"{title} cancelled")
            if not closing:
                self.notifier.inform(
                    f"{title} cancelled", f"The {kind} was cancelled: nothing was written."
                )
        else:
            if self.runner.failure is not None:
                cause, details = self.runner.failure
            else:
                details = (snap.error if snap is not None else "") or "the job failed"
                cause = details.splitlines()[0]
            info = {"error": cause, "details": details, "stage": stage_name}
            self.statusBar().showMessage(f"{title} failed: {cause}")
            if not closing:
                self.notifier.fail(f"{title} failed", cause, details)
        info["seconds"] = time.monotonic() - self._job_started
        self.jobFinished.emit(state, info)
        if closing:
            QTimer.singleShot(0, self.close)

    # -- closing ---------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing during a job asks to cancel it; the window closes once the job ended."""
        if self.runner.busy:
            event.ignore()
            if not self._close_pending:
                self.notifier.ask(
                    "Job running",
                    f"An {self.runner.kind} is running. Cancel it and close the window?",
                    self._cancel_and_close,
                )
            return
        event.accept()

    def _cancel_and_close(self) -> None:
        if self.runner.busy:
            self._close_pending = True
            self.cancel_job()
        else:
            QTimer.singleShot(0, self.close)
