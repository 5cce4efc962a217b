"""The job API for front ends: run an import or export in a supervisor process.

The front end (GUI, CLI, a script) creates the progress block, spawns the supervisor,
reads snapshots without ever blocking, and finally unlinks the block. A supervisor
that dies is noticed through its process sentinel (and a stale heartbeat) and the job
is reported failed with a message that says what died.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..pipeline.exporter import ExportConfig
from ..pipeline.importer import ImportConfig
from ..pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, Stage
from ..storage.staging import STAGING_MARKER, discard_paths
from .progress import ProgressBlock, Snapshot, StageSpec, remove_stale_blocks
from .supervisor import supervisor_main

__all__ = ["FINAL_STATES", "Job", "start_export", "start_import"]

FINAL_STATES = frozenset({"done", "failed", "cancelled"})
#: A live supervisor beats every 100 ms; this much silence means it is hung or gone.
HEARTBEAT_TIMEOUT = 5.0
#: How long a supervisor may take to start (spawn + imports) before it must beat.
STARTUP_TIMEOUT = 60.0


def _stage_specs(stages: tuple[Stage, ...]) -> list[StageSpec]:
    return [StageSpec(s.name, s.label, s.unit, s.cancellable) for s in stages]


class Job:
    """One running import or export. Every method returns at once except :meth:`wait`."""

    def __init__(self, kind: str, config: ImportConfig | ExportConfig) -> None:
        self.kind = kind
        self.config = config
        self.stages = IMPORT_STAGES if kind == "import" else EXPORT_STAGES
        remove_stale_blocks()
        self._block = ProgressBlock.create(kind, _stage_specs(self.stages), _worker_slots(config))
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=supervisor_main,
            args=(self._block.name, kind, config, os.getpid()),
            name=f"segycore-{kind}-supervisor",
            daemon=True,
        )
        self._started = time.time()
        self._final: Snapshot | None = None
        try:
            self._process.start()
        except BaseException:
            self._block.close()
            self._block.unlink()
            raise

    # -- reading ---------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The supervisor's process id."""
        return self._process.pid

    @property
    def block_name(self) -> str:
        return self._block.name

    def snapshot(self) -> Snapshot:
        """The job's progress now; never blocks. Notices a dead or silent supervisor."""
        if self._final is not None:
            return self._final
        snap = self._block.snapshot()
        if snap.state in FINAL_STATES:
            return self._finish(snap)
        exitcode = self._process.exitcode
        if exitcode is not None:
            return self._finish(self._died(snap, f"exited with code {exitcode}"))
        silent = time.time() - (snap.heartbeat or self._started)
        limit = HEARTBEAT_TIMEOUT if snap.heartbeat else STARTUP_TIMEOUT
        if silent > limit:
            self._process.kill()
            return self._finish(self._died(snap, f"stopped responding for {silent:.0f} s"))
        return snap

    def _died(self, snap: Snapshot, how: str) -> Snapshot:
        code = self._process.exitcode
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        stage = snap.current_stage.name if snap.current_stage else "start-up"
        message = f"the supervisor process (pid {self.pid}) {how} during {stage}"
        return replace(snap, state="failed", error=message)

    def _finish(self, snap: Snapshot) -> Snapshot:
        """Record the final state, reap the supervisor, remove leftovers, free the block."""
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        if snap.state != "done" and self.pid is not None:
            _remove_leftovers(self.config, self.pid)
        self._final = snap
        self._block.close()
        self._block.unlink()
        return snap

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
        if self._final is None:
            self._block.request_cancel()

    def wait(self, timeout: float | None = None, poll: float = 0.05) -> Snapshot:
        """Block until the job ends or ``timeout`` seconds pass; return the last snapshot.

        Not for GUI threads: poll :meth:`snapshot` from a timer there instead.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        snap = self.snapshot()
        while snap.state not in FINAL_STATES:
            if deadline is not None and time.monotonic() >= deadline:
                break
            self._process.join(poll)
            snap = self.snapshot()
        return snap

    def close(self) -> None:
        """Cancel if still running, wait for the end and free everything."""
        if self._final is None:
            self.cancel()
            snap = self.wait(10)
            if snap.state not in FINAL_STATES:
                self._process.kill()
                self._finish(self._died(snap, "was stopped at close"))

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker_slots(config: ImportConfig | ExportConfig) -> int:
    return max(1, min(int(config.workers), 64))


def _remove_leftovers(config: ImportConfig | ExportConfig, supervisor_pid: int) -> None:
    """Remove the staging paths of a supervisor that could not remove them itself.

    Best effort: a folder that refuses the removal must not hide the job's own error.
    """
    destination = Path(config.destination)
    pattern = f".{destination.name}{STAGING_MARKER}{supervisor_pid}-*"
    discard_paths(*destination.parent.glob(pattern))


def start_import(config: ImportConfig) -> Job:
    """Start an import in a new supervisor process and return its :class:`Job`."""
    return Job("import", config)


def start_export(config: ExportConfig) -> Job:
    """Start an export in a new supervisor process and return its :class:`Job`."""
    return Job("export", config)
