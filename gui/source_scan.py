"""The import dialog's quick scan of a SEG-Y file (runs in a background thread).

:func:`segycore.dataset.info.describe` gives the file's geometry and textual header; on top,
the dialog needs, for every trace-header field, how many ensembles it would give over
the preview traces, and the first traces' header values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segycore.dataset.headers import headers_to_table
from segycore.dataset.info import PREVIEW_TRACES, describe, ensemble_counts
from segycore.errors import SegyError
from segycore.format.layout import Endian, read_layout, read_trace_headers
from segycore.format.spec import TRACE_FIELDS

__all__ = ["FIRST_TRACES", "SourceScan", "scan_source"]

#: Traces whose header values the dialog lists.
FIRST_TRACES = 5


@dataclass(frozen=True)
class SourceScan:
    """What the import dialog shows about a source file."""

    info: dict[str, Any]
    ensemble_counts: dict[str, int]
    first_headers: dict[str, list[int]]  # field -> values of the first traces

    @property
    def preview_traces(self) -> int:
        return int(self.info["preview_traces"])


def scan_source(path: Path, endian: Endian | None = None, salvage: bool = False) -> SourceScan:
    """Describe ``path`` and count ensembles per header field over the preview traces
    (``salvage``: read a damaged file's complete traces)."""
    info = describe(path, endian, salvage=salvage)
    if info["kind"] != "segy":
        raise SegyError(f"{path} is a segycore dataset, not a SEG-Y file")
    layout = read_layout(path, endian, salvage=salvage)
    raw = read_trace_headers(layout, 0, PREVIEW_TRACES)
    table = headers_to_table(raw[:FIRST_TRACES], layout.endian)
    first = {f.name: table.column(f.name).to_pylist() for f in TRACE_FIELDS}
    return SourceScan(info, ensemble_counts(raw, layout.endian), first)
