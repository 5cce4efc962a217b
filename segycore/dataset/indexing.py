"""Build a dataset's ensemble indexes and geometry from its ``headers.parquet``.

One function serves the import's "Build ensemble index" stage and ``segycore index``:
it streams the key columns row group by row group (bounded memory besides the
indexes themselves), writes ``index/<key>.parquet`` + ``index/<key>.order.npy`` per key
and ``geometry/`` into a folder, and reports progress in traces.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from ..errors import JobCancelled, SegyError
from ..storage.staging import discard_paths, publish
from .ensembles import EnsembleIndexBuilder, index_paths, write_index
from .geometry import GEOMETRY_DIR, Geometry, GeometryBuilder, write_geometry, write_no_geometry

__all__ = ["DEFAULT_GEOMETRY_KEYS", "IndexBuildResult", "build_indexes", "rebuild_in_place"]

#: The header columns a grid is detected from unless the user names others.
DEFAULT_GEOMETRY_KEYS = {"inline": "inline", "crossline": "crossline", "offset": "offset"}
#: Rows per block read from ``headers.parquet``.
BLOCK_ROWS = 1 << 18


@dataclass(frozen=True)
class IndexBuildResult:
    """What :func:`build_indexes` wrote."""

    keys: tuple[str, ...]
    geometry: Geometry | None
    geometry_reason: str


def _columns(
    headers_path: Path, names: Sequence[str], cancelled: Callable[[], bool]
) -> Iterator[dict[str, np.ndarray]]:
    with pq.ParquetFile(headers_path) as headers:
        missing = [n for n in names if n not in headers.schema_arrow.names]
        if missing:
            raise SegyError(f"{headers_path} has no column {missing[0]!r}")
        for batch in headers.iter_batches(batch_size=BLOCK_ROWS, columns=list(names)):
            if cancelled():
                raise JobCancelled("index build cancelled by the user")
            yield {n: batch.column(n).to_numpy() for n in names}


def build_indexes(
    headers_path: Path,
    n_traces: int,
    keys: Sequence[str],
    folder: Path,
    geometry_keys: dict[str, str] | None = DEFAULT_GEOMETRY_KEYS,
    report: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> IndexBuildResult:
    """Index ``keys`` and detect the grid of ``geometry_keys`` (None: no geometry).

    Writes ``folder/index/`` and ``folder/geometry/`` (``folder`` is a staging dataset
    folder). ``report(done)`` gets traces-equivalent progress out of ``n_traces``.
    """
    is_cancelled = cancelled or (lambda: False)
    tell = report or (lambda done: None)
    passes = (1 if keys else 0) + (2 if geometry_keys else 0)
    total = max(passes, 1) * max(n_traces, 1)

    def scaled(units: int) -> None:
        tell(min(n_traces, units * n_traces // total))

    if keys:
        index_dir = folder / "index"
        index_dir.mkdir(exist_ok=True)
        schema = pq.read_schema(headers_path)
        for key in keys:
            if key not in schema.names:
                raise SegyError(f"{headers_path} has no column {key!r}")
        builders = [
            EnsembleIndexBuilder(key, n_traces, schema.field(key).type.to_pandas_dtype())
            for key in keys
        ]
        scanned = 0
        for block in _columns(headers_path, keys, is_cancelled):
            for builder in builders:
                builder.add(block[builder.key])
            scanned += len(block[keys[0]])
            scaled(scanned)
        for builder in builders:
            if is_cancelled():
                raise JobCancelled("index build cancelled by the user")
            write_index(index_dir, builder.build())
    geometry, reason = None, "no geometry keys given"
    if geometry_keys:
        names = [geometry_keys["inline"], geometry_keys["crossline"], geometry_keys["offset"]]
        base = n_traces if keys else 0

        def blocks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            for block in _columns(headers_path, names, is_cancelled):
                yield block[names[0]], block[names[1]], block[names[2]]

        builder = GeometryBuilder(dict(geometry_keys), n_traces)
        geometry, reason = builder.build(blocks, lambda done: scaled(base + done))
        target = folder / GEOMETRY_DIR
        if geometry is not None:
            write_geometry(target, geometry)
        else:
            write_no_geometry(target, dict(geometry_keys), reason)
    tell(n_traces)
    return IndexBuildResult(tuple(keys), geometry, reason)


def rebuild_in_place(
    folder: Path,
    metadata: dict[str, Any],
    keys: Sequence[str],
    geometry_keys: dict[str, str] | None,
    staging: Path,
    report: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> IndexBuildResult:
    """(Re)build ``keys`` and the geometry of the dataset in ``folder``, atomically.

    Builds into ``staging`` (a fresh folder inside the dataset), carries the other
    keys' index files over, then renames ``index/`` and ``geometry/`` into place and
    replaces ``metadata.json`` (its ``ensemble_keys`` extended), in that order. Until
    the renames, the dataset is untouched; on any failure ``staging`` is removed.
    """
    is_cancelled = cancelled or (lambda: False)
    index_dir = folder / "index"
    declared = list(metadata.get("ensemble_keys", []))
    existing = declared + sorted(
        p.stem for p in index_dir.glob("*.parquet") if p.stem not in declared
    )
    try:
        staging.mkdir()
        result = build_indexes(
            folder / "headers.parquet",
            int(metadata["n_traces"]),
            keys,
            staging,
            geometry_keys,
            report=report,
            cancelled=is_cancelled,
        )
        (staging / "index").mkdir(exist_ok=True)
        for key in existing:
            if key in keys:
                continue
            for path in index_paths(index_dir, key):
                if path.exists():
                    shutil.copy2(path, staging / "index" / path.name)
        if is_cancelled():
            raise JobCancelled("index build cancelled by the user")
        updated = dict(metadata)
        updated["ensemble_keys"] = declared + [k for k in keys if k not in declared]
        staged_meta = staging / "metadata.json"
        staged_meta.write_text(json.dumps(updated, indent=2) + "\n")
        publish(staging / "index", index_dir, overwrite=True)
        if geometry_keys is not None:
            publish(staging / GEOMETRY_DIR, folder / GEOMETRY_DIR, overwrite=True)
        os.replace(staged_meta, folder / "metadata.json")
        metadata.clear()
        metadata.update(updated)
    finally:
        discard_paths(staging)
    return result
