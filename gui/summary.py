"""The text a finished job's message box shows: counts, size and time per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segycore.pipeline.stages import Stage

__all__ = ["format_size", "summarize"]


def format_size(n_bytes: float) -> str:
    """``"4.24 GB"``-style size (decimal units, as the stage labels use)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{int(n_bytes)} bytes"


def summarize(kind: str, result: dict[str, Any], stages: Sequence[Stage]) -> str:
    """What a finished import or export did, stage by stage."""
    where = result.get("destination") if kind == "export" else result.get("dataset")
    verb = {"import": "Imported", "export": "Exported", "index": "Indexed"}.get(kind, kind)
    lines = [
        f"{verb} {result['n_traces']:,} traces x {result['n_samples']:,} samples "
        f"(sample format {result['sample_format']}), {format_size(result.get('size_bytes', 0))}",
        f"to {where}",
        "",
    ]
    seconds = result.get("stage_seconds", {})
    for stage in stages:
        if stage.key in seconds:
            lines.append(f"{stage.name}: {seconds[stage.key]:.2f} s")
    lines.append(f"Total: {sum(seconds.values()):.2f} s")
    warnings = result.get("warnings") or []
    if warnings:
        lines += ["", "Warnings:", *(f"- {text}" for text in warnings)]
    return "\n".join(lines)
