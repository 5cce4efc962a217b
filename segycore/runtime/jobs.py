"""The job API for front ends: run an import or export in a supervisor process.

The front end (GUI, CLI, a script) creates the progress block, starts the supervisor
as ``python -m segycore.runtime.supervisor`` with the job as JSON on its standard
input (the caller's ``__main__`` is never re-imported: a script without a main guard,
``python -`` and Jupyter work), reads snapshots without ever blocking, and finally
reaps the supervisor and unlinks the block. A supervisor that dies is noticed through
its exit status (and a stale heartbeat) and the job is reported failed with a message
that says what died.

:meth:`Job.snapshot` is a pure read. Reaping - waiting for the supervisor to exit,
removing a dead supervisor's leftovers, unlinking the block - happens in
:meth:`Job.reap`, which :meth:`Job.wait` and :meth:`Job.close` call; a GUI calls it
from its poll thread once the job has ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import site
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..pipeline.options import config_to_data
from ..pipeline.stages import Stage
from ..storage.staging import STAGING_MARKER, discard_paths
from .progress import MAX_WORKERS, ProgressBlock, Snapshot, StageSpec, remove_stale_blocks
from .registry import job_stages

if TYPE_CHECKING:  # annotations only: the configs are built by the caller
    from ..pipeline.configs import ExportConfig, ImportConfig, IndexConfig

__all__ = ["FINAL_STATES", "Job", "start_export", "start_import", "start_index", "start_job"]

FINAL_STATES = frozenset({"done", "failed", "cancelled"})
#: A live supervisor beats every 100 ms; this much silence means it is hung or gone.
HEARTBEAT_TIMEOUT = 5.0
#: How long a supervisor may take to start (interpreter + imports) before it must beat.
STARTUP_TIMEOUT = 60.0
#: How long reaping waits for a supervisor that reported its end to exit.
REAP_SECONDS = 5.0
SUPERVISOR_MODULE = "segycore.runtime.supervisor"


def _stage_specs(stages: tuple[Stage, ...]) -> list[StageSpec]:
    return [StageSpec(s.name, s.label, s.unit, s.cancellable) for s in stages]


def supervisor_command() -> list[str]:
    """The command line that starts a supervisor with this interpreter."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []  # no cwd on sys.path
    return [sys.executable, *safe_path, "-m", SUPERVISOR_MODULE]


def supervisor_environment() -> dict[str, str]:
    """This process's environment, with the folder holding *this* segycore on the path.

    The supervisor must import the same segycore as its front end, wherever that came
    from (an installed package, a source tree on ``sys.path``).
    """
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    installed = {str(Path(p).resolve()) for p in site.getsitepackages()}
    if root not in installed:
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = root + (os.pathsep + existing if existing else "")
    return env


class Job:
    """One running job. Every method returns at once except :meth:`wait`, :meth:`reap`
    and :meth:`close`."""

    def __init__(self, kind: str, config: Any) -> None:
        self.kind = kind
        self.config = config
        # the stages only: the kind's coordinator loads in the supervisor, never here
        self.stages: tuple[Stage, ...] = job_stages(kind)
        request = {"kind": kind, "config": config_to_data(config), "parent_pid": os.getpid()}
        remove_stale_blocks()
        self._block = ProgressBlock.create(kind, _stage_specs(self.stages), _worker_slots(config))
        request["block"] = self._block.name
        self._started = time.time()
        self._ended: Snapshot | None = None  # the final snapshot, once seen
        self._reaped = False
        self._lost = False  # the supervisor died or hung instead of reporting an end
        try:
            self._process = subprocess.Popen(
                supervisor_command(),
                stdin=subprocess.PIPE,
                env=supervisor_environment(),
                close_fds=True,
            )
        except BaseException:
            self._block.close()
            self._block.unlink()
            raise
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(request).encode("utf-8"))
            self._process.stdin.close()
        except OSError:  # it died at once: its exit status tells the story
            pass

    # -- reading ---------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The supervisor's process id."""
        return self._process.pid

    @property
    def block_name(self) -> str:
        return self._block.name

    def snapshot(self) -> Snapshot:
        """The job's progress now: a pure read, never blocks.

        Notices a supervisor that died (its exit status, polled without waiting) or
        fell silent, and then reports the job failed saying so.
        """
        if self._ended is not None:
            return self._ended
        snap = self._block.snapshot()
        if snap.state in FINAL_STATES:
            self._ended = snap
            return snap
        exitcode = self._process.poll()
        if exitcode is not None:
            snap = self._block.snapshot()  # it may have finished just before exiting
            if snap.state not in FINAL_STATES:
                snap = self._died(snap, f"exited with code {exitcode}")
            self._ended = snap
            return snap
        silent = time.time() - (snap.heartbeat or self._started)
        limit = HEARTBEAT_TIMEOUT if snap.heartbeat else STARTUP_TIMEOUT
        if silent > limit:
            self._ended = self._died(snap, f"stopped responding for {silent:.0f} s")
            return self._ended
        return snap

    def _died(self, snap: Snapshot, how: str) -> Snapshot:
        code = self._process.returncode
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        self._lost = True  # reaping kills it at once if it still runs (hung)
        stage = snap.current_stage.name if snap.current_stage else "start-up"
        message = f"the supervisor process (pid {self.pid}) {how} during {stage}"
        return replace(snap, state="failed", error=message)

    @property
    def state(self) -> str:
        return self.snapshot().state

    @property
    def done(self) -> bool:
        return self.snapshot().state in FINAL_STATES

    @property
    def result(self) -> dict[str, Any] | None:
        """The finished job's summary (dataset/destination, counts, stage times)."""
        return self.snapshot().result

    @property
    def error(self) -> str | None:
        return self.snapshot().error or None

    # -- control ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the supervisor to stop; the job ends ``cancelled`` (or ``done`` if too late)."""
        if self._ended is None and not self._reaped:
            self._block.request_cancel()

    def reap(self) -> Snapshot | None:
        """Once the job has ended: wait for the supervisor to exit (killing one that
        lingers or stopped responding), remove a dead supervisor's leftovers and free
        the block. Returns the final snapshot, or ``None`` while the job still runs.
        Idempotent; blocks for at most a few seconds, so not for a GUI thread.
        """
        snap = self.snapshot()
        if snap.state not in FINAL_STATES:
            return None
        if self._reaped:
            return snap
        if self._lost:
            self._process.kill()  # a no-op for one that is gone already
        try:
            self._process.wait(REAP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(REAP_SECONDS)
        if snap.state != "done" and self.pid is not None:
            _remove_leftovers(self.config, self.pid)
        self._reaped = True
        self._block.close()
        self._block.unlink()
        return snap

    def wait(self, timeout: float | None = None, poll: float = 0.05) -> Snapshot:
        """Block until the job ends (then reap it) or ``timeout`` seconds pass; return
        the last snapshot. Not for GUI threads: poll :meth:`snapshot` from a timer there.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        snap = self.snapshot()
        while snap.state not in FINAL_STATES:
            if deadline is not None and time.monotonic() >= deadline:
                return snap
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(poll)  # returns at once when the supervisor exits
            snap = self.snapshot()
        self.reap()
        return snap

    def close(self) -> None:
        """Cancel if still running, wait for the end and free everything."""
        if self._reaped:
            return
        self.cancel()
        snap = self.wait(10)
        if snap.state not in FINAL_STATES:
            self._ended = self._died(snap, "was stopped at close")
            self.reap()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker_slots(config: Any) -> int:
    return max(1, min(int(getattr(config, "workers", 1)), MAX_WORKERS))


def _remove_leftovers(config: Any, supervisor_pid: int) -> None:
    """Remove the staging paths of a supervisor that could not remove them itself.

    Best effort: a folder that refuses the removal must not hide the job's own error.
    """
    if getattr(config, "destination", None) is None:
        return
    destination = Path(config.destination)
    pattern = f".{destination.name}{STAGING_MARKER}{supervisor_pid}-*"
    discard_paths(*destination.parent.glob(pattern))


def start_job(kind: str, config: Any) -> Job:
    """Start a job of a registered ``kind`` (see :mod:`segycore.runtime.registry`)."""
    return Job(kind, config)


def start_import(config: ImportConfig) -> Job:
    """Start an import in a new supervisor process and return its :class:`Job`."""
    return Job("import", config)


def start_export(config: ExportConfig) -> Job:
    """Start an export in a new supervisor process and return its :class:`Job`."""
    return Job("export", config)


def start_index(config: IndexConfig) -> Job:
    """Start an index job (:class:`~segycore.pipeline.configs.IndexConfig`) in a new
    supervisor process and return its :class:`Job`."""
    return Job("index", config)
