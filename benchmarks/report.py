"""The suite's Markdown report, written from ``run_all.py``'s results JSON.

Every figure is a median over alternating runs, with min-max where it matters, and
speeds are ratios to ``cp`` of the same file measured in the same round: the machine
is shared, so absolute seconds move from run to run while ratios hold better.
"""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["render", "targets"]

MB = 1e6


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _find(workload: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in workload["contenders"] if c["name"] == name), None)


def _seconds(contender: dict[str, Any]) -> list[float]:
    return [r["seconds"] for r in contender["runs"]]


def _ratio_runs(workload: dict[str, Any], name: str, reference: str = "cp") -> list[float]:
    c, ref = _find(workload, name), _find(workload, reference)
    if c is None or ref is None:
        return []
    return [a / b for a, b in zip(_seconds(c), _seconds(ref), strict=False)]


def _fmt_ratio(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{_median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def _peak_mb(contender: dict[str, Any]) -> float:
    return max(r["peak_rss_bytes"] for r in contender["runs"]) / MB


def contender_table(workload: dict[str, Any]) -> str:
    """One workload's contenders: seconds, ratio to cp per round, MB/s, peak RSS."""
    size = workload["size_bytes"]
    lines = [
        "| contender | min s | median s | max s | x cp: median (min-max) | MB/s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in workload["contenders"]:
        s = _seconds(c)
        lines.append(
            f"| {c['name']} | {min(s):.2f} | {_median(s):.2f} | {max(s):.2f} | "
            f"{_fmt_ratio(_ratio_runs(workload, c['name']))} | {size / _median(s) / MB:,.0f} | "
            f"{_peak_mb(c):,.0f} |"
        )
    return "\n".join(lines)


def stage_table(results: dict[str, Any]) -> str:
    """Median seconds per stage of every segycore contender on the stage workloads."""
    lines = [
        "| workload | command | stages (median s) | sum of stages s | wall s | rest s |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for w in results["workloads"]:
        if w["name"] not in results.get("stage_workloads", []):
            continue
        for c in w["contenders"]:
            if not c["runs"] or not c["runs"][0]["stages"]:
                continue
            keys = list(c["runs"][0]["stages"])
            parts = {k: _median([r["stages"].get(k, 0.0) for r in c["runs"]]) for k in keys}
            wall = _median(_seconds(c))
            total = sum(parts.values())
            text = ", ".join(f"{k} {v:.3f}" for k, v in parts.items())
            lines.append(
                f"| {w['name']} | {c['name']} | {text} | {total:.2f} | {wall:.2f} | "
                f"{wall - total:.2f} |"
            )
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def _largest(results: dict[str, Any], format_code: int = 1) -> dict[str, Any] | None:
    loads = [w for w in results["workloads"] if w["format_code"] == format_code]
    return max(loads, key=lambda w: w["size_bytes"], default=None)


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for each DESIGN.md / issue target the run covers."""
    rows: list[tuple[str, str, str]] = []
    big = _largest(results)
    workers = results["args"]["workers"]
    if big is not None:
        where = f"{big['name']} ({big['size_bytes'] / 1e9:.2f} GB)"
        for kind in ("import", "export"):
            for n in workers:
                name = f"segycore {kind}, {n} worker{'s' * (n > 1)}"
                r = _ratio_runs(big, name)
                if r:
                    m = _median(r)
                    rows.append(
                        (
                            f"{kind} within 3x of cp (aim 1.5x), {where}, {n} worker(s)",
                            _fmt_ratio(r),
                            _verdict(m <= 3.0) + (" (aim met)" if m <= 1.5 else ""),
                        )
                    )
        segyio = _find(big, "segyio script (import)")
        if segyio is not None:
            for n in workers:
                mine = _find(big, f"segycore import, {n} worker{'s' * (n > 1)}")
                if mine is None:
                    continue
                speedup = [a / b for a, b in zip(_seconds(segyio), _seconds(mine), strict=False)]
                rows.append(
                    (
                        f"import at least 2x faster than the segyio script, {where}, {n} worker(s)",
                        f"{_median(speedup):.2f}x faster ({min(speedup):.2f}-{max(speedup):.2f})",
                        _verdict(_median(speedup) >= 2.0),
                    )
                )
    peaks: dict[str, list[tuple[int, float]]] = {}
    for w in results["workloads"]:
        for c in w["contenders"]:
            if c["name"].startswith("segycore"):
                peaks.setdefault(c["name"], []).append((w["size_bytes"], _peak_mb(c)))
    for name, points in peaks.items():
        if len(points) < 2:
            continue  # one file size says nothing about growth
        points.sort()
        (low_size, low), (high_size, high) = points[0], points[-1]
        flat = high <= 1.25 * low
        rows.append(
            (
                f"peak memory per process flat in file size and far under 1 GB: {name}",
                f"{low:.0f} MB at {low_size / 1e9:.2f} GB -> {high:.0f} MB at "
                f"{high_size / 1e9:.2f} GB ({high - low:+.0f} MB)",
                f"under 1 GB: {_verdict(high < 1000)}; flat: {_verdict(flat)}",
            )
        )
    small = results.get("small_file") or {}
    if "import_median_seconds" in small:
        runs = small["contenders"][-1]["runs"]
        s = [r["seconds"] for r in runs]
        rows.append(
            (
                "25-trace file imported in under a second end to end (cold `segycore import`)",
                f"median {_median(s):.2f} s (min {min(s):.2f}, max {max(s):.2f})",
                _verdict(_median(s) < 1.0),
            )
        )
    rows.extend(_merge_rows(results, big))
    progress = results.get("progress") or {}
    if "gaps" in progress:
        worst = max(
            (
                (g, job["kind"], stage)
                for job in progress["gaps"]
                for stage, g in job["stage_max_gap"].items()
            ),
            default=None,
        )
        if worst is not None:
            rows.append(
                (
                    "largest interval between progress updates in any stage < 250 ms "
                    f"({progress['gap_source_bytes'] / 1e9:.2f} GB, job API)",
                    f"{1000 * worst[0]:.0f} ms ({worst[1]}: {worst[2]})",
                    _verdict(worst[0] < 0.25),
                )
            )
        starts = [s["startup"]["first_running"] for s in progress["startup"]]
        starts = [s for s in starts if s is not None]
        if starts:
            rows.append(
                (
                    "supervisor start-up: `start_import` to first snapshot with state running",
                    f"median {1000 * _median(starts):.0f} ms "
                    f"({1000 * min(starts):.0f}-{1000 * max(starts):.0f})",
                    "measured (no target)",
                )
            )
    gui = results.get("gui") or {}
    if gui.get("rows"):
        worst_row = max(gui["rows"], key=lambda r: r["largest_ms"])
        rows.append(
            (
                f"GUI event loop never stalls for more than 50 ms ({gui['what']})",
                f"largest gap {worst_row['largest_ms']:.1f} ms "
                f"({worst_row['job']}: {worst_row['stage']})",
                _verdict(worst_row["largest_ms"] < 50.0),
            )
        )
    elif gui.get("skipped"):
        rows.append(("GUI event loop never stalls for more than 50 ms", gui["skipped"], "n/a"))
    return rows


def _merge_rows(results: dict[str, Any], big: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The merge stage against cp: export with segments (a real merge) and in place."""
    if big is None:
        return []
    cp = _find(big, "cp")
    rows = []
    for c in big["contenders"]:
        if not c["name"].startswith("segycore export") or not c["runs"][0]["stages"]:
            continue
        merge = [r["stages"].get("merge", 0.0) for r in c["runs"]]
        ratio = [m / b for m, b in zip(merge, _seconds(cp), strict=False)] if cp else []
        in_place = "segments" not in c["name"]
        rows.append(
            (
                f"merge stage near cp's speed: {c['name']}, {big['name']}",
                f"merge {_median(merge):.2f} s = {_fmt_ratio(ratio)} of cp"
                + (
                    " (traces written in place: the merge writes only the file headers)"
                    if in_place
                    else ""
                ),
                _verdict(_median(ratio) <= 1.5) if ratio else "n/a",
            )
        )
    return rows


def _machine(machine: dict[str, Any]) -> str:
    disk = machine["disk"]
    v = machine["versions"]
    load = machine.get("load_average_start")
    load_end = machine.get("load_average_end")
    lines = [
        "| | |",
        "| --- | --- |",
        f"| CPU | {machine['nproc']} cores ({machine['cpu']}) |",
        f"| RAM | {machine['ram_bytes'] / 2**30:.1f} GiB |",
        f"| disk | {disk['device']} ({disk['fstype']}) at {disk['mount']}, "
        f"{disk['size_bytes'] / 1e9:.0f} GB, {disk['free_bytes'] / 1e9:.0f} GB free at start; "
        f"work folder {disk['workdir']} |",
        f"| OS | {machine['os']} |",
        f"| Python | {machine['python']} |",
        f"| numpy / pyarrow / numba / segyio | {v['numpy']} / {v['pyarrow']} / {v['numba']} / "
        f"{v['segyio']} |",
        f"| segycore | commit {machine['git_commit']}"
        + (
            f" at the start, {machine['git_commit_end']} at the end (the code changed "
            "during the run)"
            if machine.get("git_commit_end", machine["git_commit"]) != machine["git_commit"]
            else ""
        )
        + (
            f", uncommitted changes in {', '.join(d.split()[-1] for d in machine['git_dirty'])}"
            if machine["git_dirty"]
            else ""
        )
        + " |",
    ]
    if load:
        end = f", {load_end[0]:.2f} at the end" if load_end else ""
        lines.append(f"| load average (1 min) | {load[0]:.2f} at the start{end} |")
    return "\n".join(lines)


def render(results: dict[str, Any], figures: list[str]) -> str:
    """The whole Markdown report."""
    args = results["args"]
    out = [
        "# segycore benchmarks",
        "",
        f"Generated by `{results['command']}` on {results['started']} "
        f"({results['elapsed_seconds'] / 60:.1f} min). Do not edit: rerun the command.",
        "",
        "The machine is **shared with other engineers running tests**, so absolute "
        "seconds move between runs. Contenders run as child processes in alternation "
        f"({args['repeat']} rounds, the order rotating each round, `sync` untimed before "
        "every run, the source warm in the page cache); speed figures are ratios to `cp` "
        "of the same file measured in the same round (median, min-max over rounds). Peak "
        "memory is `ru_maxrss` of the largest process in the contender's tree (for "
        "segycore the supervisor process), via GNU time so the benchmark's own size does "
        "not leak in.",
        "",
        _machine(results["machine"]),
        "",
        "## Targets",
        "",
        "| target (DESIGN.md, issues 4 and 6) | measured | verdict |",
        "| --- | --- | --- |",
        *[f"| {t} | {m} | {v} |" for t, m, v in targets(results)],
        "",
    ]
    mdio = results.get("mdio", {})
    out += [
        "## Import and export against cp, per workload",
        "",
        f"MDIO: {mdio.get('note', 'not tried')}.",
        "",
    ]
    for w in results["workloads"]:
        out += [
            f"### {w['name']}: {w['n_traces']:,} traces x {w['n_samples']} samples, format "
            f"{w['format_code']}, {w['size_bytes'] / 1e9:.2f} GB",
            "",
            contender_table(w),
            "",
        ]
    if results.get("stage_workloads"):
        out += [
            "## Time per stage",
            "",
            "segycore's `stage_seconds` (import: the dataset's `metadata.json`; export: the "
            "summary the command prints). *rest* is the command's wall time outside the "
            "stages: interpreter start, imports, spawning the supervisor, reading the "
            "layout, writing metadata, publishing.",
            "",
            stage_table(results),
            "",
        ]
    progress = results.get("progress") or {}
    if "gaps" in progress:
        out += [
            "## Job API: supervisor start-up and progress intervals (issue 4)",
            "",
            f"Start-up: {len(progress['startup'])} imports of a "
            f"{progress['startup_bytes'] / 1e6:.1f} MB file through `segycore.start_import` "
            f"({progress['workers']} workers), polled every 2 ms.",
            "",
            progress["startup_table"],
            "",
            f"Progress intervals: import then export of {progress['gap_source_bytes'] / 1e9:.2f}"
            " GB through the job API; an update is any change of stage, a stage's done "
            "counter or the state, and each interval is charged to the stage current at its "
            "start. Bar: 250 ms.",
            "",
            progress["progress_table"],
            "",
        ]
    elif progress.get("skipped"):
        out += ["## Job API (issue 4)", "", f"Skipped: {progress['skipped']}", ""]
    small = results.get("small_file") or {}
    if "table" in small:
        out += [
            "## Small file, end to end",
            "",
            f"Cold commands on `{small['source']}` ({small['source_bytes']:,} bytes), "
            "in alternation.",
            "",
            small["table"],
            "",
        ]
    elif small.get("skipped"):
        out += ["## Small file, end to end", "", f"Skipped: {small['skipped']}", ""]
    gui = results.get("gui") or {}
    if gui.get("table"):
        out += ["## GUI event loop (bench_gui.py)", "", gui["header"], "", gui["table"], ""]
    elif gui.get("skipped"):
        out += ["## GUI event loop (bench_gui.py)", "", f"Skipped: {gui['skipped']}", ""]
    if figures:
        out += ["## Figures", ""]
        captions = {
            "throughput.png": "Throughput and time relative to cp against file size",
            "stages.png": "Time per stage",
            "memory.png": "Peak memory per process against file size",
            "progress_intervals.png": "Largest interval between progress updates per stage",
            "gui_gaps.png": "GUI event-loop gap per stage",
        }
        for name in figures:
            out += [f"![{captions.get(name, name)}]({name})", ""]
    out += [
        "## Profiles",
        "",
        "Where the time of import and export goes: [profile.md](profile.md) (made by "
        "`python benchmarks/profile_hotpaths.py`) and the analysis in "
        "[findings.md](findings.md).",
        "",
    ]
    return "\n".join(out)
