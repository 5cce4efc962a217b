"""What this system offers segycore, and the portable fallback used where it does not.

Every system-specific call segycore makes is behind one flag of :data:`CAPABILITIES`:

=====================  ======================================  ===============================
capability             used where available                    fallback
=====================  ======================================  ===============================
``positional_io``      ``os.preadv`` / ``os.pwrite`` (POSIX)   ``lseek`` + ``read``/``write``
                                                               on the worker's own handle
``copy_file_range``    ``os.copy_file_range`` merge (Linux)    ``sendfile``, ``readinto``
``sendfile``           ``os.sendfile`` merge (Linux)           ``readinto`` (plain reads)
``parent_death``       ``prctl(PR_SET_PDEATHSIG)`` (Linux)     the supervisor's watcher thread
                                                               (polls ``getppid`` every 100 ms)
``long_shm_names``     ``segycore_<pid>_<16 hex>`` block       ``segycore_<pid>_<12 hex>``:
                       names (Linux, Windows)                  within macOS's 31 characters
``fallocate``          ``fallocate`` of pre-sized outputs      ``ftruncate`` (a sparse file)
                       (Linux)
=====================  ======================================  ===============================

Tests switch capabilities off to run the fallbacks on Linux: set
``SEGYCORE_FORCE_FALLBACKS`` to ``all`` or a comma-separated list of names before
segycore is imported (the supervisor process inherits it), or use :func:`forced` in
one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal as _signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields

__all__ = [
    "CAPABILITIES",
    "FORCE_FALLBACKS_ENV",
    "Capabilities",
    "arm_parent_death_signal",
    "forced",
]

FORCE_FALLBACKS_ENV = "SEGYCORE_FORCE_FALLBACKS"
_PR_SET_PDEATHSIG = 1


@dataclass
class Capabilities:
    """Which system facilities segycore uses; ``False`` selects the portable fallback."""

    positional_io: bool = hasattr(os, "preadv") and hasattr(os, "pwrite")
    copy_file_range: bool = hasattr(os, "copy_file_range")
    sendfile: bool = hasattr(os, "sendfile") and sys.platform.startswith("linux")
    parent_death: bool = sys.platform.startswith("linux")
    long_shm_names: bool = sys.platform != "darwin"
    fallocate: bool = sys.platform.startswith("linux")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _from_environment() -> Capabilities:
    caps = Capabilities()
    wanted = os.environ.get(FORCE_FALLBACKS_ENV, "").strip()
    if not wanted:
        return caps
    names = Capabilities.names() if wanted == "all" else [w.strip() for w in wanted.split(",")]
    for name in names:
        if name not in Capabilities.names():
            raise ValueError(
                f"{FORCE_FALLBACKS_ENV}: unknown capability {name!r} "
                f"(known: all, {', '.join(Capabilities.names())})"
            )
        setattr(caps, name, False)
    return caps


#: The capabilities in force in this process (read once, at import).
CAPABILITIES = _from_environment()


@contextlib.contextmanager
def forced(*names: str) -> Iterator[Capabilities]:
    """Switch ``names`` (or every capability, if none given) off in this process for a while."""
    names = names or Capabilities.names()
    saved = {name: getattr(CAPABILITIES, name) for name in names}
    try:
        for name in names:
            setattr(CAPABILITIES, name, False)
        yield CAPABILITIES
    finally:
        for name, value in saved.items():
            setattr(CAPABILITIES, name, value)


def arm_parent_death_signal(signum: int = _signal.SIGTERM) -> bool:
    """Have the kernel send ``signum`` when our parent dies (Linux); ``False`` if it cannot.

    Where it cannot, the supervisor's watcher thread notices the parent is gone.
    """
    if not CAPABILITIES.parent_death:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum)) == 0
    except (OSError, AttributeError):
        return False
