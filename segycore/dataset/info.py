"""What ``segycore info`` and the import dialog show about a SEG-Y file or a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..format.layout import (
    Endian,
    decode_textual_header,
    read_layout,
    read_trace_headers,
    trace_header_dtype,
)
from ..format.spec import TRACE_FIELDS
from .dataset import METADATA_FILE, open_dataset
from .ensembles import run_starts

__all__ = ["PREVIEW_TRACES", "describe", "ensemble_counts", "render", "render_geometry"]

#: Traces whose headers a preview reads to count ensembles (a sample of big files).
PREVIEW_TRACES = 100_000


def ensemble_counts(raw_headers: np.ndarray, endian: Endian) -> dict[str, int]:
    """How many ensembles each header field gives over ``raw_headers`` (runs of equal values)."""
    records = np.ascontiguousarray(raw_headers).reshape(-1).view(trace_header_dtype(endian))
    return {
        f.name: int(run_starts(records[f.name]).size + 1) if records.size else 0
        for f in TRACE_FIELDS
    }


def describe(path: Path, endian: Endian | None = None, **reading: Any) -> dict[str, Any]:
    """A JSON-ready description of a SEG-Y file or a dataset folder.

    ``reading`` passes overrides and ``salvage`` to :func:`read_layout` for a SEG-Y file.
    """
    if path.is_dir() and (path / METADATA_FILE).is_file():
        ds = open_dataset(path)
        meta = ds.metadata
        ensembles = {key: ds.ensembles(key).num_rows for key in ds.ensemble_keys}
        return {
            "kind": "dataset",
            "path": str(path),
            "source": meta["source"],
            "sample_format": meta["sample_format"],
            "sample_format_name": meta["sample_format_name"],
            "dtype": str(ds.traces.dtype),
            "byte_order": meta["byte_order"],
            "revision": meta["revision"],
            "n_traces": ds.n_traces,
            "n_samples": ds.n_samples,
            "sample_interval": ds.sample_interval,
            "textual_header": meta["textual_header"],
            "textual_encoding": meta["textual_encoding"],
            "extended_textual_headers": len(meta["extended_textual_headers"]),
            "ensembles": ensembles,
            "geometry": ds.geometry_info,
            "stage_seconds": meta.get("stage_seconds", {}),
            "reading": meta.get("reading", {}),
        }
    layout = read_layout(path, endian, **reading)
    preview = read_trace_headers(layout, 0, PREVIEW_TRACES)
    counts = ensemble_counts(preview, layout.endian)
    return {
        "kind": "segy",
        "path": str(path),
        "size_bytes": layout.file_size,
        "sample_format": layout.format.code,
        "sample_format_name": layout.format.name,
        "byte_order": layout.endian,
        "byte_order_source": layout.endian_source,
        "revision": layout.revision,
        "n_traces": layout.n_traces,
        "n_samples": layout.n_samples,
        "sample_interval": layout.sample_interval,
        "textual_header": decode_textual_header(
            layout.textual_header,
            layout.textual_encoding if "textual_encoding" in layout.overrides else None,
        )[0],
        "textual_encoding": layout.textual_encoding,
        "extended_textual_headers": len(layout.extended_textual_headers),
        "ensembles_in_preview": {
            k: counts[k] for k in ("field_record", "cdp", "inline", "crossline")
        },
        "preview_traces": len(preview),
        "reading": layout.reading_record(),
    }


def render_geometry(geometry: dict[str, Any] | None) -> list[str]:
    """The lines of ``segycore info`` about a dataset's survey grid."""
    if geometry is None:
        return ["  geometry        none recorded"]
    if not geometry.get("grid", True):
        return [f"  geometry        no grid: {geometry['reason']}"]

    def axis(name: str, count: int) -> str:
        r = geometry[f"{name}_range"]
        return f"{r['first']}-{r['last']} step {r['step']} ({count:,})"

    sorting = geometry["sorting"]
    directions = ", ".join(f"{k} {v}" for k, v in sorting["directions"].items())
    keys = geometry["keys"]
    fill = geometry["filled_bins"] / max(1, geometry["n_bins"])
    lines = [
        f"  geometry        {'pre-stack' if geometry['prestack'] else 'post-stack'} grid "
        f"from {keys['inline']} / {keys['crossline']}"
        + (f" / {keys['offset']}" if geometry["prestack"] else ""),
        f"    inlines       {axis('inline', geometry['n_inlines'])}",
        f"    crosslines    {axis('crossline', geometry['n_crosslines'])}",
    ]
    if geometry["prestack"]:
        lines.append(f"    offsets       {axis('offset', geometry['n_offsets'])}")
    lines += [
        f"    fill          {geometry['filled_bins']:,} of {geometry['n_bins']:,} bins "
        f"({fill:.1%})",
        f"    sorting       {sorting['major']}-major, {directions}"
        + (f", offsets {sorting['offsets']}" if "offsets" in sorting else ""),
    ]
    if geometry["duplicate_traces"]:
        lines.append(
            f"    duplicates    {geometry['duplicate_traces']:,} traces share a bin "
            "(the first in file order is mapped)"
        )
    return lines


def render(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`describe`'s result."""
    lines = [
        f"{info['path']}  ({'segycore dataset' if info['kind'] == 'dataset' else 'SEG-Y file'})",
        f"  sample format   {info['sample_format']} ({info['sample_format_name']})",
        f"  byte order      {info['byte_order']}",
        f"  revision        {info['revision']}",
        f"  traces          {info['n_traces']:,}",
        f"  samples/trace   {info['n_samples']:,}",
        f"  interval        {info['sample_interval']:g} us",
        f"  textual header  {info['textual_encoding']}, "
        f"{info['extended_textual_headers']} extended",
    ]
    if info["kind"] == "dataset":
        for key, count in info["ensembles"].items():
            lines.append(f"  ensembles       {count:,} by {key}")
        lines += render_geometry(info.get("geometry"))
    else:
        sample = info["preview_traces"]
        for key, count in info["ensembles_in_preview"].items():
            lines.append(f"  ensembles       {count:,} by {key} (first {sample:,} traces)")
    lines += _reading_lines(info.get("reading") or {})
    lines.append("")
    lines.append(info["textual_header"])
    return "\n".join(lines)


def _reading_lines(reading: dict[str, Any]) -> list[str]:
    """How the file was read: rev 2 structure, decisions, overrides, warnings, salvage."""
    lines = []
    if reading.get("additional_trace_headers"):
        lines.append(f"  trace headers   1 + {reading['additional_trace_headers']} additional")
    if reading.get("trailer_bytes"):
        lines.append(f"  trailer         {reading['trailer_bytes']:,} bytes (kept raw)")
    for name, values in reading.get("overrides", {}).items():
        lines.append(f"  override        {name}: read {values['read']}, used {values['used']}")
    lines += [f"  decision        {text}" for text in reading.get("decisions", [])]
    lines += [f"  warning         {text}" for text in reading.get("warnings", [])]
    return lines
