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
``"index"``). Put it in :data:`_BUILTIN` so both the front end and the supervisor
process see it; ``start_job("index", config)`` then runs it. A front end only asks for
a kind's stages (:func:`job_stages`), so only the supervisor imports its coordinator.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import SegycoreError
from ..pipeline.configs import ExportConfig, ImportConfig, IndexConfig
from ..pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, INDEX_STAGES, Stage
from .progress import KINDS, MAX_STAGES

__all__ = ["JobKind", "job_kind", "job_kinds", "job_stages", "register"]


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
    """Every registered job kind by name (loads every built-in kind's coordinator)."""
    for name in _BUILTIN:
        _load_builtin(name)
    return dict(_KINDS)


def job_kind(name: str) -> JobKind:
    """The job kind called ``name``, its coordinator loaded; refuse an unknown one."""
    _load_builtin(name)
    try:
        return _KINDS[name]
    except KeyError:
        raise _unknown(name) from None


def job_stages(name: str) -> tuple[Stage, ...]:
    """The stages of the job kind ``name``, without loading its coordinator.

    What a front end needs to show a job: the coordinator (numpy, pyarrow ...) loads in
    the supervisor process only.
    """
    if name in _KINDS:
        return _KINDS[name].stages
    if name in _BUILTIN:
        return _BUILTIN[name].stages
    raise _unknown(name)


def _unknown(name: str) -> SegycoreError:
    known = ", ".join(sorted({*_KINDS, *_BUILTIN}))
    return SegycoreError(f"unknown job kind {name!r} (known: {known})")


@dataclass(frozen=True)
class _Builtin:
    """A built-in job kind before its coordinator is imported: the config class and the
    stages (light), and where the coordinator class is (``module:name``)."""

    config: type
    stages: tuple[Stage, ...]
    coordinator: str

    def load(self, name: str) -> JobKind:
        module, _, attribute = self.coordinator.partition(":")
        coordinator = getattr(importlib.import_module(module), attribute)
        return JobKind(name, self.config, coordinator, self.stages)


#: segycore's own job kinds. A front end reads their stages and builds their configs
#: without importing a coordinator; the supervisor imports only its job's coordinator
#: (numpy, pyarrow and the rest) on first use of :func:`job_kind`.
_BUILTIN: dict[str, _Builtin] = {
    "import": _Builtin(
        ImportConfig, IMPORT_STAGES, "segycore.pipeline.importer:ParallelImportCoordinator"
    ),
    "export": _Builtin(
        ExportConfig, EXPORT_STAGES, "segycore.pipeline.exporter:ParallelExportCoordinator"
    ),
    "index": _Builtin(IndexConfig, INDEX_STAGES, "segycore.pipeline.indexer:IndexCoordinator"),
}
_loaded: set[str] = set()


def _load_builtin(name: str) -> None:
    """Register the built-in kind ``name`` (once, unless a kind of that name was
    registered already; a no-op for any other name)."""
    if name in _BUILTIN and name not in _loaded:
        _loaded.add(name)
        if name not in _KINDS:
            register(_BUILTIN[name].load(name))
