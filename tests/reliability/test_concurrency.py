"""Jobs side by side: two imports and an export at once through the job API.

Each job has its own supervisor and its own owner-only progress block; none sees
another's progress or cancel, and every result is exact.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from segycore import ExportConfig, ImportConfig, read_layout, start_export, start_import
from segycore.format.synthetic import write_survey
from segycore.runtime.jobs import FINAL_STATES, Job
from segycore.runtime.progress import Snapshot
from tests.reliability.support import assert_dataset_matches, assert_no_staging


@pytest.fixture(scope="module")
def little_endian_survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another survey: IEEE floats, little endian, a different geometry."""
    folder = tmp_path_factory.mktemp("lsb")
    return write_survey(
        folder / "lsb.sgy", n_shots=12, traces_per_shot=40, n_samples=700, format_code=5,
        endian="little",
    )  # fmt: skip


def _block_mode(job: Job) -> int | None:
    path = Path("/dev/shm", job.block_name)
    return stat.S_IMODE(path.stat().st_mode) if path.exists() else None


def _all_running(jobs: list[Job], timeout: float = 30.0) -> list[Snapshot]:
    """Snapshots taken while every job is in its parallel stage with progress made."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snaps = [job.snapshot() for job in jobs]
        if all(s.state == "running" and s.stage_index == 0 and s.stages[0].done for s in snaps):
            return snaps
        assert not any(s.state in FINAL_STATES for s in snaps), [s.error for s in snaps]
        time.sleep(0.005)
    raise AssertionError("the jobs never ran at the same time")


def test_two_imports_and_an_export_at_once(
    survey: Path,
    little_endian_survey: Path,
    survey_dataset: Path,
    tmp_path: Path,
) -> None:
    configs = {
        "a": ImportConfig(survey, tmp_path / "a.dataset", workers=2, rate_limit=1.5),
        "b": ImportConfig(little_endian_survey, tmp_path / "b.dataset", workers=2, rate_limit=1.5),
    }
    jobs = {key: start_import(config) for key, config in configs.items()}
    jobs["x"] = start_export(
        ExportConfig(survey_dataset, tmp_path / "x.sgy", workers=2, rate_limit=1.5)
    )
    assert len({job.block_name for job in jobs.values()}) == 3
    assert len({job.pid for job in jobs.values()}) == 3
    running = _all_running(list(jobs.values()))
    if sys.platform.startswith("linux"):
        assert all(_block_mode(job) == 0o600 for job in jobs.values())
        assert all(Path("/dev/shm", job.block_name).stat().st_uid == os.getuid()
                   for job in jobs.values())  # fmt: skip
    assert [snap.stages[0].total for snap in running] == [1000, 480, 1000]  # each its own
    finals = {key: job.wait(60) for key, job in jobs.items()}
    assert {key: snap.state for key, snap in finals.items()} == dict.fromkeys("abx", "done")
    assert finals["a"].result["n_traces"] == 1000 and finals["b"].result["n_traces"] == 480
    assert_dataset_matches(tmp_path / "a.dataset", read_layout(survey))
    assert_dataset_matches(tmp_path / "b.dataset", read_layout(little_endian_survey))
    assert (tmp_path / "x.sgy").read_bytes() == survey.read_bytes()
    assert_no_staging(tmp_path)


def test_cancelling_one_job_leaves_the_other_running(
    survey: Path, little_endian_survey: Path, tmp_path: Path
) -> None:
    keep = start_import(ImportConfig(survey, tmp_path / "keep.dataset", workers=1, rate_limit=1))
    stop = start_import(
        ImportConfig(little_endian_survey, tmp_path / "stop.dataset", workers=1, rate_limit=1)
    )
    _all_running([keep, stop])
    stop.cancel()
    assert stop.wait(10).state == "cancelled"
    snap = keep.snapshot()  # 2.5 MB at 1 MB/s: still in its parallel stage
    assert snap.state == "running" and not snap.cancel_requested
    assert keep.wait(60).state == "done", keep.error
    assert_dataset_matches(tmp_path / "keep.dataset", read_layout(survey))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.dataset"]
