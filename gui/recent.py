"""The datasets opened lately, newest first, remembered in the user's settings.

Saving writes the settings file (and syncs it to disk, which may wait on a busy disk),
so it runs in a background thread with a QSettings object of its own on the same file:
QSettings objects are reentrant, and those of one file share a cache and a lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PyQt6.QtCore import QSettings

__all__ = ["RECENT_KEY", "RecentDatasets", "existing"]

RECENT_KEY = "recent_datasets"


def existing(paths: list[str]) -> list[bool]:
    """Whether each path is still a folder (file access: call it off the GUI thread)."""
    return [Path(p).is_dir() for p in paths]


def _save(file_name: str, file_format: QSettings.Format, paths: list[str]) -> None:
    settings = QSettings(file_name, file_format)
    settings.setValue(RECENT_KEY, paths)
    settings.sync()


class RecentDatasets:
    """Up to ``limit`` dataset paths; read once from ``settings``, saved off-thread."""

    def __init__(self, settings: QSettings, limit: int = 8) -> None:
        self._file = settings.fileName()
        self._format = settings.format()
        self._limit = limit
        self._lock = threading.Lock()  # one save at a time
        value = settings.value(RECENT_KEY, [], type=list)
        self._paths = [str(v) for v in value if v][:limit]

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    def add(self, path: Path | str) -> None:
        """Put ``path`` first and save the list in the background."""
        path = str(path)
        self._paths = ([path] + [p for p in self._paths if p != path])[: self._limit]

        def save() -> None:
            with self._lock:  # the list as it is now: the last save writes the newest
                _save(self._file, self._format, list(self._paths))

        threading.Thread(target=save, name="segycore-gui-settings", daemon=True).start()
