"""The GUI benchmark's stall tools: control sleepers, stall attribution, off-CPU intervals."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import control_sleeper  # noqa: E402
import offcpu_intervals  # noqa: E402

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="control sleepers need CPU affinity (Linux)"
)


def test_shared_ms_is_the_longest_covered_stretch() -> None:
    intervals = [(10.0, 10.05), (10.2, 10.35)]
    assert control_sleeper.shared_ms(intervals, 10.25, 10.45) == pytest.approx(100.0)
    assert control_sleeper.shared_ms(intervals, 11.0, 11.1) == 0.0


def test_a_stopped_sleeper_logs_its_late_wake_up(tmp_path: Path) -> None:
    """A sleeper held for 150 ms (SIGSTOP, a stand-in for a vCPU not run) writes down a late
    interval covering it; stopping the sleepers leaves no process behind."""
    with control_sleeper.control_sleepers(tmp_path) as folder:
        assert folder == tmp_path
        time.sleep(0.5)  # started and sleeping
        running = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        pids = [pid for pid in running if _is_sleeper(pid, tmp_path)]
        assert pids, "no sleeper process found"
        held_from = time.perf_counter()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(0.15)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        held_to = time.perf_counter()
        time.sleep(0.2)
    intervals = control_sleeper.read_intervals(tmp_path)
    assert control_sleeper.shared_ms(intervals, held_from, held_to) >= 120
    assert not any(_is_sleeper(pid, tmp_path) for pid in pids)
    # each sleeper timed its piece of work after every wake-up, none while it was held
    work = control_sleeper.read_work(tmp_path)
    for cpu in os.sched_getaffinity(0):
        lines = (tmp_path / f"work-{cpu}.log").read_text().splitlines()
        assert len(lines) >= 20, cpu  # 0.7 s of 10 ms periods, less the 150 ms held
    assert all(factor > 0 for _, factor in work)
    assert not [at for at, _ in work if held_from + 0.005 < at < held_to - 0.005]


def _is_sleeper(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is a live sleeper logging into ``folder`` (not another run's)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            command = fh.read()
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    arguments = command.split(b"\0")
    mine = b"control_sleeper.py" in command and os.fsencode(folder) in arguments
    return mine and state != "Z"


def test_slowed_share_counts_work_samples_three_times_their_calibrated_time() -> None:
    samples = [(1.00, 1.1), (1.01, 3.5), (1.02, 0.9), (1.03, 4.0), (2.0, 9.0)]
    assert control_sleeper.slowed_share(samples, 1.0, 1.035) == pytest.approx(0.5)
    assert control_sleeper.slowed_share(samples, 1.9, 2.1) is None  # one sample says little


def test_a_stall_on_slow_cpus_is_the_machines() -> None:
    import bench_gui

    result = {
        "largest_below_limit_ms": 31.0,
        "stalls": [
            {"gap_ms": 90.0, "from_s": 5.00, "to_s": 5.09},  # half its samples ran 3x slow
            {"gap_ms": 70.0, "from_s": 9.00, "to_s": 9.07},  # one in eight did
        ],
    }
    work = [(5.0 + 0.01 * i, 4.0 if i % 2 else 1.0) for i in range(8)]
    work += [(9.0 + 0.008 * i, 3.2 if i == 3 else 1.1) for i in range(8)]
    bench_gui.attribute_stalls(result, [], work)
    assert [s["shared"] for s in result["stalls"]] == [True, False]
    assert [s["slowed_share"] for s in result["stalls"]] == [0.5, 0.12]
    assert result["largest_own_ms"] == 70.0


def test_a_stall_with_a_large_reporting_pass_in_it_is_the_machines() -> None:
    import bench_gui

    result = {
        "largest_below_limit_ms": 31.0,
        "stalls": [
            {"gap_ms": 96.0, "from_s": 5.00, "to_s": 5.096, "reported_mib": 512.0},
            {"gap_ms": 60.0, "from_s": 9.00, "to_s": 9.06, "reported_mib": 64.0},
        ],
    }
    bench_gui.attribute_stalls(result, [], [])
    assert [s["shared"] for s in result["stalls"]] == [True, False]
    assert result["largest_own_ms"] == 60.0


def test_stalls_are_attributed_to_the_machine_only_when_shared() -> None:
    import bench_gui

    result = {
        "largest_below_limit_ms": 31.0,
        "stalls": [
            {"gap_ms": 80.0, "from_s": 5.00, "to_s": 5.08},  # a sleeper late for 70 ms
            {"gap_ms": 60.0, "from_s": 9.00, "to_s": 9.06},  # a sleeper late for 10 ms
        ],
    }
    bench_gui.attribute_stalls(result, [(4.99, 5.07), (9.05, 9.07)])
    assert [s["shared"] for s in result["stalls"]] == [True, False]
    assert result["largest_own_ms"] == 60.0
    bench_gui.attribute_stalls(result, None)
    assert result["largest_own_ms"] is None


def test_the_lean_modes_are_their_counterparts_without_diagnostics() -> None:
    import bench_gui

    modes = bench_gui.MODES
    assert all(modes[name].diagnose for name in bench_gui.DEFAULT_MODES)
    for lean, full in (("offscreen-lean", "offscreen"), ("xvfb-lean", "xvfb")):
        assert lean not in bench_gui.DEFAULT_MODES
        assert not modes[lean].diagnose
        same = ("platform", "priority", "busy")
        assert [getattr(modes[lean], f) for f in same] == [getattr(modes[full], f) for f in same]


PERF_SCRIPT = """\
python3 100/100 [001]  10.000000: sched:sched_switch: prev_comm=python3 prev_pid=100 \
prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
\tffffffff82265488 __schedule
\tffffffff8124b0e8 do_sys_poll
python3 200/201 [000]  10.050000: sched:sched_switch: prev_comm=python3 prev_pid=201 \
prev_prio=130 prev_state=R ==> next_comm=python3 next_pid=202 next_prio=130
python3 200/202 [001]  10.120000: sched:sched_wakeup: comm=python3 pid=100 prio=120 \
target_cpu=001
\tffffffff81100000 hrtimer_wakeup
swapper 0/0 [001]  10.121000: sched:sched_switch: prev_comm=swapper/1 prev_pid=0 \
prev_prio=120 prev_state=R ==> next_comm=python3 next_pid=100 next_prio=120
"""


def test_off_cpu_intervals_name_the_sleep_the_waker_and_the_quiet_cpus(tmp_path: Path) -> None:
    script = tmp_path / "sched.txt"
    script.write_text(PERF_SCRIPT)
    lines = offcpu_intervals.off_cpu_intervals(offcpu_intervals.parse(script), 100, 40)
    text = "\n".join(lines)
    assert "off CPU 121.0 ms" in text and "state S" in text
    assert "do_sys_poll" in text
    assert "woken after 120.0 ms on CPU 1" in text and "1.0 ms waiting for a CPU" in text
    assert "hrtimer_wakeup" in text
    assert "CPU 0 71 ms" in text and "CPU 1 120 ms" in text
    assert offcpu_intervals.off_cpu_intervals(offcpu_intervals.parse(script), 100, 200) == []
