"""The stages of import, export and index, as every front end shows them, and progress plumbing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "EXPORT_STAGES",
    "IMPORT_STAGES",
    "INDEX_STAGES",
    "ParallelProgress",
    "ProgressCallback",
    "Stage",
    "Throttle",
    "format_eta",
    "stage_label",
]


@dataclass(frozen=True)
class Stage:
    """One stage: its name, the label front ends show, its unit and whether it cancels.

    ``parallel`` marks a stage whose work runs on a backend's workers: it reports
    :class:`ParallelProgress` records rather than ``(done, total)``.
    """

    key: str
    name: str
    label: str
    unit: str
    cancellable: bool
    parallel: bool = False


IMPORT_STAGES: tuple[Stage, ...] = (
    Stage("import", "Parallel import", "Importing traces...", "traces", True, True),
    Stage("merge_headers", "Merge headers", "Merging header files...", "segments", False),
    Stage("build_index", "Build ensemble index", "Building ensemble index...", "traces", False),
    Stage("cleanup", "Cleanup", "Cleaning up...", "files", False),
)
EXPORT_STAGES: tuple[Stage, ...] = (
    Stage("export", "Parallel export", "Exporting traces...", "traces", True, True),
    Stage("merge", "Merge segments", "Merging segment files...", "bytes", True),
    Stage("cleanup", "Cleanup", "Cleaning up temporary files...", "files", False),
)
INDEX_STAGES: tuple[Stage, ...] = (
    Stage("build_index", "Build ensemble index", "Building ensemble index...", "traces", True),
)


@dataclass(frozen=True)
class ParallelProgress:
    """What a parallel stage reports: traces done of total, workers busy, time left."""

    done: int
    total: int
    active_workers: int
    eta_seconds: float | None
    bytes_done: int = 0


ProgressCallback = Callable[..., None]


class Throttle:
    """Pass progress on at most every ``interval`` seconds or ``step`` of the total.

    Stages report through callbacks at least every 1% or 100 ms; a throttle keeps a
    tight loop from calling a slow callback millions of times.
    """

    def __init__(self, callback: ProgressCallback | None, total: int, interval: float = 0.05):
        self._callback = callback
        self._total = total
        self._interval = interval
        self._step = max(1, total // 100)
        self._last_time = 0.0
        self._last_done = -1

    def __call__(self, done: int, *, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if (
            force
            or done >= self._total
            or now - self._last_time >= self._interval
            or done - self._last_done >= self._step
        ):
            self._last_time = now
            self._last_done = done
            self._callback(done, self._total)


def format_eta(seconds: float | None) -> str:
    """``"1:05"``-style remaining time, or ``"--:--"`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _amount(value: int, unit: str) -> str:
    return f"{value / 1e9:.1f}" if unit == "bytes" else f"{value:,}"


def stage_label(
    stage: Stage,
    done: int,
    total: int,
    active_workers: int = 0,
    eta_seconds: float | None = None,
) -> str:
    """The text under a stage's progress bar, e.g. ``"Merging segment files...\\n1.2 / 2.4 GB"``."""
    if stage.unit == "bytes":
        detail = f"{done / 1e9:.1f} / {total / 1e9:.1f} GB"
    elif stage.unit == "segments":
        detail = f"segment {done}/{total}"
    elif stage.unit == "files":
        detail = f"{done}/{total} files"
    elif stage.key == "build_index":
        detail = f"{done:,}/{total:,} traces scanned"
    else:
        detail = f"{_amount(done, stage.unit)} / {_amount(total, stage.unit)} {stage.unit}"
    if stage.cancellable and stage.unit == "traces":
        detail += f"\n{active_workers} workers active, {format_eta(eta_seconds)} left"
    return f"{stage.label}\n{detail}"
