"""Helpers of the reliability tests: file states, the CLI, faults, jobs, dataset checks.

Test modules import it as ``tests.reliability.support``; fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest

from segycore import open_dataset
from segycore.format.layout import SegyLayout
from segycore.format.reference import decode_records_reference
from segycore.runtime.jobs import FINAL_STATES, Job
from tests.helpers import REPO, SHM_DIR, assert_no_staging, segy_data

__all__ = [
    "CLI_TIMEOUT",
    "REPO",
    "SHM_DIR",
    "FileState",
    "SmallDisk",
    "assert_dataset_matches",
    "assert_gone",
    "assert_no_staging",
    "assert_one_error_line",
    "can_drop_dac_override",
    "drop_dac_override",
    "file_state",
    "immutable",
    "listing",
    "no_space",
    "open_fds_under",
    "run_cli",
    "segy_data",
    "wait_for_path",
    "wait_for_progress",
]

#: Subprocess timeout: a hang fails the test instead of blocking the run.
CLI_TIMEOUT = 60.0
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


# -- files -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileState:
    """What must not change about a source: kind, size, mtime and content hash."""

    kind: str
    size: int
    mtime_ns: int
    mode: int
    sha256: str | None


def file_state(path: Path) -> FileState | None:
    """The state of ``path`` (``None`` if it does not exist); never follows a FIFO."""
    try:
        info = path.lstat()
    except OSError:
        return None
    digest = None
    if path.is_file() and not path.is_symlink() and info.st_mode & 0o444:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    kind = "dir" if path.is_dir() else "link" if path.is_symlink() else "file"
    return FileState(kind, info.st_size, info.st_mtime_ns, info.st_mode, digest)


def listing(folder: Path) -> set[str]:
    """Every name in ``folder``, hidden ones included."""
    return {p.name for p in folder.iterdir()}


# -- the dataset matches its source ------------------------------------------------------
def assert_dataset_matches(dataset: Path, layout: SegyLayout) -> None:
    """Traces, raw headers and sizes of ``dataset`` equal a plain-numpy decoding of the file.

    The reference decoding (``segycore.format.reference``) shares no code with the compiled
    kernel or the parallel machinery; samples are compared bit for bit (NaN payloads too).
    """
    ds = open_dataset(dataset)
    assert (ds.n_traces, ds.n_samples) == (layout.n_traces, layout.n_samples)
    assert ds.sample_format == layout.format.code and ds.byte_order == layout.endian
    whole = np.fromfile(layout.path, dtype=np.uint8)
    if layout.salvage is None:  # the layout covers the file exactly
        assert layout.data_end + len(layout.trailer) == whole.size
        assert whole[whole.size - len(layout.trailer) :].tobytes() == layout.trailer
    head = layout.trace_header_size
    if layout.variable:  # records of their own lengths, padded to the longest
        offsets = layout.trace_offsets
        records = np.zeros((layout.n_traces, layout.trace_size), dtype=np.uint8)
        for t in range(layout.n_traces):
            records[t, : offsets[t + 1] - offsets[t]] = whole[offsets[t] : offsets[t + 1]]
        counts = np.load(dataset / "trace_samples.npy")
        np.testing.assert_array_equal(counts, layout.trace_samples)
    else:
        records = whole[layout.data_offset : layout.data_end].reshape(layout.n_traces, -1)
    assert records.shape[1] == layout.trace_size
    if layout.extra_headers:  # kept raw, readable with numpy alone
        extra = np.load(dataset / "extra_headers.npy")
        np.testing.assert_array_equal(extra, records[:, 240:head])
    raw = np.concatenate([records[:, :240], records[:, head:]], axis=1).reshape(-1)
    headers = np.empty((layout.n_traces, 240), dtype=np.uint8)
    samples = np.empty((layout.n_traces, layout.n_samples), dtype=layout.format.dtype)
    decode_records_reference(
        raw, layout.n_traces, layout.n_samples, layout.format.code, layout.little_endian,
        headers, samples,
    )  # fmt: skip
    traces = np.asarray(ds.traces)
    assert traces.dtype == samples.dtype
    width = f"u{samples.dtype.itemsize}"
    np.testing.assert_array_equal(traces.view(width), samples.view(width))
    stored = ds.headers(["raw_header"]).column("raw_header").to_pylist()
    assert b"".join(stored) == headers.tobytes()
    for key in ds.ensemble_keys:
        index = ds.ensembles(key)
        assert sum(index.column("trace_count").to_pylist()) == layout.n_traces
    assert pq.ParquetFile(ds.headers_path).metadata.num_rows == layout.n_traces
    del ds, traces


# -- processes ---------------------------------------------------------------------------
def run_cli(
    *args: str | Path, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m segycore.cli ARGS`` as a user runs it: a child process, not a TTY."""
    return subprocess.run(
        [sys.executable, "-m", "segycore.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        cwd=REPO,
        preexec_fn=preexec_fn,
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 1, one ``error: ...`` line naming ``fragments``, no traceback; the message."""
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "supervisor process" not in done.stderr  # no crash of a compiled kernel
    message = lines[0].lower()
    for fragment in fragments:
        assert fragment.lower() in message, (fragment, lines[0])
    return lines[0]


def drop_dac_override() -> None:
    """In a child before exec: give up root's permission bypass (CAP_DAC_*).

    Root ignores a chmod 000; without these two capabilities in its bounding set, the
    program the child execs (and everything it spawns) obeys file permissions again.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))


def can_drop_dac_override() -> bool:
    """Whether :func:`drop_dac_override` works here (Linux, allowed to drop capabilities)."""
    if not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=drop_dac_override, capture_output=True
    )
    return probe.returncode == 0


# -- file-system faults ------------------------------------------------------------------
@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i`` on ``path`` for the block: even root can neither write nor unlink it."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a path immutable")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@dataclass
class SmallDisk:
    """A private 8 MiB tmpfs mounted at ``path``, and a way to fill it."""

    path: Path

    def fill(self) -> None:
        """Take every free byte with a filler file (what another program would do)."""
        with open(self.path / "filler", "ab", buffering=0) as fh:
            for block in (1 << 16, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(b"\0" * block)
        assert os.statvfs(self.path).f_bavail == 0

    def free(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)


def open_fds_under(folder: Path) -> list[str]:
    """Files under ``folder`` this process holds open (deleted ones too, which psutil skips)."""
    held = []
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(entry)
            if target.startswith(f"{folder}/"):
                held.append(target)
    return held


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` is (or wraps) a full disk."""
    return isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "No space left" in str(exc))


# -- jobs ---------------------------------------------------------------------------------
def wait_for_progress(job: Job, stage: int, timeout: float = 30.0) -> None:
    """Poll like a front end until ``stage`` runs and has made progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = job.snapshot()
        if snap.stage_index == stage and snap.state == "running" and snap.stages[stage].done:
            return
        assert snap.state not in FINAL_STATES, (snap.state, snap.error)
        time.sleep(0.005)
    raise AssertionError(f"stage {stage} made no progress in {timeout} s")


def wait_for_path(pattern: str, folder: Path, timeout: float = 30.0) -> Path:
    """The first path in ``folder`` matching ``pattern``, once one appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.005)
    raise AssertionError(f"nothing matched {pattern} in {folder} within {timeout} s")


def assert_gone(pid: int | None, timeout: float = 10.0) -> None:
    """Process ``pid`` ends within ``timeout`` seconds (a zombie counts as ended)."""
    assert pid is not None
    try:
        process = psutil.Process(pid)
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        if process.status() != psutil.STATUS_ZOMBIE:
            raise AssertionError(f"process {pid} still runs after {timeout} s") from None
