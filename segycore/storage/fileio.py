"""Positional whole-buffer reads and writes: ``pread``/``pwrite`` until done.

Both release the GIL, so worker threads read and write in parallel; a short read
means the file shrank under us and is reported as such.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["pread_exact", "pwrite_all"]


def pread_exact(fd: int, view: memoryview, offset: int, ended: Callable[[int], Exception]) -> None:
    """Fill ``view`` from ``offset``; raise ``ended(offset_reached)`` at end of file."""
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            raise ended(offset + got)
        got += n


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``."""
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], offset + written)
