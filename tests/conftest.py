"""Shared fixtures, and the leak check every test passes: no processes, no shm blocks."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "segy"
SHM_DIR = Path("/dev/shm")


def segy_data(name: str) -> Path:
    """A file of the shared real SEG-Y test data; skip the test where it is absent."""
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(
            f"shared SEG-Y test data not found at {DATA_DIR} (needs ../shared beside the repo)"
        )
    return path


def _shm_blocks() -> set[str]:
    """Progress blocks this test process created (other runs on the machine don't count)."""
    if not SHM_DIR.is_dir():
        return set()
    return {p.name for p in SHM_DIR.glob(f"segycore_{os.getpid()}_*")}


def _children() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if p.is_running()
        and p.status() != psutil.STATUS_ZOMBIE
        # the resource tracker and forkserver helpers of multiprocessing live per session
        and "resource_tracker" not in " ".join(p.cmdline())
    ]


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves a process, or a /dev/shm block, behind."""
    shm_before = _shm_blocks()
    yield
    deadline = time.monotonic() + 5
    while (_children() or _shm_blocks() - shm_before) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftover_children = _children()
    leftover_shm = _shm_blocks() - shm_before
    for proc in leftover_children:
        proc.kill()
    assert not leftover_children, f"test left processes running: {leftover_children}"
    assert not leftover_shm, f"test left shared-memory blocks: {leftover_shm}"


def assert_no_staging(folder: Path) -> None:
    """Nothing segycore writes temporarily is left in ``folder``."""
    leftovers = [p.name for p in folder.iterdir() if ".segycore-tmp-" in p.name]
    assert not leftovers, f"temporary files left behind: {leftovers}"
