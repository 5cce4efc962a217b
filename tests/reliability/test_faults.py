"""Faults during a job: full disks, a folder turning read-only, a source that shrinks,
failing workers, killed supervisors and front ends.

Every fault ends in a clear failed (or cancelled) state with the fault's own message,
no output at or beside the destination, no process left and no /dev/shm block left
(the autouse leak check of ``tests/conftest.py`` runs after every test).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    SegyError,
    SegyFormatError,
    start_export,
    start_import,
)
from segycore.format import codec
from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES
from segycore.runtime.progress import remove_stale_blocks
from segycore.storage.capabilities import CAPABILITIES
from segycore.storage.staging import STAGING_MARKER
from tests.reliability.support import (
    CLI_TIMEOUT,
    REPO,
    SmallDisk,
    assert_gone,
    assert_one_error_line,
    file_state,
    immutable,
    listing,
    no_space,
    open_fds_under,
    run_cli,
    wait_for_path,
    wait_for_progress,
)

STAGING = f"*{STAGING_MARKER}*"


def _fill_when(
    disk: SmallDisk, stage: str, at_end: bool = False
) -> tuple[Callable[[str, Any], None], list[str]]:
    """A ``run()`` callback that fills ``disk`` at ``stage``'s first (or last) report."""
    filled: list[str] = []

    def on_progress(key: str, progress: Any) -> None:
        if key != stage or filled:
            return
        done, total = (progress.done, progress.total) if hasattr(progress, "done") else progress
        if not at_end or done == total:
            disk.fill()
            filled.append(key)

    return on_progress, filled


# -- disk full ---------------------------------------------------------------------------
@pytest.mark.parametrize("stage", [s.key for s in IMPORT_STAGES])
def test_import_fails_cleanly_when_the_disk_fills_in_each_stage(
    stage: str, survey: Path, small_disk: SmallDisk
) -> None:
    destination = small_disk.path / "survey.dataset"
    config = ImportConfig(survey, destination, workers=2, chunk_bytes=64 * 1024, rate_limit=20)
    # Cleanup deletes the header segments first, freeing space: fill after that.
    on_progress, filled = _fill_when(small_disk, stage, at_end=stage == "cleanup")
    with pytest.raises(OSError) as raised:
        ParallelImportCoordinator(config).run(on_progress)
    assert filled == [stage]
    assert no_space(raised.value), raised.value
    assert listing(small_disk.path) == {"filler"}
    # No file stays open, even while the caller holds the error and its traceback: the
    # space of the removed files is free at once.
    assert open_fds_under(small_disk.path) == []
    small_disk.free()
    assert listing(small_disk.path) == set()


@pytest.mark.parametrize(
    ("segments", "stage"),
    [
        pytest.param(
            False,
            "export",
            id="in-place-export",
            # with fallocate the output's blocks are reserved before the stage (next test)
            marks=pytest.mark.skipif(CAPABILITIES.fallocate, reason="blocks reserved up front"),
        ),
        pytest.param(True, "export", id="segments-export"),
        pytest.param(True, "merge", id="segments-merge"),
    ],
)
def test_export_fails_cleanly_when_the_disk_fills(
    segments: bool, stage: str, survey_dataset: Path, small_disk: SmallDisk
) -> None:
    config = ExportConfig(
        survey_dataset,
        small_disk.path / "out.sgy",
        workers=2,
        segments=segments,
        chunk_bytes=64 * 1024,
        rate_limit=20,
    )
    on_progress, filled = _fill_when(small_disk, stage)
    with pytest.raises(OSError) as raised:
        ParallelExportCoordinator(config).run(on_progress)
    assert filled == [stage]
    assert raised.value.errno == errno.ENOSPC, raised.value
    assert listing(small_disk.path) == {"filler"}


@pytest.mark.skipif(not CAPABILITIES.fallocate, reason="needs the fallocate capability")
def test_in_place_export_survives_a_disk_filled_during_its_traces(
    survey: Path, survey_dataset: Path, small_disk: SmallDisk
) -> None:
    """The pre-sized output's blocks are allocated before any worker writes, so another
    program filling the disk during the export stage cannot make it fail half-way."""
    destination = small_disk.path / "out.sgy"
    config = ExportConfig(
        survey_dataset, destination, workers=2, chunk_bytes=64 * 1024, rate_limit=20
    )
    on_progress, filled = _fill_when(small_disk, "export")
    ParallelExportCoordinator(config).run(on_progress)
    assert filled == ["export"]
    assert destination.read_bytes() == survey.read_bytes()
    assert listing(small_disk.path) == {"filler", "out.sgy"}


def test_in_place_export_needs_no_space_after_its_traces(
    survey: Path, survey_dataset: Path, small_disk: SmallDisk
) -> None:
    """The expensive stage is the only one that can run out of space: the merge only
    writes the file headers into blocks the traces already hold, cleanup only renames."""
    destination = small_disk.path / "out.sgy"
    on_progress, filled = _fill_when(small_disk, "merge")
    ParallelExportCoordinator(ExportConfig(survey_dataset, destination, workers=2)).run(on_progress)
    assert filled == ["merge"]
    assert destination.read_bytes() == survey.read_bytes()
    assert listing(small_disk.path) == {"filler", "out.sgy"}


def test_cli_refuses_a_full_disk_before_writing(survey: Path, small_disk: SmallDisk) -> None:
    small_disk.fill()
    done = run_cli("import", survey, small_disk.path / "survey.dataset")
    assert_one_error_line(done, "not enough free space", str(small_disk.path))
    assert listing(small_disk.path) == {"filler"}


def test_cli_reports_a_disk_that_fills_mid_import(survey: Path, small_disk: SmallDisk) -> None:
    destination = small_disk.path / "survey.dataset"
    command = [sys.executable, "-m", "segycore.cli", "import", str(survey), str(destination)]
    cli = subprocess.Popen(
        [*command, "--rate-limit", "4", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        wait_for_path(f"{STAGING}/headers-*.bin", small_disk.path)  # stage 1 is writing
        small_disk.fill()
        out, err = cli.communicate(timeout=CLI_TIMEOUT)
    finally:
        cli.kill()
        cli.communicate()
    done = subprocess.CompletedProcess(cli.args, cli.returncode, out, err)
    assert_one_error_line(done, "no space left on device", "import to", str(destination))
    assert listing(small_disk.path) == {"filler"}


def test_a_full_dev_shm_is_an_error_not_a_crash(survey: Path, tmp_path: Path) -> None:
    """/dev/shm full: the progress block cannot be created. Before the fix the first
    write to the block's memory killed the CLI with SIGBUS ("Bus error", exit 135).
    Runs in a private mount namespace, so the machine's /dev/shm is never touched."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: cannot give the CLI a private /dev/shm")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {probe.stderr.strip()}")
    script = (
        "mount -t tmpfs -o size=64k tmpfs /dev/shm"
        " && (dd if=/dev/zero of=/dev/shm/filler bs=4k 2>/dev/null; true)"
        ' && exec "$0" -m segycore.cli import "$1" "$2"'
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
         sys.executable, str(survey), str(tmp_path / "ds")],
        capture_output=True, text=True, timeout=CLI_TIMEOUT, cwd=REPO,
    )  # fmt: skip
    assert_one_error_line(done, "no space left on device", "/dev/shm/segycore_")
    assert listing(tmp_path) == set()


# -- the destination folder turns read-only ------------------------------------------------
def test_import_into_a_folder_made_read_only_mid_job(survey: Path, tmp_path: Path) -> None:
    """Root ignores permission bits, so the folder is made immutable (``chattr +i``):
    nothing can be created, renamed or removed in it, by anyone."""
    folder = tmp_path / "out"
    folder.mkdir()
    destination = folder / "survey.dataset"
    job = start_import(ImportConfig(survey, destination, workers=2, rate_limit=8))
    wait_for_progress(job, 0)
    with immutable(folder):
        snap = job.wait(30)
        assert snap.state == "failed"
        assert snap.error.startswith("Operation not permitted")
        assert snap.error.endswith(f"-> {destination}")  # the publishing rename was refused
        assert not destination.exists()
    assert_gone(job.pid)
    # The data files inside the staging folder were removed; the folder entry itself
    # could not be while its parent was immutable - an empty hidden folder is all.
    leftovers = list(folder.iterdir())
    assert all(p.is_dir() and STAGING_MARKER in p.name and not any(p.iterdir()) for p in leftovers)


def test_export_into_a_folder_made_read_only_mid_job(survey_dataset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    destination = folder / "out.sgy"
    job = start_export(ExportConfig(survey_dataset, destination, workers=2, rate_limit=8))
    wait_for_progress(job, 0)
    with immutable(folder):
        snap = job.wait(30)
        assert snap.state == "failed"
        assert snap.error.startswith("Operation not permitted")
        assert snap.error.endswith(f"-> {destination}")
        assert not destination.exists()
    assert_gone(job.pid)
    # Known limit: the hidden staging file could not be unlinked from the immutable
    # folder; it is all that is there, never under the destination's name.
    leftovers = list(folder.iterdir())
    assert all(p.name.startswith(f".out.sgy{STAGING_MARKER}") for p in leftovers)


# -- the source changes under the job -------------------------------------------------------
def test_source_truncated_during_import(survey: Path, tmp_path: Path) -> None:
    source = shutil.copy(survey, tmp_path / "copy.sgy")
    half = source.stat().st_size // 2

    def truncate_once(key: str, progress: Any) -> None:
        if key == "import" and source.stat().st_size > half:
            os.truncate(source, half)

    config = ImportConfig(source, tmp_path / "ds", workers=2, chunk_bytes=64 * 1024, rate_limit=20)
    with pytest.raises(SegyFormatError, match=r"copy\.sgy ended at byte \d+ while being imported"):
        ParallelImportCoordinator(config).run(truncate_once)
    assert listing(tmp_path) == {"copy.sgy"}


def test_source_truncated_during_an_import_job(survey: Path, tmp_path: Path) -> None:
    source = shutil.copy(survey, tmp_path / "copy.sgy")
    config = ImportConfig(source, tmp_path / "ds", workers=2, chunk_bytes=64 * 1024, rate_limit=6)
    job = start_import(config)
    wait_for_progress(job, 0)
    os.truncate(source, 5000)
    snap = job.wait(30)
    assert snap.state == "failed"
    assert snap.error.startswith("copy.sgy ended at byte ")
    assert listing(tmp_path) == {"copy.sgy"}


def test_dataset_truncated_during_export(survey_dataset: Path, tmp_path: Path) -> None:
    dataset = shutil.copytree(survey_dataset, tmp_path / "copy.dataset")
    traces = dataset / "traces.npy"
    half = traces.stat().st_size // 2

    def truncate_once(key: str, progress: Any) -> None:
        if key == "export" and traces.stat().st_size > half:
            os.truncate(traces, half)

    config = ExportConfig(dataset, tmp_path / "out.sgy", workers=2, chunk_bytes=64 * 1024,
                          rate_limit=20)  # fmt: skip
    with pytest.raises(SegyError, match=r"traces\.npy ended at byte \d+: the dataset is damaged"):
        ParallelExportCoordinator(config).run(truncate_once)
    assert listing(tmp_path) == {"copy.dataset"}


# -- a worker fails ------------------------------------------------------------------------
class _Boom(RuntimeError):
    """An unexpected failure inside one worker thread."""


#: Chunks of 64 KiB in which two workers convert the survey (1,000 traces of 2,240 bytes).
_SURVEY_CHUNKS = 2 * -(-500 // (64 * 1024 // (240 + 500 * 4)))


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, name: str, n: int) -> list[int]:
    """Make ``codec.<name>`` raise on its ``n``-th call; return the call counter."""
    calls = [0]
    real = getattr(codec, name)

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == n:
            raise _Boom(f"worker failure injected into call {n}")
        return real(*args, **kwargs)

    monkeypatch.setattr(codec, name, failing)
    return calls


def test_a_failing_import_worker_stops_the_others(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fail_on_call(monkeypatch, "decode_records", 3)
    config = ImportConfig(survey, tmp_path / "ds", workers=2, chunk_bytes=64 * 1024)
    with pytest.raises(_Boom):
        ParallelImportCoordinator(config).run()
    assert calls[0] < _SURVEY_CHUNKS  # the other worker stopped early
    assert listing(tmp_path) == set()


def test_a_failing_export_worker_stops_the_others(
    survey_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fail_on_call(monkeypatch, "encode_records", 3)
    config = ExportConfig(survey_dataset, tmp_path / "out.sgy", workers=2, chunk_bytes=64 * 1024)
    with pytest.raises(_Boom):
        ParallelExportCoordinator(config).run()
    assert calls[0] < _SURVEY_CHUNKS
    assert listing(tmp_path) == set()


# -- the supervisor dies -------------------------------------------------------------------
@pytest.mark.parametrize(("stage", "segments"), [(0, False), (1, True)], ids=["export", "merge"])
def test_killed_supervisor_fails_the_export(
    stage: int, segments: bool, survey_dataset: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out.sgy"
    config = ExportConfig(
        survey_dataset, destination, workers=1, rate_limit=4, segments=segments,
        chunk_bytes=128 * 1024,
    )  # fmt: skip
    job = start_export(config)
    wait_for_progress(job, stage)
    os.kill(job.pid, signal.SIGKILL)
    snap = job.wait(5)
    assert snap.state == "failed"
    assert "signal 9" in snap.error and EXPORT_STAGES[stage].name in snap.error
    assert listing(tmp_path) == set()  # the front end removed the dead supervisor's files


def test_terminated_supervisor_cleans_up(survey: Path, tmp_path: Path) -> None:
    """SIGTERM (a shutdown, ``kill``): the supervisor stops its workers and removes
    what it wrote itself; the job ends cancelled."""
    job = start_import(ImportConfig(survey, tmp_path / "ds", workers=2, rate_limit=4))
    wait_for_progress(job, 0)
    os.kill(job.pid, signal.SIGTERM)
    snap = job.wait(10)
    assert snap.state == "cancelled"
    assert_gone(job.pid)
    assert listing(tmp_path) == set()


# -- the front end dies --------------------------------------------------------------------
def _start_cli(*args: str | Path) -> tuple[subprocess.Popen[str], psutil.Process]:
    """Start the CLI; return it and its supervisor once that is up."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "segycore.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = psutil.Process(cli.pid).children()
        supervisors = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
        if supervisors:
            return cli, supervisors[0]
        assert cli.poll() is None, cli.communicate()
        time.sleep(0.01)
    cli.kill()
    raise AssertionError("the CLI started no supervisor")


def test_killed_cli_takes_its_export_supervisor_along(survey_dataset: Path, tmp_path: Path) -> None:
    cli, supervisor = _start_cli(
        "export", survey_dataset, tmp_path / "out.sgy", "--rate-limit", "4", "--workers", "1"
    )
    try:
        wait_for_path(f".out.sgy{STAGING_MARKER}*", tmp_path)
        time.sleep(0.2)  # well into the parallel stage
        cli.kill()
        cli.communicate(timeout=5)
        supervisor.wait(10)  # raises if the supervisor outlives its front end
    finally:
        cli.kill()
        cli.communicate()
    assert listing(tmp_path) == set()
    # The dead CLI could not unlink its block; the next job start removes it.
    remove_stale_blocks()
    assert not list(Path("/dev/shm").glob(f"segycore_{cli.pid}_*"))


@pytest.mark.parametrize("kind", ["import", "export"])
def test_ctrl_c_cancels_the_cli_job_and_leaves_nothing(
    kind: str, survey: Path, survey_dataset: Path, tmp_path: Path
) -> None:
    source = survey if kind == "import" else survey_dataset
    before = file_state(source / "traces.npy" if kind == "export" else source)
    destination = tmp_path / "out"
    cli, supervisor = _start_cli(kind, source, destination, "--rate-limit", "4", "--workers", "1")
    try:
        wait_for_path(f".out{STAGING_MARKER}*", tmp_path)
        cli.send_signal(signal.SIGINT)
        _, err = cli.communicate(timeout=CLI_TIMEOUT)
    finally:
        cli.kill()
        cli.communicate()
    assert cli.returncode == 130, err
    assert err.strip() == "cancelled: nothing was written"
    assert_gone(supervisor.pid)
    assert listing(tmp_path) == set()
    assert file_state(source / "traces.npy" if kind == "export" else source) == before
    assert not list(Path("/dev/shm").glob(f"segycore_{cli.pid}_*"))
