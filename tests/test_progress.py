"""The shared-memory progress block: layout, seqlock, lifetime, permissions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from segycore.progress import (
    ERROR_CAPACITY,
    MAX_STAGES,
    ProgressBlock,
    StageSpec,
)

STAGES = [
    StageSpec("Parallel import", "Importing traces...", "traces", True),
    StageSpec("Cleanup", "Cleaning up...", "files", False),
]


@pytest.fixture
def block():
    with ProgressBlock.create("import", STAGES, 4) as b:
        yield b


def test_every_field_round_trips(block: ProgressBlock) -> None:
    writer = ProgressBlock.attach(block.name)
    try:
        writer.set_supervisor_pid(4242)
        writer.set_state("running")
        writer.begin_stage(0, 1000, 5000)
        writer.update_stage(250, 1250, 3, 12.5)
        writer.update_worker(2, 60, 250, "running")
        writer.beat()
        writer.set_result({"n_traces": 1000, "path": "/x"})
        snap = block.snapshot()
    finally:
        writer.close()
    assert (snap.kind, snap.state, snap.stage_index, snap.supervisor_pid) == (
        "import",
        "running",
        0,
        4242,
    )
    stage = snap.current_stage
    assert (stage.name, stage.unit, stage.cancellable, stage.done, stage.total) == (
        "Parallel import",
        "traces",
        True,
        250,
        1000,
    )
    assert stage.started > 0 and stage.finished == 0
    assert (snap.bytes_done, snap.bytes_total, snap.active_workers, snap.eta_seconds) == (
        1250,
        5000,
        3,
        12.5,
    )
    assert snap.workers[2].done == 60 and snap.workers[2].state == "running"
    assert snap.workers[0].state == "idle"
    assert snap.heartbeat > 0
    assert snap.result == {"n_traces": 1000, "path": "/x"}
    assert not snap.cancel_requested
    block.request_cancel()
    assert block.snapshot().cancel_requested


def test_error_text_is_cut_on_a_character_boundary(block: ProgressBlock) -> None:
    block.set_error("é" * ERROR_CAPACITY)  # 2 bytes each: twice the capacity
    error = block.snapshot().error
    assert error == "é" * (ERROR_CAPACITY // 2)
    block.set_error("x" + "€" * ERROR_CAPACITY)  # 3 bytes each, misaligned
    error = block.snapshot().error
    assert error.startswith("x€") and len(error.encode()) <= ERROR_CAPACITY
    assert "\ufffd" not in error


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="1 to 8 stages"):
        ProgressBlock.create("import", STAGES * MAX_STAGES, 1)
    with pytest.raises(ValueError, match="kind"):
        ProgressBlock.create("copy", STAGES, 1)


def test_block_is_owner_only(block: ProgressBlock) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("permission bits checked on Linux's /dev/shm files")
    mode = stat.S_IMODE(os.stat(Path("/dev/shm", block.name)).st_mode)
    assert mode == 0o600


READER = textwrap.dedent(
    """
    import json, sys, time
    from segycore.progress import ProgressBlock
    block = ProgressBlock.attach(sys.argv[1])
    reads = torn = 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        snap = block.snapshot()
        reads += 1
        done = snap.stages[0].done
        worker = snap.workers[0]
        if snap.bytes_done != 7 * done or snap.active_workers != done % 64:
            torn += 1
        if worker.total != 2 * worker.done:
            torn += 1
        if snap.state == "done":
            break
    block.close()
    print(json.dumps({"reads": reads, "torn": torn}))
    """
)


def test_a_hammering_reader_never_sees_a_torn_snapshot(block: ProgressBlock) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, block.name, "20"], stdout=subprocess.PIPE, text=True
    )
    try:
        block.begin_stage(0, 10**9)
        for i in range(1, 60_000):
            block.update_stage(i, 7 * i, i % 64)
            block.update_worker(0, i, 2 * i, "running")
        block.set_state("done")
        out, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
        reader.wait()
    result = json.loads(out)
    assert result["reads"] > 100
    assert result["torn"] == 0


ATTACH_AND_EXIT = (
    "import sys; from segycore.progress import ProgressBlock; "
    "b = ProgressBlock.attach(sys.argv[1]); b.close()"
)


def test_an_attaching_process_does_not_unlink_the_block(block: ProgressBlock) -> None:
    # CPython gh-82300: on 3.11 an attaching process's resource tracker would unlink it.
    done = subprocess.run(
        [sys.executable, "-c", ATTACH_AND_EXIT, block.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr
    again = ProgressBlock.attach(block.name)
    assert again.snapshot().kind == "import"
    again.close()


def test_unlink_happens_exactly_once() -> None:
    block = ProgressBlock.create("export", STAGES, 1)
    name = block.name
    block.close()
    block.unlink()
    block.unlink()
    with pytest.raises(FileNotFoundError):
        ProgressBlock.attach(name)
