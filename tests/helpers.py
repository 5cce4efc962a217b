"""Helpers every test folder imports as ``tests.helpers``: the shared real SEG-Y files,
checks that nothing temporary is left behind, and a folder's contents by digest.

Fixtures live in the ``conftest.py`` files; plain functions and constants live here, so a
test module never imports a conftest.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import psutil
import pytest

__all__ = [
    "DATA_DIR",
    "REPO",
    "SHM_DIR",
    "VALID",
    "assert_no_staging",
    "assert_supervisor_dies_with_front_end",
    "is_little",
    "path_of",
    "segy_data",
    "tree_digest",
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


_FRONT_END = textwrap.dedent(
    """
    import sys, time
    from segycore import ImportConfig, start_import
    rate = float(sys.argv[3])
    job = start_import(ImportConfig(sys.argv[1], sys.argv[2], workers=1, rate_limit=rate))
    print(job.pid, job.block_name, flush=True)
    time.sleep(60)
    """
)


def assert_supervisor_dies_with_front_end(
    survey: Path,
    folder: Path,
    *,
    rate_limit: float,
    settle: float = 0.0,
    supervisor_timeout: float = 5.0,
    env: Mapping[str, str] | None = None,
) -> None:
    """Kill a front end (a ``python -c`` script) mid-import, ``settle`` seconds after its
    job started: its supervisor must stop within ``supervisor_timeout`` seconds, leave no
    dataset or staging in ``folder``, and its block must be removable as stale."""
    from segycore.runtime.progress import remove_stale_blocks

    front = subprocess.Popen(
        [sys.executable, "-c", _FRONT_END, str(survey), str(folder / "ds"), str(rate_limit)],
        stdout=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
    )
    try:
        supervisor_pid, block = front.stdout.readline().split()
        supervisor = psutil.Process(int(supervisor_pid))
        time.sleep(settle)
        front.kill()
        front.wait(5)
        supervisor.wait(supervisor_timeout)  # raises if the supervisor outlives its front end
    finally:
        front.kill()
        front.wait(5)
        front.stdout.close()
    assert not (folder / "ds").exists()
    assert_no_staging(folder)
    # The dead front end could not unlink its block: its resource tracker or, failing
    # that, the next job's start removes it.
    remove_stale_blocks()
    assert not Path("/dev/shm", block).exists()


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) with the SHA-256 of its bytes: two
    digests are equal exactly when no file was added, removed or changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
