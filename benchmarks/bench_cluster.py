"""The cluster backend against the worker threads, on one machine, in the same run.

    python benchmarks/bench_cluster.py --workload W2 --repeat 3
    python benchmarks/bench_cluster.py --traces 100000 --repeat 2 --task-mb 64 256 512

A two-worker ``distributed.LocalCluster`` (worker processes, one thread each) is started
once, as a real cluster would be running already (its start-up time is printed, not
counted). Every contender is the real command line in a child process (supervisor
included): ``segycore import|export --workers 2`` (threads) and ``segycore import|export
--scheduler ADDRESS`` with ``SEGYCORE_TASK_MB`` set to each task size. Runs alternate,
dirty pages are flushed before each; the tables give min/median/max seconds, each
contender's ratio to ``cp`` and the cluster's ratio to the threads, round by round, for
the whole command and for its parallel stage alone (from the summary it prints: the
command also pays fixed costs - importing distributed, connecting, the probe).
Peak RSS is the driver's process tree only (the cluster's workers are not its children).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench_import_export import printed_stages

from common import (
    WORKLOADS,
    Contender,
    child_env,
    ensure_workload,
    markdown_table,
    ratios,
    read_ahead,
    remover,
    run_alternating,
)

__all__ = ["cluster_contenders", "main", "overhead_table"]

SEGYCORE = [sys.executable, "-m", "segycore.cli"]
DEFAULT_TASK_MB = (64, 256, 512)


def cluster_contenders(
    kind: str, source: Path, out: Path, address: str, task_mb: Sequence[int], segy: Path
) -> list[Contender]:
    """``cp`` of the SEG-Y file ``segy``, the threads and the cluster (one per task size)
    for ``import`` or ``export`` of ``source``."""
    suffix = ".ds" if kind == "import" else ".sgy"
    cp_out = out / f"cp-{kind}.bin"
    contenders = [Contender("cp", lambda: ["cp", str(segy), str(cp_out)], remover(cp_out))]
    threads = out / f"threads{suffix}"
    contenders.append(
        Contender(
            "threads (2 workers)",
            lambda: [*SEGYCORE, kind, str(source), str(threads), "--workers", "2"],
            remover(threads),
            kind="segycore",
            stages=printed_stages,
        )
    )
    for mb in task_mb:
        target = out / f"cluster-{mb}{suffix}"
        contenders.append(
            Contender(
                f"cluster 2x1, {mb} MB tasks",
                lambda target=target: [
                    *SEGYCORE,
                    kind,
                    str(source),
                    str(target),
                    "--scheduler",
                    address,
                ],
                remover(target),
                kind="segycore",
                env=child_env({"SEGYCORE_TASK_MB": str(mb)}),
                stages=printed_stages,
            )
        )
    return contenders


def _stage_ratios(contender: Contender, threads: Contender, stage: str) -> list[float]:
    return [
        a.stages[stage] / b.stages[stage]
        for a, b in zip(contender.timings, threads.timings, strict=False)
        if a.stages.get(stage) and b.stages.get(stage)
    ]


def overhead_table(contenders: Sequence[Contender], stage: str) -> str:
    """Each cluster contender over the threads, round by round: the whole command, and
    its parallel stage alone (``stage``, as the command's summary prints it)."""
    threads = next(c for c in contenders if c.name.startswith("threads"))
    lines = [
        f"| contender | command x threads | {stage} stage s (median) | {stage} stage x threads |",
        "| --- | ---: | ---: | ---: |",
    ]
    for c in [threads, *(c for c in contenders if c.name.startswith("cluster"))]:
        whole, part = ratios(c, threads), _stage_ratios(c, threads, stage)
        seconds = statistics.median(t.stages.get(stage, float("nan")) for t in c.timings)
        lines.append(f"| {c.name} | {_spread(whole)} | {seconds:.2f} | {_spread(part)} |")
    return "\n".join(lines)


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="W1")
    parser.add_argument("--traces", type=int, help="override the workload's trace count")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--task-mb", type=int, nargs="+", default=list(DEFAULT_TASK_MB))
    parser.add_argument("--dir", type=Path, default=Path("/tmp/segycore-bench-cluster"))
    parser.add_argument("--json", type=Path, help="also write the runs as JSON here")
    args = parser.parse_args(argv)

    n_traces, n_samples = WORKLOADS[args.workload]
    n_traces = args.traces or n_traces
    args.dir.mkdir(parents=True, exist_ok=True)
    source = ensure_workload(args.dir, n_traces, n_samples)
    out = args.dir / "out"
    out.mkdir(exist_ok=True)
    dataset = out / "export-input.ds"
    if not dataset.exists():  # the export's input, imported once with the threads
        from segycore import ImportConfig, ParallelImportCoordinator

        ParallelImportCoordinator(ImportConfig(source, dataset, workers=2)).run()

    # The workers import segycore from this checkout, as the command line children do.
    os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
    import distributed

    started = time.monotonic()
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=50,
    ) as cluster:
        print(
            f"LocalCluster (2 worker processes x 1 thread) at {cluster.scheduler_address} "
            f"started in {time.monotonic() - started:.1f} s (not counted)",
            file=sys.stderr,
        )
        report: dict[str, object] = {"traces": n_traces, "samples": n_samples}
        size = source.stat().st_size
        print(f"# {n_traces:,} traces x {n_samples} samples ({size / 1e9:.2f} GB)\n")
        for kind, input_path in (("import", source), ("export", dataset)):
            read_ahead(input_path)
            contenders = cluster_contenders(
                kind, input_path, out, cluster.scheduler_address, args.task_mb, source
            )
            run_alternating(contenders, args.repeat)
            print(f"## {kind}\n")
            print(markdown_table(contenders, size_bytes=size))
            print()
            print(overhead_table(contenders, kind))
            print()
            report[kind] = [c.to_dict() for c in contenders]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
