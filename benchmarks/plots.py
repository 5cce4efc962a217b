"""The suite's figures (matplotlib, Agg backend), drawn from ``run_all.py``'s results JSON.

Each function takes the results dict and a PNG path and returns whether it drew
anything (a section that was skipped has nothing to draw).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

__all__ = ["draw_all", "gui_gaps", "memory", "progress_intervals", "stages", "throughput"]

MB = 1e6
REST = "rest: start-up, imports, spawn, publish"


def _median(runs: Iterable[dict[str, Any]], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def _scaling(results: dict[str, Any], format_code: int = 1) -> list[dict[str, Any]]:
    """The workloads of one sample format, smallest first."""
    loads = [w for w in results["workloads"] if w["format_code"] == format_code]
    return sorted(loads, key=lambda w: w["size_bytes"])


def _series(workloads: list[dict[str, Any]]) -> dict[str, list[tuple[dict, dict]]]:
    """contender name -> [(workload, contender)] in workload order."""
    series: dict[str, list[tuple[dict, dict]]] = {}
    for w in workloads:
        for c in w["contenders"]:
            series.setdefault(c["name"], []).append((w, c))
    return series


def _style(name: str) -> dict[str, Any]:
    if name in ("cp", "copy_file_range"):
        return {"color": "black", "linestyle": "-" if name == "cp" else ":", "marker": "s"}
    if name.startswith("segycore"):
        colour = "tab:blue" if "import" in name else "tab:green"
        return {"color": colour, "linestyle": "-" if "2 workers" in name else "--", "marker": "o"}
    if name.startswith("MDIO"):
        return {"color": "tab:purple", "linestyle": "-.", "marker": "^"}
    return {"color": "tab:orange", "linestyle": "-.", "marker": "D"}


def _cp_ratios(w: dict[str, Any], c: dict[str, Any]) -> list[float]:
    cp = next(x for x in w["contenders"] if x["name"] == "cp")
    return [a["seconds"] / b["seconds"] for a, b in zip(c["runs"], cp["runs"], strict=False)]


def throughput(results: dict[str, Any], path: Path) -> bool:
    """Throughput and time relative to ``cp`` against file size (IBM workloads)."""
    loads = _scaling(results)
    if not loads:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    for name, points in _series(loads).items():
        sizes = [w["size_bytes"] / 1e9 for w, _ in points]
        style = _style(name)
        rates = [w["size_bytes"] / _median(c["runs"]) / MB for w, c in points]
        left.plot(sizes, rates, label=name, **style)
        if name == "cp":
            continue
        ratios = [_cp_ratios(w, c) for w, c in points]
        med = [statistics.median(r) for r in ratios]
        err = [
            [m - min(r) for m, r in zip(med, ratios, strict=True)],
            [max(r) - m for m, r in zip(med, ratios, strict=True)],
        ]
        right.errorbar(sizes, med, yerr=err, label=name, capsize=3, **style)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("SEG-Y file size (GB)")
        ax.grid(True, which="both", alpha=0.3)
    left.set_ylabel("MB/s of SEG-Y (median)")
    left.set_yscale("log")
    left.set_title("Throughput against file size (IBM float input)")
    right.set_yscale("log")
    right.axhline(3.0, color="red", linewidth=1, label="target: 3x cp")
    right.axhline(1.5, color="red", linewidth=1, linestyle=":", label="aim: 1.5x cp")
    right.set_ylabel("time / cp time, same round (median, min-max)")
    right.set_title("Time relative to cp of the same file")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def stages(results: dict[str, Any], path: Path) -> bool:
    """Median seconds per stage of segycore's import and export, per workload."""
    rows: list[tuple[str, dict[str, float]]] = []
    for w in sorted(results["workloads"], key=lambda w: (w["format_code"], w["size_bytes"])):
        if w["name"] not in results.get("stage_workloads", []):
            continue
        for c in w["contenders"]:
            if not c["name"].startswith("segycore") or not c["runs"][0]["stages"]:
                continue
            keys = list(c["runs"][0]["stages"])
            stage = {k: statistics.median(r["stages"].get(k, 0.0) for r in c["runs"]) for k in keys}
            rest = max(0.0, _median(c["runs"]) - sum(stage.values()))
            parts = {REST: rest, **stage}  # the rest is mostly start-up: draw it first
            rows.append((f"{w['name']}: {c['name'].removeprefix('segycore ')}", parts))
    if not rows:
        return False
    names = list(dict.fromkeys(k for _, parts in rows for k in parts))
    colours = dict(zip(names, plt.get_cmap("tab10").colors, strict=False))
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.6))
    for y, (_, parts) in enumerate(rows):
        left = 0.0
        for k in names:
            width = parts.get(k, 0.0)
            ax.barh(y, width, left=left, color=colours[k], label=k if y == 0 else None)
            left += width
        ax.text(left, y, f" {left:.2f} s", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (median of the runs)")
    ax.set_title("segycore: time per stage (stage_seconds) and the rest of the command's wall time")
    handles, labels = [], []
    for k in names:  # one legend entry per stage, even when the first row lacks it
        handles.append(plt.Rectangle((0, 0), 1, 1, color=colours[k]))
        labels.append(k)
    ax.legend(handles, labels, fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def memory(results: dict[str, Any], path: Path) -> bool:
    """Peak RSS per process tree against file size (IBM workloads)."""
    loads = _scaling(results)
    if not loads:
        return False
    fig, ax = plt.subplots(figsize=(8, 5.2))
    for name, points in _series(loads).items():
        sizes = [w["size_bytes"] / 1e9 for w, _ in points]
        peaks = [max(r["peak_rss_bytes"] for r in c["runs"]) / MB for _, c in points]
        ax.plot(sizes, peaks, label=name, **_style(name))
    ax.axhline(1000, color="red", linewidth=1, label="1 GB")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SEG-Y file size (GB)")
    ax.set_ylabel("peak RSS of the largest process (MB)")
    ax.set_title("Peak memory per process against file size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _bar_chart(
    labels: list[str], values_ms: list[float], limit_ms: float, title: str, path: Path
) -> None:
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(labels) + 1.6))
    colours = ["tab:red" if v >= limit_ms else "tab:blue" for v in values_ms]
    ax.barh(range(len(labels)), values_ms, color=colours)
    for y, v in enumerate(values_ms):
        ax.text(v, y, f" {v:.0f} ms", va="center", fontsize=7)
    ax.axvline(limit_ms, color="red", linewidth=1, label=f"bar: {limit_ms:.0f} ms")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("largest interval (ms, log scale)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def progress_intervals(results: dict[str, Any], path: Path) -> bool:
    """Largest interval between progress updates per stage (job API), against 250 ms."""
    progress = results.get("progress") or {}
    if "gaps" not in progress:
        return False
    labels, values = [], []
    for job in progress["gaps"]:
        for stage, gap in job["stage_max_gap"].items():
            labels.append(f"{job['kind']}: {stage}")
            values.append(1000 * gap)
    size = progress["gap_source_bytes"] / 1e9
    _bar_chart(
        labels,
        values,
        250.0,
        f"Largest interval between progress updates per stage ({size:.2f} GB, job API)",
        path,
    )
    return True


def gui_gaps(results: dict[str, Any], path: Path) -> bool:
    """Largest GUI event-loop gap per stage (``bench_gui.py``), against 50 ms."""
    gui = results.get("gui") or {}
    if not gui.get("rows"):
        return False
    labels = [f"{r['job']}: {r['stage']}" for r in gui["rows"]]
    values = [r["largest_ms"] for r in gui["rows"]]
    _bar_chart(labels, values, 50.0, f"GUI event-loop: largest gap per stage ({gui['what']})", path)
    return True


def draw_all(results: dict[str, Any], folder: Path) -> list[str]:
    """Draw every figure that has data into ``folder``; the file names drawn."""
    drawn = []
    for name, draw in (
        ("throughput.png", throughput),
        ("stages.png", stages),
        ("memory.png", memory),
        ("progress_intervals.png", progress_intervals),
        ("gui_gaps.png", gui_gaps),
    ):
        target = folder / name
        if draw(results, target):
            drawn.append(name)
        elif target.exists():
            target.unlink()  # a stale figure from an earlier run would mislead
    return drawn
