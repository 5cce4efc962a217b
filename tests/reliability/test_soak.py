"""Soak: many import/cancel and import/export cycles in one process leak nothing.

The cycles run in a fresh process (``soak_cycles.py``): open file descriptors, threads,
child processes, /dev/shm blocks and memory must be back where they were after a
warm-up cycle. ``SEGYCORE_SOAK_CYCLES`` (default 100) sets the in-process
import/cancel cycles (a fifth as many import/export round trips follow); the job API
runs a twenty-fifth as many cycles (at least 4), each job a supervisor process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.reliability.support import REPO, listing

CYCLES = int(os.environ.get("SEGYCORE_SOAK_CYCLES", "100"))
#: Growth of the resident set tolerated over the whole soak (allocator slack); 500
#: cycles grew it by about 1 MB here.
RSS_SLACK = 16 * 1024 * 1024
SCRIPT = Path(__file__).with_name("soak_cycles.py")


def _soak(mode: str, cycles: int, source: Path, folder: Path) -> dict[str, Any]:
    """Run the cycles in a fresh process; its resources before and after them."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), mode, str(cycles), str(source), str(folder)],
        capture_output=True,
        text=True,
        timeout=max(300, 3 * cycles),
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


#: Native threads pyarrow's pools may still start on demand after the warm-up (seen once
#: in a loaded full-suite run: 6 -> 7). A bounded pool, not a leak: segycore's own
#: threads are Python threads, checked exactly.
NATIVE_POOL_SLACK = pa.cpu_count() + pa.io_thread_count()


def _assert_back(report: dict[str, Any]) -> None:
    before, after = report["before"], report["after"]
    for key in ("fds", "python_threads", "shm_blocks"):
        assert after[key] == before[key], (key, before, after)
    assert after["os_threads"] <= before["os_threads"] + NATIVE_POOL_SLACK, (before, after)
    assert after["children"] == 0, after
    assert after["rss"] - before["rss"] < RSS_SLACK, (before["rss"], after["rss"])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_in_process_cycles_leak_nothing(small_survey: Path, tmp_path: Path) -> None:
    report = _soak("in-process", CYCLES, small_survey, tmp_path)
    _assert_back(report)
    # only the round trips' datasets remain: no cancelled output, no staging, no copies
    assert listing(tmp_path) == {f"ds-{i}.dataset" for i in range(report["trips"] + 1)}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_job_api_cycles_leak_nothing(small_survey: Path, tmp_path: Path) -> None:
    report = _soak("jobs", max(4, CYCLES // 25), small_survey, tmp_path)
    _assert_back(report)
    assert listing(tmp_path) == {f"ds-{i}.dataset" for i in range(report["trips"] + 1)}
