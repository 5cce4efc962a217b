"""Trace headers as columns: raw 240-byte headers <-> a pyarrow table, both directions.

``headers.parquet`` holds one column per standard trace-header field at its own width
(named as in :data:`segycore.format.spec.TRACE_FIELDS`) plus ``raw_header``, the 240 bytes as
read, so that export rebuilds every byte, including ones no standard field describes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..format import codec
from ..format.fields import CustomField, parse_header_fields
from ..format.layout import Endian, trace_header_dtype
from ..format.spec import TRACE_FIELDS, TRACE_HEADER_SIZE

__all__ = [
    "CUSTOM_FIELDS_METADATA",
    "HEADER_SCHEMA",
    "PARQUET_OPTIONS",
    "RAW_HEADER_COLUMN",
    "ROW_GROUP_SIZE",
    "custom_fields_of",
    "header_schema",
    "headers_to_table",
    "iter_raw_headers",
    "raw_column_to_numpy",
    "table_to_headers",
]

RAW_HEADER_COLUMN = "raw_header"
#: Rows per Parquet row group: 65,536 traces is 15 MiB of raw headers.
ROW_GROUP_SIZE = 65_536
HEADER_SCHEMA = pa.schema(
    [pa.field(f.name, pa.from_numpy_dtype(f.dtype)) for f in TRACE_FIELDS]
    + [pa.field(RAW_HEADER_COLUMN, pa.binary(TRACE_HEADER_SIZE))]
)
#: Schema metadata key listing the custom fields (``NAME:BYTE:TYPE``) of a header table.
CUSTOM_FIELDS_METADATA = b"segycore.header_fields"


def header_schema(custom: Sequence[CustomField] = ()) -> pa.Schema:
    """The header table's schema: standard fields, custom fields (listed in the metadata), raw."""
    if not custom:
        return HEADER_SCHEMA
    fields = list(HEADER_SCHEMA)
    extra = [pa.field(f.name, pa.from_numpy_dtype(f.dtype)) for f in custom]
    schema = pa.schema(fields[:-1] + extra + fields[-1:])
    specs = json.dumps([f.spec for f in custom]).encode()
    return schema.with_metadata({CUSTOM_FIELDS_METADATA: specs})


def custom_fields_of(schema: pa.Schema) -> tuple[CustomField, ...]:
    """The custom fields a header table's schema lists."""
    specs = (schema.metadata or {}).get(CUSTOM_FIELDS_METADATA)
    return parse_header_fields(json.loads(specs)) if specs else ()


#: Writer options: zstd level 1 shrinks mostly-zero headers 10-20x at memory speed.
PARQUET_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": False,
    "write_statistics": True,
}


def headers_to_table(
    raw: np.ndarray, endian: Endian, custom: Sequence[CustomField] = ()
) -> pa.Table:
    """Decode raw trace headers, shape ``(n, 240)`` uint8, into a table of every field."""
    if raw.ndim != 2 or raw.shape[1] != TRACE_HEADER_SIZE or raw.dtype != np.uint8:
        raise ValueError(f"raw headers must be uint8 of shape (n, 240), got {raw.shape}")
    raw = np.ascontiguousarray(raw)
    # one compiled pass over the headers (91 numpy casts took 2-4x as long)
    columns = [pa.array(c) for c in codec.header_columns(raw, endian == "little", TRACE_FIELDS)]
    raw_column = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(TRACE_HEADER_SIZE), len(raw), [None, pa.py_buffer(raw)]
    )
    extra = [pa.array(f.decode(raw, endian)) for f in custom]
    return pa.Table.from_arrays([*columns, *extra, raw_column], schema=header_schema(custom))


def raw_column_to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The fixed-size binary column as a ``(n, 240)`` uint8 array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    buffer = column.buffers()[1]
    start = column.offset * TRACE_HEADER_SIZE
    data = np.frombuffer(buffer, dtype=np.uint8)[start : start + n * TRACE_HEADER_SIZE]
    return data.reshape(n, TRACE_HEADER_SIZE)


def table_to_headers(table: pa.Table, endian: Endian, source_endian: Endian) -> np.ndarray:
    """Rebuild raw 240-byte headers in ``endian`` byte order from a header table.

    Starts from the stored raw bytes (read in ``source_endian``) and writes over them
    every field whose column value differs from what the raw bytes hold, so edited
    columns reach the output and untouched bytes stay exactly as they were.
    """
    raw = raw_column_to_numpy(table.column(RAW_HEADER_COLUMN))
    out = raw.copy()
    source = raw.reshape(-1).view(trace_header_dtype(source_endian))
    target = out.reshape(-1).view(trace_header_dtype(endian))
    same_order = endian == source_endian
    for f in TRACE_FIELDS:
        stored = source[f.name]
        if f.name not in table.column_names:
            if not same_order:
                target[f.name] = stored
            continue
        column = table.column(f.name).to_numpy()
        if same_order:
            changed = column != stored
            if changed.any():
                target[f.name][changed] = column[changed]
        else:
            target[f.name] = column
    for custom in custom_fields_of(table.schema):
        if custom.name not in table.column_names:
            continue
        column = table.column(custom.name).to_numpy()
        start = custom.byte - 1
        stored = custom.decode(raw, source_endian)
        # Rewrite a custom field only where its value changed (or the byte order did).
        changed = np.ones(len(column), bool) if not same_order else ~_same(column, stored)
        if changed.any():
            out[changed, start : start + custom.width] = custom.encode(column[changed], endian)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality that treats equal bit patterns (NaN included) as the same."""
    if a.dtype.kind == "f":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return a == b


def iter_raw_headers(path: Path) -> Iterator[np.ndarray]:
    """Yield a raw header segment file in blocks of :data:`ROW_GROUP_SIZE` headers."""
    block = ROW_GROUP_SIZE * TRACE_HEADER_SIZE
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            if len(chunk) % TRACE_HEADER_SIZE:
                raise ValueError(f"{path}: header segment is not a whole number of headers")
            yield np.frombuffer(chunk, dtype=np.uint8).reshape(-1, TRACE_HEADER_SIZE)


def open_header_writer(
    path: Path | pa.NativeFile, custom: Sequence[CustomField] = ()
) -> pq.ParquetWriter:
    """A Parquet writer for header tables with segycore's schema and options.

    Give it an open file to close the file yourself even when the writer fails: a
    writer that opened the path itself leaks the descriptor when its close fails.
    """
    return pq.ParquetWriter(path, header_schema(custom), **PARQUET_OPTIONS)
