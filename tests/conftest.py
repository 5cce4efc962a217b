"""The leak check every test passes: no processes, no shm blocks (helpers: ``tests.helpers``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.helpers import SHM_DIR

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
