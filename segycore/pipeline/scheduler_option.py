"""The ``scheduler=`` option of a job (``--scheduler``), checked without importing dask.

A config checks its scheduler address when it is built, in the front end's process (a
CLI command, a GUI's event-loop thread): the address's syntax and whether the ``dask``
extra is installed, found without importing ``distributed``. The cluster backend itself
(:mod:`segycore.pipeline.cluster`) loads only in the supervisor, and only when asked for.
"""

from __future__ import annotations

import importlib.util
import re

from ..errors import SegycoreError

__all__ = ["MISSING_EXTRA", "ClusterError", "check_scheduler_address", "check_scheduler_option"]

MISSING_EXTRA = "--scheduler needs the dask extra: pip install segycore[dask]"
#: ``scheme://location`` (tcp, tls, ws, wss, ucx, inproc) or ``host:port``.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx|inproc)://\S+|[^\s/:]+:\d+)$")


class ClusterError(SegycoreError):
    """The cluster cannot run the job: unreachable scheduler, missing path, dead worker."""


def check_scheduler_address(address: object) -> str:
    """Refuse what cannot be a scheduler address (``tcp://host:port``, ``host:port``)."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise ClusterError(
            f"not a dask scheduler address: {address!r} (expected e.g. tcp://host:8786)"
        )
    return address.strip()


def check_scheduler_option(scheduler: str | None) -> None:
    """Refuse a scheduler address that cannot be one, or one without the dask extra.

    Cheap (no import of distributed): a GUI builds configs in its event-loop thread.
    """
    if scheduler is None:
        return
    check_scheduler_address(scheduler)
    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ClusterError(MISSING_EXTRA)
