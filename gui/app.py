"""The ``segycore-gui`` entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from PyQt6.QtWidgets import QApplication

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the application; an optional argument names a dataset to open."""
    parser = argparse.ArgumentParser(prog="segycore-gui", description=__doc__)
    parser.add_argument("dataset", nargs="?", help="dataset folder to open")
    args, qt_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    app = QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName("segycore")
    app.setApplicationName("segycore-gui")
    from .main_window import MainWindow  # after the QApplication: pyqtgraph needs one

    window = MainWindow()
    window.show()
    if args.dataset:
        window.open_dataset(args.dataset)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
