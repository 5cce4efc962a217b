"""Pre-size an output file with allocated blocks instead of a sparse hole.

Import (``traces.npy``) and export (the SEG-Y file) know their output size before any
worker writes. Extending the file with ``ftruncate`` leaves a hole, and every worker's
``pwrite`` into it then has the filesystem reserve blocks under the inode lock;
``fallocate`` reserves every extent at once (unwritten, so nothing is zero-filled) and
makes a full disk fail the job before any work instead of half-way. Where the
filesystem cannot (tmpfs before 3.5, some network filesystems) or the platform has no
``fallocate`` (or ``SEGYCORE_FORCE_FALLBACKS`` switches the ``fallocate`` capability
off), the file is extended with ``ftruncate`` as before. Never glibc's
``posix_fallocate``: on such filesystems it emulates by writing every block.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
from functools import cache

from .capabilities import CAPABILITIES

__all__ = ["preallocate"]

#: errno values meaning "this filesystem or kernel cannot", so extend the usual way.
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENODEV, errno.ESPIPE}


@cache
def _fallocate() -> ctypes._CFuncPtr | None:
    """libc's ``fallocate(int, int, off_t, off_t)`` on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


def preallocate(fd: int, size: int) -> bool:
    """Make the file ``fd`` ``size`` bytes long, its blocks allocated where possible.

    Returns True when the blocks were allocated, False when the file was only extended
    (sparse). Raises ``OSError`` (``ENOSPC`` ...) when the disk cannot hold ``size``
    bytes. Never shrinks a longer file's allocation below its length: the length is
    set to exactly ``size`` either way.
    """
    if size < 0:
        raise ValueError(f"size must be non-negative, got {size}")
    function = _fallocate() if CAPABILITIES.fallocate else None
    if function is not None and size > 0:
        if function(fd, 0, 0, size) == 0:
            if os.fstat(fd).st_size != size:  # a longer file keeps its length otherwise
                os.ftruncate(fd, size)
            return True
        code = ctypes.get_errno()
        if code not in _UNSUPPORTED:
            raise OSError(code, os.strerror(code))
    os.ftruncate(fd, size)
    return False
