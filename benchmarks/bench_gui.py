"""How responsive the GUI stays during an import and an export of a generated survey.

A 10 ms heartbeat timer runs in the GUI thread while :class:`segycore_gui.MainWindow` imports a
generated SEG-Y file and exports the dataset back; every gap between two ticks is
charged to the stage running then. DESIGN.md requires that the event loop never stalls
for more than 50 ms. Default size: W2 (1,000,000 traces x 1,000 samples, 4.24 GB).

    python benchmarks/bench_gui.py --traces 100000     # W1
    python benchmarks/bench_gui.py                     # W2 (needs ~13 GB free disk)

Prints a Markdown table: per job and stage, its duration, ticks, the largest gap and
the 99th percentile gap.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PyQt6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PyQt6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segycore.format.synthetic import survey_size, write_survey

LIMIT_MS = 50.0
WORK_DIR = Path(__file__).resolve().parent / "work"


Usage = tuple[resource.struct_rusage, resource.struct_rusage, list[int]] | None
#: /proc/stat's per-machine CPU time columns (clock ticks), for what the machine did.
CPU_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _machine_ticks() -> list[int]:
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1 : 1 + len(CPU_COLUMNS)]]
    except (OSError, ValueError):
        return []


def _thread_usage() -> Usage:
    """CPU time, faults and context switches of the GUI thread and of the whole GUI
    process (Linux), to tell what a stall was: work, a fault, a wait for the GIL ..."""
    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:
        return None
    return resource.getrusage(who), resource.getrusage(resource.RUSAGE_SELF), _machine_ticks()


def _describe(label: str, a: resource.struct_rusage, b: resource.struct_rusage) -> str:
    return (
        f"{label} {1000 * (b.ru_utime - a.ru_utime):.0f} ms user, "
        f"{1000 * (b.ru_stime - a.ru_stime):.0f} ms system, "
        f"{b.ru_majflt - a.ru_majflt}/{b.ru_minflt - a.ru_minflt} major/minor faults, "
        f"{b.ru_nvcsw - a.ru_nvcsw} waits, {b.ru_nivcsw - a.ru_nivcsw} preemptions"
    )


def _explain(before: Usage, after: Usage) -> str:
    """What the GUI thread, and its process, did during a stall."""
    if before is None or after is None:
        return ""
    parts = [
        _describe(label, a, b)
        for label, a, b in zip(("GUI thread:", "GUI process:"), before[:2], after[:2], strict=True)
    ]
    ticks = os.sysconf("SC_CLK_TCK")
    machine = [
        f"{name} {1000 * (b - a) / ticks:.0f}"
        for name, a, b in zip(CPU_COLUMNS, before[2], after[2], strict=False)
        if b > a
    ]
    parts.append("machine (ms of CPU): " + ", ".join(machine))
    return "; ".join(parts)


class StageHeartbeat:
    """10 ms ticks in the GUI thread; each gap is filed under (job, stage) running then."""

    def __init__(self, window, interval_ms: int = 10) -> None:
        self.window = window
        self.job = ""
        self.gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.stalls: list[tuple[str, str, float, float, str]] = []  # where, when, why
        self.first_tick: dict[tuple[str, str], float] = {}
        self.last_tick: dict[tuple[str, str], float] = {}
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._last = self._started = time.perf_counter()
        self._usage = _thread_usage()

    def start(self, job: str) -> None:
        self.job = job
        self._usage = _thread_usage()
        self._last = self._started = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self._tick()
        self.timer.stop()

    def _where(self) -> tuple[str, str]:
        runner = self.window.runner
        if not runner.busy:
            return (self.job, "(finishing, opening)")
        index = runner.stage_index
        return (self.job, runner.stages[index].name if index >= 0 else "(starting)")

    def _tick(self) -> None:
        now = time.perf_counter()
        key = self._where()
        gap = 1000 * (now - self._last)
        usage = _thread_usage()
        self.gaps[key].append(gap)
        if gap >= LIMIT_MS:
            self.stalls.append((*key, now - self._started, gap, _explain(self._usage, usage)))
        self._usage = usage
        self.first_tick.setdefault(key, self._last)
        self.last_tick[key] = now
        self._last = now


def wait_for(app: QApplication, condition, timeout: float) -> None:
    """Run the event loop (never processEvents) until ``condition()`` or ``timeout`` s."""
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError(f"gave up after {timeout:.0f} s")


def run_job(app, window, beat: StageHeartbeat, name: str, start, timeout: float) -> dict:
    finished: list[tuple[str, dict]] = []
    window.jobFinished.connect(lambda state, info: finished.append((state, info)))
    beat.start(name)
    started = time.perf_counter()
    start()
    wait_for(app, lambda: bool(finished), timeout)
    if name == "import":  # the dataset opens in the viewer: count that too
        view = window.panel.gather_view
        wait_for(app, lambda: view.gather is not None, 60)
    beat.stop()
    window.jobFinished.disconnect()
    state, info = finished[0]
    if state != "done":
        raise SystemExit(f"{name} {state}: {info.get('error')}")
    info["wall_seconds"] = time.perf_counter() - started
    return info


def table(beat: StageHeartbeat) -> str:
    lines = [
        "| job | stage | seconds | ticks | largest gap (ms) | p99 gap (ms) | < 50 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for (job, stage), gaps in beat.gaps.items():
        seconds = beat.last_tick[(job, stage)] - beat.first_tick[(job, stage)]
        worst = max(gaps)
        p99 = float(np.percentile(gaps, 99))
        verdict = "yes" if worst < LIMIT_MS else "**no**"
        lines.append(
            f"| {job} | {stage} | {seconds:.2f} | {len(gaps):,} | {worst:.1f} | {p99:.1f} | "
            f"{verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000, help="traces (default W2)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--traces-per-shot", type=int, default=240)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, default=WORK_DIR, help="scratch folder")
    args = parser.parse_args(argv)

    n_shots = max(1, args.traces // args.traces_per_shot)
    n_traces = n_shots * args.traces_per_shot
    size = survey_size(n_traces, args.samples)
    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if free < 3.2 * size:
        raise SystemExit(f"need about {3.2 * size / 1e9:.1f} GB free in {args.dir}")
    app = QApplication(sys.argv[:1])
    from segycore_gui import MainWindow

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-gui-") as scratch:
        folder = Path(scratch)
        source = folder / "survey.sgy"
        print(f"writing {n_traces:,} traces x {args.samples} samples ({size / 1e9:.2f} GB)...")
        write_survey(source, n_shots, args.traces_per_shot, args.samples)
        settings = QSettings(str(folder / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, show_message_boxes=False)
        window.show()
        settle = time.monotonic() + 1.0  # the first expose and paint are start-up, not the job
        wait_for(app, lambda: time.monotonic() > settle, 5)
        beat = StageHeartbeat(window)
        timeout = max(600.0, size / 20e6)
        imported = run_job(
            app,
            window,
            beat,
            "import",
            lambda: window.start_import(source, folder / "survey.dataset", workers=args.workers),
            timeout,
        )
        exported = run_job(
            app,
            window,
            beat,
            "export",
            lambda: window.start_export(
                folder / "survey.dataset", folder / "roundtrip.sgy", workers=args.workers
            ),
            timeout,
        )
        window.close()

    worst = max(max(g) for g in beat.gaps.values())
    print()
    print(
        f"GUI heartbeat, {n_traces:,} traces x {args.samples} samples ({size / 1e9:.2f} GB), "
        f"{args.workers} workers, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}: "
        f"import {imported['wall_seconds']:.1f} s, export {exported['wall_seconds']:.1f} s"
    )
    print()
    print(table(beat))
    print()
    for job, stage, at, gap, why in beat.stalls:
        print(f"stall: {gap:.0f} ms in {job} / {stage}, {at:.2f} s after its start; {why}")
    print(f"largest gap {worst:.1f} ms: {'within' if worst < LIMIT_MS else 'OVER'} the 50 ms limit")
    app.quit()
    return 0 if worst < LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
