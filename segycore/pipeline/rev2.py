"""Rev 2 file structure through import and export: additional trace headers, gap, trailer.

A rev 2 trace record is the standard 240-byte header, ``k`` additional 240-byte headers,
then the samples. The compiled codec converts records of one header plus samples, so
import splits each chunk of records into the additional headers (kept raw per trace in
``extra_headers.npy``, shape ``(n_traces, 240 * k)`` uint8, readable with
``numpy.load``) and a compact record the codec converts; export does the inverse. Files
without additional headers skip both copies. The bytes between the file headers and the
first trace and the trailer stanzas after the last trace are kept raw in
``metadata.json`` (``raw.header_gap``, ``raw.trailer``, base64) and written back.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..format.layout import Endian, SegyLayout
from ..format.spec import TRACE_EXTENSION1_FIELDS, TRACE_HEADER_SIZE
from ..storage.fileio import pread_exact, pwrite_all

__all__ = [
    "EXTENSION1_FILE",
    "EXTRA_HEADERS_FILE",
    "TRACE_SAMPLES_FILE",
    "RecordSplitter",
    "create_extra_headers",
    "extra_headers_offset",
    "join_records",
    "raw_structure",
    "read_extra_rows",
    "record_offsets",
    "structure_of",
    "write_extension1",
]

EXTRA_HEADERS_FILE = "extra_headers.npy"
#: Variable-length traces: each trace's own sample count, int64 ``(n_traces,)``.
TRACE_SAMPLES_FILE = "trace_samples.npy"


def record_offsets(trace_samples: np.ndarray, header_bytes: int, itemsize: int) -> np.ndarray:
    """Where each variable-length record starts, relative to the first, and past the last."""
    sizes = header_bytes + np.asarray(trace_samples, dtype=np.int64) * itemsize
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


#: The SEG trace header extension 1 fields (the first additional header), one column each.
EXTENSION1_FILE = "extension1.parquet"
#: Traces decoded per row group of ``extension1.parquet``.
EXTENSION1_ROWS = 65_536


def extension1_dtype(endian: Endian) -> np.dtype:
    """A structured dtype over one 240-byte trace header extension 1."""
    order = ">" if endian == "big" else "<"
    return np.dtype(
        {
            "names": [f.name for f in TRACE_EXTENSION1_FIELDS],
            "formats": [f.dtype.newbyteorder(order) for f in TRACE_EXTENSION1_FIELDS],
            "offsets": [f.offset for f in TRACE_EXTENSION1_FIELDS],
            "itemsize": TRACE_HEADER_SIZE,
        }
    )


def write_extension1(folder: Path, layout: SegyLayout) -> Path | None:
    """Decode the rev 2 trace header extension 1 of every trace into ``extension1.parquet``.

    Written for rev 2 files with at least one additional header (the standard makes the
    first one extension 1); columns are :data:`~segycore.format.spec.TRACE_EXTENSION1_FIELDS`
    at their own types (8-byte sequence numbers, IEEE doubles ...). The raw bytes stay in
    ``extra_headers.npy``; this file is for reading, export never uses it.
    """
    if not layout.extra_headers or not layout.revision.startswith("2"):
        return None
    rows = np.load(folder / EXTRA_HEADERS_FILE, mmap_mode="r")
    dtype = extension1_dtype(layout.endian)
    schema = pa.schema(
        [pa.field(f.name, pa.from_numpy_dtype(f.dtype)) for f in TRACE_EXTENSION1_FIELDS]
    )
    path = folder / EXTENSION1_FILE
    with pa.OSFile(str(path), "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
        for start in range(0, layout.n_traces, EXTENSION1_ROWS):
            block = np.ascontiguousarray(rows[start : start + EXTENSION1_ROWS, :TRACE_HEADER_SIZE])
            records = block.reshape(-1).view(dtype)
            columns = [pa.array(records[f.name].astype(f.dtype)) for f in TRACE_EXTENSION1_FIELDS]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    del rows
    return path


def create_extra_headers(folder: Path, layout: SegyLayout) -> int | None:
    """Create the pre-sized ``extra_headers.npy``; return where its rows start (or None)."""
    if not layout.extra_headers:
        return None
    width = TRACE_HEADER_SIZE * layout.extra_headers
    with open(folder / EXTRA_HEADERS_FILE, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|u1", "fortran_order": False, "shape": (layout.n_traces, width)}
        )
        start = fh.tell()
        fh.truncate(start + layout.n_traces * width)
    return start


class RecordSplitter:
    """Turns chunks of full rev 2 records into compact records plus additional headers."""

    def __init__(self, trace_size: int, extra_headers: int, chunk: int) -> None:
        self.extra = TRACE_HEADER_SIZE * extra_headers
        self.size = trace_size
        self.compact_size = self.size - self.extra
        self._compact = np.empty(chunk * self.compact_size if self.extra else 0, np.uint8)

    def split(self, records: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``(compact records, additional headers (n, 240 * k))`` of ``n`` full records."""
        if not self.extra:
            return records[: n * self.size], None
        full = records[: n * self.size].reshape(n, self.size)
        compact = self._compact[: n * self.compact_size].reshape(n, self.compact_size)
        compact[:, :TRACE_HEADER_SIZE] = full[:, :TRACE_HEADER_SIZE]
        compact[:, TRACE_HEADER_SIZE:] = full[:, TRACE_HEADER_SIZE + self.extra :]
        return compact.reshape(-1), full[:, TRACE_HEADER_SIZE : TRACE_HEADER_SIZE + self.extra]

    def write_extra(self, fd: int, rows: np.ndarray | None, start: int, first: int) -> None:
        """Write the additional headers of traces ``first ...`` into ``extra_headers.npy``."""
        if rows is None:
            return
        pwrite_all(fd, memoryview(np.ascontiguousarray(rows)).cast("B"), start + first * self.extra)


def raw_structure(layout: SegyLayout) -> dict[str, Any]:
    """The ``metadata.json`` entries export needs to rebuild the file's rev 2 structure."""
    return {
        "additional_trace_headers": layout.extra_headers,
        "header_gap": base64.b64encode(layout.header_gap).decode("ascii"),
        "trailer": base64.b64encode(layout.trailer).decode("ascii"),
    }


def structure_of(metadata: dict[str, Any]) -> tuple[int, bytes, bytes]:
    """``(additional headers per trace, header gap, trailer)`` of a dataset (0.1: none)."""
    raw = metadata.get("raw", {}).get("rev2", {})
    return (
        int(raw.get("additional_trace_headers", 0)),
        base64.b64decode(raw.get("header_gap", "")),
        base64.b64decode(raw.get("trailer", "")),
    )


def extra_headers_offset(dataset_path: Path, n_traces: int, extra: int) -> int:
    """Where the rows of a dataset's ``extra_headers.npy`` start, after checking its shape."""
    array = np.load(dataset_path / EXTRA_HEADERS_FILE, mmap_mode="r")
    if array.shape != (n_traces, TRACE_HEADER_SIZE * extra) or array.dtype != np.uint8:
        raise ValueError(f"{EXTRA_HEADERS_FILE} has shape {array.shape}, not ({n_traces}, ...)")
    return int(array.offset)


def read_extra_rows(fd: int, start: int, first: int, n: int, extra: int, damaged) -> np.ndarray:
    """Read the additional headers of traces ``first`` to ``first + n``."""
    width = TRACE_HEADER_SIZE * extra
    rows = np.empty((n, width), np.uint8)
    pread_exact(fd, memoryview(rows).cast("B"), start + first * width, damaged)
    return rows


def join_records(compact: np.ndarray, rows: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """Full records from compact records (header + samples) and additional headers."""
    width = rows.shape[1]
    compact_size = compact.size // n
    full = out[: n * (compact_size + width)].reshape(n, compact_size + width)
    c = compact[: n * compact_size].reshape(n, compact_size)
    full[:, :TRACE_HEADER_SIZE] = c[:, :TRACE_HEADER_SIZE]
    full[:, TRACE_HEADER_SIZE : TRACE_HEADER_SIZE + width] = rows
    full[:, TRACE_HEADER_SIZE + width :] = c[:, TRACE_HEADER_SIZE:]
    return full.reshape(-1)
