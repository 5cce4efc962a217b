"""Export's view of ``headers.parquet``: raw header bytes in small blocks, raw-only when
the file is as the import wrote it.

Export needs, for every trace, the 240 header bytes to write. When nobody has touched
``headers.parquet`` since the import (and the byte order is unchanged) those are exactly
the ``raw_header`` column: reading it alone skips decoding and comparing 91 columns.
Whether the file is untouched is told by its fingerprint (size and modification time),
which the import records in ``metadata.json``; ``Dataset.update_headers`` or any other
tool that rewrites the file changes it, and export then rebuilds every field from the
columns as before. Blocks hold at most ``batch_rows`` headers (the export chunk), so the
memory export needs does not grow with the row-group size or the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..format.layout import Endian
from .headers import RAW_HEADER_COLUMN, raw_column_to_numpy, table_to_headers

__all__ = [
    "FINGERPRINT_KEY",
    "headers_fingerprint",
    "headers_unchanged",
    "iter_header_blocks",
]

#: ``metadata.json`` key of the fingerprint of ``headers.parquet`` as imported.
FINGERPRINT_KEY = "headers_fingerprint"


def headers_fingerprint(path: Path) -> dict[str, int]:
    """Size and modification time (ns) of a headers file: changes whenever it is rewritten."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def headers_unchanged(path: Path, metadata: Mapping[str, Any]) -> bool:
    """True when ``path`` still has the fingerprint the import recorded in ``metadata``."""
    recorded = metadata.get(FINGERPRINT_KEY)
    if not isinstance(recorded, Mapping):
        return False  # older datasets: no record, so assume edited
    try:
        return headers_fingerprint(path) == dict(recorded)
    except OSError:
        return False


def _overlapping_groups(meta: pq.FileMetaData, start: int, stop: int) -> tuple[list[int], int]:
    """Row groups overlapping ``[start, stop)`` and the first row of the first of them."""
    groups, first, at = [], None, 0
    for i in range(meta.num_row_groups):
        rows = meta.row_group(i).num_rows
        if at < stop and at + rows > start:
            groups.append(i)
            first = at if first is None else first
        at += rows
    return groups, (first if first is not None else start)


def iter_header_blocks(
    headers: pq.ParquetFile,
    start: int,
    stop: int,
    endian: Endian,
    source_endian: Endian,
    raw_only: bool,
    batch_rows: int,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_trace, raw)`` for traces ``[start, stop)``, ``raw`` uint8 ``(n, 240)``
    in ``endian`` order, ``n <= batch_rows``, in trace order.

    ``raw_only`` reads just the ``raw_header`` column (valid only when the file is
    unchanged since import and ``endian == source_endian``); otherwise every field is
    rebuilt from its column (:func:`~segycore.dataset.headers.table_to_headers`).
    """
    if raw_only and endian != source_endian:
        raise ValueError("raw-only header reads need the source byte order")
    groups, row = _overlapping_groups(headers.metadata, start, stop)
    if not groups or start >= stop:
        return
    columns = [RAW_HEADER_COLUMN] if raw_only else None
    for group in groups:  # one reader per row group: one over many grows with their count
        batches = headers.iter_batches(
            batch_size=max(1, batch_rows), row_groups=[group], columns=columns, use_threads=False
        )
        for batch in batches:
            lo, hi = max(row, start), min(row + batch.num_rows, stop)
            if lo < hi:
                part = batch.slice(lo - row, hi - lo)
                if raw_only:
                    raw = raw_column_to_numpy(part.column(0))
                else:
                    raw = table_to_headers(pa.Table.from_batches([part]), endian, source_endian)
                yield lo, raw
            row += batch.num_rows
            if row >= stop:
                return
