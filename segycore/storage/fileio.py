"""Positional whole-buffer reads and writes: ``pread``/``pwrite`` until done.

Both release the GIL, so worker threads read and write in parallel; a short read
means the file shrank under us and is reported as such. Where the system has no
positional calls (Windows) - or the ``positional_io`` capability is switched off (see
:mod:`segycore.storage.capabilities`) - they seek the handle and read or write it:
the same bytes, but the handle's position moves, so each thread must use a handle of
its own (every task opens its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .capabilities import CAPABILITIES

__all__ = ["open_for_reading", "open_for_writing", "pread_exact", "pwrite_all"]

#: Windows opens low-level handles in text mode unless told otherwise.
_BINARY = getattr(os, "O_BINARY", 0)


def open_for_reading(path: str | os.PathLike[str]) -> int:
    """A raw, binary, read-only handle on ``path``."""
    return os.open(path, os.O_RDONLY | _BINARY)


def open_for_writing(path: str | os.PathLike[str], create: bool = False) -> int:
    """A raw, binary, write-only handle on ``path`` (with ``create``: a new file only)."""
    if create:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o644)
    return os.open(path, os.O_WRONLY | _BINARY)


def pread_exact(fd: int, view: memoryview, offset: int, ended: Callable[[int], Exception]) -> None:
    """Fill ``view`` from ``offset``; raise ``ended(offset_reached)`` at end of file."""
    if not CAPABILITIES.positional_io:
        _seek_read(fd, view, offset, ended)
        return
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            raise ended(offset + got)
        got += n


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``."""
    if not CAPABILITIES.positional_io:
        _seek_write(fd, data, offset)
        return
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], offset + written)


def _seek_read(fd: int, view: memoryview, offset: int, ended: Callable[[int], Exception]) -> None:
    view = view.cast("B")
    os.lseek(fd, offset, os.SEEK_SET)
    got = 0
    while got < len(view):
        data = os.read(fd, len(view) - got)
        if not data:
            raise ended(offset + got)
        view[got : got + len(data)] = data
        got += len(data)


def _seek_write(fd: int, data: memoryview, offset: int) -> None:
    data = data.cast("B")
    os.lseek(fd, offset, os.SEEK_SET)
    while data:
        data = data[os.write(fd, data) :]
