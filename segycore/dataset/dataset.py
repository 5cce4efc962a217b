"""The dataset: a folder that numpy, pyarrow and pandas open directly.

=========================  ======================================================
``traces.npy``             (n_traces, n_samples), C order, the format's exact dtype
``headers.parquet``        one row per trace: every standard field + ``raw_header``
``index/<key>.parquet``    one row per ensemble of ``key``: value, first/end trace
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
from ..format.layout import SegyLayout, decode_textual_header
from ..format.spec import resolve_trace_field
from ..storage.staging import publish, remove_path, staging_path
from . import ensembles
from .headers import HEADER_SCHEMA, PARQUET_OPTIONS, ROW_GROUP_SIZE

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
TRACES_FILE = "traces.npy"
HEADERS_FILE = "headers.parquet"
INDEX_DIR = "index"
METADATA_FILE = "metadata.json"


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
        return list(self.metadata.get("ensemble_keys", []))

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
            names = [c if c == "raw_header" else resolve_trace_field(c).name for c in columns]
        return pq.read_table(self.headers_path, columns=names)

    def header(self, field: str | int) -> np.ndarray:
        """One trace-header field for every trace, e.g. ``header("CDP")`` or ``header(21)``."""
        name = resolve_trace_field(field).name
        return pq.read_table(self.headers_path, columns=[name]).column(name).to_numpy()

    def ensembles(self, key: str | int | None = None) -> pa.Table:
        """The ensemble index of ``key`` (default: the first key indexed at import)."""
        name = self._index_key(key)
        return pq.read_table(self.path / INDEX_DIR / f"{name}.parquet")

    def ensemble(self, value: int, key: str | int | None = None) -> slice:
        """The trace range of the ensemble whose key equals ``value``."""
        return ensembles.lookup(self.ensembles(key), value)

    def gather(self, value: int, key: str | int | None = None) -> np.ndarray:
        """The traces of one ensemble, shape (traces in the ensemble, n_samples)."""
        return self.traces[self.ensemble(value, key)]

    def _index_key(self, key: str | int | None) -> str:
        keys = self.ensemble_keys
        if key is None:
            if not keys:
                raise SegyError(f"{self.path} has no ensemble index")
            return keys[0]
        name = resolve_trace_field(key).name
        if name not in keys:
            raise SegyError(f"{self.path} has no ensemble index on {name} (it has: {keys})")
        return name

    def update_headers(self, columns: Mapping[str | int, Sequence[int] | np.ndarray]) -> None:
        """Replace whole header columns (e.g. a corrected CDP), rewriting the file atomically.

        Export writes the new values; every byte of a field left alone stays as read.
        """
        replacements = {resolve_trace_field(k): np.asarray(v) for k, v in columns.items()}
        for field, values in replacements.items():
            if values.shape != (self.n_traces,):
                raise SegyError(
                    f"new {field.name} column has shape {values.shape}, expected ({self.n_traces},)"
                )
            info = np.iinfo(field.dtype)
            if values.size and (values.min() < info.min or values.max() > info.max):
                raise SegyError(
                    f"new {field.name} values do not fit the field's {field.width} bytes"
                )
        staged = staging_path(self.headers_path)
        source = pq.ParquetFile(self.headers_path)
        try:
            with pq.ParquetWriter(staged, HEADER_SCHEMA, **PARQUET_OPTIONS) as writer:
                start = 0
                for batch in source.iter_batches(batch_size=ROW_GROUP_SIZE):
                    table = pa.Table.from_batches([batch])
                    stop = start + table.num_rows
                    for field, values in replacements.items():
                        i = table.schema.get_field_index(field.name)
                        table = table.set_column(
                            i, field.name, pa.array(values[start:stop].astype(field.dtype))
                        )
                    writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
                    start = stop
            publish(staged, self.headers_path, overwrite=True)
        except BaseException:
            remove_path(staged)
            raise
        finally:
            source.close()


def open_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Open a dataset: memory-mapped traces, headers, ensemble index and metadata."""
    return Dataset(path)
