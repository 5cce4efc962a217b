"""Write beside the destination under a temporary name, then rename into place.

Every job's output appears atomically: a failed or cancelled job removes its staging
path and leaves the destination as it was (absent, or the old file with overwrite).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from ..errors import SegyError

__all__ = [
    "STAGING_MARKER",
    "check_destination",
    "check_free_space",
    "discard_paths",
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


def check_destination(destination: Path, overwrite: bool, source: Path | None = None) -> None:
    """Refuse a destination that exists (without ``overwrite``) or cannot be created.

    With ``source``, also refuse a destination that is the source, a folder holding it or
    a path inside it: publishing there (with overwrite) would delete or change the source.
    """
    if source is not None:
        _check_not_source(destination, source)
    if (destination.exists() or destination.is_symlink()) and not overwrite:
        raise SegyError(f"{destination} already exists (use overwrite to replace it)")
    parent = destination.parent
    if not parent.is_dir():
        raise SegyError(f"cannot write {destination}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SegyError(f"cannot write {destination}: folder {parent} is not writable")


def _check_not_source(destination: Path, source: Path) -> None:
    dest, src = destination.resolve(), source.resolve()
    if dest == src:
        why = "it is the source"
    elif dest in src.parents:
        why = f"it holds the source {source}"
    elif src in dest.parents:
        why = f"it lies inside the source {source}"
    else:
        return
    raise SegyError(
        f"cannot write {destination}: {why}, and segycore never replaces or changes a source"
    )


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


def discard_paths(*paths: Path) -> list[Path]:
    """Remove what a failed job wrote, as far as the file system allows; never raises.

    Cleanup after a failure must not replace the failure's own error (a folder that
    turned read-only refuses the removal as it refused the write). Returns the paths
    that could not be removed.
    """
    left = []
    for path in paths:
        try:
            remove_path(path)
        except OSError:
            left.append(path)
    return left


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
