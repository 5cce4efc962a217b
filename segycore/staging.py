"""Write beside the destination under a temporary name, then rename into place.

Every job's output appears atomically: a failed or cancelled job removes its staging
path and leaves the destination as it was (absent, or the old file with overwrite).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from .errors import SegyError

__all__ = [
    "STAGING_MARKER",
    "check_destination",
    "check_free_space",
    "publish",
    "remove_path",
    "staging_path",
]

#: Every temporary name segycore creates contains this marker.
STAGING_MARKER = ".segycore-tmp-"


def staging_path(destination: Path, tag: str = "") -> Path:
    """A hidden, unique sibling of ``destination`` on the same file system."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    suffix = f"-{tag}" if tag else ""
    return destination.parent / f".{destination.name}{STAGING_MARKER}{token}{suffix}"


def check_destination(destination: Path, overwrite: bool) -> None:
    """Refuse a destination that exists (without ``overwrite``) or cannot be created."""
    if (destination.exists() or destination.is_symlink()) and not overwrite:
        raise SegyError(f"{destination} already exists (use overwrite to replace it)")
    parent = destination.parent
    if not parent.is_dir():
        raise SegyError(f"cannot write {destination}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SegyError(f"cannot write {destination}: folder {parent} is not writable")


def check_free_space(directory: Path, needed: int) -> None:
    """Fail early, before writing anything, when the file system lacks ``needed`` bytes."""
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise SegyError(
            f"not enough free space in {directory}: the job needs about "
            f"{needed / 1e9:.2f} GB, {free / 1e9:.2f} GB are free"
        )


def remove_path(path: Path) -> None:
    """Remove a file or a folder tree; a missing path is fine."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def publish(staged: Path, destination: Path, overwrite: bool) -> None:
    """Rename ``staged`` to ``destination``; an old destination is replaced only at the end."""
    if not (destination.exists() or destination.is_symlink()):
        os.rename(staged, destination)
        return
    if not overwrite:
        raise SegyError(f"{destination} already exists (use overwrite to replace it)")
    old = staging_path(destination, "old")
    os.rename(destination, old)
    try:
        os.rename(staged, destination)
    except BaseException:
        os.rename(old, destination)
        raise
    remove_path(old)
