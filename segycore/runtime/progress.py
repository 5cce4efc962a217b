"""The shared-memory progress block: one job's progress, readable without locks.

The front end creates the block, the supervisor (and worker processes, if any) attach
to it by name. Each field group below has exactly one writer and its own sequence
counter, so :meth:`ProgressBlock.snapshot` never returns a half-written group.

Layout, version 1: little endian, 16832 bytes. Written once by the creator before the
name is handed out, read-only afterwards:

======  =========  ==================================================================
offset  type       field
======  =========  ==================================================================
0       char[8]    magic ``b"SEGYPROG"``
8       u32        layout version (1)
12      u32        layout size in bytes (16832)
16      u8         job kind: index in ``KINDS`` (0 import, 1 export, 2 index)
17      u8         number of stages (at most 8)
18      u16        number of worker slots (at most 64)
24      i64        creator pid (also in the block's name, ``segycore_<pid>_<hex>``)
32      f64        creation time, ``time.time()``
64      spec[8]    stage specs, 232 bytes each: name (u8 length + 63 bytes UTF-8),
                   label (u8 + 127), unit (u8 + 31), u8 cancellable, 7 spare
======  =========  ==================================================================

Field groups, 64-byte aligned (no two writers share a cache line); [writer]:

======  ==========  =================================================================
offset  group       payload
======  ==========  =================================================================
1920    cancel      u32 cancel requested [front end]
1984    heartbeat   f64 ``time.time()`` of the last beat [supervisor, >= every 100 ms]
2048    job         job header and stage progress, 296 bytes, below [supervisor]
2368    error       UTF-8 error text, at most 2048 bytes [supervisor]
4480    result      UTF-8 JSON object, at most 8192 bytes [supervisor]
12736   worker[64]  one group per worker slot, 64 bytes apart: u64 traces done,
                    u64 traces total, u8 state, 7 spare [that worker]
======  ==========  =================================================================

Every group starts with a 16-byte group header: u64 sequence counter, u32 CRC-32 of
the payload, u32 payload length; the payload follows at +16. The job payload:

======  =========  ==================================================================
+0      u8         state: index in :data:`STATES`
+2      i16        current stage index (-1 before the first stage)
+4      u16        active workers
+8      u64        bytes done
+16     u64        bytes total
+24     f64        ETA in seconds (NaN: unknown)
+32     i64        supervisor pid (0: not yet known)
+40     stage[8]   32 bytes each: u64 done, u64 total, f64 started, f64 finished
                   (``time.time()``, 0 while not yet)
======  =========  ==================================================================

Protocol (a seqlock with a checksum): a writer bumps the counter to odd, writes the
CRC, length and payload, and bumps it to even. A reader copies the group and accepts
the copy only if the counter was even and unchanged around it and the CRC matches. The
CRC makes acceptance independent of the CPU's memory ordering (Python has no fences);
the counter lets readers back off while a write is under way. A reader that cannot get
a consistent copy within :data:`READ_BUDGET_SECONDS` (a writer that died mid-write
leaves its counter odd) returns the last consistent copy it saw, so reads never hang.
:meth:`ProgressBlock.snapshot` reads the job group before error and result, and the
supervisor writes error and result before a final state, so a snapshot in state
``done`` or ``failed`` carries its result or error.

Lifetime: only the creator unlinks, exactly once (also at interpreter exit). Attaching
never involves multiprocessing's resource tracker, whose Python 3.11-3.12 version
unlinks a block when any process that merely attached to it exits (CPython gh-82300).
A front end that crashed leaves its block behind; :func:`remove_stale_blocks`, called
at every job start, removes it on Linux. Writers must not be called from signal
handlers (a write interrupted by another write of the same group would be lost).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import mmap
import os
import re
import secrets
import stat
import struct
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..pipeline.options import MAX_WORKERS as _MAX_JOB_WORKERS
from ..storage.capabilities import CAPABILITIES

__all__ = [
    "BLOCK_SIZE",
    "ERROR_CAPACITY",
    "KINDS",
    "LAYOUT_VERSION",
    "MAGIC",
    "MAX_STAGES",
    "MAX_WORKERS",
    "READ_BUDGET_SECONDS",
    "RESULT_CAPACITY",
    "STATES",
    "WORKER_STATES",
    "ProgressBlock",
    "Snapshot",
    "StageSnapshot",
    "StageSpec",
    "WorkerSnapshot",
    "block_name",
    "remove_stale_blocks",
]

MAGIC = b"SEGYPROG"
LAYOUT_VERSION = 1
#: Job kinds the block's u8 kind code names; a new job kind appends its name here
#: (codes stay stable) and registers itself in :mod:`segycore.runtime.registry`.
KINDS: tuple[str, ...] = ("import", "export", "index")
STATES: tuple[str, ...] = ("starting", "running", "done", "failed", "cancelled")
WORKER_STATES: tuple[str, ...] = ("idle", "running", "done", "failed", "cancelled")
MAX_STAGES = 8
MAX_WORKERS = 64  # part of the layout; must hold every worker a job may run
if MAX_WORKERS < _MAX_JOB_WORKERS:  # pragma: no cover - a build error, caught at import
    raise ImportError("the progress block holds fewer worker slots than a job may run")
ERROR_CAPACITY = 2048
RESULT_CAPACITY = 8192
#: How long a read waits for a group that is being written before using its last copy.
READ_BUDGET_SECONDS = 0.05
#: A block is stale if its creator pid now belongs to a process this much younger.
STALE_SLACK_SECONDS = 10.0
_NAME_PREFIX = "segycore_"
_NAME_RE = re.compile(r"segycore_(\d+)_[0-9a-f]+")
_SHM_DIR = "/dev/shm"
_SPINS = 64  # tight retries before a read starts to sleep between attempts
_NO_STAGE = -1

_HEADER = struct.Struct("<8sIIBBH4xqd24x")  # the fixed 64-byte header
_SPEC = struct.Struct("<B63sB127sB31sB7x")  # one stage spec, 232 bytes
_SEQ = struct.Struct("<Q")
_CHECK = struct.Struct("<II")  # CRC-32 and length of the payload
_GROUP_HEADER = 16
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_JOB = struct.Struct("<BxhH2xQQdq" + "QQdd" * MAX_STAGES)
_WORKER = struct.Struct("<QQB7x")
# Indices into the job payload's values.
_J_STATE, _J_STAGE, _J_ACTIVE, _J_BYTES_DONE, _J_BYTES_TOTAL, _J_ETA, _J_PID = range(7)
_J_STAGES = 7  # then done, total, started, finished per stage
_JOB_DEFAULT: tuple[Any, ...] = (0, _NO_STAGE, 0, 0, 0, math.nan, 0) + (0, 0, 0.0, 0.0) * MAX_STAGES


def block_name(pid: int) -> str:
    """A new block name: ``segycore_<pid>_<random hex>``.

    16 hex digits where names may be long; 12 where the system limits shared-memory
    names to 31 characters with the leading slash (macOS), or with the
    ``long_shm_names`` capability off (see :mod:`segycore.storage.capabilities`).
    """
    digits = 8 if CAPABILITIES.long_shm_names else 6
    return f"{_NAME_PREFIX}{pid}_{secrets.token_hex(digits)}"


def _align(offset: int) -> int:
    return -(-offset // 64) * 64


@dataclass(frozen=True)
class _Group:
    """A field group's place: header at ``offset``, payload of at most ``capacity`` bytes."""

    offset: int
    capacity: int
    default: bytes  # the payload of a new block

    @property
    def end(self) -> int:
        return self.offset + _GROUP_HEADER + self.capacity


def _after(group: _Group, capacity: int, default: bytes) -> _Group:
    return _Group(_align(group.end), capacity, default)


_STAGE_SPECS_OFFSET = _HEADER.size
_CANCEL = _Group(_align(_STAGE_SPECS_OFFSET + MAX_STAGES * _SPEC.size), 4, _U32.pack(0))
_HEARTBEAT = _after(_CANCEL, 8, _F64.pack(0.0))
_JOB_GROUP = _after(_HEARTBEAT, _JOB.size, _JOB.pack(*_JOB_DEFAULT))
_ERROR = _after(_JOB_GROUP, ERROR_CAPACITY, b"")
_RESULT = _after(_ERROR, RESULT_CAPACITY, b"")
_WORKER_STRIDE = _align(_GROUP_HEADER + _WORKER.size)
_WORKERS = tuple(
    _Group(_align(_RESULT.end) + i * _WORKER_STRIDE, _WORKER.size, _WORKER.pack(0, 0, 0))
    for i in range(MAX_WORKERS)
)
BLOCK_SIZE = _WORKERS[-1].offset + _WORKER_STRIDE


# -- public records ------------------------------------------------------------------
@dataclass(frozen=True)
class StageSpec:
    """A stage as the block stores it: name, label, unit (bounded UTF-8) and cancel."""

    name: str
    label: str
    unit: str
    cancellable: bool


@dataclass(frozen=True)
class StageSnapshot:
    """One stage's spec and progress; ``started``/``finished`` are wall times, 0 if not yet."""

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
    """One worker slot: traces done of total and the worker's state."""

    done: int
    total: int
    state: str


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of every field group (each group from one moment)."""

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
    supervisor_pid: int | None
    cancel_requested: bool
    error: str
    result: dict[str, Any] | None

    @property
    def current_stage(self) -> StageSnapshot | None:
        """The stage at :attr:`stage_index`, or ``None`` before the first stage."""
        if 0 <= self.stage_index < len(self.stages):
            return self.stages[self.stage_index]
        return None


# -- text ----------------------------------------------------------------------------
def _truncate(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of UTF-8 ``data``, cut on a character boundary."""
    if len(data) <= limit:
        return data
    end = limit
    while end > 0 and data[end] & 0xC0 == 0x80:  # data[end] continues a cut character
        end -= 1
    return data[:end]


def _bounded_text(text: str, limit: int) -> bytes:
    return _truncate(text.encode("utf-8", "replace"), limit)


def _bounded_json(obj: dict[str, Any]) -> bytes:
    """``obj`` as JSON; if too long, ``{"truncated": true, "text": <prefix of that JSON>}``."""
    data = json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8", "replace")
    if len(data) <= RESULT_CAPACITY:
        return data
    room = RESULT_CAPACITY - len(json.dumps({"truncated": True, "text": ""}))
    while True:  # escaping in the wrapper can grow the prefix: shrink until it fits
        prefix = _truncate(data, room).decode("utf-8")
        wrapped = json.dumps({"truncated": True, "text": prefix}, ensure_ascii=False)
        encoded = wrapped.encode("utf-8")
        if len(encoded) <= RESULT_CAPACITY:
            return encoded
        room = max(0, room - (len(encoded) - RESULT_CAPACITY))


def _parse_result(data: bytes) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        value = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _code(names: tuple[str, ...], name: str, what: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {names}") from None


def _name(names: tuple[str, ...], code: int) -> str:
    return names[code] if 0 <= code < len(names) else "unknown"


def _spec_fields(spec: StageSpec) -> tuple[Any, ...]:
    """The values of a stage spec's ``_SPEC`` record, texts cut to their fields."""
    name = _bounded_text(spec.name, 63)
    label = _bounded_text(spec.label, 127)
    unit = _bounded_text(spec.unit, 31)
    return len(name), name, len(label), label, len(unit), unit, bool(spec.cancellable)


def _unpack_spec(raw: bytes | memoryview, offset: int) -> StageSpec:
    n_name, name, n_label, label, n_unit, unit, cancellable = _SPEC.unpack_from(raw, offset)
    return StageSpec(
        name[:n_name].decode("utf-8", "replace"),
        label[:n_label].decode("utf-8", "replace"),
        unit[:n_unit].decode("utf-8", "replace"),
        bool(cancellable),
    )


# -- the shared-memory segment ---------------------------------------------------------
if os.name == "posix":
    import _posixshmem  # what multiprocessing.shared_memory uses underneath
else:  # pragma: no cover - Windows: named mappings are never resource-tracked
    from multiprocessing.shared_memory import SharedMemory


class _Segment:
    """A named shared-memory segment mapped read-write, never seen by a resource tracker.

    On POSIX it is opened with ``shm_open`` directly (what ``SharedMemory`` does, minus
    the tracker registration of gh-82300); on Windows ``SharedMemory``, which has no
    tracker there.
    """

    def __init__(self, name: str, create: bool, size: int = 0) -> None:
        self.name = name
        if os.name != "posix":  # pragma: no cover
            self._shm = SharedMemory(name, create=create, size=size)
            self.size = self._shm.size
            self.buf = self._shm.buf
            return
        flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
        fd = _posixshmem.shm_open("/" + name, flags, mode=0o600)
        try:
            if create:
                _restrict_to_owner(fd)
                os.ftruncate(fd, size)
                _reserve(fd, name, size)
            self.size = os.fstat(fd).st_size
            if self.size == 0:
                raise ValueError(f"shared memory {name!r} is empty, not a progress block")
            self._mmap = mmap.mmap(fd, self.size)  # keeps its own duplicate of fd
        except BaseException:
            if create:
                _unlink_segment(name)
            raise
        finally:
            os.close(fd)
        self.buf = memoryview(self._mmap)

    def close(self) -> None:
        self.buf.release()
        try:
            if os.name == "posix":
                self._mmap.close()
            else:  # pragma: no cover
                self._shm.close()
        except BufferError:  # another thread still copies from it: unmapped when it is done
            pass


def _restrict_to_owner(fd: int) -> None:
    """Make the new segment owner-only (0o600) and check it; Linux must honour it."""
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        if sys.platform.startswith("linux"):
            raise
        return  # some systems (macOS) refuse fchmod on shm; shm_open's mode applies there
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode != 0o600:
        raise PermissionError(f"shared-memory block has mode {mode:o}, expected 600")


def _reserve(fd: int, name: str, size: int) -> None:
    """Allocate the segment's pages now, so a full /dev/shm fails here with ENOSPC.

    Without it the first write to an unbacked page of the mapping kills the process
    with SIGBUS (measured: the CLI died with "Bus error" on a full /dev/shm).
    """
    if not hasattr(os, "posix_fallocate"):  # macOS: no tmpfs-backed shm to run out of
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
            return  # a file system that cannot preallocate: the mapping still works
        raise OSError(exc.errno, exc.strerror, f"{_SHM_DIR}/{name}") from None


def _unlink_segment(name: str, owner_pid: int | None = None) -> None:
    """Remove a segment's name (mappings stay valid); a gone segment is fine.

    With ``owner_pid``, do nothing in any other process (a forked child's exit must not
    remove its parent's block).
    """
    if owner_pid is not None and os.getpid() != owner_pid:
        return
    if os.name == "posix":
        with contextlib.suppress(FileNotFoundError):
            _posixshmem.shm_unlink("/" + name)


# -- the block -------------------------------------------------------------------------
class ProgressBlock:
    """One job's progress in shared memory; see the module docstring for the layout.

    Use :meth:`create` (front end) or :meth:`attach` (supervisor, workers). Writers
    are cheap (a few microseconds); :meth:`snapshot` never blocks for long.
    """

    def __init__(self, segment: _Segment, creator: bool) -> None:
        header = bytes(segment.buf[: min(segment.size, _CANCEL.offset)])
        if len(header) < _HEADER.size or not header.startswith(MAGIC):
            raise ValueError(f"shared memory {segment.name!r} is not a segycore progress block")
        _, version, size, kind, n_stages, n_workers, pid, created = _HEADER.unpack_from(header)
        if version != LAYOUT_VERSION or size != BLOCK_SIZE:
            raise ValueError(
                f"progress block {segment.name!r} has layout version {version} ({size} bytes);"
                f" this segycore reads version {LAYOUT_VERSION} ({BLOCK_SIZE} bytes)"
            )
        if segment.size < BLOCK_SIZE:
            raise ValueError(
                f"progress block {segment.name!r} is cut short: {segment.size} of"
                f" {BLOCK_SIZE} bytes"
            )
        self._segment: _Segment | None = segment
        self.name = segment.name
        self.kind = _name(KINDS, kind)
        self.stages: tuple[StageSpec, ...] = tuple(
            _unpack_spec(header, _STAGE_SPECS_OFFSET + i * _SPEC.size)
            for i in range(min(n_stages, MAX_STAGES))
        )
        self.n_workers = min(n_workers, MAX_WORKERS)
        self.creator_pid = pid
        self.created = created
        self.is_creator = creator
        self._write_lock = threading.Lock()  # threads of one process writing the block
        self._job: list[Any] | None = list(_JOB_DEFAULT) if creator else None
        self._last: dict[int, bytes] = {}  # group offset -> last consistent payload
        self._stuck: dict[int, int] = {}  # group offset -> odd counter we gave up on
        self._unlinker = (
            weakref.finalize(self, _unlink_segment, self.name, os.getpid()) if creator else None
        )

    # -- life cycle --------------------------------------------------------------------
    @classmethod
    def create(cls, kind: str, stages: Sequence[StageSpec], n_workers: int) -> ProgressBlock:
        """Create a block named ``segycore_<pid>_<random hex>``, owner-only (0o600)."""
        kind_code = _code(KINDS, kind, "job kind")
        if len(stages) > MAX_STAGES:
            raise ValueError(f"at most {MAX_STAGES} stages fit the block, got {len(stages)}")
        if not 0 <= n_workers <= MAX_WORKERS:
            raise ValueError(f"worker slots must be 0..{MAX_WORKERS}, got {n_workers}")
        image = bytearray(BLOCK_SIZE)
        pid = os.getpid()
        _HEADER.pack_into(
            image, 0, MAGIC, LAYOUT_VERSION, BLOCK_SIZE, kind_code, len(stages), n_workers,
            pid, time.time(),
        )  # fmt: skip
        for i, spec in enumerate(stages):
            _SPEC.pack_into(image, _STAGE_SPECS_OFFSET + i * _SPEC.size, *_spec_fields(spec))
        for group in (_CANCEL, _HEARTBEAT, _JOB_GROUP, _ERROR, _RESULT, *_WORKERS):
            _write_group(image, group, group.default)
        for _ in range(100):
            name = block_name(pid)
            try:
                segment = _Segment(name, create=True, size=BLOCK_SIZE)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 64 random bits
            raise FileExistsError("could not find a free shared-memory name")
        segment.buf[:BLOCK_SIZE] = image
        return cls(segment, creator=True)

    @classmethod
    def attach(cls, name: str) -> ProgressBlock:
        """Open an existing block by name, without registering it with a resource tracker."""
        segment = _Segment(name, create=False)
        try:
            return cls(segment, creator=False)
        except BaseException:
            segment.close()
            raise

    def close(self) -> None:
        """Unmap the block in this process (idempotent); the name stays until unlinked."""
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.close()

    def unlink(self) -> None:
        """Remove the block's name, once; only the creator may. Safe after :meth:`close`."""
        if self._unlinker is None:
            raise RuntimeError("only the process that created a progress block unlinks it")
        self._unlinker()  # runs at most once; also at interpreter exit if never called

    def __enter__(self) -> ProgressBlock:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close; the creator also unlinks."""
        self.close()
        if self.is_creator:
            self.unlink()

    def __repr__(self) -> str:
        state = "closed" if self._segment is None else "open"
        return f"<ProgressBlock {self.name} {self.kind} {state}>"

    # -- group access ------------------------------------------------------------------
    def _buffer(self) -> memoryview:
        segment = self._segment
        if segment is None:
            raise ValueError(f"progress block {self.name} is closed")
        return segment.buf

    def _publish(self, group: _Group, payload: bytes) -> None:
        """Write one group under its sequence counter (callers hold the write lock)."""
        _write_group(self._buffer(), group, payload)

    def _read(self, group: _Group) -> bytes:
        """A consistent copy of a group's payload, or the last one if none comes in time."""
        buf = self._buffer()
        offset = group.offset
        start = offset + _GROUP_HEADER
        deadline = 0.0
        attempt = 0
        while True:
            (seq,) = _SEQ.unpack_from(buf, offset)
            if seq & 1:
                if self._stuck.get(offset) == seq:
                    break  # the same unfinished write as last time: its writer is gone
            else:
                crc, length = _CHECK.unpack_from(buf, offset + 8)
                if length <= group.capacity:
                    payload = bytes(buf[start : start + length])
                    if _SEQ.unpack_from(buf, offset)[0] == seq and zlib.crc32(payload) == crc:
                        self._last[offset] = payload
                        return payload
            attempt += 1
            if attempt >= _SPINS:
                now = time.monotonic()
                if not deadline:
                    deadline = now + READ_BUDGET_SECONDS
                elif now >= deadline:
                    if seq & 1:
                        self._stuck[offset] = seq
                    break
                time.sleep(0.0001)
        return self._last.get(offset, group.default)

    def _change_job(self, change: Callable[[list[Any]], None]) -> None:
        """Apply ``change`` to the job group's values and publish them."""
        with self._write_lock:
            if self._job is None:  # attached: start from what the block holds
                self._job = list(_JOB.unpack(self._read(_JOB_GROUP)))
            values = list(self._job)
            change(values)
            try:
                payload = _JOB.pack(*values)
            except struct.error as exc:
                raise ValueError(f"progress value out of range: {exc}") from None
            self._publish(_JOB_GROUP, payload)
            self._job = values

    # -- supervisor writes -------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """Set the job state, one of :data:`STATES`."""
        code = _code(STATES, state, "job state")

        def change(values: list[Any]) -> None:
            values[_J_STATE] = code

        self._change_job(change)

    def set_supervisor_pid(self, pid: int) -> None:
        """Record the supervisor's process id."""

        def change(values: list[Any]) -> None:
            values[_J_PID] = pid

        self._change_job(change)

    def begin_stage(self, index: int, total: int, bytes_total: int = 0) -> None:
        """Make stage ``index`` current: ``total`` units to do, started now."""
        if not 0 <= index < len(self.stages):
            raise ValueError(f"stage index {index} out of range 0..{len(self.stages) - 1}")

        def change(values: list[Any]) -> None:
            values[_J_STAGE] = index
            values[_J_ACTIVE] = 0
            values[_J_BYTES_DONE] = 0
            values[_J_BYTES_TOTAL] = bytes_total
            values[_J_ETA] = math.nan
            base = _J_STAGES + 4 * index
            values[base : base + 4] = [0, total, time.time(), 0.0]

        self._change_job(change)

    def update_stage(
        self,
        done: int,
        bytes_done: int = 0,
        active_workers: int = 0,
        eta_seconds: float | None = None,
    ) -> None:
        """Report the current stage's progress (in its unit), bytes, workers and ETA."""
        eta = math.nan if eta_seconds is None else float(eta_seconds)

        def change(values: list[Any]) -> None:
            index = values[_J_STAGE]
            if index == _NO_STAGE:
                raise RuntimeError("update_stage() before begin_stage()")
            values[_J_STAGES + 4 * index] = done
            values[_J_BYTES_DONE] = bytes_done
            values[_J_ACTIVE] = active_workers
            values[_J_ETA] = eta

        self._change_job(change)

    def finish_stage(self) -> None:
        """Mark the current stage complete: done reaches total, finished now."""

        def change(values: list[Any]) -> None:
            index = values[_J_STAGE]
            if index == _NO_STAGE:
                raise RuntimeError("finish_stage() before begin_stage()")
            base = _J_STAGES + 4 * index
            values[base] = max(values[base], values[base + 1])
            values[base + 3] = time.time()
            values[_J_BYTES_DONE] = max(values[_J_BYTES_DONE], values[_J_BYTES_TOTAL])
            values[_J_ACTIVE] = 0
            values[_J_ETA] = math.nan

        self._change_job(change)

    def set_error(self, message: str) -> None:
        """Store the error text, cut to :data:`ERROR_CAPACITY` on a character boundary."""
        payload = _bounded_text(str(message), ERROR_CAPACITY)
        with self._write_lock:
            self._publish(_ERROR, payload)

    def set_result(self, obj: dict[str, Any]) -> None:
        """Store the job's result summary as JSON (values it cannot encode become strings).

        A summary longer than :data:`RESULT_CAPACITY` is stored as ``{"truncated": true,
        "text": <the start of its JSON>}``.
        """
        if not isinstance(obj, dict):
            raise TypeError(f"the result must be a dict, got {type(obj).__name__}")
        payload = _bounded_json(obj)
        with self._write_lock:
            self._publish(_RESULT, payload)

    def beat(self) -> None:
        """Write the heartbeat (now, wall time); a live supervisor beats every 100 ms."""
        payload = _F64.pack(time.time())
        with self._write_lock:
            self._publish(_HEARTBEAT, payload)

    # -- worker writes -----------------------------------------------------------------
    def update_worker(self, slot: int, done: int, total: int, state: str) -> None:
        """Report worker ``slot``'s traces done of total and its state (:data:`WORKER_STATES`)."""
        if not 0 <= slot < self.n_workers:
            raise ValueError(f"worker slot {slot} out of range 0..{self.n_workers - 1}")
        code = _code(WORKER_STATES, state, "worker state")
        try:
            payload = _WORKER.pack(done, total, code)
        except struct.error as exc:
            raise ValueError(f"worker progress out of range: {exc}") from None
        with self._write_lock:
            self._publish(_WORKERS[slot], payload)

    # -- front end ---------------------------------------------------------------------
    def request_cancel(self) -> None:
        """Ask the supervisor and workers to stop (they check between chunks)."""
        with self._write_lock:
            self._publish(_CANCEL, _U32.pack(1))

    def cancel_requested(self) -> bool:
        """Whether the front end asked to cancel."""
        return _U32.unpack(self._read(_CANCEL))[0] != 0

    def snapshot(self) -> Snapshot:
        """Everything in the block now, each group consistent; never blocks for long."""
        job = _JOB.unpack(self._read(_JOB_GROUP))  # before error/result: see the docstring
        error = self._read(_ERROR).decode("utf-8", "replace")
        result = _parse_result(self._read(_RESULT))
        (heartbeat,) = _F64.unpack(self._read(_HEARTBEAT))
        stages = tuple(
            StageSnapshot(spec.name, spec.label, spec.unit, spec.cancellable, *job[base : base + 4])
            for spec, base in zip(
                self.stages, range(_J_STAGES, _J_STAGES + 4 * len(self.stages), 4), strict=True
            )
        )
        workers = tuple(
            WorkerSnapshot(done, total, _name(WORKER_STATES, code))
            for done, total, code in (
                _WORKER.unpack(self._read(group)) for group in _WORKERS[: self.n_workers]
            )
        )
        eta = job[_J_ETA]
        return Snapshot(
            kind=self.kind,
            state=_name(STATES, job[_J_STATE]),
            stage_index=job[_J_STAGE],
            stages=stages,
            bytes_done=job[_J_BYTES_DONE],
            bytes_total=job[_J_BYTES_TOTAL],
            active_workers=job[_J_ACTIVE],
            eta_seconds=None if math.isnan(eta) else eta,
            workers=workers,
            heartbeat=heartbeat,
            supervisor_pid=job[_J_PID] or None,
            cancel_requested=self.cancel_requested(),
            error=error,
            result=result,
        )


def _write_group(buf: memoryview | bytearray, group: _Group, payload: bytes) -> None:
    """The writer's half of the protocol: counter odd, checksum and payload, counter even."""
    if len(payload) > group.capacity:
        raise ValueError(f"{len(payload)} bytes do not fit a {group.capacity}-byte group")
    offset = group.offset
    (seq,) = _SEQ.unpack_from(buf, offset)
    odd = (seq + 1) | 1  # also right after a writer that died mid-write (counter odd)
    _SEQ.pack_into(buf, offset, odd)
    end = offset + _GROUP_HEADER + len(payload)
    buf[offset + 8 : end] = _CHECK.pack(zlib.crc32(payload), len(payload)) + payload
    _SEQ.pack_into(buf, offset, odd + 1)


# -- crash leftovers -------------------------------------------------------------------
def remove_stale_blocks() -> list[str]:
    """Unlink blocks whose creator is gone (a crashed front end's); return their names.

    Linux only (it lists ``/dev/shm``); elsewhere returns ``[]``. Only the current
    user's blocks are considered. A creator pid that now belongs to a process started
    after the block was created counts as gone (the pid was reused).
    """
    if not sys.platform.startswith("linux") or not os.path.isdir(_SHM_DIR):
        return []
    removed: list[str] = []
    uid = os.getuid()
    with os.scandir(_SHM_DIR) as entries:
        for entry in entries:
            match = _NAME_RE.fullmatch(entry.name)
            if match is None:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid != uid or not stat.S_ISREG(info.st_mode):
                continue
            if _creator_alive(int(match[1]), _created_at(entry.path)):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:  # another front end got there first
                continue
            removed.append(entry.name)
    return removed


def _created_at(path: str) -> float | None:
    """The creation time in a block's header, or ``None`` if it is unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        header = os.read(fd, _HEADER.size)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        return None
    return _HEADER.unpack(header)[-1]


def _creator_alive(pid: int, created: float | None) -> bool:
    """Whether ``pid`` still runs and can be the process that created the block then."""
    import psutil  # only job starts need it, not the supervisor's or workers' imports

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        started = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists but cannot be inspected: keep its block
        return True
    return created is None or started <= created + STALE_SLACK_SECONDS
