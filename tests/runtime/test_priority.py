"""A job yields to its front end: every thread of a running supervisor is read back from
/proc at nice +10, SCHED_BATCH and idle-class I/O; ``SEGYCORE_PRIORITY=normal`` opts out."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from segycore import ImportConfig, start_import
from segycore.format.synthetic import write_survey
from segycore.runtime import priority
from segycore.runtime.priority import (
    IOPRIO_CLASS_IDLE,
    LOW_NICE,
    PRIORITY_ENV,
    ThreadPriority,
    job_priority,
    lower_thread,
    read_thread_priority,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread priorities are read from /proc"
)


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 8 MB: with an 8 MB/s rate limit the parallel import lasts about a second."""
    folder = tmp_path_factory.mktemp("priority-survey")
    return write_survey(folder / "survey.sgy", n_shots=20, traces_per_shot=100, n_samples=1000)


def _sample_threads(pid: int) -> list[ThreadPriority]:
    threads = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            threads.append(read_thread_priority(pid, int(tid)))
    return threads


def _threads_while_importing(survey: Path, destination: Path) -> list[ThreadPriority]:
    """Every thread of the supervisor, sampled every 10 ms from the moment its workers
    run until the import has ended (merge, index and cleanup threads included)."""
    job = start_import(ImportConfig(survey, destination, workers=2, rate_limit=8))
    seen: list[ThreadPriority] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            snap = job.snapshot()
            if snap.state in ("done", "failed", "cancelled"):
                break
            if snap.state == "running" and job.pid is not None:
                with contextlib.suppress(OSError):  # the supervisor exited meanwhile
                    seen += _sample_threads(job.pid)
            assert time.monotonic() < deadline, "the import did not end"
            time.sleep(0.01)
        assert snap.state == "done", snap
        return seen
    finally:
        job.close()


def test_every_supervisor_thread_runs_at_low_priority(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PRIORITY_ENV, raising=False)  # the default is low
    threads = _threads_while_importing(survey, tmp_path / "low.dataset")
    assert len({t.tid for t in threads}) >= 4  # main, watcher, two workers, decode pool ...
    for thread in threads:
        assert thread.nice >= LOW_NICE, thread
        assert thread.policy == "batch", thread
        if thread.io_class is not None:
            assert thread.io_class == IOPRIO_CLASS_IDLE, thread
    assert read_thread_priority(os.getpid(), threading.get_native_id()).nice < LOW_NICE


def test_normal_priority_leaves_the_scheduler_alone(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRIORITY_ENV, "normal")
    own = read_thread_priority(os.getpid(), threading.get_native_id())
    threads = _threads_while_importing(survey, tmp_path / "normal.dataset")
    assert len({t.tid for t in threads}) >= 4
    assert {t.nice for t in threads} == {own.nice}
    assert {t.policy for t in threads} == {own.policy}


def test_lower_thread_changes_only_that_thread() -> None:
    seen: list[ThreadPriority] = []

    def lower_myself() -> None:
        tid = threading.get_native_id()
        assert lower_thread(tid)
        seen.append(read_thread_priority(os.getpid(), tid))

    worker = threading.Thread(target=lower_myself)  # a throwaway thread: it cannot go back
    worker.start()
    worker.join()
    assert seen and seen[0].nice >= LOW_NICE and seen[0].policy == "batch"
    me = read_thread_priority(os.getpid(), threading.get_native_id())
    assert me.nice < LOW_NICE and me.policy == "other"


def test_threads_started_does_nothing_in_a_process_that_did_not_opt_in() -> None:
    assert priority._active == ""  # the test process never called apply_job_priority
    before = read_thread_priority(os.getpid(), threading.get_native_id())
    priority.threads_started()
    assert read_thread_priority(os.getpid(), threading.get_native_id()) == before


def test_unknown_level_falls_back_to_low_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PRIORITY_ENV, "Normal ")
    assert job_priority() == "normal"
    monkeypatch.setenv(PRIORITY_ENV, "turbo")
    assert job_priority() == "low"
    assert "ignoring SEGYCORE_PRIORITY='turbo'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="priority must be one of"):
        priority.apply_job_priority("turbo")
