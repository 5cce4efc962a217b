"""How responsive the GUI stays during imports and exports, over many runs and set-ups.

Each run is a fresh child process: a :class:`segycore_gui.MainWindow` imports a generated
SEG-Y file through ``start_import`` (and opens the dataset in the viewer), then exports
it through ``start_export``, while a 10 ms heartbeat timer in the GUI thread records
every gap of its event loop, charged to the stage running then. Per run: the largest
gap, the 99th percentile gap, the GUI thread's CPU time per ``JobRunner`` tick while
the stages run (median over ticks; beside it what the same event loop with its
heartbeat uses per tick without a job, measured for 2 s before the jobs; the mean,
which also carries each stage dialog's creation, is in the JSON), the GUI
thread's involuntary context switches (``/proc/self/task/<tid>/status``), and the nice
values the supervisor's threads ran at. DESIGN.md: the event loop never stalls for more
than 50 ms; the issue adds 100 ms with one unrelated CPU-bound process at normal
priority beside the job.

Beside every run, one control sleeper per CPU (``control_sleeper.py``: a process pinned to
that CPU, sleeping 10 ms at a time) logs its own late wake-ups and the CPU time of a fixed
0.2 ms piece of work after each. A stall of the GUI happened to the machine, not to
segycore, when a sleeper shared it for at least half its length (a virtual CPU not run on
time, a late timer interrupt) or when a quarter or more of the work samples in it took 3x
their calibrated CPU time (virtual CPUs running slow); the tables give the largest gap that
was not the machine's beside the largest gap of all. The bar itself is judged on the
latter.

Before each run the benchmark waits until the kernel's free page reporting has gone quiet
(``page_reporting.py``; ``--no-settle`` starts at once): the previous run's cleanup frees
gigabytes of page cache, and on a VM that hands freed memory back to the host, each large
reporting pass stops every virtual CPU for tens of milliseconds, for about 20 s. During
the run the MiB reported are logged, and a stall with :data:`REPORTED_MIB` or more
reported in it is the machine's too.

What each stall of 50 ms or more was spent on is listed with it: the Python stack of
every thread of the GUI process, sampled every 5 ms while the GUI thread is late; the
garbage collections that overlapped it (``gc.callbacks``); with ``--trace-events``,
every Qt event the GUI thread spent 2 ms or more on.

Modes (``--modes``, default the first five; runs alternate mode by mode, round by round):

``offscreen``         ``QT_QPA_PLATFORM=offscreen``, the job at its default (low) priority
``offscreen-normal``  the same with ``SEGYCORE_PRIORITY=normal``: the priority's effect
``xvfb``              a real X server (``Xvfb``, started and stopped by its pid)
``busy``              offscreen, plus ``python -c "while True: pass"`` at normal priority
``busy-normal``       the same with ``SEGYCORE_PRIORITY=normal``

Not in the default set, the controls of the instrument itself: ``offscreen-lean`` and
``xvfb-lean`` run the heartbeat without its diagnostics (no stack sampler thread, no
``getrusage`` and ``/proc/stat`` read per tick; stalls are then listed unexplained), to
check that what the heartbeat does in the GUI process is not what it measures.

    python benchmarks/bench_gui.py --traces 50000 --runs 2       # a quick check
    python benchmarks/bench_gui.py --reuse /work/bench --update-readme   # W2 x 5 runs

Prints a summary table (mode, run, largest and p99 gap, CPU per tick ...) and one per
mode; writes ``gui_latency.json``, ``gui_latency.md`` and ``gui_latency.png`` into
``--out`` (default ``docs/benchmarks``) and, with ``--update-readme``, the per-mode
table into README.md between its ``gui-latency`` markers. Exits 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from control_sleeper import (  # noqa: E402
    SLOW_SHARE,
    Interval,
    WorkSample,
    control_sleepers,
    read_intervals,
    read_work,
    shared_ms,
    slowed_share,
)
from page_reporting import ReportingLog, wait_until_quiet  # noqa: E402

from common import REPO, child_env, find_or_make_workload, survey_size  # noqa: E402

LIMIT_MS = 50.0
BUSY_LIMIT_MS = 100.0
#: the stall sampler looks at the GUI thread's stack once it is this late
SAMPLE_AFTER_S = 0.030
#: a stall is the machine's when a control sleeper was late for at least this share of it
SHARED_FRACTION = 0.5
#: ... or when the kernel reported at least this much free memory (MiB) to the host in it
REPORTED_MIB = 128
WORK_DIR = HERE / "work"
OUT_DIR = REPO / "docs" / "benchmarks"
README = REPO / "README.md"
README_BEGIN = "<!-- gui-latency:begin (written by benchmarks/bench_gui.py --update-readme) -->"
README_END = "<!-- gui-latency:end -->"


@dataclass(frozen=True)
class Mode:
    """One set-up the runs are made in."""

    name: str
    label: str
    platform: str  # QT_QPA_PLATFORM
    priority: str  # SEGYCORE_PRIORITY
    busy: bool  # one CPU-bound process at normal priority beside the job
    #: the heartbeat explains each stall (stack sampler, per-tick usage reads)
    diagnose: bool = True

    @property
    def limit_ms(self) -> float:
        return BUSY_LIMIT_MS if self.busy else LIMIT_MS


MODES = {
    m.name: m
    for m in (
        Mode("offscreen", "offscreen", "offscreen", "low", False),
        Mode("offscreen-normal", "offscreen, priority normal", "offscreen", "normal", False),
        Mode("xvfb", "Xvfb", "xcb", "low", False),
        Mode("busy", "offscreen + CPU hog", "offscreen", "low", True),
        Mode("busy-normal", "offscreen + CPU hog, priority normal", "offscreen", "normal", True),
        Mode("offscreen-lean", "offscreen, no diagnostics", "offscreen", "low", False, False),
        Mode("xvfb-lean", "Xvfb, no diagnostics", "xcb", "low", False, False),
    )
}
#: the modes run when ``--modes`` is not given (the lean ones are controls, on request)
DEFAULT_MODES = ("offscreen", "offscreen-normal", "xvfb", "busy", "busy-normal")


# ----------------------------------------------------------------------------------
# the child: one run in one process
# ----------------------------------------------------------------------------------
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
    """CPU time, faults and context switches of the GUI thread and process, and the
    machine's CPU time by kind (Linux): what a stall was - work, a fault, no CPU free."""
    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:
        return None
    return resource.getrusage(who), resource.getrusage(resource.RUSAGE_SELF), _machine_ticks()


def _explain(before: Usage, after: Usage) -> str:
    """What the GUI thread, and its process, did during a stall."""
    if before is None or after is None:
        return ""
    parts = []
    for label, a, b in zip(("GUI thread", "GUI process"), before[:2], after[:2], strict=True):
        parts.append(
            f"{label} {1000 * (b.ru_utime - a.ru_utime):.0f} ms user, "
            f"{1000 * (b.ru_stime - a.ru_stime):.0f} ms system, "
            f"{b.ru_majflt - a.ru_majflt}/{b.ru_minflt - a.ru_minflt} major/minor faults, "
            f"{b.ru_nvcsw - a.ru_nvcsw} waits, {b.ru_nivcsw - a.ru_nivcsw} preemptions"
        )
    ticks = os.sysconf("SC_CLK_TCK")
    machine = [
        f"{name} {1000 * (b - a) / ticks:.0f}"
        for name, a, b in zip(CPU_COLUMNS, before[2], after[2], strict=False)
        if b > a
    ]
    parts.append("machine (ms of CPU): " + (", ".join(machine) or "-"))
    return "; ".join(parts)


def involuntary_switches(tid: int) -> int | None:
    """Thread ``tid``'s involuntary context switches so far (Linux), else None."""
    try:
        with open(f"/proc/self/task/{tid}/status") as status:
            for line in status:
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def supervisor_priorities(pid: int) -> list[str]:
    """Each thread of process ``pid`` as "nice policy", e.g. "10 batch" (Linux; [] elsewhere)."""
    from segycore.runtime.priority import read_thread_priority

    seen = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            thread = read_thread_priority(pid, int(tid))
            seen.append(f"{thread.nice} {thread.policy}")
    except OSError:
        pass
    return sorted(set(seen))


class StallSampler(threading.Thread):
    """While the GUI thread has not ticked for :data:`SAMPLE_AFTER_S`, sample the Python
    stack of every thread of the process every 5 ms (``sys._current_frames``): what a
    stall was spent on, when it was spent in Python (a slot, pyqtgraph's paint) rather
    than in Qt's own C++, and what the process's other threads, which take the GIL from
    the GUI thread, were doing meanwhile."""

    def __init__(self, beat: StageHeartbeat) -> None:
        super().__init__(name="bench-stall-sampler", daemon=True)
        self.beat = beat
        self.gui_ident = threading.main_thread().ident
        self.samples: list[tuple[float, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.005):
            now = time.perf_counter()
            if now - self.beat._last < SAMPLE_AFTER_S:
                continue
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == self.ident:
                    continue
                who = "" if ident == self.gui_ident else f"[{names.get(ident, ident)}] "
                self.samples.append((now, who + _stack_text(frame)))

    def during(self, start: float, end: float) -> list[tuple[int, str]]:
        """The distinct stacks sampled in ``[start, end]``, most often first."""
        counts: dict[str, int] = defaultdict(int)
        for at, stack in self.samples:
            if start <= at <= end:
                counts[stack] += 1
        return sorted(((n, stack) for stack, n in counts.items()), reverse=True)[:6]


class CollectionLog:
    """Every run of Python's cyclic garbage collector in this process (``gc.callbacks``):
    a full collection walks every tracked object and holds the GUI thread meanwhile."""

    def __init__(self) -> None:
        self.runs: list[tuple[float, float, int]] = []  # (start, end) perf_counter, generation
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.runs.append((self._began, time.perf_counter(), info["generation"]))

    def close(self) -> None:
        gc.callbacks.remove(self._callback)

    def during(self, start: float, end: float) -> list[str]:
        """The collections of 1 ms or more that overlapped ``[start, end]``."""
        return [
            f"generation {gen}: {1000 * (b - a):.1f} ms"
            for a, b, gen in self.runs
            if a <= end and b >= start and b - a >= 0.001
        ]

    def summary(self, start: float, end: float) -> dict[str, float]:
        """How many full (generation 2) collections ran in ``[start, end]``; the longest."""
        mine = [(b - a, gen) for a, b, gen in self.runs if start <= a <= end]
        return {
            "full_collections": sum(gen == 2 for _, gen in mine),
            "longest_collection_ms": round(1000 * max((d for d, _ in mine), default=0.0), 1),
        }


def _stack_text(frame: Any, depth: int = 6) -> str:
    """The innermost ``depth`` frames of a stack, innermost first."""
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


class StageHeartbeat:
    """10 ms ticks in the GUI thread; each gap is filed under (job, stage) running then."""

    def __init__(self, window: Any, interval_ms: int = 10, diagnose: bool = True) -> None:
        from PyQt6.QtCore import Qt, QTimer

        self.window = window
        #: read the GUI thread's usage every tick, to explain each stall
        self.diagnose = diagnose
        self.job = ""
        self.gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.stalls: list[dict[str, Any]] = []
        self.first_tick: dict[tuple[str, str], float] = {}
        self.last_tick: dict[tuple[str, str], float] = {}
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._last = self._started = time.perf_counter()
        self._usage = self._read_usage()
        # per (job, stage): GUI thread CPU and JobRunner ticks at its first and last beat,
        # and the heartbeat's own CPU (subtracted: it is the benchmark's work, not the app's)
        self.cpu_span: dict[tuple[str, str], list[float]] = {}
        self.tick_span: dict[tuple[str, str], list[int]] = {}
        self.own_cpu: dict[tuple[str, str], float] = defaultdict(float)
        self._own_total = 0.0
        self._mark = (0, 0.0, 0.0)  # JobRunner ticks, GUI CPU, heartbeat CPU at the last tick
        #: GUI thread CPU (s) between consecutive JobRunner ticks while stages ran, per tick
        self.tick_cpu: list[float] = []
        self.sampler: StallSampler | None = None
        self.collections: CollectionLog | None = None

    def start(self, job: str) -> None:
        self.job = job
        self._usage = self._read_usage()
        self._last = self._started = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self._tick()
        self.timer.stop()

    def _read_usage(self) -> Usage:
        return _thread_usage() if self.diagnose else None

    def _where(self) -> tuple[str, str]:
        runner = self.window.runner
        if not runner.busy:
            return (self.job, "(finishing, opening)")
        index = runner.stage_index
        return (self.job, runner.stages[index].name if index >= 0 else "(starting)")

    def _tick(self) -> None:
        cpu = time.thread_time()
        now = time.perf_counter()
        key = self._where()
        ticks = self.window.runner.ticks
        self.cpu_span.setdefault(key, [cpu, cpu])[1] = cpu
        self.tick_span.setdefault(key, [ticks, ticks])[1] = ticks
        if ticks != self._mark[0]:
            if not key[1].startswith("(") and self._mark[0]:
                work = (cpu - self._mark[1]) - (self._own_total - self._mark[2])
                self.tick_cpu.append(work / (ticks - self._mark[0]))
            self._mark = (ticks, cpu, self._own_total)
        gap = 1000 * (now - self._last)
        usage = self._read_usage()
        self.gaps[key].append(gap)
        if gap >= LIMIT_MS:
            self.stalls.append(
                {
                    "job": key[0],
                    "stage": key[1],
                    "at_s": round(now - self._started, 3),
                    "gap_ms": round(gap, 1),
                    "from_s": self._last,  # perf_counter: the control sleepers' clock
                    "to_s": now,
                    "why": _explain(self._usage, usage),
                    "python_stacks": (
                        self.sampler.during(self._last, now) if self.sampler is not None else []
                    ),
                    "collections": (
                        self.collections.during(self._last, now) if self.collections else []
                    ),
                }
            )
        self._usage = usage
        self.first_tick.setdefault(key, self._last)
        self.last_tick[key] = now
        self._last = now
        own = time.thread_time() - cpu
        self.own_cpu[key] += own
        self._own_total += own

    def median_tick_cpu_ms(self) -> float | None:
        """The GUI thread's CPU per JobRunner tick, median over ticks: the steady work of a
        tick (the mean also carries each stage dialog's creation and first show)."""
        return 1000 * statistics.median(self.tick_cpu) if self.tick_cpu else None

    def cpu_per_tick_ms(self) -> float | None:
        """The GUI thread's CPU per JobRunner tick while stages ran (heartbeat excluded)."""
        cpu = ticks = 0.0
        for key, (first, last) in self.cpu_span.items():
            if key[1].startswith("("):  # starting, finishing and opening: not a tick's work
                continue
            cpu += last - first - self.own_cpu[key]
            ticks += self.tick_span[key][1] - self.tick_span[key][0]
        return 1000 * cpu / ticks if ticks else None

    def all_gaps(self) -> list[float]:
        return [g for gaps in self.gaps.values() for g in gaps]

    def stage_rows(self) -> list[dict[str, Any]]:
        import numpy as np

        rows = []
        for (job, stage), gaps in self.gaps.items():
            rows.append(
                {
                    "job": job,
                    "stage": stage,
                    "seconds": self.last_tick[(job, stage)] - self.first_tick[(job, stage)],
                    "ticks": len(gaps),
                    "largest_ms": max(gaps),
                    "p99_ms": float(np.percentile(gaps, 99)),
                }
            )
        return rows


class _PriorityProbe(threading.Thread):
    """Reads the nice values and policies of the supervisor's threads once its workers run."""

    def __init__(self, window: Any) -> None:
        super().__init__(name="bench-priority-probe", daemon=True)
        self.window = window
        self.priorities: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.02):
            runner = self.window.runner
            job, snap = runner.job, runner.snapshot
            if job is None or not job.pid or snap is None or snap.state != "running":
                continue
            # any moment will do ...
            self.priorities = supervisor_priorities(job.pid) or self.priorities
            if snap.stage_index == 0 and snap.stages[0].done > 0 and self.priorities:
                return  # ... but best while the workers run


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Run the event loop (never processEvents) until ``condition()`` or ``timeout`` s."""
    from PyQt6.QtCore import QEventLoop, QTimer

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


def run_job(window: Any, beat: StageHeartbeat, name: str, start: Callable[[], None]) -> dict:
    """One job through the window, with the GUI thread's CPU, ticks and preemptions."""
    finished: list[tuple[str, dict]] = []
    window.jobFinished.connect(lambda state, info: finished.append((state, info)))
    probe = _PriorityProbe(window)
    tid = threading.get_native_id()
    switches, cpu, ticks = involuntary_switches(tid), time.thread_time(), window.runner.ticks
    beat.start(name)
    started = time.perf_counter()
    probe.start()
    start()
    wait_for(lambda: bool(finished), 3600)
    if finished[0][0] != "done":
        raise SystemExit(f"{name} {finished[0][0]}: {finished[0][1].get('error')}")
    if name == "import":  # the dataset opens in the viewer: count that too
        view = window.panel.gather_view
        wait_for(lambda: view.gather is not None, 120)
    beat.stop()
    probe.halt.set()
    cpu = time.thread_time() - cpu
    after = involuntary_switches(tid)
    window.jobFinished.disconnect()
    info = finished[0][1]
    return {
        "wall_seconds": time.perf_counter() - started,
        "stage_seconds": info.get("stage_seconds", {}),
        "gui_cpu_seconds": cpu,
        "runner_ticks": window.runner.ticks - ticks,
        "involuntary_switches": None if switches is None or after is None else after - switches,
        "supervisor_priorities": probe.priorities,
    }


#: (began, took) perf_counter seconds, "Type -> receiver (in parent)", nesting depth
SlowEvent = tuple[float, float, str, int]


def _timed_application(log: list[SlowEvent]) -> Any:
    """A QApplication whose ``notify`` logs every event the GUI thread took over 2 ms on."""
    from PyQt6.QtCore import QObject
    from PyQt6.QtWidgets import QApplication

    class TimedApplication(QApplication):
        depth = 0

        def notify(self, receiver: Any, event: Any) -> bool:
            parent = receiver.parent() if isinstance(receiver, QObject) else None
            what = (
                f"{event.type().name} -> {type(receiver).__name__} {receiver.objectName()}"
                f" (in {type(parent).__name__})"
            )
            TimedApplication.depth += 1
            began = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                TimedApplication.depth -= 1
                took = time.perf_counter() - began
                if took > 0.002:
                    log.append((began, took, what, TimedApplication.depth))

    return TimedApplication(sys.argv[:1])


def child(args: argparse.Namespace) -> int:
    """One run: import then export ``args.source`` through a main window; JSON results."""
    import numpy as np
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    slow_events: list[SlowEvent] = []
    app = _timed_application(slow_events) if args.trace_events else QApplication(sys.argv[:1])
    from segycore_gui import MainWindow

    scratch = args.scratch
    settings = QSettings(str(scratch / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, show_message_boxes=False)
    if args.tick_ms:
        window.runner._timer.setInterval(args.tick_ms)
    window.show()
    settle = time.monotonic() + 1.0  # the first expose and paint are start-up, not the job
    wait_for(lambda: time.monotonic() > settle, 5)
    beat = StageHeartbeat(window, diagnose=not args.lean)
    if beat.diagnose:
        beat.sampler = StallSampler(beat)
        beat.sampler.start()
    beat.collections = CollectionLog()
    # the heartbeat's and the idle event loop's CPU per JobRunner tick, without a job
    tick_s = window.runner._timer.interval() / 1000
    beat.start("(idle)")
    idle_cpu, idle_started = time.thread_time(), time.monotonic()
    wait_for(lambda: time.monotonic() > idle_started + 2.0, 10)
    idle_per_tick_ms = 1000 * (time.thread_time() - idle_cpu) * tick_s / 2.0
    beat.stop()
    beat.gaps.clear()
    beat.stalls.clear()
    dataset, roundtrip = scratch / "survey.dataset", scratch / "roundtrip.sgy"
    jobs_started = time.perf_counter()
    jobs = {
        "import": run_job(
            window,
            beat,
            "import",
            lambda: window.start_import(args.source, dataset, workers=args.workers),
        ),
        "export": run_job(
            window,
            beat,
            "export",
            lambda: window.start_export(dataset, roundtrip, workers=args.workers),
        ),
    }
    for stall in beat.stalls:
        stall["slow_events"] = [
            f"{1000 * (b - stall['from_s']):.0f}+{1000 * d:.1f} ms d{depth} {what}"
            for b, d, what, depth in slow_events
            if b <= stall["to_s"] and b + d >= stall["from_s"]
        ]
    jobs_ended = time.perf_counter()
    collections = beat.collections.summary(jobs_started, jobs_ended)
    beat.collections.close()
    if beat.sampler is not None:
        beat.sampler.halt.set()
        beat.sampler.join()
    window.close()
    gaps = beat.all_gaps()
    raw = beat.median_tick_cpu_ms()
    switches = [j["involuntary_switches"] for j in jobs.values()]
    result = {
        "gui_pid": os.getpid(),  # the GUI thread's id too (offcpu_intervals.py --tid)
        "jobs_window_s": [jobs_started, jobs_ended],  # perf_counter: one clock for all
        "largest_ms": max(gaps),
        "p99_ms": float(np.percentile(gaps, 99)),
        "gaps_over_50": sum(g >= LIMIT_MS for g in gaps),
        "gaps_over_100": sum(g >= BUSY_LIMIT_MS for g in gaps),
        "largest_below_limit_ms": max((g for g in gaps if g < LIMIT_MS), default=0.0),
        "heartbeats": len(gaps),
        "gui_cpu_seconds": sum(j["gui_cpu_seconds"] for j in jobs.values()),
        "runner_ticks": sum(j["runner_ticks"] for j in jobs.values()),
        "cpu_per_tick_ms": None if raw is None else max(0.0, raw - idle_per_tick_ms),
        "cpu_per_tick_raw_ms": raw,
        "cpu_per_tick_mean_ms": beat.cpu_per_tick_ms(),
        "idle_cpu_per_tick_ms": idle_per_tick_ms,
        "involuntary_switches": None if None in switches else sum(switches),
        "supervisor_priorities": sorted(set(jobs["import"]["supervisor_priorities"])),
        "jobs": jobs,
        "stages": beat.stage_rows(),
        "stalls": beat.stalls,
        **collections,
    }
    args.result.write_text(json.dumps(result, indent=1))
    app.quit()
    return 0


# ----------------------------------------------------------------------------------
# the parent: modes, runs, tables, plot, README
# ----------------------------------------------------------------------------------
@contextmanager
def cpu_hog(active: bool) -> Iterator[int | None]:
    """One CPU-bound process at normal priority while the block runs (stopped by pid)."""
    if not active:
        yield None
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield hog.pid
    finally:
        hog.kill()
        hog.wait(10)


def run_once(args: argparse.Namespace, mode: Mode, source: Path, display: str | None) -> dict:
    """One run of ``mode`` in a child process; its results."""
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-gui-run-") as scratch:
        folder = Path(scratch)
        result = folder / "result.json"
        env = child_env({"QT_QPA_PLATFORM": mode.platform, "SEGYCORE_PRIORITY": mode.priority})
        if mode.platform == "xcb":
            env["DISPLAY"] = display or ""
        command = [sys.executable, str(Path(__file__).resolve()), "--child"]
        command += ["--source", str(source), "--scratch", str(folder), "--result", str(result)]
        command += ["--workers", str(args.workers), "--tick-ms", str(args.tick_ms or 0)]
        command += ["--trace-events"] if args.trace_events else []
        command += [] if mode.diagnose else ["--lean"]
        timeout = max(900.0, 3 * survey_size(args.traces, args.samples) / 20e6)
        # the previous run's files were just deleted: let the kernel hand that memory back
        settled_s = wait_until_quiet() if args.settle else None
        reporting = ReportingLog()
        with cpu_hog(mode.busy), control_sleepers(folder / "control") as logs:
            reporting.start()
            try:
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired:
                return {"error": f"no result within {timeout:.0f} s"}
            finally:
                reporting.stop()
        if done.returncode != 0 or not result.exists():
            tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
            return {"error": f"exit {done.returncode}: {tail}"}
        outcome = json.loads(result.read_text())
        outcome["settled_s"] = _round(settled_s)
        note_reporting(outcome, reporting)
        if logs is None:
            attribute_stalls(outcome, None)
        else:
            attribute_stalls(outcome, read_intervals(logs), read_work(logs))
        return outcome


def note_reporting(result: dict[str, Any], reporting: ReportingLog) -> None:
    """MiB the kernel reported to the host during the jobs and within each stall (from
    100 ms before it: a pass stops the CPUs as it is made, the counter moves after)."""
    jobs = result.get("jobs_window_s")
    result["reported_mib"] = None if not jobs else _round(reporting.reported_mib(jobs[0], jobs[1]))
    for stall in result["stalls"]:
        stall["reported_mib"] = _round(reporting.reported_mib(stall["from_s"] - 0.1, stall["to_s"]))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def attribute_stalls(
    result: dict[str, Any],
    intervals: list[Interval] | None,
    work: list[WorkSample] | None = None,
) -> None:
    """Mark the stalls that happened to the machine (``shared``) and record the largest gap
    that did not (``largest_own_ms``: the part of the largest gap that is segycore's).

    A stall is the machine's when a control sleeper was late for at least
    :data:`SHARED_FRACTION` of it (a virtual CPU not run), when at least
    :data:`control_sleeper.SLOW_SHARE` of the sleepers' fixed pieces of work in it took
    :data:`control_sleeper.SLOW_FACTOR` times their CPU time or more (virtual CPUs running
    slow), or when the kernel handed at least :data:`REPORTED_MIB` of free memory back to
    the host in it (``reported_mib``, from :func:`note_reporting`: a reporting pass that
    large stops both virtual CPUs on this VM).
    """
    if intervals is None:
        result["largest_own_ms"] = None
        return
    own = [result["largest_below_limit_ms"]]
    for stall in result["stalls"]:
        stall["control_ms"] = round(shared_ms(intervals, stall["from_s"], stall["to_s"]), 1)
        slowed = slowed_share(work or [], stall["from_s"], stall["to_s"])
        stall["slowed_share"] = None if slowed is None else round(slowed, 2)
        stall["shared"] = (
            stall["control_ms"] >= SHARED_FRACTION * stall["gap_ms"]
            or (slowed is not None and slowed >= SLOW_SHARE)
            or (stall.get("reported_mib") or 0) >= REPORTED_MIB
        )
        if not stall["shared"]:
            own.append(stall["gap_ms"])
    result["largest_own_ms"] = max(own)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fmt_cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def run_table(runs: list[dict]) -> str:
    lines = [
        "| mode | run | largest gap (ms) | p99 gap (ms) | gaps >= 50 ms | of them the "
        "machine's | largest gap not the machine's (ms) | GUI CPU per tick (ms) "
        "| idle loop per tick (ms) | GUI preemptions | full garbage collections (longest, ms) "
        "| supervisor threads (nice policy) | import s | export s "
        "| waited before, for page reporting (s) | reported during the jobs (MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- "
        "| ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        switches = r["involuntary_switches"]
        priorities = ",".join(str(n) for n in r["supervisor_priorities"]) or "-"
        shared = sum(bool(s.get("shared")) for s in r["stalls"])
        lines.append(
            f"| {MODES[r['mode']].label} | {r['run']} | {r['largest_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['gaps_over_50']} | {shared} | {_ms(r.get('largest_own_ms'))} "
            f"| {_fmt_cpu(r['cpu_per_tick_raw_ms'])} "
            f"| {_fmt_cpu(r['idle_cpu_per_tick_ms'])} "
            f"| {'-' if switches is None else switches} "
            f"| {r.get('full_collections', '-')} ({_ms(r.get('longest_collection_ms'))}) "
            f"| {priorities} "
            f"| {r['jobs']['import']['wall_seconds']:.1f} "
            f"| {r['jobs']['export']['wall_seconds']:.1f} "
            f"| {_ms(r.get('settled_s'))} | {_ms(r.get('reported_mib'))} |"
        )
    return "\n".join(lines)


def mode_summary(runs: list[dict]) -> list[dict[str, Any]]:
    """Per mode: runs, worst and median largest gap, median p99, runs within the bar."""
    rows = []
    for name, mode in MODES.items():
        mine = [r for r in runs if r["mode"] == name]
        if not mine:
            continue
        largest = [r["largest_ms"] for r in mine]
        cpu = [r["cpu_per_tick_raw_ms"] for r in mine if r["cpu_per_tick_raw_ms"] is not None]
        idle = [r["idle_cpu_per_tick_ms"] for r in mine]
        own = [r["largest_own_ms"] for r in mine if r.get("largest_own_ms") is not None]
        rows.append(
            {
                "mode": name,
                "label": mode.label,
                "priority": mode.priority,
                "runs": len(mine),
                "worst_ms": max(largest),
                "median_largest_ms": statistics.median(largest),
                "median_p99_ms": statistics.median(r["p99_ms"] for r in mine),
                "median_cpu_per_tick_ms": statistics.median(cpu) if cpu else None,
                "median_idle_per_tick_ms": statistics.median(idle),
                "limit_ms": mode.limit_ms,
                "within": sum(x < mode.limit_ms for x in largest),
                "worst_own_ms": max(own) if own else None,
                "within_own": sum(x < mode.limit_ms for x in own) if own else None,
            }
        )
    return rows


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | job priority | runs | largest gap, worst run (ms) | largest gap, median (ms) "
        "| p99 gap, median (ms) | GUI CPU per tick, median (ms; idle loop) | runs under the bar "
        "| largest gap not the machine's, worst run (ms) | runs under the bar "
        "without the machine's stalls |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for s in rows:
        own = "-" if s.get("within_own") is None else f"{s['within_own']}/{s['runs']}"
        lines.append(
            f"| {s['label']} | {s['priority']} | {s['runs']} | {s['worst_ms']:.1f} "
            f"| {s['median_largest_ms']:.1f} | {s['median_p99_ms']:.1f} "
            f"| {_fmt_cpu(s['median_cpu_per_tick_ms'])} ({_fmt_cpu(s['median_idle_per_tick_ms'])}) "
            f"| {s['within']}/{s['runs']} under {s['limit_ms']:.0f} ms "
            f"| {_ms(s.get('worst_own_ms'))} | {own} |"
        )
    return "\n".join(lines)


def stage_table(runs: list[dict]) -> str:
    """Per job and stage over ``runs``: the old one-run table (``run_all.py`` parses it)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        for row in r["stages"]:
            key = (row["job"], row["stage"])
            m = merged.setdefault(key, {"seconds": 0.0, "ticks": 0, "largest": 0.0, "p99": 0.0})
            m["seconds"] += row["seconds"] / len(runs)
            m["ticks"] += row["ticks"]
            m["largest"] = max(m["largest"], row["largest_ms"])
            m["p99"] = max(m["p99"], row["p99_ms"])
    lines = [
        "| job | stage | seconds | ticks | largest gap (ms) | p99 gap (ms) | < 50 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for (job, stage), m in merged.items():
        verdict = "yes" if m["largest"] < LIMIT_MS else "**no**"
        lines.append(
            f"| {job} | {stage} | {m['seconds']:.2f} | {m['ticks']:,} | {m['largest']:.1f} "
            f"| {m['p99']:.1f} | {verdict} |"
        )
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Largest and p99 gap per run, per mode, against the bars; CPU per tick beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = [s["mode"] for s in results["summary"]]
    fig, (gaps, cpu) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=(3, 1.4))
    for i, name in enumerate(names):
        mine = [r for r in results["runs"] if r["mode"] == name]
        xs = [i + 0.12 * (k - (len(mine) - 1) / 2) for k in range(len(mine))]
        gaps.scatter(xs, [r["largest_ms"] for r in mine], color="tab:red", marker="o", zorder=3,
                     label="largest gap" if i == 0 else None)  # fmt: skip
        gaps.scatter(xs, [r["p99_ms"] for r in mine], color="tab:blue", marker="x", zorder=3,
                     label="p99 gap" if i == 0 else None)  # fmt: skip
        limit = MODES[name].limit_ms
        gaps.hlines(limit, i - 0.4, i + 0.4, colors="black", linestyles="--", zorder=2,
                    label="bar (50 ms; 100 ms with a CPU hog)" if i == 0 else None)  # fmt: skip
        values = [r["cpu_per_tick_raw_ms"] for r in mine if r["cpu_per_tick_raw_ms"] is not None]
        cpu.scatter([i] * len(values), values, color="tab:green", marker="o",
                    label="during the stages" if i == 0 else None)  # fmt: skip
        idle = [r["idle_cpu_per_tick_ms"] for r in mine]
        cpu.scatter([i] * len(idle), idle, color="tab:gray", marker="_", s=200,
                    label="idle loop, no job" if i == 0 else None)  # fmt: skip
    labels = [MODES[n].label.replace(", ", ",\n").replace(" + ", "\n+ ") for n in names]
    for axis in (gaps, cpu):
        axis.set_xticks(range(len(names)), labels, fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    gaps.set_yscale("log")
    gaps.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    gaps.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    gaps.set_yticks([5, 10, 20, 50, 100, 200, 500, 1000])
    top = max([r["largest_ms"] for r in results["runs"]] + [BUSY_LIMIT_MS])
    gaps.set_ylim(5, max(150.0, 1.3 * top))
    gaps.set_ylabel("event-loop gap (ms, log)")
    if results["runs"]:
        gaps.legend(fontsize=8, loc="upper left")
    what = results["what"].replace(", import", ",\nimport")
    gaps.set_title(f"GUI event loop per run: {what}", fontsize=9)
    cpu.set_ylabel("GUI thread CPU per JobRunner tick, median (ms)")
    cpu.set_ylim(bottom=0)
    if results["runs"]:
        cpu.legend(fontsize=8)
    cpu.set_title("GUI thread's own work", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(results: dict[str, Any], figure: str | None) -> str:
    """The Markdown report of a benchmark run (also what README's block is made from)."""
    out = [
        "# GUI event loop under load (bench_gui.py)",
        "",
        f"{results['what']}. Command: `{results['command']}`.",
        f"Machine: {results['machine']}. {results['note']}",
        "",
        "## Per mode",
        "",
        summary_table(results["summary"]),
        "",
    ]
    if figure:
        out += [f"![GUI gaps per run]({figure})", ""]
    out += ["## Per run", "", run_table(results["runs"]), ""]
    for f in results.get("failed_runs", []):
        out.append(f"- run {f['run']} of {MODES[f['mode']].label} FAILED: {f['error']}")
    if results.get("failed_runs"):
        out.append("")
    out += ["## Per stage (all runs of the first mode)", "", results["stage_table"], ""]
    stalls = [(r, s) for r in results["runs"] for s in r["stalls"]]
    if stalls:
        out += ["## Stalls of 50 ms or more", ""]
        for r, s in stalls[:60]:
            out.append(
                f"- {MODES[r['mode']].label}, run {r['run']}: {s['gap_ms']:.0f} ms in {s['job']} / "
                f"{s['stage']}, {s['at_s']:.2f} s after its start; {s['why']}" + _control_note(s)
            )
        out.append("")
    return "\n".join(out)


def _control_note(stall: dict[str, Any]) -> str:
    text = ""
    if "control_ms" in stall:
        whose = "the machine's" if stall["shared"] else "not the machine's"
        text = f"; a control sleeper was late for {stall['control_ms']:.0f} ms of it"
        if stall.get("slowed_share") is not None:
            text += f", {100 * stall['slowed_share']:.0f}% of its work samples ran slow"
        text += f" ({whose})"
    if stall.get("reported_mib"):
        text += f"; {stall['reported_mib']:.0f} MiB of free memory reported to the host in it"
    collections = stall.get("collections") or []
    if collections:
        text += "; garbage collections in it: " + ", ".join(collections)
    events = stall.get("slow_events") or []
    if events:
        text += "; Qt events of 2 ms or more in it (start+length): " + ", ".join(events)
    stacks = stall.get("python_stacks") or []
    if stacks:
        text += "; GUI thread's Python stack meanwhile: " + " | ".join(
            f"{n}x `{stack}`" for n, stack in stacks
        )
    return text


def readme_block(results: dict[str, Any]) -> str:
    return "\n".join(
        [
            README_BEGIN,
            f"{results['what']}; {results['machine']}; {results['date']}; "
            f"`{results['command']}`. {results['note']}".strip(),
            "",
            summary_table(results["summary"]),
            README_END,
        ]
    )


def update_readme(results: dict[str, Any], readme: Path = README) -> bool:
    """Replace README's block between the gui-latency markers; False if they are absent."""
    text = readme.read_text()
    pattern = re.compile(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _: readme_block(results), text, count=1))
    return True


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _machine(load_at_start: float | None) -> str:
    text = f"{os.cpu_count()} cores"
    load = _load()
    if load_at_start is not None and load is not None:
        text += f", load average {load_at_start:.1f} at the start, {load:.1f} at the end"
    return text


def parent(args: argparse.Namespace) -> int:
    load_at_start = _load()
    modes = [MODES[m] for m in args.modes.split(",")]
    n_traces = max(1, args.traces // args.traces_per_shot) * args.traces_per_shot
    size = survey_size(n_traces, args.samples)
    args.traces = n_traces
    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if free < 2.2 * size:
        raise SystemExit(f"need about {2.2 * size / 1e9:.1f} GB free in {args.dir}")
    temporary = None
    if args.reuse is None:
        temporary = tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-gui-source-")
        folder = Path(temporary.name)
    else:
        folder = args.reuse
    source = find_or_make_workload([folder], n_traces, args.samples)
    runs: list[dict] = []
    failed: list[dict] = []
    xvfb_needed = any(m.platform == "xcb" for m in modes)
    try:
        if xvfb_needed:
            from screenshots import xvfb

            server = xvfb() if shutil.which("Xvfb") else nullcontext(None)
        else:
            server = nullcontext(None)
        with server as display:
            if xvfb_needed and display is None:
                print("Xvfb not found (apt-get install -y xvfb): skipping the xvfb mode")
                modes = [m for m in modes if m.platform != "xcb"]
            for run in range(1, args.runs + 1):
                for mode in modes:
                    print(f"run {run}/{args.runs}: {mode.label}...", flush=True)
                    result = run_once(args, mode, source, display)
                    result.update(mode=mode.name, run=run)
                    if "error" in result:  # reported, and the other runs go on
                        failed.append(result)
                        print(f"  FAILED: {result['error']}", flush=True)
                        continue
                    runs.append(result)
                    print(
                        f"  largest gap {result['largest_ms']:.1f} ms, p99 {result['p99_ms']:.1f}"
                        f" ms, CPU/tick {_fmt_cpu(result['cpu_per_tick_ms'])} ms",
                        flush=True,
                    )
    finally:
        if temporary is not None:
            temporary.cleanup()

    what = (
        f"{n_traces:,} traces x {args.samples} samples ({size / 1e9:.2f} GB), "
        f"{args.workers} workers, import + export through MainWindow, {args.runs} runs per mode"
    )
    first = [r for r in runs if r["mode"] == modes[0].name]
    results = {
        "what": what,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": shlex.join(["python", "benchmarks/bench_gui.py", *args.argv]),
        "machine": _machine(load_at_start),
        "note": args.note,
        "runs": runs,
        "failed_runs": failed,
        "summary": mode_summary(runs),
        "stage_table": stage_table(first),
    }
    print()
    print(
        f"GUI heartbeat, {n_traces:,} traces x {args.samples} samples ({size / 1e9:.2f} GB), "
        f"{args.workers} workers, QT_QPA_PLATFORM={modes[0].platform} ({modes[0].label})"
    )
    print()
    print(results["stage_table"])
    print()
    print(run_table(runs))
    print()
    print(summary_table(results["summary"]))
    print()
    return write_outputs(args, results)


def write_outputs(args: argparse.Namespace, results: dict[str, Any]) -> int:
    """JSON, plot, Markdown report (and README's block); 1 if a low-priority bar is missed."""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gui_latency.json").write_text(json.dumps(results, indent=1) + "\n")
    figure = None
    try:
        plot(results, args.out / "gui_latency.png")
        figure = "gui_latency.png"
    except ImportError as exc:
        print(f"no plot: {exc}")
    (args.out / "gui_latency.md").write_text(report(results, figure) + "\n")
    print(f"report: {args.out / 'gui_latency.md'}")
    if args.update_readme:
        done = update_readme(results)
        print("README.md updated" if done else "README.md has no gui-latency markers")
    for f in results.get("failed_runs", []):
        print(f"run failed: {MODES[f['mode']].label}, run {f['run']}: {f['error']}")
    missed = [s for s in results["summary"] if s["priority"] == "low" and s["within"] < s["runs"]]
    for s in missed:
        print(
            f"bar missed: {s['label']}: {s['runs'] - s['within']} run(s) "
            f"over {s['limit_ms']:.0f} ms"
        )
    return 1 if missed or results.get("failed_runs") else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000, help="traces (default W2)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--traces-per-shot", type=int, default=240)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help=f"of {', '.join(MODES)}")
    parser.add_argument("--reuse", type=Path, help="keep the generated survey here, reuse it")
    parser.add_argument("--dir", type=Path, default=WORK_DIR, help="scratch folder")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="report folder")
    parser.add_argument("--update-readme", action="store_true", help="README's table too")
    parser.add_argument("--tick-ms", type=int, default=0, help="JobRunner tick (0: default)")
    parser.add_argument("--note", default="", help="a remark for the report")
    parser.add_argument("--render", type=Path, help="only redraw the report from this JSON")
    # the child's options
    parser.add_argument(
        "--trace-events",
        action="store_true",
        help="list the Qt events of 2 ms or more in each stall (a Python notify(): slower)",
    )
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help="start each run at once, without waiting for free page reporting to go quiet",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lean", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = [a for a in argv if a != "--update-readme"] + (
        ["--update-readme"] if args.update_readme else []
    )
    if args.child:
        return child(args)
    if args.render:
        results = json.loads(args.render.read_text())
        results["summary"] = mode_summary(results["runs"])
        print(summary_table(results["summary"]))
        return write_outputs(args, results)
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
