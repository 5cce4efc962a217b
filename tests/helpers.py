"""Helpers every test folder imports as ``tests.helpers``: the shared real SEG-Y files,
and checks that nothing temporary is left behind.

Fixtures live in the ``conftest.py`` files; plain functions and constants live here, so a
test module never imports a conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = [
    "DATA_DIR",
    "REPO",
    "SHM_DIR",
    "VALID",
    "assert_no_staging",
    "is_little",
    "path_of",
    "segy_data",
]

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "segy"
SHM_DIR = Path("/dev/shm")

#: Shared files that are valid SEG-Y segycore imports (every format but the refused 4).
VALID = [
    "small.sgy",
    "small-lsb.sgy",
    "f3.sgy",
    "f3-lsb.sgy",
    "shot-gather.sgy",
    "small-ps.sgy",
    "multi-text.sgy",
    "long.sgy",
] + [
    f"multiformats/Format{code}{order}.sgy"
    for code in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16)
    for order in ("msb", "lsb")
]


def segy_data(name: str) -> Path:
    """A file of the shared real SEG-Y test data; skip the test where it is absent."""
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(
            f"shared SEG-Y test data not found at {DATA_DIR} (needs ../shared beside the repo)"
        )
    return path


def is_little(name: str) -> bool:
    """Whether a shared file is the little-endian twin."""
    return name.endswith("lsb.sgy")


def path_of(name: str) -> Path:
    """A shared file's path, whether or not it exists (for parametrisation ids)."""
    return DATA_DIR / name


def assert_no_staging(folder: Path) -> None:
    """Nothing segycore writes temporarily is left in ``folder``."""
    leftovers = [p.name for p in folder.iterdir() if ".segycore-tmp-" in p.name]
    assert not leftovers, f"temporary files left behind: {leftovers}"
