"""The shared-memory progress block: layout, torn reads, text bounds, lifetime, cleanup."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segycore.runtime.progress import (
    BLOCK_SIZE,
    ERROR_CAPACITY,
    MAX_STAGES,
    MAX_WORKERS,
    RESULT_CAPACITY,
    WORKER_STATES,
    ProgressBlock,
    Snapshot,
    StageSnapshot,
    StageSpec,
    WorkerSnapshot,
    remove_stale_blocks,
)

LINUX = sys.platform.startswith("linux")
linux_only = pytest.mark.skipif(not LINUX, reason="needs Linux's /dev/shm")
SHM = Path("/dev/shm")
STAGES = (
    StageSpec("Parallel import", "Importing traces...", "traces", True),
    StageSpec("Merge headers", "Merging header files...", "segments", False),
    StageSpec("Clean up ✓", "Nettoyage…", "files", False),
)
N_WORKERS = 4


@pytest.fixture
def block() -> Iterator[ProgressBlock]:
    with ProgressBlock.create("import", STAGES, N_WORKERS) as created:
        yield created


def _raw(block: ProgressBlock) -> bytes:
    """The block's bytes as another process would see them."""
    return bytes(block._buffer())


def _spawn() -> Any:
    return multiprocessing.get_context("spawn")


# -- layout ----------------------------------------------------------------------------
def test_a_new_block_reads_as_not_started(block: ProgressBlock) -> None:
    snap = block.snapshot()
    assert snap == Snapshot(
        kind="import",
        state="starting",
        stage_index=-1,
        stages=tuple(
            StageSnapshot(s.name, s.label, s.unit, s.cancellable, 0, 0, 0.0, 0.0) for s in STAGES
        ),
        bytes_done=0,
        bytes_total=0,
        active_workers=0,
        eta_seconds=None,
        workers=(WorkerSnapshot(0, 0, "idle"),) * N_WORKERS,
        heartbeat=0.0,
        supervisor_pid=None,
        cancel_requested=False,
        error="",
        result=None,
    )
    assert snap.current_stage is None
    assert (block.kind, block.stages, block.n_workers) == ("import", STAGES, N_WORKERS)


def test_every_field_round_trips_through_an_attached_writer(block: ProgressBlock) -> None:
    before = time.time()
    writer = ProgressBlock.attach(block.name)
    try:
        assert (writer.kind, writer.stages, writer.n_workers) == ("import", STAGES, N_WORKERS)
        writer.set_supervisor_pid(4242)
        writer.set_state("running")
        writer.begin_stage(0, 1000, 7000)
        writer.update_stage(1000, 7000, 2, 0.5)
        writer.finish_stage()
        writer.begin_stage(1, 6, 600)
        writer.update_stage(4, 400, 3, 12.25)
        for slot in range(N_WORKERS):
            writer.update_worker(slot, 10 * slot, 100 + slot, WORKER_STATES[slot])
        writer.beat()
        writer.set_error("disk full: /data/out.sgy")
        writer.set_result({"n_traces": 1000, "stage_seconds": {"import": 1.5}, "ok": True})
        block.request_cancel()
        snap = block.snapshot()
        assert writer.cancel_requested()
    finally:
        writer.close()
    after = time.time()
    first, second, third = snap.stages
    assert before <= first.started <= first.finished <= second.started <= after
    assert before <= snap.heartbeat <= after
    assert (second.finished, third.started, third.finished) == (0.0, 0.0, 0.0)
    expected = Snapshot(
        kind="import",
        state="running",
        stage_index=1,
        stages=(
            StageSnapshot(
                *dataclasses.astuple(STAGES[0]), 1000, 1000, first.started, first.finished
            ),
            StageSnapshot(*dataclasses.astuple(STAGES[1]), 4, 6, second.started, 0.0),
            StageSnapshot(*dataclasses.astuple(STAGES[2]), 0, 0, 0.0, 0.0),
        ),
        bytes_done=400,
        bytes_total=600,
        active_workers=3,
        eta_seconds=12.25,
        workers=tuple(WorkerSnapshot(10 * i, 100 + i, WORKER_STATES[i]) for i in range(N_WORKERS)),
        heartbeat=snap.heartbeat,
        supervisor_pid=4242,
        cancel_requested=True,
        error="disk full: /data/out.sgy",
        result={"n_traces": 1000, "stage_seconds": {"import": 1.5}, "ok": True},
    )
    assert snap == expected
    assert snap.current_stage == expected.stages[1]


def _group(raw: bytes, offset: int) -> bytes:
    """A group's payload, checking its even counter, length and CRC as documented."""
    seq, crc, length = struct.unpack_from("<QII", raw, offset)
    payload = raw[offset + 16 : offset + 16 + length]
    assert seq % 2 == 0 and seq > 0 and zlib.crc32(payload) == crc
    return payload


def test_the_bytes_follow_the_documented_layout(block: ProgressBlock) -> None:
    block.set_supervisor_pid(77)
    block.set_state("failed")
    block.begin_stage(2, 12, 3)
    block.update_stage(5, 1, 1, 9.5)
    block.update_worker(3, 8, 9, "done")
    block.set_error("boom")
    block.set_result({"a": 1})
    block.request_cancel()
    block.beat()
    raw = _raw(block)
    assert len(raw) >= BLOCK_SIZE == 16832
    magic, version, size, kind, n_stages, n_workers = struct.unpack_from("<8sIIBBH", raw, 0)
    assert (magic, version, size, kind, n_stages, n_workers) == (b"SEGYPROG", 1, 16832, 0, 3, 4)
    pid, created = struct.unpack_from("<qd", raw, 24)
    assert pid == os.getpid() and 0 < created <= time.time()
    assert block.name.startswith(f"segycore_{os.getpid()}_")
    spec = 64 + 2 * 232  # the third stage spec
    assert raw[spec] == len("Clean up ✓".encode()) and raw[spec + 1 : spec + 13] == (
        "Clean up ✓".encode()
    )
    assert raw[spec + 64] == len("Nettoyage…".encode())
    assert raw[spec + 64 + 128 : spec + 64 + 128 + 6] == b"\x05files"
    assert raw[spec + 224] == 0  # not cancellable
    assert raw[64 + 224] == 1  # the first stage is
    assert struct.unpack("<I", _group(raw, 1920)) == (1,)
    assert 0 < struct.unpack("<d", _group(raw, 1984))[0] <= time.time()
    job = _group(raw, 2048)
    assert len(job) == 296
    assert struct.unpack_from("<BxhH2xQQdq", job) == (3, 2, 1, 1, 3, 9.5, 77)
    assert struct.unpack_from("<QQ", job, 40 + 2 * 32) == (5, 12)
    assert _group(raw, 2368) == b"boom"
    assert _group(raw, 4480) == b'{"a": 1}'
    assert struct.unpack("<QQB7x", _group(raw, 12736 + 3 * 64)) == (8, 9, 2)


def test_finishing_a_stage_completes_it(block: ProgressBlock) -> None:
    block.begin_stage(0, 10, 70)
    block.update_stage(9, 63, 2, 1.0)
    block.finish_stage()
    snap = block.snapshot()
    assert (snap.stages[0].done, snap.bytes_done, snap.active_workers, snap.eta_seconds) == (
        10,
        70,
        0,
        None,
    )
    assert snap.stages[0].finished >= snap.stages[0].started > 0
    block.begin_stage(1, 3)
    snap = block.snapshot()
    assert (snap.stage_index, snap.bytes_done, snap.bytes_total) == (1, 0, 0)
    assert snap.stages[0].done == 10  # the finished stage keeps its numbers


def test_bad_writes_raise_and_leave_the_block_readable(block: ProgressBlock) -> None:
    with pytest.raises(RuntimeError, match="before begin_stage"):
        block.update_stage(1)
    block.begin_stage(0, 100)
    block.update_stage(5)
    before = block.snapshot()
    with pytest.raises(ValueError, match="job state"):
        block.set_state("paused")
    with pytest.raises(ValueError, match="stage index 3"):
        block.begin_stage(3, 1)
    with pytest.raises(ValueError, match="out of range"):
        block.update_stage(-1)
    with pytest.raises(ValueError, match="out of range"):
        block.update_stage(2**64)
    with pytest.raises(ValueError, match="worker slot 4"):
        block.update_worker(N_WORKERS, 1, 1, "running")
    with pytest.raises(ValueError, match="worker state"):
        block.update_worker(0, 1, 1, "sleeping")
    with pytest.raises(TypeError, match="dict"):
        block.set_result([1, 2])  # type: ignore[arg-type]
    assert block.snapshot() == before


def test_creation_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="job kind"):
        ProgressBlock.create("copy", STAGES, 1)
    with pytest.raises(ValueError, match="at most 8 stages"):
        ProgressBlock.create("import", STAGES * 3, 1)
    with pytest.raises(ValueError, match="worker slots"):
        ProgressBlock.create("import", STAGES, MAX_WORKERS + 1)
    with ProgressBlock.create("export", STAGES * 2 + STAGES[:2], MAX_WORKERS) as full:
        snap = full.snapshot()
        assert (snap.kind, len(snap.stages), len(snap.workers)) == ("export", MAX_STAGES, 64)
        full.begin_stage(MAX_STAGES - 1, 5)
        full.update_worker(MAX_WORKERS - 1, 1, 2, "running")
        snap = full.snapshot()
        assert snap.current_stage.total == 5 and snap.workers[-1] == WorkerSnapshot(1, 2, "running")


def test_stage_texts_are_bounded() -> None:
    long = StageSpec("n" * 62 + "é", "l" * 200, "ü" * 20, True)
    with ProgressBlock.create("import", [long], 1) as created:
        (spec,) = created.stages
    assert spec == StageSpec("n" * 62, "l" * 127, "ü" * 15, True)


# -- text bounds ----------------------------------------------------------------------
def _longest_prefix(text: str, limit: int) -> str:
    """Reference: the longest prefix of ``text`` whose UTF-8 form fits ``limit`` bytes."""
    size = 0
    for i, char in enumerate(text):
        size += len(char.encode())
        if size > limit:
            return text[:i]
    return text


def test_error_text_is_cut_on_a_character_boundary(block: ProgressBlock) -> None:
    @settings(max_examples=200, deadline=None, database=None)
    @given(
        st.integers(ERROR_CAPACITY - 8, ERROR_CAPACITY),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    )
    def check(ascii_run: int, tail: str) -> None:
        message = "a" * ascii_run + tail
        block.set_error(message)
        error = block.snapshot().error
        assert error == _longest_prefix(message, ERROR_CAPACITY)

    check()
    block.set_error("x" * ERROR_CAPACITY)
    assert block.snapshot().error == "x" * ERROR_CAPACITY
    block.set_error("x" * (ERROR_CAPACITY - 1) + "€")
    assert block.snapshot().error == "x" * (ERROR_CAPACITY - 1)
    block.set_error("bad name \udcff.sgy")  # an undecodable file name, surrogate-escaped
    assert block.snapshot().error == "bad name ?.sgy"
    block.set_error("")
    assert block.snapshot().error == ""


def test_an_oversized_result_stays_valid_json(block: ProgressBlock) -> None:
    import json

    for filler in ("€" * 4000, '\x01\\"' * 3000):
        result = {"kind": "import", "files": [filler], "path": Path("/data/x")}
        block.set_result(result)
        stored = block.snapshot().result
        assert stored is not None and stored["truncated"] is True
        full = json.dumps(result, ensure_ascii=False, default=str)
        assert full.startswith(stored["text"]) and len(stored["text"]) > 1000
        payload = _group(_raw(block), 4480)
        assert len(payload) <= RESULT_CAPACITY
        assert json.loads(payload.decode("utf-8")) == stored
    block.set_result({"path": Path("/data/x"), "n": 3})
    assert block.snapshot().result == {"path": "/data/x", "n": 3}


# -- torn reads -------------------------------------------------------------------------
FINAL = {"final": True}


def _violations(snap: Snapshot) -> list[str]:
    """What a snapshot mixing two writes of one group would break (see the writer)."""
    problems = []
    stage = snap.current_stage
    if stage is not None:
        if snap.bytes_total != 7 * stage.total or snap.bytes_done != 7 * stage.done:
            problems.append(f"bytes {snap.bytes_done}/{snap.bytes_total} vs stage {stage}")
        expected_eta = None if stage.done == 0 else float(stage.done)
        if snap.eta_seconds != expected_eta or snap.active_workers != stage.done % 65:
            problems.append(f"eta/workers {snap.eta_seconds} {snap.active_workers} vs {stage}")
    for worker in snap.workers:
        idle = worker == WorkerSnapshot(0, 0, "idle")
        state = WORKER_STATES[worker.done % len(WORKER_STATES)]
        if not idle and (worker.total != 3 * worker.done + 1 or worker.state != state):
            problems.append(f"worker {worker}")
    if snap.error:
        number, _, text = snap.error.partition(":")
        if text != "ü" * (int(number) % 700):
            problems.append(f"error {snap.error[:20]}")
    result = snap.result
    if result is not None and result != FINAL and result["pad"] != "€" * (result["n"] % 900):
        problems.append(f"result {str(result)[:40]}")
    if snap.state == "done" and result != FINAL:
        problems.append("state done without its final result")
    return problems


def _hammer(name: str, conn: Connection) -> None:
    """Spawned reader: snapshot as fast as possible until the writer says done."""
    block = ProgressBlock.attach(name)
    reads = 0
    problems: list[str] = []
    seen: set[int] = set()
    state = ""
    conn.send("ready")
    deadline = time.monotonic() + 60
    try:
        while state != "done" and time.monotonic() < deadline:
            snap = block.snapshot()
            reads += 1
            state = snap.state
            seen.add(snap.bytes_done)
            problems.extend(_violations(snap))
            del problems[10:]
    finally:
        block.close()
    conn.send({"reads": reads, "distinct": len(seen), "problems": problems, "state": state})


def test_a_hammering_reader_never_sees_a_torn_group(block: ProgressBlock) -> None:
    parent, child = _spawn().Pipe()
    reader = _spawn().Process(target=_hammer, args=(block.name, child))
    reader.start()
    try:
        assert parent.poll(60) and parent.recv() == "ready"
        block.set_state("running")
        updates = 0
        stop = time.monotonic() + 3.0  # thousands of updates, a few seconds at most
        while updates < 20_000 and time.monotonic() < stop:
            updates += 1
            i = updates
            if i % 1000 == 1:
                total = 1_000_000 + i
                block.begin_stage(i // 1000 % len(STAGES), total, 7 * total)
            else:
                block.update_stage(i, 7 * i, i % 65, float(i))
            block.update_worker(i % N_WORKERS, i, 3 * i + 1, WORKER_STATES[i % 5])
            if i % 7 == 0:
                block.set_error(f"{i}:" + "ü" * (i % 700))
            if i % 11 == 0:
                block.set_result({"n": i, "pad": "€" * (i % 900)})
            if i % 3 == 0:
                block.beat()
        block.set_result(FINAL)
        block.set_state("done")
        assert parent.poll(60), "the reader did not report"
        report = parent.recv()
    finally:
        reader.join(10)
        if reader.is_alive():
            reader.kill()
            reader.join()
        parent.close()
        child.close()
    assert reader.exitcode == 0
    assert updates >= 1000
    assert report["problems"] == []
    assert report["state"] == "done"
    assert report["distinct"] > 2, "the reader never overlapped the writer"


def test_a_writer_that_died_mid_write_does_not_hang_readers(block: ProgressBlock) -> None:
    block.set_state("running")
    block.begin_stage(0, 50)
    assert block.snapshot().stages[0].total == 50
    fresh = ProgressBlock.attach(block.name)
    try:
        buf = block._buffer()
        (seq,) = struct.unpack_from("<Q", buf, 2048)
        struct.pack_into("<QB", buf, 2048, seq + 1, 0xFF)  # counter odd, CRC clobbered
        for _ in range(2):  # the second read knows the writer is gone
            snap = block.snapshot()
            assert (snap.state, snap.stages[0].total) == ("running", 50)  # last consistent
        assert fresh.snapshot().state == "starting"  # never saw one: the initial state
        block.update_stage(7)  # the next write repairs the group
        assert fresh.snapshot().stages[0].done == 7
        assert block.snapshot().state == "running"
    finally:
        fresh.close()


# -- lifetime ---------------------------------------------------------------------------
def _attach_and_exit(name: str, conn: Connection) -> None:
    """Spawned child: attach like a supervisor, recording any resource-tracker use."""
    from multiprocessing import resource_tracker

    calls: list[tuple[str, str]] = []
    for verb in ("register", "unregister"):
        original = getattr(resource_tracker, verb)
        setattr(
            resource_tracker,
            verb,
            lambda n, rtype, verb=verb, original=original: (
                calls.append((verb, rtype)),
                original(n, rtype),
            ),
        )
    block = ProgressBlock.attach(name)
    block.set_supervisor_pid(os.getpid())
    block.update_worker(1, 5, 6, "running")
    block.beat()
    block.close()
    conn.send(calls)


def test_a_spawned_attacher_neither_tracks_nor_removes_the_block(
    block: ProgressBlock, capfd: pytest.CaptureFixture[str]
) -> None:
    parent, child = _spawn().Pipe()
    process = _spawn().Process(target=_attach_and_exit, args=(block.name, child))
    process.start()
    try:
        assert parent.poll(60)
        calls = parent.recv()
    finally:
        process.join(30)
        parent.close()
        child.close()
    assert process.exitcode == 0
    assert calls == []
    snap = block.snapshot()
    assert snap.supervisor_pid == process.pid
    assert snap.workers[1] == WorkerSnapshot(5, 6, "running")
    if LINUX:
        assert (SHM / block.name).exists()
    again = ProgressBlock.attach(block.name)
    again.close()
    err = capfd.readouterr().err
    assert "resource_tracker" not in err and "leaked" not in err


ATTACH = textwrap.dedent(
    """
    import sys
    from segycore.runtime.progress import ProgressBlock
    block = ProgressBlock.attach(sys.argv[1])
    block.beat()
    block.close()
    """
)


def test_an_attacher_with_its_own_resource_tracker_leaves_the_block(block: ProgressBlock) -> None:
    # gh-82300: on 3.11 such a process's tracker unlinked the block when it exited.
    run = subprocess.run(
        [sys.executable, "-c", ATTACH, block.name], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "resource_tracker" not in run.stderr
    assert block.snapshot().heartbeat > 0
    ProgressBlock.attach(block.name).close()


def test_only_the_creator_unlinks_and_only_once() -> None:
    created = ProgressBlock.create("export", STAGES, 1)
    name = created.name
    attached = ProgressBlock.attach(name)
    with pytest.raises(RuntimeError, match="only the process that created"):
        attached.unlink()
    attached.close()
    attached.close()
    created.close()
    with pytest.raises(ValueError, match="closed"):
        created.snapshot()
    created.unlink()
    with pytest.raises(FileNotFoundError):
        ProgressBlock.attach(name)
    if LINUX:  # a later segment under the same name is not removed by a second unlink
        fd = os.open(SHM / name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
        try:
            created.unlink()
            assert (SHM / name).exists()
        finally:
            os.unlink(SHM / name)


def test_unlink_ignores_a_block_that_is_already_gone() -> None:
    with ProgressBlock.create("import", STAGES, 1) as created:
        if LINUX:
            os.unlink(SHM / created.name)
        created.unlink()
    created.unlink()


@linux_only
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"SEGYPROG" + b"\0" * 20, "not a segycore progress block"),
        (b"\0" * BLOCK_SIZE, "not a segycore progress block"),
        (b"SEGYPROG" + struct.pack("<I", 2) + b"\0" * BLOCK_SIZE, "layout version 2"),
        (b"SEGYPROG" + struct.pack("<II", 1, BLOCK_SIZE) + b"\0" * 2000, "cut short"),
    ],
)
def test_attach_refuses_foreign_memory(content: bytes, problem: str) -> None:
    path = SHM / f"segycore_{os.getpid()}_f0e1"
    path.write_bytes(content)
    try:
        with pytest.raises(ValueError, match=problem):
            ProgressBlock.attach(path.name)
    finally:
        path.unlink()


@linux_only
def test_the_block_is_owner_only_whatever_the_umask() -> None:
    previous = os.umask(0)
    try:
        created = ProgressBlock.create("import", STAGES, 1)
    finally:
        os.umask(previous)
    with created:
        assert stat.S_IMODE((SHM / created.name).stat().st_mode) == 0o600


# -- stale blocks ------------------------------------------------------------------------
CRASH = textwrap.dedent(
    """
    import os
    from segycore.runtime.progress import ProgressBlock, StageSpec
    block = ProgressBlock.create("import", [StageSpec("a", "b", "c", False)], 1)
    print(block.name, flush=True)
    os._exit(0)  # like a crash: nothing unlinks
    """
)


def _forge(template: ProgressBlock, pid: int, created: float) -> Path:
    """A copy of ``template`` claiming creator ``pid`` and creation time ``created``."""
    raw = bytearray(_raw(template))
    struct.pack_into("<qd", raw, 24, pid, created)
    path = SHM / f"segycore_{pid}_{os.urandom(4).hex()}"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    return path


@linux_only
def test_stale_blocks_of_dead_creators_are_removed_live_ones_kept(
    block: ProgressBlock,
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CRASH], capture_output=True, text=True, timeout=60, check=True
    )
    dead = run.stdout.strip()
    assert (SHM / dead).exists()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    forged: list[Path] = []
    try:
        reused = _forge(block, sleeper.pid, time.time() - 3600)  # pid now someone else's
        current = _forge(block, sleeper.pid, time.time())  # plausibly that process's own
        forged = [reused, current]
        removed = remove_stale_blocks()
        assert dead in removed and reused.name in removed
        assert not (SHM / dead).exists() and not reused.exists()
        assert block.name not in removed and (SHM / block.name).exists()
        assert current.name not in removed and current.exists()
        assert dead not in remove_stale_blocks()  # gone already: reported once
    finally:
        sleeper.kill()
        sleeper.wait()
        for path in forged:
            path.unlink(missing_ok=True)
        (SHM / dead).unlink(missing_ok=True)
