"""A recorder of file accesses and the thread that made them, for "not on the GUI thread".

It sees every access Python makes under some folders: through an audit hook
(``open`` - also numpy's and the import system's -, ``mmap.__new__``, directory
listings, renames and removals) and through wrappers around what audit hooks do not see:
``os.stat``/``os.lstat`` (``Path.exists``/``is_dir``...), ``numpy.load`` and
pyarrow's file readers (Parquet opens files in C++).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Access", "FileAccessRecorder"]

#: Audit events that touch the file system, and the argument naming the path (or fd).
AUDITED = {
    "open": 0,
    "mmap.__new__": 0,
    "os.listdir": 0,
    "os.scandir": 0,
    "os.remove": 0,
    "os.rename": 0,
    "os.mkdir": 0,
    "os.rmdir": 0,
    "os.truncate": 0,
    "os.utime": 0,
    "os.chmod": 0,
}

_recorder: FileAccessRecorder | None = None  # the one recording now (audit hooks stay)
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recorder = _recorder
    if recorder is not None and event in AUDITED and args:
        recorder.note(event, args[AUDITED[event]])


@dataclass(frozen=True)
class Access:
    """One access: what (an audit event, ``stat``, ``numpy.load``, ``parquet``...), the
    path, the thread's name, and whether it was the GUI (main) thread."""

    what: str
    path: str
    thread: str
    gui_thread: bool


class FileAccessRecorder:
    """Records, while active (``with recorder:``), every access to files under ``roots``."""

    def __init__(self, roots: Iterable[Path]) -> None:
        prefixes = set()
        for root in roots:
            prefixes.add(os.path.abspath(root))
            prefixes.add(os.path.realpath(root))
        self._prefixes = tuple(p.rstrip(os.sep) + os.sep for p in prefixes)
        self._main = threading.main_thread().ident
        self.accesses: list[Access] = []
        self._undo: list[Callable[[], None]] = []

    # -- results ---------------------------------------------------------------------
    @property
    def on_gui_thread(self) -> list[Access]:
        return [a for a in self.accesses if a.gui_thread]

    @property
    def elsewhere(self) -> list[Access]:
        return [a for a in self.accesses if not a.gui_thread]

    # -- recording -------------------------------------------------------------------
    def note(self, what: str, target: Any) -> None:
        """Record an access to ``target`` (a path, or an fd) if it is under the roots."""
        path = self._path_of(target)
        if path is None or not (path + os.sep).startswith(self._prefixes):
            return
        thread = threading.current_thread()
        gui = threading.get_ident() == self._main
        self.accesses.append(Access(what, path, thread.name, gui))

    @staticmethod
    def _path_of(target: Any) -> str | None:
        if isinstance(target, int):  # an fd: mmap, fdopen
            try:
                return os.readlink(f"/proc/self/fd/{target}")
            except OSError:
                return None
        try:
            path = os.fsdecode(os.fspath(target))
        except TypeError:
            return None
        return os.path.abspath(path)

    def _wrap(self, owner: Any, name: str, what: str) -> None:
        original = getattr(owner, name)

        def recorded(target: Any, *args: Any, **kwargs: Any) -> Any:
            self.note(what, target)
            return original(target, *args, **kwargs)

        setattr(owner, name, recorded)
        self._undo.append(lambda: setattr(owner, name, original))

    def __enter__(self) -> FileAccessRecorder:
        global _recorder, _hook_installed
        if not _hook_installed:
            sys.addaudithook(_audit)  # hooks cannot be removed: it checks _recorder
            _hook_installed = True
        self._wrap(os, "stat", "stat")
        self._wrap(os, "lstat", "stat")
        self._wrap(np, "load", "numpy.load")
        for name in ("read_table", "read_metadata", "read_schema"):
            self._wrap(pq, name, "parquet")
        for name in ("memory_map", "OSFile", "input_stream"):
            self._wrap(pa, name, "arrow file")
        recorder = self
        original_file = pq.ParquetFile

        class RecordedParquetFile(original_file):  # type: ignore[misc, valid-type]
            def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
                recorder.note("parquet", source)
                super().__init__(source, *args, **kwargs)

        pq.ParquetFile = RecordedParquetFile
        self._undo.append(lambda: setattr(pq, "ParquetFile", original_file))
        _recorder = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _recorder
        _recorder = None
        while self._undo:
            self._undo.pop()()
