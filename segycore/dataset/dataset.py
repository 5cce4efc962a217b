"""The dataset: a folder that numpy, pyarrow and pandas open directly.

=========================  ======================================================
``traces.npy``             (n_traces, n_samples), C order, the format's exact dtype
``headers.parquet``        one row per trace: every standard field + ``raw_header``
``index/<key>.parquet``    one row per distinct value of ``key`` (see ``ensembles``)
``index/<key>.order.npy``  trace numbers sorted by ``key``: every trace of a value
``geometry/``              survey grid and grid -> trace map (see ``geometry``)
``metadata.json``          file headers (decoded and raw), format, sizes, timings
=========================  ======================================================
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SegyError
from ..format.fields import CustomField, resolve_column
from ..format.layout import SegyLayout, decode_textual_header
from ..format.spec import resolve_trace_field
from ..storage.staging import publish, remove_path, staging_path
from . import ensembles
from .files import HEADERS_FILE, INDEX_DIR, METADATA_FILE, TRACES_FILE
from .geometry import GEOMETRY_DIR, Geometry, geometry_info, read_geometry
from .headers import PARQUET_OPTIONS, ROW_GROUP_SIZE, custom_fields_of
from .indexing import rebuild_in_place

__all__ = [
    "DATASET_VERSION",
    "HEADERS_FILE",
    "INDEX_DIR",
    "METADATA_FILE",
    "TRACES_FILE",
    "Dataset",
    "layout_metadata",
    "open_dataset",
]

DATASET_VERSION = 1
_UNREAD = object()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def layout_metadata(layout: SegyLayout) -> dict[str, Any]:
    """The ``metadata.json`` content describing a source file's headers and geometry."""
    forced = layout.textual_encoding if "textual_encoding" in layout.overrides else None
    text, _ = decode_textual_header(layout.textual_header, forced)
    return {
        "segycore_dataset_version": DATASET_VERSION,
        "source": str(layout.path.resolve()),
        "source_size_bytes": layout.file_size,
        "textual_header": text,
        "textual_encoding": layout.textual_encoding,
        "extended_textual_headers": [
            decode_textual_header(block, forced)[0] for block in layout.extended_textual_headers
        ],
        "binary_header": layout.binary,
        "sample_format": layout.format.code,
        "sample_format_name": layout.format.name,
        "dtype": layout.format.dtype.str,
        "byte_order": layout.endian,
        "byte_order_source": layout.endian_source,
        "revision": layout.revision,
        "n_traces": layout.n_traces,
        "n_samples": layout.n_samples,
        "sample_interval": layout.sample_interval,
        "reading": layout.reading_record(),
        "raw": {
            "textual_header": _b64(layout.textual_header),
            "binary_header": _b64(layout.binary_header),
            "extended_textual_headers": [_b64(b) for b in layout.extended_textual_headers],
        },
    }


def write_metadata(folder: Path, metadata: Mapping[str, Any]) -> None:
    """Write ``metadata.json`` (the dataset's last file: its presence marks completeness)."""
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")


@dataclass(frozen=True)
class FileHeaders:
    """The raw bytes of a dataset's source file headers."""

    textual: bytes
    binary: bytes
    extended: tuple[bytes, ...]


class Dataset:
    """An imported SEG-Y dataset, opened read-only (see :func:`open_dataset`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta_path = self.path / METADATA_FILE
        if not self.path.is_dir():
            raise SegyError(f"{self.path} is not a segycore dataset (not a folder)")
        if not meta_path.is_file():
            raise SegyError(f"{self.path} is not a segycore dataset (no {METADATA_FILE})")
        try:
            self.metadata: dict[str, Any] = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise SegyError(f"{meta_path} cannot be read: {exc}") from None
        version = self.metadata.get("segycore_dataset_version")
        if version != DATASET_VERSION:
            raise SegyError(f"{self.path}: unsupported dataset version {version!r}")
        try:  # never allow_pickle: an object array here is refused, not unpickled
            self.traces: np.ndarray = np.load(self.path / TRACES_FILE, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise SegyError(f"{self.path / TRACES_FILE} cannot be read: {exc}") from None
        expected = (self.n_traces, self.n_samples)
        if self.traces.shape != expected:
            raise SegyError(
                f"{self.path}: traces.npy has shape {self.traces.shape}, metadata says {expected}"
            )
        self._check_header_rows()
        self._indexes: dict[str, ensembles.EnsembleIndex] = {}
        self._custom: tuple[CustomField, ...] | None = None
        self._ensemble_keys = self._find_ensemble_keys()
        self._geometry: Geometry | object | None = _UNREAD

    def _check_header_rows(self) -> None:
        """Refuse a ``headers.parquet`` without exactly one row per trace.

        Export would otherwise write zero-filled records where rows are missing.
        """
        try:
            rows = pq.read_metadata(self.headers_path).num_rows
        except (OSError, pa.ArrowException) as exc:
            raise SegyError(f"{self.headers_path} cannot be read: {exc}") from None
        if rows != self.n_traces:
            raise SegyError(
                f"{self.path}: {HEADERS_FILE} has {rows} rows, metadata says {self.n_traces} traces"
            )

    def __repr__(self) -> str:
        return (
            f"Dataset({str(self.path)!r}, n_traces={self.n_traces}, n_samples={self.n_samples}, "
            f"format={self.sample_format})"
        )

    @property
    def n_traces(self) -> int:
        return int(self.metadata["n_traces"])

    @property
    def n_samples(self) -> int:
        return int(self.metadata["n_samples"])

    @property
    def sample_format(self) -> int:
        return int(self.metadata["sample_format"])

    @property
    def byte_order(self) -> str:
        return str(self.metadata["byte_order"])

    @property
    def sample_interval(self) -> float:
        return float(self.metadata["sample_interval"])

    @property
    def ensemble_keys(self) -> list[str]:
        """Every indexed key: the import's keys first, then any added later (as found
        when the dataset was opened: reading this property touches no file)."""
        return list(self._ensemble_keys)

    def _find_ensemble_keys(self) -> list[str]:
        keys = list(self.metadata.get("ensemble_keys", []))
        index_dir = self.path / INDEX_DIR
        if index_dir.is_dir():
            keys += sorted(p.stem for p in index_dir.glob("*.parquet") if p.stem not in keys)
        return keys

    @property
    def headers_path(self) -> Path:
        return self.path / HEADERS_FILE

    @property
    def file_headers(self) -> FileHeaders:
        """The source's textual, binary and extended textual header bytes, as read."""
        raw = self.metadata["raw"]
        return FileHeaders(
            textual=base64.b64decode(raw["textual_header"]),
            binary=base64.b64decode(raw["binary_header"]),
            extended=tuple(base64.b64decode(b) for b in raw["extended_textual_headers"]),
        )

    def headers(self, columns: Iterable[str | int] | None = None) -> pa.Table:
        """Trace headers as a pyarrow table; ``columns`` may use any accepted field name."""
        names = None
        if columns is not None:
            names = [c if c == "raw_header" else self.column_name(c) for c in columns]
        return pq.read_table(self.headers_path, columns=names)

    def header(self, field: str | int) -> np.ndarray:
        """One trace-header field for every trace, e.g. ``header("CDP")`` or ``header(21)``."""
        name = self.column_name(field)
        return pq.read_table(self.headers_path, columns=[name]).column(name).to_numpy()

    def ensembles(self, key: str | int | None = None) -> pa.Table:
        """The ensemble table of ``key`` (default: the first key indexed at import).

        One row per distinct value, ascending: ``value``, ``trace_count``, ``order_start``
        and ``first_trace``/``end_trace`` (null where the value's traces are not consecutive).
        """
        return self.ensemble_index(key).table

    def ensemble_index(self, key: str | int | None = None) -> ensembles.EnsembleIndex:
        """The complete index of ``key``: its table and the stable sort permutation."""
        name = self._index_key(key)
        if name not in self._indexes:
            index = ensembles.read_index(self.path / INDEX_DIR, name)
            if index is None:  # a dataset from before the complete index: build it here
                index = ensembles.EnsembleIndex.build(name, self.header(name))
            self._indexes[name] = index
        return self._indexes[name]

    def ensemble(self, value: int, key: str | int | None = None) -> slice:
        """The trace range of ``value``'s ensemble, when its traces are consecutive.

        A value whose traces are spread over the file (a CDP of a shot-ordered survey)
        raises :class:`SegyError`: use :meth:`gather` or :meth:`ensemble_traces`.
        """
        return self.ensemble_index(key).trace_range(value)

    def ensemble_traces(self, value: int, key: str | int | None = None) -> np.ndarray:
        """Every trace number whose ``key`` equals ``value``, in file order."""
        return self.ensemble_index(key).trace_numbers(value)

    def gather(self, value: int, key: str | int | None = None) -> np.ndarray:
        """Every trace whose ``key`` equals ``value``, in file order: (count, n_samples)."""
        numbers = self.ensemble_traces(value, key)
        if numbers.size and numbers[-1] - numbers[0] + 1 == numbers.size:
            return np.array(self.traces[int(numbers[0]) : int(numbers[-1]) + 1])
        return self.traces[numbers]

    def _index_key(self, key: str | int | None) -> str:
        keys = self.ensemble_keys
        if key is None:
            if not keys:
                raise SegyError(f"{self.path} has no ensemble index")
            return keys[0]
        name = self.column_name(key)
        if name not in keys:
            raise SegyError(f"{self.path} has no ensemble index on {name} (it has: {keys})")
        return name

    @property
    def custom_fields(self) -> tuple[CustomField, ...]:
        """The custom header fields (``NAME:BYTE:TYPE``) decoded at import."""
        if self._custom is None:
            try:
                self._custom = custom_fields_of(pq.read_schema(self.headers_path))
            except (OSError, pa.ArrowException) as exc:
                raise SegyError(f"{self.headers_path} cannot be read: {exc}") from None
        return self._custom

    def column_name(self, key: str | int) -> str:
        """The ``headers.parquet`` column a user's field name or byte position means.

        Custom field names first (exactly or case-insensitively), then the standard
        fields' names, segyio's names and byte positions.
        """
        return resolve_column(key, self.custom_fields)

    # -- geometry ------------------------------------------------------------------
    @property
    def geometry(self) -> Geometry | None:
        """The survey grid (see :mod:`segycore.dataset.geometry`), None without one."""
        if self._geometry is _UNREAD:
            self._geometry = read_geometry(self.path / GEOMETRY_DIR)
        return self._geometry  # type: ignore[return-value]

    @property
    def geometry_info(self) -> dict[str, Any] | None:
        """``geometry/geometry.json``: the grid's description, or why there is no grid."""
        return geometry_info(self.path / GEOMETRY_DIR)

    def _grid(self) -> Geometry:
        geometry = self.geometry
        if geometry is None:
            info = self.geometry_info
            why = info.get("reason", "") if info else "it was imported without geometry"
            raise SegyError(f"{self.path} has no survey geometry ({why})")
        return geometry

    def _read_bins(self, numbers: np.ndarray) -> np.ndarray:
        """Traces of a block of the trace map; missing bins (-1) as zeros."""
        out = np.zeros((*numbers.shape, self.n_samples), dtype=self.traces.dtype)
        valid = numbers >= 0
        wanted = np.asarray(numbers[valid], dtype=np.int64)
        if wanted.size:
            order = np.argsort(wanted, kind="stable")  # read in file order
            data = np.empty((wanted.size, self.n_samples), dtype=self.traces.dtype)
            data[order] = self.traces[wanted[order]]
            out[valid] = data
        return out

    def inline(self, number: int, offset: int | None = None) -> np.ndarray:
        """One inline: (n_crosslines, n_samples), or (n_crosslines, n_offsets, n_samples)
        for pre-stack data without ``offset``; crosslines ascending, missing traces zero."""
        grid = self._grid()
        i = grid.line_position("inline", number)
        slot = grid.offset_position(offset)
        numbers = grid.trace_map[i] if slot is None else grid.trace_map[i, :, slot]
        return self._read_bins(np.asarray(numbers))

    def crossline(self, number: int, offset: int | None = None) -> np.ndarray:
        """One crossline: (n_inlines, n_samples), or (n_inlines, n_offsets, n_samples)
        for pre-stack data without ``offset``; inlines ascending, missing traces zero."""
        grid = self._grid()
        j = grid.line_position("crossline", number)
        slot = grid.offset_position(offset)
        numbers = grid.trace_map[:, j] if slot is None else grid.trace_map[:, j, slot]
        return self._read_bins(np.asarray(numbers))

    def sample_slice(self, index: int, offset: int | None = None) -> np.ndarray:
        """Sample ``index`` of every bin: (n_inlines, n_crosslines), or with an offset
        axis last for pre-stack data without ``offset``; missing traces zero."""
        grid = self._grid()
        if not 0 <= int(index) < self.n_samples:
            raise SegyError(f"sample index {index} outside 0..{self.n_samples - 1}")
        slot = grid.offset_position(offset)
        numbers = np.asarray(grid.trace_map if slot is None else grid.trace_map[:, :, slot])
        column = np.empty(self.n_traces, dtype=self.traces.dtype)
        step = max(1, (64 << 20) // max(1, self.traces.strides[0]))
        for first in range(0, self.n_traces, step):
            column[first : first + step] = self.traces[first : first + step, int(index)]
        out = np.zeros(numbers.shape, dtype=self.traces.dtype)
        valid = numbers >= 0
        out[valid] = column[numbers[valid]]
        return out

    def update_headers(self, columns: Mapping[str | int, Sequence[int] | np.ndarray]) -> None:
        """Replace whole header columns (e.g. a corrected CDP), rewriting the file atomically.

        Export writes the new values; every byte of a field left alone stays as read.
        Indexes of edited keys (and the geometry, if one of its fields is edited) are
        rebuilt.
        """
        customs = {f.name: f for f in self.custom_fields}
        replacements: dict[str, tuple[np.dtype, np.ndarray]] = {}
        for key, new in columns.items():
            name = self.column_name(key)
            values = np.asarray(new)
            if values.shape != (self.n_traces,):
                raise SegyError(
                    f"new {name} column has shape {values.shape}, expected ({self.n_traces},)"
                )
            if name in customs:
                customs[name].check_values(values)
                dtype = customs[name].dtype
            else:
                field = resolve_trace_field(name)
                dtype = field.dtype
                info = np.iinfo(dtype)
                if values.size and (values.min() < info.min or values.max() > info.max):
                    raise SegyError(f"new {name} values do not fit the field's {field.width} bytes")
            replacements[name] = (dtype, values)
        staged = staging_path(self.headers_path)
        source = pq.ParquetFile(self.headers_path)
        try:
            with pq.ParquetWriter(staged, source.schema_arrow, **PARQUET_OPTIONS) as writer:
                start = 0
                for batch in source.iter_batches(batch_size=ROW_GROUP_SIZE):
                    table = pa.Table.from_batches([batch])
                    stop = start + table.num_rows
                    for name, (dtype, values) in replacements.items():
                        i = table.schema.get_field_index(name)
                        table = table.set_column(
                            i, name, pa.array(values[start:stop].astype(dtype))
                        )
                    writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
                    start = stop
            publish(staged, self.headers_path, overwrite=True)
        except BaseException:
            remove_path(staged)
            raise
        finally:
            source.close()
        self._reindex(set(replacements))

    def _reindex(self, edited: set[str]) -> None:
        """Rebuild the indexes and geometry that depend on edited columns."""
        stale = [k for k in self.ensemble_keys if k in edited]
        info = self.geometry_info
        keys = info.get("keys") if info else None
        geometry_keys = keys if keys and edited & set(keys.values()) else None
        if stale or geometry_keys:
            staging = staging_path(self.path / INDEX_DIR, "build")
            rebuild_in_place(self.path, self.metadata, stale, geometry_keys, staging)
            self._ensemble_keys = self._find_ensemble_keys()
            self._indexes.clear()
            self._geometry = _UNREAD


def open_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Open a dataset: memory-mapped traces, headers, ensemble index and metadata."""
    return Dataset(path)
