"""Shared benchmark plumbing: workloads, timed child processes, alternating runs, tables.

Every contender runs as a child process, timed wall-clock, with its peak resident
memory (of the largest process in its tree) from ``os.wait4``. Contenders alternate
run by run (the order rotating every round) so that a noisy shared machine hits them
all alike; dirty pages are flushed (``sync``, untimed) before every run so no run pays
for the previous one's write-back. Figures are min / median / max seconds and the
ratio to ``cp`` of the same file in the same round.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing segycore
    sys.path.insert(0, str(REPO))

from segycore.format.synthetic import survey_size, write_survey  # noqa: E402

__all__ = [
    "REPO",
    "TRACES_PER_SHOT",
    "WORKLOADS",
    "AnonSampler",
    "Contender",
    "Timing",
    "child_env",
    "ensure_workload",
    "find_or_make_workload",
    "markdown_table",
    "read_ahead",
    "remover",
    "run_alternating",
    "survey_size",
    "timed_command",
]

#: name -> (traces, samples); 240-trace IBM shot gathers as DESIGN.md defines them.
WORKLOADS: dict[str, tuple[int, int]] = {
    "W1": (100_000, 1000),
    "W2": (1_000_000, 1000),
}
TRACES_PER_SHOT = 240
#: GNU time, to start children from a small process (see :func:`timed_command`).
GNU_TIME = next((p for p in ("/usr/bin/time",) if os.access(p, os.X_OK)), None)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of benchmark children: this checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    paths = [str(REPO), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Timing:
    """One timed run: wall seconds, peak RSS of the process tree, what it printed.

    ``peak_anon_bytes`` (when sampled) is the largest anonymous resident memory
    (``RssAnon``: heap, buffers, no page cache of mapped files) any process of the tree
    reached, sampled every 10 ms.
    """

    seconds: float
    peak_rss_bytes: int
    stdout: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    peak_anon_bytes: int = 0


@dataclass
class Contender:
    """One thing to time.

    ``command`` builds argv; ``cleanup`` removes its output; ``stages`` reads the stage
    timings of a finished run (from its stdout or its output, before cleanup);
    ``sample_anon`` samples the tree's anonymous memory during each run.
    """

    name: str
    command: Callable[[], list[str]]
    cleanup: Callable[[], None] = lambda: None
    kind: str = "reference"
    env: dict[str, str] | None = None
    stages: Callable[[str], dict[str, float]] | None = None
    sample_anon: bool = False
    timings: list[Timing] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [t.seconds for t in self.timings]

    def median(self) -> float:
        return statistics.median(self.seconds)

    def peak_mb(self) -> float:
        return max(t.peak_rss_bytes for t in self.timings) / 1e6

    def peak_anon_mib(self) -> float:
        return max(t.peak_anon_bytes for t in self.timings) / 2**20

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "runs": [
                {
                    "seconds": t.seconds,
                    "peak_rss_bytes": t.peak_rss_bytes,
                    "peak_anon_bytes": t.peak_anon_bytes,
                    "stages": t.stages,
                }
                for t in self.timings
            ],
        }


def find_or_make_workload(
    folders: Iterable[Path], n_traces: int, n_samples: int, format_code: int = 1
) -> Path:
    """The workload file from the first folder that has it whole, else made in the first."""
    folders = list(folders)
    for folder in folders:
        path = folder / f"survey-{n_traces}x{n_samples}-f{format_code}.sgy"
        if path.exists() and path.stat().st_size == survey_size(n_traces, n_samples, format_code):
            return path
    return ensure_workload(folders[0], n_traces, n_samples, format_code)


def ensure_workload(
    folder: Path, n_traces: int, n_samples: int, format_code: int = 1, name: str | None = None
) -> Path:
    """The workload file, generated once (never committed) and reused while its size fits."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"survey-{n_traces}x{n_samples}-f{format_code}.sgy")
    size = survey_size(n_traces, n_samples, format_code)
    if path.exists() and path.stat().st_size == size:
        return path
    free = shutil.disk_usage(folder).free
    if free < size:
        raise SystemExit(f"need {size / 1e9:.1f} GB free in {folder} for {path.name}")
    shots = -(-n_traces // TRACES_PER_SHOT)
    started = time.monotonic()
    partial = path.with_suffix(".partial")
    write_survey(partial, shots, TRACES_PER_SHOT, n_samples, format_code=format_code)
    if shots * TRACES_PER_SHOT != n_traces:  # trim the last shot to the exact trace count
        with open(partial, "r+b") as fh:
            fh.truncate(size)
    os.replace(partial, path)
    print(
        f"generated {path} ({size / 1e9:.2f} GB) in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return path


def read_ahead(*paths: Path, block: int = 16 << 20) -> None:
    """Read files once so that timed runs start with them in the page cache."""
    buffer = bytearray(block)
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            with open(file, "rb", buffering=0) as fh:
                while fh.readinto(buffer):
                    pass


def _rss_anon(pid: int) -> int:
    """``RssAnon`` of a process in bytes (0 when it is gone or the kernel lacks it)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class AnonSampler:
    """Samples the largest ``RssAnon`` of a process and its descendants in a thread."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anon-sampler", daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        try:
            import psutil

            root = psutil.Process(self.pid)
            return [self.pid, *(c.pid for c in root.children(recursive=True))]
        except Exception:  # gone, or psutil missing: the root alone
            return [self.pid]

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._tree():
                self.peak = max(self.peak, _rss_anon(pid))
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed_command(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    sample_anon: bool = False,
) -> Timing:
    """Run ``argv``: its wall time, the peak RSS of its process tree and its stdout.

    The peak comes from ``os.wait4``'s ``ru_maxrss``, the largest process of the
    child's tree. A child forked from this (large) process would inherit its resident
    size until ``exec``, so where GNU time exists the child is started through it (a
    2 MB process) and its report is used instead.
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as report:
        command = [GNU_TIME, "-f", "%M", "-o", report.name, *argv] if GNU_TIME else list(argv)
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out)
        sampler = AnonSampler(proc.pid) if sample_anon else None
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        peak_anon = sampler.stop() if sampler else 0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
        peak_kb = usage.ru_maxrss
        if GNU_TIME:
            lines = report.read().split()
            peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else peak_kb
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {proc.returncode}")
    return Timing(elapsed, peak_kb * 1024, stdout, peak_anon_bytes=peak_anon)


def run_alternating(contenders: Sequence[Contender], repeat: int, sync: bool = True) -> None:
    """Run every contender ``repeat`` times, round-robin with a rotating start.

    Outputs are removed before and after each run; with ``sync`` dirty pages are
    flushed (untimed) before each run.
    """
    for run in range(repeat):
        shift = run % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            contender.cleanup()
            if sync:
                os.sync()
            timing = timed_command(
                contender.command(),
                env=contender.env or child_env(),
                sample_anon=contender.sample_anon,
            )
            if contender.stages is not None:
                timing = replace(timing, stages=contender.stages(timing.stdout))
            contender.timings.append(timing)
            contender.cleanup()
            print(
                f"  run {run + 1}/{repeat} {contender.name:<34} {timing.seconds:7.2f} s "
                f"{timing.peak_rss_bytes / 1e6:8.0f} MB",
                file=sys.stderr,
                flush=True,
            )


def ratios(contender: Contender, reference: Contender) -> list[float]:
    """The contender's time over the reference's, round by round."""
    return [
        a.seconds / b.seconds for a, b in zip(contender.timings, reference.timings, strict=False)
    ]


def markdown_table(
    contenders: Sequence[Contender], reference: str = "cp", size_bytes: int | None = None
) -> str:
    """min/median/max seconds, per-round ratio to the reference, throughput, peak memory."""
    ref = next(c for c in contenders if c.name == reference)
    lines = [
        "| contender | min s | median s | max s | x cp median (min-max) | MB/s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in contenders:
        seconds = c.seconds
        r = ratios(c, ref)
        rate = f"{size_bytes / c.median() / 1e6:,.0f}" if size_bytes else "-"
        lines.append(
            f"| {c.name} | {min(seconds):.2f} | {c.median():.2f} | {max(seconds):.2f} | "
            f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f}) | {rate} | "
            f"{c.peak_mb():,.0f} |"
        )
    return "\n".join(lines)


def remover(*paths: Path) -> Callable[[], None]:
    """A cleanup that removes files or folders (and segycore's hidden staging siblings)."""

    def cleanup() -> None:
        for path in paths:
            for leftover in path.parent.glob(f".{path.name}*"):
                _remove(leftover)
            _remove(path)

    return cleanup


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
