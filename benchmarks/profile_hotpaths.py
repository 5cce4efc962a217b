"""Where the time of ``segycore import`` and ``export`` goes: py-spy over the real CLI.

    pip install py-spy
    python benchmarks/profile_hotpaths.py                  # W1, 2 workers
    python benchmarks/profile_hotpaths.py --traces 1000000 --reuse /work/bench

Samples the command line and its supervisor process (``py-spy record --subprocesses
--threads``, raw collapsed stacks, idle threads left out so a sample is a thread on
CPU or in a system call), then summarises: samples per process and thread, per stage
(the coordinator method on the stack), imports, and the source lines at the top of the
stacks (a line calling a compiled kernel or a system call is charged its whole time).
Writes a Markdown summary (default ``docs/benchmarks/profile.md``) and keeps the raw
stacks in the work folder (``flamegraph.pl`` or speedscope turn them into pictures).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from common import REPO, child_env, find_or_make_workload, read_ahead, remover

__all__ = ["Profile", "parse_raw", "render", "summarise"]

#: Functions whose presence on a stack names the stage a sample belongs to, innermost first.
STAGE_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("import_range", "1 parallel import: worker threads"),
    ("_parallel_import", "1 parallel import: supervisor thread"),
    ("_merge_headers", "2 merge headers"),
    ("_build_index", "3 build ensemble index"),
    ("_cleanup", "cleanup (import 4 / export 3)"),
    ("export_range", "1 parallel export: worker threads"),
    ("_parallel_export", "1 parallel export: supervisor thread"),
    ("_merge (", "2 merge segments"),
    ("__init__ (segycore/importer.py)", "coordinator set-up (layout, checks)"),
    ("__init__ (segycore/exporter.py)", "coordinator set-up (open dataset)"),
    ("_find_and_load", "imports"),
)
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Profile:
    """Samples of one profiled command, by process role, thread, stage and leaf line."""

    rate: int
    wall_seconds: float
    samples: Counter[str] = field(default_factory=Counter)  # role -> samples
    threads: Counter[tuple[str, str]] = field(default_factory=Counter)
    stages: Counter[tuple[str, str]] = field(default_factory=Counter)  # (role, stage)
    leaves: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def _role(process_frames: list[str]) -> str:
    last = process_frames[-1]
    if "resource_tracker" in last:
        return "resource tracker"
    if "segycore.runtime.supervisor" in last or "spawn_main" in last:
        return "supervisor"
    return "front end (CLI)"


def _function_key(frame: str) -> str:
    """``func (file)``: a frame without its line number."""
    match = _FRAME.match(frame)
    return f"{match['func']} ({match['file']})" if match else frame


def _stage(frames: list[str]) -> str:
    keys = [_function_key(f) for f in frames]
    for needle, stage in STAGE_FUNCTIONS:
        if any(needle in k for k in keys):
            return stage
    return "other"


def parse_raw(text: str, rate: int, wall_seconds: float) -> Profile:
    """Summarise py-spy's raw output (``--subprocesses --threads``)."""
    profile = Profile(rate, wall_seconds)
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        processes = [p for p in parts if p.startswith("process ")]
        thread = next((p for p in parts if p.startswith("thread (")), "thread")
        frames = parts[len(processes) + (thread != "thread") :]
        role = _role(processes)
        name = thread.split(": ", 1)[1] if ": " in thread else "main"
        name = re.sub(r"-\d+$", "-N", name)
        profile.samples[role] += n
        profile.threads[(role, name)] += n
        profile.stages[(role, _stage(frames))] += n
        if frames:
            profile.leaves[role][frames[-1]] += n
    return profile


def summarise(profile: Profile, title: str, top: int = 15) -> str:
    """A Markdown section: samples per process/thread and stage, top leaf lines."""
    rate = profile.rate
    lines = [
        f"### {title}",
        "",
        f"Wall time under the profiler {profile.wall_seconds:.2f} s, {rate} samples/s per "
        "thread; seconds below are thread-seconds on CPU or in a system call.",
        "",
        "| process | thread | thread-s |",
        "| --- | --- | ---: |",
    ]
    for (role, thread), n in profile.threads.most_common():
        lines.append(f"| {role} | {thread} | {n / rate:.2f} |")
    lines += ["", "| process | stage (coordinator method on the stack) | thread-s | share |",
              "| --- | --- | ---: | ---: |"]  # fmt: skip
    for (role, stage), n in sorted(profile.stages.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        lines.append(f"| {role} | {stage} | {n / rate:.2f} | {n / profile.samples[role]:.0%} |")
    for role in ("supervisor", "front end (CLI)"):
        if role not in profile.leaves:
            continue
        lines += [
            "",
            f"Top of the stack, {role} (the line running when sampled):",
            "",
            "| line | thread-s | share |",
            "| --- | ---: | ---: |",
        ]
        for frame, n in profile.leaves[role].most_common(top):
            lines.append(f"| `{frame}` | {n / rate:.2f} | {n / profile.samples[role]:.0%} |")
    return "\n".join(lines)


def record(argv: list[str], output: Path, rate: int) -> float:
    """Run ``argv`` under py-spy; its wall seconds."""
    started = time.perf_counter()
    subprocess.run(
        ["py-spy", "record", "--rate", str(rate), "--subprocesses", "--threads",
         "--nonblocking", "--format", "raw", "--output", str(output), "--", *argv],
        check=True, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def render(sections: list[str], command: str, source: Path) -> str:
    return "\n".join(
        [
            "# Where import and export spend their time",
            "",
            f"Generated by `{command}` on {source.name} ({source.stat().st_size / 1e9:.2f} GB, "
            "warm page cache). Do not edit: rerun the command. Analysis: "
            "[findings.md](findings.md).",
            "",
            *[s + "\n" for s in sections],
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000, help="workload (default W1)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/segycore-bench"))
    parser.add_argument("--reuse", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "profile.md")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    source = find_or_make_workload([args.workdir, *args.reuse], args.traces, args.samples)
    dataset, output = args.workdir / "profile.dataset", args.workdir / "profile.sgy"
    cli = [sys.executable, "-m", "segycore.cli"]
    workers = ["--workers", str(args.workers)]
    remover(dataset, output)()
    read_ahead(source)
    sections = []
    try:
        for kind, command in (
            ("import", [*cli, "import", str(source), str(dataset), "--quiet", *workers]),
            ("export", [*cli, "export", str(dataset), str(output), "--quiet", *workers]),
        ):
            raw = args.workdir / f"profile-{kind}.raw"
            wall = record(command, raw, args.rate)
            profile = parse_raw(raw.read_text(), args.rate, wall)
            sections.append(
                summarise(profile, f"segycore {kind}, {args.workers} workers, {source.name}")
            )
            print(f"{kind}: {wall:.2f} s, raw stacks in {raw}", file=sys.stderr)
    finally:
        remover(dataset, output)()
    invoked = "python benchmarks/profile_hotpaths.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(sections, invoked.strip(), source))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
