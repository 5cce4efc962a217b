"""Soak cycles, run in a fresh process by ``test_soak.py``.

``python soak_cycles.py MODE CYCLES SOURCE FOLDER`` runs a warm-up cycle (which starts
the lazy pools and caches of numpy, pyarrow and multiprocessing), measures the process,
runs the cycles, measures again and prints both as JSON. A process of its own, so what
other tests left running in pytest's process (a Qt application, its threads) cannot
blur the numbers. MODE ``in-process`` runs ``CYCLES`` import/cancel cycles and
``CYCLES // 5`` import/export round trips with the coordinators; MODE ``jobs`` runs
``CYCLES`` import/cancel cycles and ``max(2, CYCLES // 2)`` round trips through the job
API (each job a supervisor process).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from segycore import (
    ExportConfig,
    ImportConfig,
    JobCancelled,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    start_export,
    start_import,
)

__all__ = ["main", "resources"]

SHM_DIR = Path("/dev/shm")


def _proc_list(kind: str, read: Callable[[str], str]) -> list[str]:
    """What /proc says about this process's open files or threads (Linux; else empty)."""
    folder = Path("/proc/self", kind)
    found = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            found.append(read(str(entry)).strip())
    return sorted(found)


def resources() -> dict[str, Any]:
    """What a leak would make grow, with the open files and thread names for messages."""
    gc.collect()
    process = psutil.Process()
    children = [
        c
        for c in process.children(recursive=True)
        if c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())
    ]
    blocks = list(SHM_DIR.glob(f"segycore_{os.getpid()}_*")) if SHM_DIR.is_dir() else []
    return {
        "fds": process.num_fds(),
        "python_threads": threading.active_count(),
        "os_threads": process.num_threads(),
        "children": len(children),
        "shm_blocks": len(blocks),
        "rss": process.memory_info().rss,
        "open_files": _proc_list("fd", os.readlink),
        "thread_names": _proc_list("task", lambda p: Path(p, "comm").read_text()),
    }


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


class InProcess:
    """Cycles with the coordinators, in this process."""

    def __init__(self, source: Path, folder: Path) -> None:
        self.source, self.folder = source, folder
        self.source_bytes = source.read_bytes()

    def cancel_cycle(self, i: int) -> None:
        destination = self.folder / f"cancelled-{i}.dataset"
        coordinator = ParallelImportCoordinator(
            ImportConfig(self.source, destination, workers=2, chunk_bytes=20_000)
        )
        callback = None
        if i % 2:  # cancelled before the first chunk ...
            coordinator.cancel()
        else:  # ... or from the progress of the parallel stage

            def callback(key: str, progress: object) -> None:
                coordinator.cancel()

        try:
            coordinator.run(callback)
        except JobCancelled:
            pass
        else:
            raise AssertionError("the import was not cancelled")
        _check(not destination.exists(), f"{destination} exists after a cancel")

    def round_trip(self, i: int) -> None:
        dataset, copy = self.folder / f"ds-{i}.dataset", self.folder / f"copy-{i}.sgy"
        ParallelImportCoordinator(ImportConfig(self.source, dataset, workers=2)).run()
        ParallelExportCoordinator(ExportConfig(dataset, copy, workers=2)).run()
        _check(copy.read_bytes() == self.source_bytes, "the round trip differs")
        ParallelImportCoordinator(ImportConfig(copy, dataset, workers=2, overwrite=True)).run()
        copy.unlink()
        ParallelExportCoordinator(ExportConfig(dataset, copy, workers=2)).run()
        _check(copy.read_bytes() == self.source_bytes, "the second round trip differs")
        copy.unlink()

    def trips(self, cycles: int) -> int:
        return max(1, cycles // 5)


class Jobs(InProcess):
    """Cycles through the job API: every job runs in a supervisor process."""

    def cancel_cycle(self, i: int) -> None:
        destination = self.folder / f"cancelled-{i}.dataset"
        # 0.1 MB at 0.5 MB/s: still running when the cancel arrives, whatever the timing
        job = start_import(ImportConfig(self.source, destination, workers=2, rate_limit=0.5))
        job.cancel()
        state = job.wait(60).state
        _check(state == "cancelled", f"job ended {state}: {job.error}")
        _check(not destination.exists(), f"{destination} exists after a cancel")

    def round_trip(self, i: int) -> None:
        dataset, copy = self.folder / f"ds-{i}.dataset", self.folder / f"copy-{i}.sgy"
        for start in (
            lambda: start_import(ImportConfig(self.source, dataset, workers=2, overwrite=True)),
            lambda: start_export(ExportConfig(dataset, copy, workers=2)),
        ):  # one after the other: the export reads what the import wrote
            job = start()
            state = job.wait(60).state
            _check(state == "done", f"job ended {state}: {job.error}")
        _check(copy.read_bytes() == self.source_bytes, "the round trip differs")
        copy.unlink()

    def trips(self, cycles: int) -> int:
        return max(2, cycles // 2)


def main(argv: list[str]) -> int:
    mode, cycles, source, folder = argv[0], int(argv[1]), Path(argv[2]), Path(argv[3])
    runner = InProcess(source, folder) if mode == "in-process" else Jobs(source, folder)
    runner.cancel_cycle(0)  # warm-up: lazy pools, caches, the resource tracker
    runner.cancel_cycle(1)
    runner.round_trip(0)
    before = resources()
    for i in range(cycles):
        runner.cancel_cycle(i)
    trips = runner.trips(cycles)
    for i in range(1, trips + 1):
        runner.round_trip(i)
    after = resources()
    print(json.dumps({"before": before, "after": after, "trips": trips}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
