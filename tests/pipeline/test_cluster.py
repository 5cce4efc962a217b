"""The cluster backend on a real dask.distributed LocalCluster (no mocks of distributed).

Fast tests use in-process workers (``processes=False``); the ``slow`` ones start worker
processes, kill them, cancel, lose the scheduler and hide a folder from a worker.
"""

from __future__ import annotations

import dataclasses
import filecmp
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import distributed
import numpy as np
import pyarrow.parquet as pq
import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    JobCancelled,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    open_dataset,
)
from segycore.errors import SegyError, SegyFormatError
from segycore.format.synthetic import write_survey
from segycore.pipeline import cluster
from segycore.pipeline.cluster import MISSING_EXTRA, ClusterError, plan_ranges
from tests.helpers import REPO, assert_no_staging, segy_data

PAGE = 4096


# -- fixtures -----------------------------------------------------------------------------
def _local_cluster(processes: bool = True, **options: Any) -> distributed.LocalCluster:
    """A LocalCluster on 127.0.0.1 only (in-process workers talk over inproc://)."""
    if processes:
        options["host"] = "127.0.0.1"
    return distributed.LocalCluster(
        processes=processes, dashboard_address="127.0.0.1:0", silence_logs=50, **options
    )


@pytest.fixture(scope="module")
def inproc() -> Iterator[distributed.LocalCluster]:
    """Two in-process workers of one thread each (no child processes)."""
    with _local_cluster(n_workers=2, threads_per_worker=1, processes=False) as lc:
        yield lc


@pytest.fixture
def procs() -> Iterator[distributed.LocalCluster]:
    """Two worker processes (with nannies) of one thread each, stopped at the end."""
    with _local_cluster(n_workers=2, threads_per_worker=1, processes=True) as lc:
        yield lc


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 MB IBM-float survey (10,000 traces x 1,000 samples: page-aligned ranges)."""
    path = tmp_path_factory.mktemp("survey") / "survey.sgy"
    write_survey(path, n_shots=40, traces_per_shot=250, n_samples=1000, format_code=1)
    return path


@pytest.fixture(scope="module")
def survey_1024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,024 samples of float32: 4096-byte rows after a 128-byte npy header, so no trace
    of ``traces.npy`` starts on a page boundary - the plan needs seams."""
    path = tmp_path_factory.mktemp("survey1024") / "survey.sgy"
    write_survey(path, n_shots=12, traces_per_shot=100, n_samples=1024, format_code=5)
    return path


def _client(lc: distributed.LocalCluster) -> distributed.Client:
    return distributed.Client(lc.scheduler_address, set_as_default=False)


def _job_tasks(lc: distributed.LocalCluster) -> tuple[list[str], dict[str, list[str]]]:
    """Keys of segycore tasks the scheduler still knows, and those workers execute."""
    with _client(lc) as client:
        known = client.run_on_scheduler(
            lambda dask_scheduler: [
                str(k) for k in dask_scheduler.tasks if str(k).startswith("segycore-")
            ]
        )
        running = client.run(cluster._executing, "segycore-")
    return known, {w: keys for w, keys in running.items() if keys}


def _assert_nothing_left(lc: distributed.LocalCluster) -> None:
    deadline = time.monotonic() + 5
    while (left := _job_tasks(lc)) != ([], {}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == ([], {}), f"tasks of the job left on the cluster: {left}"


# -- comparing with the thread backend ----------------------------------------------------
def _import(source: Path, destination: Path, **options: Any) -> Path:
    ParallelImportCoordinator(ImportConfig(source, destination, **options)).run()
    return destination


def _assert_same_dataset(threads: Path, other: Path) -> None:
    """``traces.npy`` and the index files byte for byte, the headers' content exactly."""
    assert filecmp.cmp(threads / "traces.npy", other / "traces.npy", shallow=False)
    a, b = pq.read_table(threads / "headers.parquet"), pq.read_table(other / "headers.parquet")
    assert a.schema == b.schema and a.equals(b)
    index = sorted(p.relative_to(threads) for p in (threads / "index").rglob("*") if p.is_file())
    assert index, "the dataset has no index files"
    assert index == sorted(
        p.relative_to(other) for p in (other / "index").rglob("*") if p.is_file()
    )
    for name in index:
        assert filecmp.cmp(threads / name, other / name, shallow=False), name
    meta_a, meta_b = open_dataset(threads).metadata, open_dataset(other).metadata
    for meta in (meta_a, meta_b):
        meta.pop("stage_seconds"), meta.pop("workers")
        meta.pop("headers_fingerprint")  # size and mtime of each dataset's own file
    assert meta_a == meta_b


def _roundtrip_both(source: Path, tmp_path: Path, address: str) -> None:
    threads = _import(source, tmp_path / "threads.ds", workers=2)
    on_cluster = _import(source, tmp_path / "cluster.ds", scheduler=address)
    _assert_same_dataset(threads, on_cluster)
    ParallelExportCoordinator(ExportConfig(threads, tmp_path / "threads.sgy", workers=2)).run()
    ParallelExportCoordinator(
        ExportConfig(on_cluster, tmp_path / "cluster.sgy", scheduler=address)
    ).run()
    assert filecmp.cmp(tmp_path / "threads.sgy", tmp_path / "cluster.sgy", shallow=False)
    assert_no_staging(tmp_path)


# -- planning (pure) ----------------------------------------------------------------------
def _pages(first_byte: int, bpt: int, a: int, b: int) -> set[int]:
    return set(range((first_byte + a * bpt) // PAGE, (first_byte + b * bpt - 1) // PAGE + 1))


@pytest.mark.parametrize(
    ("n", "first", "bpt", "threads", "task"),
    [
        (1_000_000, 128, 4000, 2, 256 * 2**20),  # W2's traces.npy: aligned boundaries
        (1_000_000, 3600, 4240, 4, 64 * 2**20),  # W2's export: aligned boundaries
        (100_000, 128, 4096, 2, 16 * 2**20),  # 1024 float32 samples: seams
        (50_000, 3600, 1240, 3, 8 * 2**20),  # 250 samples export: gcd 8, 3600 % 8 == 0
        (20_000, 3601, 1000, 2, 4 * 2**20),  # nothing aligns: all seams
        (7, 128, 4000, 4, 2**20),  # fewer traces than 3 per thread
        (1, 3600, 240, 2, 2**20),
    ],
)
def test_plan_covers_every_trace_and_never_shares_a_page(
    n: int, first: int, bpt: int, threads: int, task: int
) -> None:
    plan = plan_ranges(n, first, bpt, threads, task, PAGE)
    ordered = plan.ordered
    assert ordered[0][0] == 0 and ordered[-1][1] == n
    assert all(a < b for a, b in ordered)
    assert all(ordered[i][1] == ordered[i + 1][0] for i in range(len(ordered) - 1))
    for wave in (plan.ranges, plan.seams):  # tasks that may run at the same time
        pages = [_pages(first, bpt, a, b) for a, b in wave]
        for i in range(len(pages)):
            for j in range(i + 1, len(pages)):
                assert not pages[i] & pages[j], (wave[i], wave[j])
    if n >= 3 * threads * 64:
        assert len(plan.ranges) >= 3 * threads
        assert max(b - a for a, b in plan.ranges) * bpt <= task + PAGE * bpt
    if first % np.gcd(bpt, PAGE) == 0:
        assert not plan.seams
        assert all((first + a * bpt) % PAGE == 0 for a, _ in plan.ranges[1:])


def test_plan_of_a_few_hundred_mb_ranges() -> None:
    plan = plan_ranges(1_000_000, 128, 4000, 2)  # W2: 4 GB of samples, default 256 MB tasks
    sizes = [(b - a) * 4000 for a, b in plan.ranges]
    assert len(sizes) == 15
    assert all(200e6 < s < 300e6 for s in sizes)


# -- configuration --------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["", "not an address", "http://host:80", "tcp://", 8786])
def test_config_refuses_a_bad_address(address: object, tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="not a dask scheduler address"):
        ImportConfig(tmp_path / "x.sgy", tmp_path / "x.ds", scheduler=address)  # type: ignore[arg-type]


def test_config_without_the_dask_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import` sees when absent
    with pytest.raises(ClusterError) as info:
        ExportConfig(tmp_path, tmp_path / "x.sgy", scheduler="tcp://127.0.0.1:8786")
    assert str(info.value) == MISSING_EXTRA


def test_export_segments_are_refused_on_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(SegyError, match="segments"):
        ExportConfig(tmp_path, tmp_path / "x.sgy", segments=True, scheduler="tcp://h:1")


def test_the_backend_refuses_tasks_it_cannot_plan() -> None:
    @dataclasses.dataclass(frozen=True)
    class Other:
        index: int
        start: int
        stop: int

    backend = cluster.ClusterBackend("tcp://127.0.0.1:8786")
    with pytest.raises(ClusterError, match="no cluster plan for tasks of type Other"):
        backend.run([Other(0, 0, 10)], lambda task, ctx: None, None, threading.Event())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the socket is: nothing listens there


def test_unreachable_scheduler(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach the dask scheduler at {address}"):
        _import(survey, tmp_path / "ds", scheduler=address)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


# -- in-process workers ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["small.sgy", "f3.sgy", "small-lsb.sgy", "long.sgy"])
def test_real_files_identical_to_threads(
    name: str, tmp_path: Path, inproc: distributed.LocalCluster
) -> None:
    _roundtrip_both(segy_data(name), tmp_path, inproc.scheduler_address)
    _assert_nothing_left(inproc)


def test_seams_identical_to_threads(
    survey_1024: Path, tmp_path: Path, inproc: distributed.LocalCluster
) -> None:
    layout_plan = plan_ranges(1200, 128, 4096, 2)
    assert layout_plan.seams, "this layout should need seams"
    _roundtrip_both(survey_1024, tmp_path, inproc.scheduler_address)


def test_many_small_tasks_identical_to_threads(
    survey: Path, tmp_path: Path, inproc: distributed.LocalCluster
) -> None:
    """1 MB tasks: about 40 import ranges and 42 export ranges, each a copy of the
    coordinator's task record with its own range, results in trace order."""
    backend = cluster.ClusterBackend(inproc.scheduler_address, task_bytes=2**20)
    threads = _import(survey, tmp_path / "threads.ds", workers=2)
    coordinator = ParallelImportCoordinator(
        ImportConfig(survey, tmp_path / "cluster.ds"), backend=backend
    )
    results, _ = coordinator.run_parallel_import()
    assert len(results) >= 38
    assert [r.index for r in results] == list(range(len(results)))
    assert [r.first_trace for r in results] == sorted(r.first_trace for r in results)
    assert results[0].first_trace == 0 and results[-1].end_trace == 10_000
    coordinator.abort()
    _import(survey, tmp_path / "cluster.ds", scheduler=inproc.scheduler_address)
    _assert_same_dataset(threads, tmp_path / "cluster.ds")
    ParallelExportCoordinator(ExportConfig(threads, tmp_path / "t.sgy", workers=2)).run()
    ParallelExportCoordinator(ExportConfig(threads, tmp_path / "c.sgy"), backend=backend).run()
    assert filecmp.cmp(tmp_path / "t.sgy", tmp_path / "c.sgy", shallow=False)
    assert_no_staging(tmp_path)


def test_progress_comes_from_the_tasks(
    survey: Path, tmp_path: Path, inproc: distributed.LocalCluster
) -> None:
    records = []
    coordinator = ParallelImportCoordinator(
        ImportConfig(survey, tmp_path / "ds", scheduler=inproc.scheduler_address, rate_limit=40)
    )
    results, n = coordinator.run_parallel_import(records.append)
    assert n == 10_000 and len(results) == 6  # 3 tasks per worker thread
    assert [r.first_trace for r in results] == sorted(r.first_trace for r in results)
    done = [r.done for r in records]
    assert done == sorted(done) and done[-1] == records[-1].total == 10_000
    # bytes are only known from the tasks' events: seen mid-stage, they came through
    assert any(r.bytes_done > 0 and r.done < r.total for r in records)
    assert max(r.active_workers for r in records) >= 1
    assert any(r.eta_seconds is not None and r.eta_seconds > 0 for r in records)
    coordinator.abort()


def _run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, errors


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_cancel_mid_job_stops_every_task(
    survey: Path, tmp_path: Path, inproc: distributed.LocalCluster
) -> None:
    seen = []
    coordinator = ParallelImportCoordinator(
        ImportConfig(survey, tmp_path / "ds", scheduler=inproc.scheduler_address, rate_limit=8)
    )
    thread, errors = _run_in_thread(
        lambda: coordinator.run(lambda key, record: seen.append(record))
    )
    _wait_for(lambda: any(getattr(r, "bytes_done", 0) > 0 for r in seen))
    coordinator.cancel()
    started = time.monotonic()
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
    assert len(errors) == 1 and isinstance(errors[0], JobCancelled)
    assert seen[-1].done < seen[-1].total
    # when run() returned, no task of the job ran any more, and nothing was left
    assert _job_tasks(inproc) == ([], {})
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


def test_a_task_error_is_the_job_error(tmp_path: Path, inproc: distributed.LocalCluster) -> None:
    source = tmp_path / "s.sgy"
    write_survey(source, n_shots=10, traces_per_shot=100, n_samples=500, format_code=1)
    coordinator = ParallelImportCoordinator(
        ImportConfig(source, tmp_path / "ds", scheduler=inproc.scheduler_address)
    )
    os.truncate(source, source.stat().st_size - 3000)  # cut after the driver validated it
    with pytest.raises(SegyFormatError, match="s.sgy ended at byte"):  # a task's own error
        coordinator.run()
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)
    _assert_nothing_left(inproc)


# -- worker processes ----------------------------------------------------------------------------
@pytest.mark.slow
def test_worker_processes_identical_to_threads(
    survey_1024: Path, tmp_path: Path, procs: distributed.LocalCluster
) -> None:
    _roundtrip_both(survey_1024, tmp_path, procs.scheduler_address)


def _worker_pids(lc: distributed.LocalCluster) -> dict[str, int]:
    with _client(lc) as client:
        return client.run(os.getpid)


def _kill_a_busy_worker(lc: distributed.LocalCluster, seen: list[Any]) -> int:
    """Once a task reported progress, SIGKILL the process of a worker executing one."""
    _wait_for(lambda: any(getattr(r, "bytes_done", 0) > 0 for r in seen), 60)
    with _client(lc) as client:
        busy = client.run(cluster._executing, "segycore-")
        pids = client.run(os.getpid)
    victim = next(w for w, keys in sorted(busy.items()) if keys)
    os.kill(pids[victim], signal.SIGKILL)
    return pids[victim]


@pytest.mark.slow
def test_a_killed_worker_has_its_range_rerun(
    survey: Path, tmp_path: Path, procs: distributed.LocalCluster
) -> None:
    threads = _import(survey, tmp_path / "threads.ds", workers=2)
    seen: list[Any] = []
    config = ImportConfig(
        survey, tmp_path / "cluster.ds", scheduler=procs.scheduler_address, rate_limit=20
    )
    thread, errors = _run_in_thread(
        lambda: ParallelImportCoordinator(config).run(lambda key, r: seen.append(r))
    )
    killed = _kill_a_busy_worker(procs, seen)
    thread.join(120)
    assert not errors, errors
    assert killed not in _worker_pids(procs).values()  # it really died (the nanny restarted it)
    _assert_same_dataset(threads, tmp_path / "cluster.ds")


@pytest.mark.slow
def test_when_the_scheduler_gives_up_the_job_fails_cleanly(survey: Path, tmp_path: Path) -> None:
    with _local_cluster(
        n_workers=2, threads_per_worker=1, scheduler_kwargs={"allowed_failures": 0}
    ) as lc:
        seen: list[Any] = []
        config = ImportConfig(
            survey, tmp_path / "ds", scheduler=lc.scheduler_address, rate_limit=20
        )
        thread, errors = _run_in_thread(
            lambda: ParallelImportCoordinator(config).run(lambda key, r: seen.append(r))
        )
        _kill_a_busy_worker(lc, seen)
        thread.join(120)
        assert len(errors) == 1 and isinstance(errors[0], ClusterError), errors
        assert "died 1 times" in str(errors[0]) and "worker tcp://127.0.0.1:" in str(errors[0])
        _assert_nothing_left(lc)
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args: list[str], **options: Any) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options
    )


def _spawn_scheduler() -> tuple[subprocess.Popen[bytes], str]:
    """A dask scheduler process on a free loopback port, and its address."""
    port = _free_port()
    command = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = _spawn([*command, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
    return scheduler, f"tcp://127.0.0.1:{port}"


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _wait_for_workers(address: str, n: int) -> None:
    with distributed.Client(address, set_as_default=False, timeout=30) as client:
        client.wait_for_workers(n, timeout=60)


@pytest.mark.slow
def test_losing_the_scheduler_fails_the_job(survey: Path, tmp_path: Path) -> None:
    scheduler, address = _spawn_scheduler()
    worker = None
    try:
        worker = _spawn(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--death-timeout",
                "5",
            ]
        )
        _wait_for_workers(address, 1)
        seen: list[Any] = []
        config = ImportConfig(survey, tmp_path / "ds", scheduler=address, rate_limit=10)
        thread, errors = _run_in_thread(
            lambda: ParallelImportCoordinator(config).run(lambda key, r: seen.append(r))
        )
        _wait_for(lambda: any(getattr(r, "bytes_done", 0) > 0 for r in seen), 60)
        scheduler.kill()
        thread.join(60)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], ClusterError), errors
        assert f"lost the dask scheduler at {address}" in str(errors[0])
    finally:
        _stop(scheduler, *([worker] if worker else []))
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_works(), reason="needs unshare --map-root-user --mount")
def test_a_worker_that_cannot_see_the_folder(survey: Path, tmp_path: Path) -> None:
    """A real worker process whose filesystem differs: it runs in its own mount namespace
    with an empty tmpfs over the job's folder, as a host without the shared mount would.
    The probe must name that worker and the folder before anything is converted."""
    out = tmp_path / "out"
    out.mkdir()
    scheduler, address = _spawn_scheduler()
    worker = None
    try:
        worker = _spawn(
            [
                "unshare",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                f'mount -t tmpfs none "{out}" && exec "{sys.executable}" -m '
                f"distributed.cli.dask_worker {address} --no-nanny --nthreads 1 "
                "--no-dashboard --name hidden",
            ],
            start_new_session=True,
        )
        _wait_for_workers(address, 1)
        with pytest.raises(ClusterError) as info:
            _import(survey, out / "ds", scheduler=address)
        message = str(info.value)
        assert message.startswith("worker tcp://127.0.0.1:")
        assert f"{out}" in message and "probe token" in message
    finally:
        _stop(scheduler, *([worker] if worker else []))
    assert sorted(p.name for p in out.iterdir()) == []  # the token and the staging are gone


# -- the supervisor as driver: job API and command line ---------------------------------------
@pytest.mark.slow
def test_job_progress_lands_in_the_block(
    survey: Path, tmp_path: Path, procs: distributed.LocalCluster
) -> None:
    from segycore.runtime.jobs import start_import

    config = ImportConfig(survey, tmp_path / "ds", scheduler=procs.scheduler_address, rate_limit=40)
    snapshots = []
    with start_import(config) as job:
        while (snap := job.snapshot()).state not in ("done", "failed", "cancelled"):
            snapshots.append(snap)
            time.sleep(0.02)
    assert snap.state == "done", snap.error
    parallel = [s for s in snapshots if s.stage_index == 0 and s.state == "running"]
    assert any(0 < s.stages[0].done < 10_000 and s.active_workers >= 1 for s in parallel)
    assert any(s.eta_seconds is not None and s.eta_seconds > 0 for s in parallel)
    _assert_same_dataset(_import(survey, tmp_path / "threads.ds", workers=2), tmp_path / "ds")


@pytest.mark.slow
def test_cli_import_and_export_on_a_cluster(
    survey: Path, tmp_path: Path, procs: distributed.LocalCluster
) -> None:
    from segycore.cli import main

    address = procs.scheduler_address
    assert main(["import", str(survey), str(tmp_path / "c.ds"), "--scheduler", address]) == 0
    assert (
        main(["export", str(tmp_path / "c.ds"), str(tmp_path / "c.sgy"), "--scheduler", address])
        == 0
    )
    assert filecmp.cmp(survey, tmp_path / "c.sgy", shallow=False)  # IBM floats round trip
    _assert_same_dataset(_import(survey, tmp_path / "t.ds", workers=2), tmp_path / "c.ds")


def test_cli_refuses_a_bad_scheduler_address(
    survey: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segycore.cli import main

    assert main(["import", str(survey), str(tmp_path / "ds"), "--scheduler", "nowhere"]) == 1
    assert "error: not a dask scheduler address: 'nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


@pytest.mark.slow
def test_ctrl_c_on_a_cluster_job(
    survey: Path, tmp_path: Path, procs: distributed.LocalCluster
) -> None:
    """SIGINT to the command's process group, as a terminal sends it: exit 130 within a
    few seconds, no task of the job left on the cluster, nothing written."""
    cli = _spawn(
        [
            sys.executable,
            "-m",
            "segycore.cli",
            "import",
            str(survey),
            str(tmp_path / "ds"),
            "--scheduler",
            procs.scheduler_address,
            "--rate-limit",
            "4",
            "--quiet",
        ],
        start_new_session=True,
    )
    try:
        _wait_for(lambda: bool(_job_tasks(procs)[1]), 60)  # a task of the job is running
        os.killpg(cli.pid, signal.SIGINT)
        started = time.monotonic()
        code = cli.wait(30)
        assert time.monotonic() - started < 5
        assert code == 130
    finally:
        _stop(cli)
    assert _job_tasks(procs) == ([], {})
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)


def test_a_cluster_without_workers(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "WORKERS_TIMEOUT", 0.5)
    with (
        _local_cluster(processes=False, n_workers=0) as lc,
        pytest.raises(ClusterError, match="has no workers .none arrived within 0.5 s"),
    ):
        _import(survey, tmp_path / "ds", scheduler=lc.scheduler_address)
    assert not (tmp_path / "ds").exists()
    assert_no_staging(tmp_path)
