"""Add or rebuild the ensemble indexes and the geometry of an existing dataset.

One stage, "Build ensemble index" (traces, cancellable): the indexes are built in a
staging folder inside the dataset, the keys not rebuilt are carried over, and then
``index/`` and ``geometry/`` are renamed into place and ``metadata.json`` replaced, in
that order. A failed or cancelled job leaves the dataset exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset.dataset import INDEX_DIR, Dataset
from ..dataset.indexing import rebuild_in_place
from ..errors import SegyError
from ..storage.staging import discard_paths, staging_path
from .configs import IndexConfig
from .coordinator import Coordinator
from .reporting import StageReporter
from .stages import INDEX_STAGES, ProgressCallback

__all__ = ["INDEX_STAGES", "IndexConfig", "IndexCoordinator", "IndexResult", "geometry_keys"]


def geometry_keys(dataset: Dataset, fields: Sequence[str | int]) -> dict[str, str]:
    """The header columns of the geometry's (inline, crossline, offset) fields; SegyError
    for an unknown or float field."""
    keys = dict(
        zip(("inline", "crossline", "offset"), map(dataset.column_name, fields), strict=True)
    )
    for custom in dataset.custom_fields:
        if custom.name in keys.values() and custom.dtype.kind == "f":
            raise SegyError(f"geometry field {custom.name} is a float ({custom.type})")
    return keys


@dataclass(frozen=True)
class IndexResult:
    """A finished index job."""

    dataset: Path
    keys: tuple[str, ...]
    geometry: dict[str, Any] | None
    stage_seconds: dict[str, float]
    n_traces: int = 0
    n_samples: int = 0
    sample_format: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "index",
            "dataset": str(self.dataset),
            "n_traces": self.n_traces,
            "n_samples": self.n_samples,
            "sample_format": self.sample_format,
            "keys": list(self.keys),
            "geometry": self.geometry,
            "stage_seconds": self.stage_seconds,
        }


class IndexCoordinator(Coordinator):
    """Runs the index job on one dataset; bad keys fail in the constructor."""

    stages = INDEX_STAGES
    kind = "index"

    def __init__(self, config: IndexConfig) -> None:
        super().__init__()
        self.config = config
        self.dataset = Dataset(config.dataset)
        self.keys = list(dict.fromkeys(self.dataset.column_name(k) for k in config.ensemble_keys))
        self.geometry_keys = (
            geometry_keys(self.dataset, config.geometry_keys)
            if config.geometry_keys is not None
            else None
        )
        self.staging = staging_path(self.dataset.path / INDEX_DIR, "build")

    @property
    def n_traces(self) -> int:
        return self.dataset.n_traces

    def abort(self) -> None:
        """Remove the staging folder (never raises)."""
        discard_paths(self.staging)

    def run_build_index(self, progress_callback: ProgressCallback | None = None) -> IndexResult:
        """Build, then swap ``index/``, ``geometry/`` and ``metadata.json`` into place."""
        return self._build_index(self._callbacks(progress_callback))

    def _build_index(self, reporter: StageReporter) -> IndexResult:
        ds = self.dataset
        started = self._begin(reporter, "build_index", ds.n_traces)
        result = rebuild_in_place(
            ds.path,
            ds.metadata,
            self.keys,
            self.geometry_keys,
            self.staging,
            report=reporter.advance,
            cancelled=self._cancel.is_set,
        )
        self._finish(reporter, "build_index", started)
        geometry = result.geometry.description() if result.geometry is not None else None
        if geometry is None and self.geometry_keys is not None:
            geometry = {"grid": False, "reason": result.geometry_reason}
        return IndexResult(
            ds.path,
            tuple(self.keys),
            geometry,
            dict(self.stage_seconds),
            ds.n_traces,
            ds.n_samples,
            ds.sample_format,
        )

    def run(
        self,
        progress_callback: Callable[[str, Any], None] | None = None,
        *,
        reporter: StageReporter | None = None,
    ) -> IndexResult:
        """Run the job; on failure or cancel the dataset is left as it was."""
        report = self._reporter(progress_callback, reporter)
        try:
            return self._build_index(report)
        except BaseException:
            self.abort()
            raise
