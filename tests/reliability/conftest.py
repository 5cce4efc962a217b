"""Fixtures of the reliability tests (their helpers are in ``tests.reliability.support``)."""

from __future__ import annotations

import gc
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from segycore import ImportConfig, ParallelImportCoordinator
from segycore.format.synthetic import write_survey
from tests.reliability.support import SmallDisk


# -- hypothesis writes nothing into the repository ---------------------------------------
@pytest.fixture(scope="session", autouse=True)
def hypothesis_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point Hypothesis's storage (examples, constants cache) at a temporary folder."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


# -- test data -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2.5 MB of IBM shot gathers (1,000 traces x 500 samples, 20 ensembles)."""
    folder = tmp_path_factory.mktemp("survey")
    return write_survey(folder / "survey.sgy", n_shots=20, traces_per_shot=50, n_samples=500)


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 96-trace survey for many quick cycles."""
    folder = tmp_path_factory.mktemp("small")
    return write_survey(folder / "small.sgy", n_shots=4, traces_per_shot=24, n_samples=200)


@pytest.fixture(scope="session")
def survey_dataset(survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The survey imported in-process (export tests read it, never change it)."""
    destination = tmp_path_factory.mktemp("survey-ds") / "survey.dataset"
    ParallelImportCoordinator(ImportConfig(survey, destination, workers=2)).run()
    return destination


# -- a disk to fill --------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """An 8 MiB tmpfs in ``tmp_path`` (needs root and a kernel that lets us mount)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up: {done.stderr.strip()}")
    try:
        yield SmallDisk(mount_point)
    finally:
        for _ in range(50):  # the supervisor of a failed job may still hold a file briefly
            if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode == 0:
                break
            gc.collect()  # a failed test's traceback may hold a file open
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)
