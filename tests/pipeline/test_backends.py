"""The parallel-stage seam: plain-data tasks, module-level task functions, backends,
and the one reporting interface every stage goes through."""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    JobCancelled,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
)
from segycore.format.synthetic import write_survey
from segycore.pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, ParallelProgress, Stage
from segycore.pipeline.tasks import ExportTask, ImportTask, export_range, import_range
from segycore.pipeline.workers import RateLimiter, ThreadBackend, WorkerStatus


class _Context:
    """A task context as a remote backend would give one: counts, checks a flag."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.done = 0
        self.bytes_done = 0

    def advance(self, traces: int, nbytes: int = 0) -> None:
        self.done += traces
        self.bytes_done += nbytes
        self.check_cancel()

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise JobCancelled("cancelled by the user")


class PickledSequentialBackend:
    """Runs tasks one after another, each pickled and unpickled first (function by name,
    task as data, result as data) - what a distributed backend does to them."""

    def __init__(self) -> None:
        self.tasks: list[Any] = []

    def run(
        self,
        tasks: Sequence[Any],
        fn: Callable[[Any, Any], Any],
        on_progress: Callable[[Sequence[WorkerStatus]], None] | None,
        cancel_event: threading.Event,
    ) -> list[Any]:
        remote_fn = pickle.loads(pickle.dumps(fn))
        results = []
        statuses = {t.index: WorkerStatus(t.index, t.start, t.stop, 0, 0, "running") for t in tasks}
        for task in tasks:
            remote_task = pickle.loads(pickle.dumps(task))
            self.tasks.append(remote_task)
            ctx = _Context(cancel_event)
            results.append(pickle.loads(pickle.dumps(remote_fn(remote_task, ctx))))
            statuses[task.index] = WorkerStatus(
                task.index, task.start, task.stop, ctx.done, ctx.bytes_done, "done"
            )
            if on_progress is not None:
                on_progress(list(statuses.values()))
        return results


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backends")
    return write_survey(folder / "s.sgy", n_shots=6, traces_per_shot=50, n_samples=120)


def _plain(task: Any) -> None:
    """Every field of a task is a plain value: no arrays, no file contents, no handles."""
    for f in dataclasses.fields(task):
        value = getattr(task, f.name)
        assert isinstance(value, str | int | bool), (f.name, type(value))
        assert not isinstance(value, bytes | np.ndarray)


def test_another_backend_runs_the_same_task_functions(survey: Path, tmp_path: Path) -> None:
    threads = ParallelImportCoordinator(ImportConfig(survey, tmp_path / "a", workers=3)).run()
    backend = PickledSequentialBackend()
    other = ParallelImportCoordinator(ImportConfig(survey, tmp_path / "b", workers=3), backend)
    other.run()
    assert [type(t) for t in backend.tasks] == [ImportTask] * 3
    for task in backend.tasks:
        _plain(task)
    for name in ("traces.npy", "headers.parquet"):
        assert (threads.dataset / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    for segments in (False, True):
        out = tmp_path / f"out-{segments}.sgy"
        backend = PickledSequentialBackend()
        config = ExportConfig(tmp_path / "b", out, workers=3, segments=segments)
        ParallelExportCoordinator(config, backend).run()
        assert [type(t) for t in backend.tasks] == [ExportTask] * 3
        for task in backend.tasks:
            _plain(task)
        assert out.read_bytes() == survey.read_bytes()


def test_task_functions_are_importable_by_name() -> None:
    for fn in (import_range, export_range):
        assert pickle.loads(pickle.dumps(fn)) is fn
        assert fn.__module__ == "segycore.pipeline.tasks"


class _Recorder:
    """A StageReporter that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def begin(self, stage: Stage, total: int, bytes_total: int = 0) -> None:
        self.calls.append(("begin", (stage.key, total, bytes_total)))

    def advance(self, done: int, bytes_done: int = 0) -> None:
        self.calls.append(("advance", (done, bytes_done)))

    def parallel(self, progress: ParallelProgress) -> None:
        self.calls.append(("parallel", progress))

    def workers(self, statuses: Sequence[WorkerStatus]) -> None:
        self.calls.append(("workers", tuple(statuses)))

    def finish(self) -> None:
        self.calls.append(("finish", None))


def _stage_spans(calls: list[tuple[str, Any]]) -> list[tuple[str, int, int]]:
    spans = []
    for verb, args in calls:
        if verb == "begin":
            spans.append(args)
        if verb == "finish":
            assert spans, "finish before begin"
    return spans


def test_run_reports_every_stage_through_one_reporter(survey: Path, tmp_path: Path) -> None:
    recorder = _Recorder()
    coordinator = ParallelImportCoordinator(ImportConfig(survey, tmp_path / "ds", workers=2))
    coordinator.run(reporter=recorder)
    layout = coordinator.layout
    assert _stage_spans(recorder.calls) == [
        ("import", 300, layout.file_size - layout.data_offset),
        ("merge_headers", 2, 0),
        ("build_index", 300, 0),
        ("cleanup", 2, 0),
    ]
    assert [s.key for s in IMPORT_STAGES] == [span[0] for span in _stage_spans(recorder.calls)]
    verbs = [verb for verb, _ in recorder.calls]
    assert verbs.count("begin") == verbs.count("finish") == 4
    last_parallel = [a for v, a in recorder.calls if v == "parallel"][-1]
    assert (last_parallel.done, last_parallel.total, last_parallel.active_workers) == (300, 300, 0)
    last_workers = [a for v, a in recorder.calls if v == "workers"][-1]
    assert [(s.index, s.done, s.total, s.state) for s in last_workers] == [
        (0, 150, 150, "done"),
        (1, 150, 150, "done"),
    ]

    recorder = _Recorder()
    exporter = ParallelExportCoordinator(ExportConfig(tmp_path / "ds", tmp_path / "o.sgy"))
    exporter.run(reporter=recorder)
    size = survey.stat().st_size
    assert _stage_spans(recorder.calls) == [
        ("export", 300, exporter.traces_bytes),
        ("merge", size, size),
        ("cleanup", 0, 0),
    ]
    assert [s.key for s in EXPORT_STAGES] == [span[0] for span in _stage_spans(recorder.calls)]
    assert ("advance", (size, size)) in recorder.calls


class _Boom(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class _Task:
    index: int
    start: int
    stop: int


def test_a_failing_worker_stops_one_held_by_the_rate_limit_at_once() -> None:
    """Worker 1 is paused by the rate cap for ~1000 s when worker 0 fails: the failure
    must wake it and end the stage (the wait below is only a guard against a hang)."""
    limiter = RateLimiter(0.001)  # 1 kB/s: a 1 MB advance owes ~1000 s
    paused = threading.Event()

    def work(task: _Task, ctx: Any) -> str:
        if task.index == 0:
            assert paused.wait(30)
            raise _Boom("worker 0 failed")
        threading.Timer(0.2, paused.set).start()  # once worker 1 is inside the limiter
        ctx.advance(1, 1_000_000)
        return "finished"  # pragma: no cover - never: the failure cancels it

    outcome: list[BaseException] = []
    ended = threading.Event()

    def stage() -> None:
        try:
            ThreadBackend(limiter).run(
                [_Task(0, 0, 1), _Task(1, 1, 2)], work, None, threading.Event()
            )
        except BaseException as exc:
            outcome.append(exc)
        finally:
            ended.set()

    runner = threading.Thread(target=stage)
    runner.start()
    assert ended.wait(30), "the failing worker did not stop the paused one"
    runner.join()
    assert len(outcome) == 1 and isinstance(outcome[0], _Boom)


def test_cancel_reaches_a_worker_held_by_the_rate_limit() -> None:
    limiter = RateLimiter(0.001)
    cancel = threading.Event()

    def work(task: _Task, ctx: Any) -> None:
        threading.Timer(0.2, cancel.set).start()
        ctx.advance(1, 1_000_000)

    ended = threading.Event()
    outcome: list[BaseException] = []

    def stage() -> None:
        try:
            ThreadBackend(limiter).run([_Task(0, 0, 1)], work, None, cancel)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            ended.set()

    threading.Thread(target=stage).start()
    assert ended.wait(30), "cancel did not wake the paused worker"
    assert isinstance(outcome[0], JobCancelled)
