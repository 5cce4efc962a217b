"""Why a thread stopped: its long off-CPU intervals in a ``perf`` scheduler trace.

For the GUI benchmark's stalls: record the scheduler's switch and wake-up events of the
whole machine while ``bench_gui.py`` runs, then list every interval the GUI thread spent
off a CPU for longer than ``--min-ms``, with the kernel stack it went to sleep in (a
``poll`` is the Qt event loop waiting for its next timer; a futex would be a lock, a
page fault a disk read), who woke it and how long it then waited for a CPU, and how
long each CPU went without any scheduler event inside the interval (a CPU with a task
on it that records nothing for 100 ms was not run by the hypervisor)::

    mount -t tracefs nodev /sys/kernel/tracing     # once, as root, if it is not mounted
    perf record -e sched:sched_switch,sched:sched_wakeup -a -g -o sched.data -- \\
        python benchmarks/bench_gui.py --runs 2 --modes offscreen --out /tmp/gui-trace
    perf script -i sched.data -F comm,pid,tid,cpu,time,event,trace,ip,sym > sched.txt
    python benchmarks/offcpu_intervals.py sched.txt --tid GUI_PID --min-ms 40

``GUI_PID`` is each run's ``gui_pid`` in ``/tmp/gui-trace/gui_latency.json`` (the GUI
thread is the process's main thread). Linux with ``perf`` and root only.
"""

from __future__ import annotations

import argparse
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Event", "main", "off_cpu_intervals", "parse"]

_HEAD = re.compile(r"^(\S.*?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")


@dataclass
class Event:
    """One scheduler event: when, where, which, and the kernel/user stack."""

    time: float
    cpu: int
    name: str
    comm: str
    tid: int
    trace: str
    stack: list[str] = field(default_factory=list)


def parse(path: Path) -> list[Event]:
    """The events of ``perf script`` text output (with ``-F ...,trace,ip,sym``)."""
    events: list[Event] = []
    for line in path.read_text(errors="replace").splitlines():
        match = _HEAD.match(line)
        if match:
            comm, _pid, tid, cpu, time, name, trace = match.groups()
            events.append(Event(float(time), int(cpu), name, comm, int(tid), trace))
        elif events and line.strip():
            parts = line.split(None, 1)
            events[-1].stack.append(parts[-1].strip())
    return events


def _quiet_ms(events: list[Event], start: float, end: float) -> dict[int, float]:
    """Per CPU, the longest stretch of ``[start, end]`` without any event on it (ms)."""
    stamps: dict[int, list[float]] = {}
    for event in events:
        if start <= event.time <= end:
            stamps.setdefault(event.cpu, []).append(event.time)
    cpus = {e.cpu for e in events}
    quiet = {}
    for cpu in sorted(cpus):
        times = [start, *stamps.get(cpu, []), end]
        quiet[cpu] = 1000 * max(b - a for a, b in itertools.pairwise(times))
    return quiet


def off_cpu_intervals(events: list[Event], tid: int, min_ms: float) -> list[str]:
    """A readable paragraph for every off-CPU interval of ``tid`` of at least ``min_ms``."""
    out: list[str] = []
    left: Event | None = None
    woken: Event | None = None
    for event in events:
        if event.name == "sched:sched_switch":
            if f"prev_pid={tid} " in event.trace:
                left, woken = event, None
            elif f"next_pid={tid} " in event.trace and left is not None:
                ms = 1000 * (event.time - left.time)
                if ms >= min_ms:
                    state = re.search(r"prev_state=(\S+)", left.trace)
                    out.append(
                        f"off CPU {ms:.1f} ms from {left.time:.3f} (state "
                        f"{state[1] if state else '?'}), back on CPU {event.cpu}"
                    )
                    out.append("  went to sleep in: " + " < ".join(left.stack[:12]))
                    if woken is not None:
                        out.append(
                            f"  woken after {1000 * (woken.time - left.time):.1f} ms on CPU "
                            f"{woken.cpu} (current there: {woken.comm} {woken.tid}), then "
                            f"{1000 * (event.time - woken.time):.1f} ms waiting for a CPU"
                        )
                        out.append("  waker's stack: " + " < ".join(woken.stack[:10]))
                    quiet = _quiet_ms(events, left.time, event.time)
                    out.append(
                        "  longest time without any scheduler event, per CPU: "
                        + ", ".join(f"CPU {c} {q:.0f} ms" for c, q in quiet.items())
                    )
                left = None
        elif (
            event.name == "sched:sched_wakeup"
            and f" pid={tid} " in f" {event.trace}"
            and left is not None
        ):
            woken = event
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script_output", type=Path, help="perf script text (see above)")
    parser.add_argument("--tid", type=int, required=True, help="the thread (GUI: its pid)")
    parser.add_argument("--min-ms", type=float, default=40.0)
    args = parser.parse_args(argv)
    lines = off_cpu_intervals(parse(args.script_output), args.tid, args.min_ms)
    print("\n".join(lines) if lines else f"no off-CPU interval of {args.min_ms} ms or more")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
