"""The shared-memory progress block: how a job's supervisor tells front ends where it is.

One ``multiprocessing.shared_memory`` block per job, created (and finally unlinked) by
the front end, written by the supervisor, read by the front end on a timer. Every
field group has exactly one writer and a sequence counter (a seqlock): the writer makes
the counter odd, writes, makes it even; a reader copies the group and retries until it
saw the same even counter before and after, so it never takes a torn snapshot.

Layout (version 1, little-endian, offsets in bytes):

=======  ===========================================================  ================
offset   content                                                      writer
=======  ===========================================================  ================
0        static: magic ``SGYC``, version, kind, stage and worker       creator (once)
         counts, creator pid, 8 stage specs (name, label, unit,
         cancellable)
1024     job group: seq, state, stage index, active workers, bytes     supervisor
         done/total, ETA, supervisor pid, 8 x (done, total,
         started, finished)
1536     heartbeat group: seq, wall-clock time of the last beat        supervisor watch
1600     cancel request flag (one byte)                                front end
2048     64 worker slots: seq, traces done, traces total, state        supervisor
4096     text group: seq, error length, result length, error text      supervisor
         (2 KiB UTF-8), result text (8 KiB UTF-8 JSON)
=======  ===========================================================  ================

On x86-64 and in CPython, stores reach memory in program order, which is all the
seqlock needs; every group is read whole and parsed from the copy.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory
from pathlib import Path
from typing import Any

__all__ = [
    "ERROR_CAPACITY",
    "LAYOUT_VERSION",
    "MAX_STAGES",
    "MAX_WORKERS",
    "RESULT_CAPACITY",
    "STATES",
    "ProgressBlock",
    "Snapshot",
    "StageSnapshot",
    "StageSpec",
    "WorkerSnapshot",
    "remove_stale_blocks",
]

MAGIC = b"SGYC"
LAYOUT_VERSION = 1
PREFIX = "segycore_"
MAX_STAGES = 8
MAX_WORKERS = 64
ERROR_CAPACITY = 2048
RESULT_CAPACITY = 8192
KINDS = ("import", "export")
STATES = ("starting", "running", "done", "failed", "cancelled")
WORKER_STATES = ("idle", "running", "done", "failed")

# static region
_STATIC = struct.Struct("<4sHBBHxxI")
_STAGE_SPEC = struct.Struct("<48s48s16s?7x")
_STAGE_SPECS_AT = 64
# job group
_JOB_AT = 1024
_JOB_HEAD = struct.Struct("<QBxxxiIQQdI4x")
_STAGE_DYN = struct.Struct("<QQdd")
_JOB_SIZE = _JOB_HEAD.size + MAX_STAGES * _STAGE_DYN.size
# heartbeat group
_BEAT_AT = 1536
_BEAT = struct.Struct("<Qd")
# cancel flag
_CANCEL_AT = 1600
# worker slots
_WORKERS_AT = 2048
_WORKER = struct.Struct("<QQQB7x")
# text group
_TEXT_AT = 4096
_TEXT_HEAD = struct.Struct("<QII")
_TEXT_SIZE = _TEXT_HEAD.size + ERROR_CAPACITY + RESULT_CAPACITY
BLOCK_SIZE = _TEXT_AT + _TEXT_SIZE
_SEQ = struct.Struct("<Q")

assert _STAGE_SPECS_AT + MAX_STAGES * _STAGE_SPEC.size <= _JOB_AT
assert _JOB_AT + _JOB_SIZE <= _BEAT_AT
assert _WORKERS_AT + MAX_WORKERS * _WORKER.size <= _TEXT_AT


@dataclass(frozen=True)
class StageSpec:
    """A stage as the block describes it to front ends."""

    name: str
    label: str
    unit: str
    cancellable: bool


@dataclass(frozen=True)
class StageSnapshot:
    """A stage's progress; ``started``/``finished`` are wall-clock times, 0 for not yet."""

    name: str
    label: str
    unit: str
    cancellable: bool
    done: int
    total: int
    started: float
    finished: float


@dataclass(frozen=True)
class WorkerSnapshot:
    done: int
    total: int
    state: str


@dataclass(frozen=True)
class Snapshot:
    """One consistent reading of the block."""

    kind: str
    state: str
    stage_index: int
    stages: tuple[StageSnapshot, ...]
    bytes_done: int
    bytes_total: int
    active_workers: int
    eta_seconds: float | None
    workers: tuple[WorkerSnapshot, ...]
    heartbeat: float
    supervisor_pid: int
    cancel_requested: bool
    error: str
    result: dict[str, Any] | None

    @property
    def current_stage(self) -> StageSnapshot | None:
        if 0 <= self.stage_index < len(self.stages):
            return self.stages[self.stage_index]
        return None


def _fixed(text: str, size: int) -> bytes:
    """UTF-8 of ``text`` cut to ``size`` bytes on a character boundary."""
    return text.encode("utf-8")[:size].decode("utf-8", "ignore").encode("utf-8")


def _unfixed(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def _attach(name: str) -> shared_memory.SharedMemory:
    """Open an existing block without registering it with a resource tracker.

    On Python < 3.13 attaching registers the block, and a tracker that is not the
    creator's unlinks it when the attaching process exits (CPython gh-82300), under the
    feet of its creator; unregistering afterwards would instead drop the creator's own
    registration where the tracker is shared (spawned children share it). So the
    registration is skipped for this one call.
    """
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    register = resource_tracker.register

    def register_all_but_shared_memory(resource: str, rtype: str) -> None:
        if rtype != "shared_memory":
            register(resource, rtype)

    resource_tracker.register = register_all_but_shared_memory
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


class ProgressBlock:
    """A job's progress block; see the module docstring for the layout and writers."""

    def __init__(self, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self._shm = shm
        self._buf = shm.buf
        self._owner = owner
        self._unlinked = False
        magic, version, kind, n_stages, n_workers, creator = _STATIC.unpack_from(self._buf, 0)
        if magic != MAGIC or version != LAYOUT_VERSION:
            raise ValueError(f"{shm.name} is not a segycore progress block of version 1")
        self.kind = KINDS[kind]
        self.creator_pid = creator
        self.n_workers = n_workers
        self._specs = tuple(
            StageSpec(*(_unfixed(s) for s in fields[:3]), fields[3])
            for fields in (
                _STAGE_SPEC.unpack_from(self._buf, _STAGE_SPECS_AT + i * _STAGE_SPEC.size)
                for i in range(n_stages)
            )
        )
        # The supervisor's private mirror of the job group, written whole on each change.
        self._job = {
            "state": 0,
            "stage": -1,
            "active": 0,
            "bytes_done": 0,
            "bytes_total": 0,
            "eta": math.nan,
            "pid": 0,
        }
        self._stages = [[0, 0, 0.0, 0.0] for _ in range(MAX_STAGES)]
        self._error = b""
        self._result = b""

    # -- life cycle ------------------------------------------------------------------
    @classmethod
    def create(cls, kind: str, stages: Sequence[StageSpec], n_workers: int) -> ProgressBlock:
        """Create a job's block (front end); readable and writable by this user only."""
        if kind not in KINDS:
            raise ValueError(f"job kind must be one of {KINDS}, got {kind!r}")
        if not 0 < len(stages) <= MAX_STAGES:
            raise ValueError(f"a job has 1 to {MAX_STAGES} stages, got {len(stages)}")
        if not 0 < n_workers <= MAX_WORKERS:
            raise ValueError(f"a job has 1 to {MAX_WORKERS} workers, got {n_workers}")
        name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
        shm = shared_memory.SharedMemory(name=name, create=True, size=BLOCK_SIZE)
        try:
            buf = shm.buf
            buf[:BLOCK_SIZE] = bytes(BLOCK_SIZE)
            _STATIC.pack_into(
                buf,
                0,
                MAGIC,
                LAYOUT_VERSION,
                KINDS.index(kind),
                len(stages),
                n_workers,
                os.getpid(),
            )
            for i, spec in enumerate(stages):
                _STAGE_SPEC.pack_into(
                    buf,
                    _STAGE_SPECS_AT + i * _STAGE_SPEC.size,
                    _fixed(spec.name, 48),
                    _fixed(spec.label, 48),
                    _fixed(spec.unit, 16),
                    spec.cancellable,
                )
            block = cls(shm, owner=True)
            block._write_job()
            return block
        except BaseException:
            shm.close()
            shm.unlink()
            raise

    @classmethod
    def attach(cls, name: str) -> ProgressBlock:
        """Open a block created elsewhere (supervisor); never unlinks it."""
        return cls(_attach(name), owner=False)

    @property
    def name(self) -> str:
        return self._shm.name

    def close(self) -> None:
        """Release this process's mapping (the block stays until the creator unlinks it)."""
        if self._buf is not None:
            self._buf = None
            self._shm.close()

    def unlink(self) -> None:
        """Remove the block (creator only), exactly once; a block already gone is fine."""
        if not self._owner or self._unlinked:
            return
        self._unlinked = True
        with contextlib.suppress(FileNotFoundError):
            self._shm.unlink()

    def __enter__(self) -> ProgressBlock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self.unlink()

    # -- seqlock primitives ----------------------------------------------------------
    def _write_group(self, at: int, payload: bytes) -> None:
        buf = self._buf
        seq = _SEQ.unpack_from(buf, at)[0]
        _SEQ.pack_into(buf, at, seq + 1)
        buf[at + 8 : at + 8 + len(payload)] = payload
        _SEQ.pack_into(buf, at, seq + 2)

    def _read_group(self, at: int, size: int) -> bytes:
        """The group's bytes after its sequence counter, from one untorn copy."""
        buf = self._buf
        while True:
            before = _SEQ.unpack_from(buf, at)[0]
            if before & 1:
                time.sleep(0)
                continue
            data = bytes(buf[at + 8 : at + size])
            if _SEQ.unpack_from(buf, at)[0] == before:
                return data

    # -- supervisor: job group -------------------------------------------------------
    def _write_job(self) -> None:
        j = self._job
        head = _JOB_HEAD.pack(
            0,
            j["state"],
            j["stage"],
            j["active"],
            j["bytes_done"],
            j["bytes_total"],
            j["eta"],
            j["pid"],
        )[8:]
        dyn = b"".join(_STAGE_DYN.pack(*s) for s in self._stages)
        self._write_group(_JOB_AT, head + dyn)

    def set_state(self, state: str) -> None:
        self._job["state"] = STATES.index(state)
        self._write_job()

    def set_supervisor_pid(self, pid: int) -> None:
        self._job["pid"] = pid
        self._write_job()

    def begin_stage(self, index: int, total: int, bytes_total: int = 0) -> None:
        """Make stage ``index`` current, with ``total`` in its unit."""
        if not 0 <= index < len(self._specs):
            raise ValueError(f"stage {index} outside 0..{len(self._specs) - 1}")
        self._stages[index] = [0, int(total), time.time(), 0.0]
        self._job.update(
            stage=index, active=0, bytes_done=0, bytes_total=int(bytes_total), eta=math.nan
        )
        self._write_job()

    def update_stage(
        self,
        done: int,
        bytes_done: int = 0,
        active_workers: int = 0,
        eta_seconds: float | None = None,
    ) -> None:
        """The current stage's progress."""
        self._stages[self._job["stage"]][0] = int(done)
        self._job.update(
            bytes_done=int(bytes_done),
            active=int(active_workers),
            eta=math.nan if eta_seconds is None else float(eta_seconds),
        )
        self._write_job()

    def finish_stage(self) -> None:
        """Mark the current stage complete (done = total)."""
        stage = self._stages[self._job["stage"]]
        stage[0] = stage[1]
        stage[3] = time.time()
        self._job.update(active=0, eta=0.0)
        self._write_job()

    def update_worker(self, slot: int, done: int, total: int, state: str) -> None:
        """Worker ``slot``'s traces done of its total."""
        if not 0 <= slot < self.n_workers:
            raise ValueError(f"worker slot {slot} outside 0..{self.n_workers - 1}")
        at = _WORKERS_AT + slot * _WORKER.size
        payload = _WORKER.pack(0, int(done), int(total), WORKER_STATES.index(state))[8:]
        self._write_group(at, payload)

    def beat(self) -> None:
        """Heartbeat: the supervisor is alive (written by its watch thread only)."""
        self._write_group(_BEAT_AT, struct.pack("<d", time.time()))

    # -- supervisor: text group ------------------------------------------------------
    def _write_text(self) -> None:
        payload = (
            struct.pack("<II", len(self._error), len(self._result))
            + self._error.ljust(ERROR_CAPACITY, b"\0")
            + self._result.ljust(RESULT_CAPACITY, b"\0")
        )
        self._write_group(_TEXT_AT, payload)

    def set_error(self, message: str) -> None:
        """The failure message (UTF-8, cut to 2 KiB on a character boundary)."""
        self._error = _fixed(message, ERROR_CAPACITY)
        self._write_text()

    def set_result(self, result: dict[str, Any]) -> None:
        """The finished job's summary as JSON (at most 8 KiB)."""
        text = json.dumps(result, default=str).encode("utf-8")
        if len(text) > RESULT_CAPACITY:
            raise ValueError(f"job result is {len(text)} bytes, more than {RESULT_CAPACITY}")
        self._result = text
        self._write_text()

    # -- front end ---------------------------------------------------------------------
    def request_cancel(self) -> None:
        self._buf[_CANCEL_AT] = 1

    def cancel_requested(self) -> bool:
        return bool(self._buf[_CANCEL_AT])

    def snapshot(self) -> Snapshot:
        """One consistent reading of every group."""
        job = self._read_group(_JOB_AT, _JOB_SIZE)
        _, state, stage, active, bytes_done, bytes_total, eta, pid = _JOB_HEAD.unpack(
            bytes(8) + job[: _JOB_HEAD.size - 8]
        )
        stages = []
        for i, spec in enumerate(self._specs):
            at = _JOB_HEAD.size - 8 + i * _STAGE_DYN.size
            done, total, started, finished = _STAGE_DYN.unpack(job[at : at + _STAGE_DYN.size])
            stages.append(
                StageSnapshot(
                    spec.name,
                    spec.label,
                    spec.unit,
                    spec.cancellable,
                    done,
                    total,
                    started,
                    finished,
                )
            )
        workers = []
        for slot in range(self.n_workers):
            at = _WORKERS_AT + slot * _WORKER.size
            done, total, wstate = _WORKER.unpack(bytes(8) + self._read_group(at, _WORKER.size))[1:]
            workers.append(WorkerSnapshot(done, total, WORKER_STATES[wstate]))
        (heartbeat,) = struct.unpack("<d", self._read_group(_BEAT_AT, _BEAT.size))
        text = self._read_group(_TEXT_AT, _TEXT_SIZE)
        error_len, result_len = struct.unpack_from("<II", text, 0)
        error = text[8 : 8 + error_len].decode("utf-8", "replace")
        result_raw = text[8 + ERROR_CAPACITY : 8 + ERROR_CAPACITY + result_len]
        return Snapshot(
            kind=self.kind,
            state=STATES[state],
            stage_index=stage,
            stages=tuple(stages),
            bytes_done=bytes_done,
            bytes_total=bytes_total,
            active_workers=active,
            eta_seconds=None if math.isnan(eta) else eta,
            workers=tuple(workers),
            heartbeat=heartbeat,
            supervisor_pid=pid,
            cancel_requested=self.cancel_requested(),
            error=error,
            result=json.loads(result_raw) if result_len else None,
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_blocks() -> list[str]:
    """Unlink blocks whose creator process is gone (a crashed job's); return their names.

    Linux only (blocks are files in /dev/shm there); elsewhere the resource tracker of
    the dead creator removes them.
    """
    shm_dir = Path("/dev/shm")
    if not sys.platform.startswith("linux") or not shm_dir.is_dir():
        return []
    removed = []
    for path in shm_dir.glob(f"{PREFIX}*_*"):
        pid_text = path.name[len(PREFIX) :].split("_", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        try:
            path.unlink()
            removed.append(path.name)
        except FileNotFoundError:
            pass
    return removed
