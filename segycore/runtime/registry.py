"""The job kinds the supervisor runs: kind -> config class, coordinator class, stages.

The supervisor and the job API are generic: they look a kind up here, rebuild its
config from plain data, construct its coordinator and call
``coordinator.run(reporter=...)``. They know nothing else of a coordinator.

A coordinator class must provide ``Coordinator(config)`` (validating everything
before writing anything), ``cancel()``, and ``run(progress_callback=None, *,
reporter=None)`` returning a result with ``to_dict()`` (a JSON-ready summary) and
removing what it wrote on failure. :class:`segycore.pipeline.coordinator.Coordinator`
provides all but ``run``. The config class must be a dataclass of plain values
(paths, numbers, strings, sequences of them), validated in ``__post_init__``.

Adding a job kind is one entry, e.g. an index-only job::

    from segycore.runtime.registry import JobKind, register
    register(JobKind("index", IndexConfig, IndexCoordinator, INDEX_STAGES))

(``INDEX_STAGES = (Stage("build_index", "Build ensemble index", ...),)``; the kind's
name must be in :data:`segycore.runtime.progress.KINDS`, which already holds
``"index"``). Put a loader for it in :data:`_BUILTIN` so both the front end and the
supervisor process see it (loaded on first use); ``start_job("index", config)`` then
runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import SegycoreError
from ..pipeline.stages import Stage
from .progress import KINDS, MAX_STAGES

__all__ = ["JobKind", "job_kind", "job_kinds", "register"]


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its name, config class, coordinator class and stages, in order."""

    name: str
    config: type
    coordinator: Callable[[Any], Any]
    stages: tuple[Stage, ...]

    def target(self, config: Any) -> str:
        """What a job of this kind writes, for messages (``"import to /data/x.dataset"``)."""
        where = getattr(config, "destination", None) or getattr(config, "dataset", None)
        return f"{self.name} to {where}" if where is not None else self.name


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    """Add (or replace) a job kind."""
    if kind.name not in KINDS:
        raise ValueError(f"job kind {kind.name!r} needs a code in segycore.runtime.progress.KINDS")
    if not 1 <= len(kind.stages) <= MAX_STAGES:
        raise ValueError(f"a job kind has 1..{MAX_STAGES} stages, got {len(kind.stages)}")
    _KINDS[kind.name] = kind


def job_kinds() -> dict[str, JobKind]:
    """Every registered job kind by name."""
    for name in _BUILTIN:
        _load_builtin(name)
    return dict(_KINDS)


def job_kind(name: str) -> JobKind:
    """The job kind called ``name``; refuse an unknown one."""
    _load_builtin(name)
    try:
        return _KINDS[name]
    except KeyError:
        raise SegycoreError(
            f"unknown job kind {name!r} (known: {', '.join(sorted(job_kinds()))})"
        ) from None


def _import_kind() -> JobKind:
    from ..pipeline.importer import ImportConfig, ParallelImportCoordinator
    from ..pipeline.stages import IMPORT_STAGES

    return JobKind("import", ImportConfig, ParallelImportCoordinator, IMPORT_STAGES)


def _export_kind() -> JobKind:
    from ..pipeline.exporter import ExportConfig, ParallelExportCoordinator
    from ..pipeline.stages import EXPORT_STAGES

    return JobKind("export", ExportConfig, ParallelExportCoordinator, EXPORT_STAGES)


def _index_kind() -> JobKind:
    from ..pipeline.indexer import INDEX_STAGES, IndexConfig, IndexCoordinator

    return JobKind("index", IndexConfig, IndexCoordinator, INDEX_STAGES)


#: segycore's own job kinds, each loaded on its first use: a job's front end and
#: supervisor import only that job's coordinator (numpy, pyarrow and the rest).
_BUILTIN: dict[str, Callable[[], JobKind]] = {
    "import": _import_kind,
    "export": _export_kind,
    "index": _index_kind,
}
_loaded: set[str] = set()


def _load_builtin(name: str) -> None:
    """Register the built-in kind ``name`` (once; a no-op for any other name)."""
    if name in _BUILTIN and name not in _loaded:
        _loaded.add(name)
        register(_BUILTIN[name]())
