"""The job API's responsiveness: supervisor start-up and the gaps between progress updates.

Two measurements over :func:`segycore.start_import` / :func:`segycore.start_export`
(issue 4's benchmark requirements):

* start-up: seconds from the ``start_*`` call to the first heartbeat, to the first
  snapshot whose state is ``running``, and to the first progress of the first stage;
* progress gaps: the job's snapshot is polled every ``poll`` seconds (2 ms); an update
  is any change of the stage index, a stage's done counter or the state. Each interval
  between two updates is charged to the stage current at its start; the bar is 250 ms.

    python benchmarks/bench_progress.py --traces 1000000    # W2
    python benchmarks/bench_progress.py --traces 10000 --startup-repeat 5

Prints Markdown tables (and with ``--json`` writes the figures for ``run_all.py``). Run
it as its own process: the supervisor is spawned, and a spawned child imports the
parent's main module again, so a heavy main module would inflate the start-up measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import find_or_make_workload, read_ahead, remover

if TYPE_CHECKING:
    from segycore.runtime.jobs import Job

__all__ = [
    "GAP_LIMIT_SECONDS",
    "JobTrace",
    "measure_startup",
    "progress_table",
    "run",
    "startup_table",
    "trace_job",
]

GAP_LIMIT_SECONDS = 0.25
POLL_SECONDS = 0.002


@dataclass
class JobTrace:
    """What polling one job saw: when each update happened and what it changed."""

    kind: str
    stage_names: list[str]
    started: float
    first_heartbeat: float | None = None
    first_running: float | None = None
    first_progress: float | None = None
    finished: float = 0.0
    state: str = ""
    polls: int = 0
    #: (time, stage index) of every update.
    updates: list[tuple[float, int]] = field(default_factory=list)
    heartbeat_gaps: list[float] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def stage_gaps(self) -> dict[str, list[float]]:
        """Intervals between updates, per stage current at the interval's start."""
        gaps: dict[str, list[float]] = defaultdict(list)
        for (t0, stage), (t1, _) in zip(self.updates, self.updates[1:], strict=False):
            if stage >= 0:
                gaps[self.stage_names[stage]].append(t1 - t0)
        return dict(gaps)

    def startup(self) -> dict[str, float | None]:
        def since(t: float | None) -> float | None:
            return None if t is None else t - self.started

        return {
            "first_heartbeat": since(self.first_heartbeat),
            "first_running": since(self.first_running),
            "first_progress": since(self.first_progress),
            "total": self.finished - self.started,
        }

    def to_dict(self) -> dict[str, Any]:
        gaps = self.stage_gaps()
        return {
            "kind": self.kind,
            "state": self.state,
            "startup": self.startup(),
            "polls": self.polls,
            "stage_max_gap": {k: max(v) for k, v in gaps.items()},
            "stage_updates": {k: len(v) for k, v in gaps.items()},
            "max_heartbeat_gap": max(self.heartbeat_gaps, default=None),
            "stage_seconds": self.stage_seconds,
        }


def trace_job(job: Job, started: float, poll: float = POLL_SECONDS) -> JobTrace:
    """Poll ``job`` to its end, recording start-up milestones and every progress update."""
    from segycore.runtime.jobs import FINAL_STATES

    trace = JobTrace(job.kind, [s.name for s in job.stages], started)
    last_key: tuple[Any, ...] | None = None
    last_beat = 0.0
    while True:
        snap = job.snapshot()
        now = time.perf_counter()
        trace.polls += 1
        if snap.heartbeat and snap.heartbeat != last_beat:
            if last_beat:
                trace.heartbeat_gaps.append(snap.heartbeat - last_beat)
            last_beat = snap.heartbeat
            if trace.first_heartbeat is None:
                trace.first_heartbeat = now
        if trace.first_running is None and snap.state not in ("starting",):
            trace.first_running = now
        if trace.first_progress is None and any(s.done for s in snap.stages):
            trace.first_progress = now
        key = (snap.stage_index, tuple(s.done for s in snap.stages), snap.state)
        if key != last_key:
            trace.updates.append((now, snap.stage_index))
            last_key = key
        if snap.state in FINAL_STATES:
            trace.finished = now
            trace.state = snap.state
            if snap.state != "done":
                raise RuntimeError(f"{job.kind} {snap.state}: {snap.error}")
            trace.stage_seconds = dict((snap.result or {}).get("stage_seconds", {}))
            return trace
        time.sleep(poll)


def _import(source: Path, dest: Path, workers: int) -> JobTrace:
    import segycore  # after common put this checkout on sys.path

    started = time.perf_counter()
    job = segycore.start_import(segycore.ImportConfig(source, dest, workers=workers))
    return trace_job(job, started)


def _export(dataset: Path, dest: Path, workers: int) -> JobTrace:
    import segycore

    started = time.perf_counter()
    job = segycore.start_export(segycore.ExportConfig(dataset, dest, workers=workers))
    return trace_job(job, started)


def measure_startup(source: Path, work: Path, repeat: int, workers: int) -> list[JobTrace]:
    """Import ``source`` ``repeat`` times through the job API; their traces."""
    traces = []
    dest = work / "startup.dataset"
    for _ in range(repeat):
        remover(dest)()
        traces.append(_import(source, dest, workers))
    remover(dest)()
    return traces


def measure_gaps(source: Path, work: Path, workers: int) -> tuple[JobTrace, JobTrace]:
    """Import then export ``source`` through the job API, polling both."""
    dataset, output = work / "progress.dataset", work / "progress.sgy"
    remover(dataset, output)()
    try:
        imported = _import(source, dataset, workers)
        exported = _export(dataset, output, workers)
    finally:
        remover(dataset, output)()
    return imported, exported


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f}"


def startup_table(traces: list[JobTrace]) -> str:
    """Median (min-max) milliseconds from ``start_import`` to each milestone."""
    lines = [
        "| from `start_import` to | median ms | min ms | max ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    labels = {
        "first_heartbeat": "first heartbeat",
        "first_running": "first snapshot with state running",
        "first_progress": "first progress of stage 1",
        "total": "job done (small file, whole job)",
    }
    for key, label in labels.items():
        values = [v for t in traces if (v := t.startup()[key]) is not None]
        if values:
            lines.append(
                f"| {label} | {_ms(statistics.median(values))} | {_ms(min(values))} | "
                f"{_ms(max(values))} |"
            )
    return "\n".join(lines)


def progress_table(traces: list[JobTrace]) -> str:
    """Per job and stage: duration, updates seen, largest interval, verdict."""
    lines = [
        "| job | stage | stage s | updates | largest interval ms | < 250 ms |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for trace in traces:
        for stage, gaps in trace.stage_gaps().items():
            worst = max(gaps)
            verdict = "yes" if worst < GAP_LIMIT_SECONDS else "**no**"
            lines.append(
                f"| {trace.kind} | {stage} | {sum(gaps):.2f} | {len(gaps)} | {_ms(worst)} | "
                f"{verdict} |"
            )
        beat = max(trace.heartbeat_gaps, default=None)
        lines.append(f"| {trace.kind} | (largest heartbeat interval) | | | {_ms(beat)} | |")
    return "\n".join(lines)


def run(
    startup_source: Path,
    gap_source: Path,
    work: Path,
    workers: int,
    startup_repeat: int = 5,
) -> dict[str, Any]:
    """Both measurements; a dict with the raw figures and the Markdown tables."""
    read_ahead(startup_source, gap_source)
    startups = measure_startup(startup_source, work, startup_repeat, workers)
    imported, exported = measure_gaps(gap_source, work, workers)
    return {
        "startup_source": str(startup_source),
        "startup_bytes": startup_source.stat().st_size,
        "gap_source": str(gap_source),
        "gap_source_bytes": gap_source.stat().st_size,
        "workers": workers,
        "startup": [t.to_dict() for t in startups],
        "gaps": [imported.to_dict(), exported.to_dict()],
        "startup_table": startup_table(startups),
        "progress_table": progress_table([imported, exported]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000, help="gap workload (W2)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--startup-traces", type=int, default=240, help="start-up workload")
    parser.add_argument("--startup-repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "segycore-bench"
    )
    parser.add_argument("--reuse", type=Path, action="append", default=[])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    folders = [args.workdir, *args.reuse]
    small = find_or_make_workload(folders, args.startup_traces, args.samples)
    big = find_or_make_workload(folders, args.traces, args.samples)
    result = run(small, big, args.workdir, args.workers, args.startup_repeat)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"Start-up ({args.startup_traces} traces, {args.startup_repeat} runs):\n")
    print(result["startup_table"])
    print(f"\nProgress intervals ({big.stat().st_size / 1e9:.2f} GB, {args.workers} workers):\n")
    print(result["progress_table"])
    worst = max(max(g["stage_max_gap"].values()) for g in result["gaps"])
    return 0 if worst < GAP_LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
