"""segycore's desktop application (PyQt6): import/export dialogs, a stage progress dialog
per stage, and a dataset viewer; it never blocks its event loop (jobs run in a supervisor
process and are polled on a timer).

``from segycore_gui import MainWindow``; run the application with ``segycore-gui``.
"""

from .main_window import MainWindow
from .progress_dialog import StageProgressDialog

__all__ = ["MainWindow", "StageProgressDialog"]
