"""The job API over the supervisor process: stages, cancel, crashes, no leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from segycore import ExportConfig, ImportConfig, start_export, start_import
from segycore.format.synthetic import write_survey
from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES
from segycore.runtime.progress import remove_stale_blocks
from tests.helpers import assert_no_staging, assert_supervisor_dies_with_front_end, segy_data


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 8 MB of IBM shot gathers: with a 10 MB/s rate limit a stage lasts ~1 s."""
    folder = tmp_path_factory.mktemp("survey")
    return write_survey(folder / "survey.sgy", n_shots=20, traces_per_shot=100, n_samples=1000)


@pytest.fixture(scope="module")
def dataset(survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("ds") / "survey.dataset"
    job = start_import(ImportConfig(survey, destination, workers=2))
    assert job.wait(60).state == "done", job.error
    return destination


def _observe(job, timeout: float = 60.0) -> list[tuple[int, str]]:
    """Poll like a front end (reaping the job at its end); return the (stage, state)
    pairs seen, in order."""
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = job.snapshot()
        pair = (snap.stage_index, snap.state)
        if not seen or seen[-1] != pair:
            seen.append(pair)
        if snap.state in ("done", "failed", "cancelled"):
            assert job.reap() == snap  # the final snapshot, now with the supervisor gone
            return seen
        time.sleep(0.002)
    raise AssertionError(f"job did not end in {timeout} s: {seen}")


def _wait_for_stage(job, stage: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = job.snapshot()
        if snap.stage_index == stage and snap.state == "running" and snap.stages[stage].done > 0:
            return
        assert snap.state not in ("done", "failed", "cancelled"), snap
        time.sleep(0.005)
    raise AssertionError(f"stage {stage} never ran")


def _assert_gone(pid: int | None) -> None:
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_import_job_runs_designs_stages(survey: Path, tmp_path: Path) -> None:
    job = start_import(ImportConfig(survey, tmp_path / "ds", workers=2, rate_limit=40))
    seen = _observe(job)
    assert seen[-1][1] == "done", job.error
    stages = [stage for stage, state in seen if state == "running" and stage >= 0]
    assert stages == sorted(stages) and stages[0] == 0  # a poller may miss instant stages
    final = job.snapshot()
    assert [(s.name, s.label, s.unit, s.cancellable) for s in final.stages] == [
        (s.name, s.label, s.unit, s.cancellable) for s in IMPORT_STAGES
    ]
    assert all(s.finished and s.done == s.total for s in final.stages)
    times = [t for s in final.stages for t in (s.started, s.finished)]
    assert times == sorted(times)  # one after another, in DESIGN.md's order
    assert final.stages[0].total == 2000 and final.stages[1].total == 2
    assert job.result["n_traces"] == 2000
    _assert_gone(job.pid)


def test_export_job_round_trips(survey: Path, dataset: Path, tmp_path: Path) -> None:
    job = start_export(ExportConfig(dataset, tmp_path / "out.sgy", workers=2))
    seen = _observe(job)
    assert seen[-1][1] == "done", job.error
    final = job.snapshot()
    assert [s.name for s in final.stages] == [s.name for s in EXPORT_STAGES]
    assert final.stages[1].total == survey.stat().st_size  # merge counts bytes
    assert (tmp_path / "out.sgy").read_bytes() == survey.read_bytes()


@pytest.mark.parametrize(
    ("kind", "stage"),
    [("import", 0), ("export", 0), ("export", 1)],
    ids=["import", "export", "merge"],
)
def test_cancel_in_each_cancellable_stage(
    kind: str, stage: int, survey: Path, dataset: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out"
    if kind == "import":
        job = start_import(ImportConfig(survey, destination, workers=1, rate_limit=8))
    else:
        job = start_export(
            ExportConfig(
                dataset,
                destination,
                workers=1,
                rate_limit=8,
                chunk_bytes=256 * 1024,
                segments=stage == 1,  # in place there is nothing to merge, nothing to cancel
            )
        )
    _wait_for_stage(job, stage)
    job.cancel()
    snap = job.wait(5)
    assert snap.state == "cancelled"
    # It stopped inside the stage it was cancelled in, rather than finishing it first.
    assert snap.stage_index == stage
    assert not snap.stages[stage].finished and snap.stages[stage].done < snap.stages[stage].total
    assert not destination.exists()
    assert_no_staging(tmp_path)
    _assert_gone(job.pid)


def test_killed_supervisor_fails_the_job_quickly(survey: Path, tmp_path: Path) -> None:
    job = start_import(ImportConfig(survey, tmp_path / "ds", workers=1, rate_limit=8))
    _wait_for_stage(job, 0)
    os.kill(job.pid, signal.SIGKILL)
    snap = job.wait(4)  # its exit status tells: no need to wait for the 5 s heartbeat limit
    assert snap.state == "failed"
    assert "supervisor process" in snap.error and "signal 9" in snap.error
    assert "Parallel import" in snap.error
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


def test_bad_source_fails_with_its_message(tmp_path: Path) -> None:
    job = start_import(ImportConfig(segy_data("broken.sgy"), tmp_path / "ds"))
    snap = job.wait(30)
    assert snap.state == "failed"
    assert snap.error.startswith("broken.sgy is truncated")
    assert list(tmp_path.iterdir()) == []


def test_dead_front_end_takes_its_supervisor_along(survey: Path, tmp_path: Path) -> None:
    assert_supervisor_dies_with_front_end(survey, tmp_path, rate_limit=4, settle=0.5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="blocks are /dev/shm files")
def test_stale_blocks_of_dead_creators_are_removed() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path("/dev/shm", f"segycore_{dead.pid}_0badc0de")
    live = Path("/dev/shm", f"segycore_{os.getpid()}_0badc0de")
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    try:
        assert stale.name in remove_stale_blocks()
        assert not stale.exists() and live.exists()
    finally:
        stale.unlink(missing_ok=True)
        live.unlink()
