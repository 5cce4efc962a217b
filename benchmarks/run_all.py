"""The whole benchmark suite in one command: workloads, contenders, tables and figures.

    python benchmarks/run_all.py --quick               # smoke check, a few minutes
    python benchmarks/run_all.py                       # W1, W2, a scaling curve, memory series
    python benchmarks/run_all.py --with-2m             # adds 2,000,000 traces (8.5 GB)
    python benchmarks/run_all.py --parts memory        # only the trace-count memory series
    python benchmarks/run_all.py --parts workloads --sizes 1000000 --no-segyio  # W2 vs cp

Generates the workloads (IBM-float shot gathers of 1000 samples, 10k to 1M traces, and
W1 in IEEE float) in a work folder outside the repository, runs every contender in
alternation (``cp``, ``os.copy_file_range``, the single-process segyio script, MDIO
where installed, segycore import/export through its command line with 1 and 2
workers, and the roofline: a plain read+write loop in 1 MiB chunks), then the
trace-count memory series (import and export of 100k / 1M / 4M traces of 100 samples:
peak memory against trace count), the job API's start-up and progress intervals
(``bench_progress.py``), the small-file target (``bench_small_file.py``) and, when it is
there and works, the GUI heartbeat (``bench_gui.py``). ``--parts`` runs a subset.
Writes ``results.json``, a Markdown report (``README.md``) and PNG figures to ``--out``
(``docs/benchmarks`` for a full run); ``--update-readme`` also rewrites the table
between the benchmark markers in the top-level README. ``--report-only`` redraws the
report from an earlier ``results.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import bench_small_file
import report
from bench_import_export import (
    export_contenders,
    find_mdio_python,
    import_contenders,
    prepare_export_inputs,
    run_workload,
)
from machine import describe_machine, load_average

from common import REPO, child_env, find_or_make_workload, read_ahead, run_alternating, survey_size

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
FULL_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
QUICK_SIZES = (10_000,)
N_SAMPLES = 1000
#: The trace-count memory series: many short traces, so per-trace costs dominate.
MEMORY_SIZES = (100_000, 1_000_000, 4_000_000)
QUICK_MEMORY_SIZES = (10_000, 100_000)
MEMORY_SAMPLES = 100
PARTS = ("workloads", "memory", "progress", "small", "gui", "codec", "numba")
#: Free space a workload needs beside its source: a dataset and an output at once.
SPACE_FACTOR = 2.5


def workload_name(n_traces: int, format_code: int) -> str:
    """``W1``/``W2`` for DESIGN.md's sizes, else the trace count; IEEE input says so."""
    base = {100_000: "W1", 1_000_000: "W2"}.get(n_traces, f"{n_traces // 1000}k")
    return base if format_code == 1 else f"{base} IEEE"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke check in under a minute")
    parser.add_argument("--sizes", type=int, nargs="+", help="IBM workloads, in traces")
    parser.add_argument("--with-2m", action="store_true", help="add 2,000,000 traces (8.5 GB)")
    parser.add_argument(
        "--ieee-sizes", type=int, nargs="*", help="IEEE workloads in traces (default: W1)"
    )
    parser.add_argument("--repeat", type=int, help="alternating rounds (default 3, quick 1)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/segycore-bench"),
        help="workloads and outputs, outside the repository",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        action="append",
        default=[],
        help="another folder whose workload files to reuse (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="report folder (default docs/benchmarks)")
    parser.add_argument("--no-segyio", action="store_true")
    parser.add_argument("--no-mdio", action="store_true")
    parser.add_argument("--mdio-python", help="interpreter with multidimio installed")
    parser.add_argument(
        "--mdio-max-traces",
        type=int,
        default=100_000,
        help="run MDIO on workloads up to this many traces (it takes minutes per GB)",
    )
    parser.add_argument(
        "--gui-traces",
        type=int,
        help="run bench_gui.py on this many traces (default W1; quick: skipped; 0: skip)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="run only these parts (default: all)",
    )
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        help=f"memory series, traces of {MEMORY_SAMPLES} samples (default 100k 1M 4M)",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="rewrite the table between the benchmark markers in README.md",
    )
    parser.add_argument("--report-only", type=Path, metavar="RESULTS_JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = args.sizes or list(QUICK_SIZES)
        args.ieee_sizes = [] if args.ieee_sizes is None else args.ieee_sizes
        args.repeat = args.repeat or 1
        args.gui_traces = 0 if args.gui_traces is None else args.gui_traces
        args.no_mdio = True
        args.memory_sizes = args.memory_sizes or list(QUICK_MEMORY_SIZES)
        args.out = args.out or args.workdir / "quick-report"
    else:
        args.sizes = args.sizes or list(FULL_SIZES)
        args.ieee_sizes = [100_000] if args.ieee_sizes is None else args.ieee_sizes
        args.repeat = args.repeat or 3
        args.gui_traces = 100_000 if args.gui_traces is None else args.gui_traces
        args.memory_sizes = args.memory_sizes or list(MEMORY_SIZES)
        args.out = args.out or REPO / "docs" / "benchmarks"
    if args.with_2m and 2_000_000 not in args.sizes:
        args.sizes.append(2_000_000)
    return args


def run_workloads(args: argparse.Namespace, results: dict[str, Any], save) -> None:
    """Every (size, format) workload with all contenders; results saved after each."""
    mdio_python, note = (
        (None, "skipped (--no-mdio)") if args.no_mdio else find_mdio_python(args.mdio_python)
    )
    if mdio_python:
        note = (
            f"multidimio {note} through its Python API (`benchmarks/mdio_script.py`, "
            f"StreamerShotGathers2D template), on workloads up to {args.mdio_max_traces:,} "
            "traces; its export needs the SEG-Y file headers kept at import "
            "(MDIO__IMPORT__SAVE_SEGY_FILE_HEADER=1)"
        )
    results["mdio"] = {"python": mdio_python, "note": note}
    plan = [(n, 1) for n in sorted(args.sizes)] + [(n, 5) for n in sorted(args.ieee_sizes)]
    folders = [args.workdir, *args.reuse]
    for n_traces, fmt in plan:
        name = workload_name(n_traces, fmt)
        size = survey_size(n_traces, N_SAMPLES, fmt)
        free = shutil.disk_usage(args.workdir).free
        if free < SPACE_FACTOR * size:
            print(
                f"skipping {name}: needs {SPACE_FACTOR * size / 1e9:.1f} GB free", file=sys.stderr
            )
            continue
        source = find_or_make_workload(folders, n_traces, N_SAMPLES, fmt)
        print(f"== {name}: {source} ({size / 1e9:.2f} GB)", file=sys.stderr, flush=True)
        contenders = run_workload(
            source,
            args.workdir,
            args.repeat,
            args.workers,
            segyio=not args.no_segyio,
            mdio_python=mdio_python if n_traces <= args.mdio_max_traces else None,
            segments=n_traces == max(args.sizes) and fmt == 1,
        )
        results["workloads"].append(
            {
                "name": name,
                "n_traces": n_traces,
                "n_samples": N_SAMPLES,
                "format_code": fmt,
                "size_bytes": source.stat().st_size,
                "source": str(source),
                "contenders": [c.to_dict() for c in contenders],
            }
        )
        save()


def run_memory_series(args: argparse.Namespace, results: dict[str, Any], save) -> None:
    """Import and export of ever more short traces: peak memory against trace count.

    One workload per size (``MEMORY_SAMPLES`` samples a trace, so the file is small and
    the per-trace costs - headers, Parquet row groups, index - dominate), the largest
    worker count, import and export alternating; both RSS (``ru_maxrss``) and the
    sampled anonymous memory of the largest process are kept.
    """
    folders = [args.workdir, *args.reuse]
    workers = [max(args.workers)]
    for n_traces in sorted(args.memory_sizes):
        size = survey_size(n_traces, MEMORY_SAMPLES, 1)
        if shutil.disk_usage(args.workdir).free < SPACE_FACTOR * size:
            print(f"skipping memory series at {n_traces:,} traces: disk", file=sys.stderr)
            continue
        source = find_or_make_workload(folders, n_traces, MEMORY_SAMPLES)
        print(f"== memory series: {source} ({size / 1e9:.2f} GB)", file=sys.stderr, flush=True)
        work = args.workdir / "memory"
        work.mkdir(parents=True, exist_ok=True)
        dataset, _ = prepare_export_inputs(source, work)
        try:
            contenders = [
                *import_contenders(source, work, workers, segyio=False),
                *export_contenders(dataset, work, workers),
            ]
            read_ahead(source, dataset / "traces.npy")
            run_alternating(contenders, args.repeat)
        finally:
            shutil.rmtree(dataset, ignore_errors=True)
        results["memory_series"].append(
            {
                "n_traces": n_traces,
                "n_samples": MEMORY_SAMPLES,
                "size_bytes": source.stat().st_size,
                "contenders": [c.to_dict() for c in contenders],
            }
        )
        save()


def run_table_script(
    results: dict[str, Any], key: str, script: str, extra: list[str], timeout: int = 1800
) -> None:
    """A benchmark that prints Markdown (``bench_codec.py``, ``bench_numba.py``): its text."""
    print(f"== {script}", file=sys.stderr, flush=True)
    command = [sys.executable, str(HERE / script), *extra]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=child_env(), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        results[key] = {"skipped": f"{script} did not finish within {timeout} s"}
        return
    if done.returncode != 0:
        tail = " / ".join(done.stderr.strip().splitlines()[-2:])
        results[key] = {"skipped": f"{script} failed (exit {done.returncode}): {tail}"}
        return
    results[key] = {"command": f"python benchmarks/{script} {shlex.join(extra)}".strip()}
    results[key]["text"] = done.stdout.strip()


def run_progress(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """``bench_progress.py`` in a child process (see its docstring for why); its JSON."""
    folders = [args.workdir, *args.reuse]
    small = find_or_make_workload(folders, 240, N_SAMPLES)
    big = find_or_make_workload(folders, max(args.sizes), N_SAMPLES)
    print(f"== job API: start-up on {small.name}, progress on {big.name}", file=sys.stderr)
    output = args.workdir / "progress.json"
    output.unlink(missing_ok=True)
    command = [
        sys.executable, str(HERE / "bench_progress.py"),
        "--traces", str(max(args.sizes)), "--samples", str(N_SAMPLES),
        "--startup-traces", "240", "--startup-repeat", "3" if args.quick else "5",
        "--workers", str(max(args.workers)), "--workdir", str(args.workdir),
        "--json", str(output),
        *(arg for folder in args.reuse for arg in ("--reuse", str(folder))),
    ]  # fmt: skip
    done = subprocess.run(command, env=child_env(), stdout=subprocess.DEVNULL)
    if output.exists():
        results["progress"] = json.loads(output.read_text())
        output.unlink()
    else:
        results["progress"] = {"skipped": f"bench_progress.py failed (exit {done.returncode})"}


def run_small_file(args: argparse.Namespace, results: dict[str, Any]) -> None:
    source = bench_small_file.SMALL_FILE
    if not source.exists():
        results["small_file"] = {"skipped": f"{source} is absent"}
        return
    print("== small file", file=sys.stderr)
    results["small_file"] = bench_small_file.run(
        source, args.workdir, repeat=3 if args.quick else 5
    )


_GUI_ROW = re.compile(
    r"^\| (import|export) \| (.+?) \| ([0-9.]+) \| ([0-9,]+) \| ([0-9.]+) \| ([0-9.]+) \|"
)


def run_gui(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """``bench_gui.py`` in a child process; its table parsed, or why it was skipped."""
    script = HERE / "bench_gui.py"
    if not args.gui_traces:
        results["gui"] = {"skipped": "not requested (--gui-traces 0 or --quick)"}
        return
    if not script.exists():
        results["gui"] = {"skipped": "benchmarks/bench_gui.py is not there"}
        return
    print(f"== GUI heartbeat on {args.gui_traces:,} traces", file=sys.stderr, flush=True)
    folder = args.workdir / "gui"
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(script),
        "--traces",
        str(args.gui_traces),
        "--workers",
        str(max(args.workers)),
        "--dir",
        str(folder),
        "--runs",  # one offscreen run here; bench_gui.py's own report has the modes x runs
        "1",
        "--modes",
        "offscreen",
        "--out",
        str(folder),
    ]
    env = child_env({"QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")})
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    except subprocess.TimeoutExpired:
        results["gui"] = {"skipped": "bench_gui.py did not finish within 30 minutes"}
        return
    rows = []
    lines = done.stdout.splitlines()
    for line in lines:
        if match := _GUI_ROW.match(line):
            rows.append(
                {
                    "job": match.group(1),
                    "stage": match.group(2),
                    "seconds": float(match.group(3)),
                    "ticks": int(match.group(4).replace(",", "")),
                    "largest_ms": float(match.group(5)),
                    "p99_ms": float(match.group(6)),
                }
            )
    if not rows:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        results["gui"] = {
            "skipped": f"bench_gui.py failed (exit {done.returncode}): {' / '.join(tail)}"
        }
        return
    table = [line for line in lines if line.startswith("|")]
    header = next((line for line in lines if line.startswith("GUI heartbeat")), "")
    results["gui"] = {
        "what": f"{args.gui_traces:,} traces, {max(args.workers)} workers",
        "header": header,
        "table": "\n".join(table),
        "rows": rows,
        "exit_code": done.returncode,
    }


def write_report(results: dict[str, Any], out: Path, update_readme: bool = False) -> None:
    import plots  # matplotlib, only now

    out.mkdir(parents=True, exist_ok=True)
    figures = plots.draw_all(results, out)
    (out / "README.md").write_text(report.render(results, figures) + "\n")
    print(f"report: {out / 'README.md'} ({', '.join(figures)})", file=sys.stderr)
    if update_readme:
        readme = REPO / "README.md"
        readme.write_text(report.replace_readme_table(readme.read_text(), results))
        print(f"updated the benchmark table in {readme}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        results = json.loads(args.report_only.read_text())
        write_report(results, args.out, args.update_readme)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = "python benchmarks/run_all.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command.strip(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "args": {
            "repeat": args.repeat,
            "workers": args.workers,
            "sizes": args.sizes,
            "ieee_sizes": args.ieee_sizes,
            "memory_sizes": args.memory_sizes,
            "parts": args.parts,
            "quick": args.quick,
            # the supervisor's priority (segycore/runtime/priority.py): low unless set
            "segycore_priority": os.environ.get("SEGYCORE_PRIORITY", "low (default)"),
        },
        "machine": describe_machine(args.workdir, REPO),
        "workloads": [],
        "memory_series": [],
        "stage_workloads": [
            workload_name(n, f)
            for n, f in [(100_000, 1), (1_000_000, 1), (max(args.sizes), 1), (100_000, 5)]
            if (f == 1 and n in args.sizes) or (f == 5 and n in args.ieee_sizes)
        ],
    }
    results["stage_workloads"] = list(dict.fromkeys(results["stage_workloads"]))
    path = args.out / "results.json"

    def save() -> None:
        results["elapsed_seconds"] = time.monotonic() - started
        results["machine"]["load_average_end"] = load_average()
        results["machine"]["git_commit_end"] = describe_machine(args.workdir, REPO)["git_commit"]
        path.write_text(json.dumps(results, indent=1) + "\n")

    parts = set(args.parts)
    if "workloads" in parts:
        run_workloads(args, results, save)
    if "memory" in parts:
        run_memory_series(args, results, save)
    if "progress" in parts:
        run_progress(args, results)
        save()
    if "small" in parts:
        run_small_file(args, results)
        save()
    if "gui" in parts:
        run_gui(args, results)
    if "codec" in parts:
        rounds = ["--rounds", "1", "--repeat", "20"] if args.quick else []
        run_table_script(results, "codec", "bench_codec.py", rounds)
        save()
    if "numba" in parts:
        if importlib.util.find_spec("numba") is None:
            results["numba"] = {"skipped": "numba is not installed (pip install numba)"}
        else:
            cache = args.workdir / "numba-cache"
            extra = ["--cache-dir", str(cache)]
            extra += ["--traces", "65536", "--rounds", "3"] if args.quick else []
            run_table_script(results, "numba", "bench_numba.py", extra)
        save()
    save()
    write_report(results, args.out, args.update_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
