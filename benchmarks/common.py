"""Shared benchmark plumbing: workloads, timed child processes, alternating runs, tables.

Every contender runs as a child process, timed wall-clock, with its peak resident
memory (of the largest process in its tree) from ``os.wait4``. Contenders alternate
run by run so that a noisy shared machine hits them all alike; figures are reported
as min / median / max and as ratios to ``cp`` of the same file in the same run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segycore.synthetic import survey_size, write_survey

__all__ = [
    "WORKLOADS",
    "Contender",
    "Timing",
    "ensure_workload",
    "markdown_table",
    "run_alternating",
    "timed_command",
]

#: name -> (traces, samples); 240-trace IBM shot gathers as DESIGN.md defines them.
WORKLOADS: dict[str, tuple[int, int]] = {
    "W1": (100_000, 1000),
    "W2": (1_000_000, 1000),
}
TRACES_PER_SHOT = 240


@dataclass(frozen=True)
class Timing:
    seconds: float
    peak_rss_bytes: int


@dataclass
class Contender:
    """One thing to time: ``command`` builds argv; ``cleanup`` removes its output."""

    name: str
    command: Callable[[], list[str]]
    cleanup: Callable[[], None] = lambda: None
    timings: list[Timing] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(t.seconds for t in self.timings)

    def peak_mb(self) -> float:
        return max(t.peak_rss_bytes for t in self.timings) / 1e6


def ensure_workload(
    folder: Path, n_traces: int, n_samples: int, format_code: int = 1, name: str | None = None
) -> Path:
    """The workload file, generated once (never committed) and reused while its size fits."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"survey-{n_traces}x{n_samples}-f{format_code}.sgy")
    if path.exists() and path.stat().st_size == survey_size(n_traces, n_samples, format_code):
        return path
    shots = -(-n_traces // TRACES_PER_SHOT)
    started = time.monotonic()
    write_survey(
        path.with_suffix(".partial"), shots, TRACES_PER_SHOT, n_samples, format_code=format_code
    )
    os.replace(path.with_suffix(".partial"), path)
    if shots * TRACES_PER_SHOT != n_traces:  # trim the last shot to the exact trace count
        with open(path, "r+b") as fh:
            fh.truncate(survey_size(n_traces, n_samples, format_code))
    print(
        f"generated {path} ({path.stat().st_size / 1e9:.2f} GB) in "
        f"{time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return path


def timed_command(argv: Sequence[str], env: dict[str, str] | None = None) -> Timing:
    """Run ``argv``; its wall time and the peak RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {proc.returncode}")
    return Timing(elapsed, usage.ru_maxrss * 1024)


def run_alternating(contenders: Sequence[Contender], repeat: int) -> None:
    """Run every contender ``repeat`` times, round-robin, cleaning outputs between runs."""
    for run in range(repeat):
        for contender in contenders:
            contender.cleanup()
            timing = timed_command(contender.command())
            contender.timings.append(timing)
            contender.cleanup()
            print(
                f"  run {run + 1}/{repeat} {contender.name:<34} {timing.seconds:7.2f} s "
                f"{timing.peak_rss_bytes / 1e6:8.0f} MB",
                file=sys.stderr,
            )


def markdown_table(contenders: Sequence[Contender], reference: str = "cp") -> str:
    """min/median/max seconds, ratio to the reference's median, peak memory."""
    ref = next(c for c in contenders if c.name == reference).median()
    lines = [
        "| contender | min s | median s | max s | x cp (median) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in contenders:
        seconds = [t.seconds for t in c.timings]
        lines.append(
            f"| {c.name} | {min(seconds):.2f} | {c.median():.2f} | {max(seconds):.2f} | "
            f"{c.median() / ref:.2f} | {c.peak_mb():.0f} |"
        )
    return "\n".join(lines)


def remover(*paths: Path) -> Callable[[], None]:
    """A cleanup that removes files or folders (and segycore's hidden staging siblings)."""

    def cleanup() -> None:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    return cleanup
