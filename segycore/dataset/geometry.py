"""Survey geometry: the 3D grid of inline, crossline (and offset) numbers and a grid -> trace map.

Detected from three header columns (defaults ``inline`` byte 189, ``crossline`` byte
193, ``offset`` byte 37) in any trace order: inline- or crossline-major, increasing or
decreasing, offsets interleaved or grouped, with missing traces. Stored in the dataset
folder ``geometry/``, readable with numpy alone:

``inlines.npy``, ``crosslines.npy``, ``offsets.npy``
    The distinct numbers, ascending (int64).
``trace_map.npy``
    Shape ``(n_inlines, n_crosslines, n_offsets)``: the trace number of each bin, -1
    where the survey has no trace (int32 below 2**31 traces, else int64). Post-stack
    data has one offset slot.
``geometry.json``
    The keys it was built from, fill, duplicates, line steps and the file's sorting.

Duplicates (two or more traces in one bin) are not dropped silently: the map holds the
first of them in file order, and ``geometry.json`` counts the extra traces and lists the
first :data:`DUPLICATE_EXAMPLES` of them; every one stays reachable through the headers
and the ensemble index.

Pre-stack means: some (inline, crossline) bin holds traces of more than one offset.
Then the offset axis has every distinct offset; otherwise the data is post-stack and
``offsets`` holds the first trace's offset value alone.

No grid is recorded (:func:`build_geometry` returns ``None`` with the reason) when the
inline or crossline field is zero in every trace, or when the grid would have more than
:data:`MAX_BINS_PER_TRACE` bins per trace (the fields do not describe a grid).

Building streams the columns twice in blocks (distinct values, then the map): memory is
the map (4 bytes per bin) plus one block.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SegyError
from .ensembles import order_dtype

__all__ = [
    "DUPLICATE_EXAMPLES",
    "GEOMETRY_DIR",
    "MAX_BINS_PER_TRACE",
    "Geometry",
    "GeometryBuilder",
    "build_geometry",
    "geometry_info",
    "read_geometry",
    "write_geometry",
    "write_no_geometry",
]

GEOMETRY_DIR = "geometry"
DUPLICATE_EXAMPLES = 20
#: A grid with more bins than this per trace (plus 2**16) is not a survey grid.
MAX_BINS_PER_TRACE = 16

Blocks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]]


@dataclass
class Geometry:
    """A survey's grid: sorted line and offset numbers and the grid -> trace map."""

    inlines: np.ndarray
    crosslines: np.ndarray
    offsets: np.ndarray
    trace_map: np.ndarray
    prestack: bool
    keys: dict[str, str]
    filled_bins: int
    duplicate_traces: int = 0
    duplicate_examples: list[dict[str, int]] = field(default_factory=list)
    sorting: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_inlines, n_crosslines, n_offsets)``."""
        return tuple(int(s) for s in self.trace_map.shape)  # type: ignore[return-value]

    @property
    def n_bins(self) -> int:
        return int(np.prod(self.shape))

    @property
    def missing_bins(self) -> int:
        return self.n_bins - self.filled_bins

    def line_position(self, axis: str, number: int) -> int:
        """The position of inline/crossline/offset ``number`` on its axis; SegyError if absent."""
        values = {"inline": self.inlines, "crossline": self.crosslines, "offset": self.offsets}[
            axis
        ]
        pos = int(np.searchsorted(values, number))
        if pos >= values.size or values[pos] != number:
            lo, hi = (int(values[0]), int(values[-1])) if values.size else (0, 0)
            raise SegyError(
                f"{axis} {number} is not in the survey ({values.size} {axis}s, {lo}..{hi})"
            )
        return pos

    def offset_position(self, offset: int | None) -> int | None:
        """The offset slot to read: None for every offset (pre-stack without ``offset``)."""
        if offset is None:
            return None if self.prestack else 0
        return self.line_position("offset", offset)

    def description(self) -> dict[str, Any]:
        """The JSON-ready description stored as ``geometry.json``."""
        n_il, n_xl, n_off = self.shape
        return {
            "keys": self.keys,
            "grid": True,
            "prestack": self.prestack,
            "n_inlines": n_il,
            "n_crosslines": n_xl,
            "n_offsets": n_off,
            "inline_range": _range(self.inlines),
            "crossline_range": _range(self.crosslines),
            "offset_range": _range(self.offsets),
            "filled_bins": self.filled_bins,
            "n_bins": self.n_bins,
            "duplicate_traces": self.duplicate_traces,
            "duplicate_examples": self.duplicate_examples,
            "sorting": self.sorting,
        }


def _range(values: np.ndarray) -> dict[str, int]:
    steps = np.diff(values)
    return {
        "first": int(values[0]),
        "last": int(values[-1]),
        "step": int(np.gcd.reduce(steps)) if steps.size else 0,
    }


class _Presence:
    """Distinct values of one column, streamed: a bitmap over the value span."""

    def __init__(self) -> None:
        self.values = np.empty(0, dtype=np.int64)

    def add(self, block: np.ndarray) -> None:
        if block.size:
            self.values = np.union1d(self.values, np.unique(block.astype(np.int64)))


class _Order:
    """How often and which way one column changes from trace to trace (for the sorting)."""

    def __init__(self) -> None:
        self.changes = 0
        self.up = 0
        self.down = 0
        self._last: int | None = None

    def add(self, block: np.ndarray) -> None:
        if not block.size:
            return
        block = block.astype(np.int64)
        joined = block if self._last is None else np.concatenate(([self._last], block))
        steps = np.diff(joined)
        self.changes += int(np.count_nonzero(steps))
        self.up += int(np.count_nonzero(steps > 0))
        self.down += int(np.count_nonzero(steps < 0))
        self._last = int(block[-1])

    @property
    def direction(self) -> str:
        if self.changes == 0:
            return "constant"
        return "increasing" if self.up >= self.down else "decreasing"


class GeometryBuilder:
    """Build a :class:`Geometry` from blocks of (inline, crossline, offset) columns.

    ``blocks`` is called twice and must yield the same blocks, in file order, each time.
    """

    def __init__(self, keys: dict[str, str], n_traces: int) -> None:
        self.keys = keys
        self.n_traces = n_traces

    def build(
        self, blocks: Blocks, progress: Callable[[int], None] | None = None
    ) -> tuple[Geometry | None, str]:
        """The geometry and ``""``, or ``None`` and why there is no grid.

        ``progress(traces)`` is told the traces scanned so far in each pass, summed
        over both passes (so it reaches ``2 * n_traces``).
        """
        tell = progress or (lambda done: None)
        present = [_Presence(), _Presence(), _Presence()]
        orders = [_Order(), _Order(), _Order()]
        scanned = 0
        for il, xl, off in blocks():
            for p, o, col in zip(present, orders, (il, xl, off), strict=True):
                p.add(col)
                o.add(col)
            scanned += il.size
            tell(scanned)
        inlines, crosslines, offsets = (p.values for p in present)
        if scanned == 0:
            return None, "the dataset has no traces"
        if np.array_equal(inlines, [0]) or np.array_equal(crosslines, [0]):
            name = "inline" if np.array_equal(inlines, [0]) else "crossline"
            return None, f"the {name} field ({self.keys[name]}) is 0 in every trace"
        n_lines = inlines.size * crosslines.size
        limit = MAX_BINS_PER_TRACE * scanned + 2**16
        if n_lines > limit:
            return None, (
                f"{inlines.size} inlines x {crosslines.size} crosslines is not a grid for "
                f"{scanned} traces"
            )
        # Pre-stack when one (inline, crossline) bin holds more than one offset.
        prestack = False
        if offsets.size > 1 and n_lines * offsets.size <= limit:
            seen = np.zeros(n_lines, dtype=np.int64) - 1
            first_offset = np.zeros(n_lines, dtype=np.int64)
            for il, xl, off in blocks():
                bins = _line_bins(il, xl, inlines, crosslines)
                first, where = np.unique(bins, return_index=True)
                new = seen[first] < 0
                seen[first[new]] = 1
                first_offset[first[new]] = off[where[new]]
                if np.any(first_offset[bins] != off):
                    prestack = True
                    break
        if not prestack:
            offsets = offsets[:0]
        n_off = max(offsets.size, 1)
        dtype = order_dtype(self.n_traces)
        trace_map = np.full((inlines.size, crosslines.size, n_off), -1, dtype=dtype)
        flat = trace_map.reshape(-1)
        duplicates = 0
        examples: list[dict[str, int]] = []
        start = 0
        post_offset: int | None = None
        for il, xl, off in blocks():
            if post_offset is None and off.size:
                post_offset = int(off[0])
            bins = _line_bins(il, xl, inlines, crosslines) * n_off
            if prestack:
                bins += np.searchsorted(offsets, off.astype(np.int64))
            first, where = np.unique(bins, return_index=True)
            free = flat[first] < 0
            flat[first[free]] = where[free] + start
            taken = np.ones(bins.size, dtype=bool)
            taken[where[free]] = False
            extra = np.flatnonzero(taken)
            duplicates += extra.size
            for i in extra[: max(0, DUPLICATE_EXAMPLES - len(examples))]:
                examples.append(
                    {
                        "trace": int(start + i),
                        "inline": int(il[i]),
                        "crossline": int(xl[i]),
                        "offset": int(off[i]),
                        "kept_trace": int(flat[bins[i]]),
                    }
                )
            start += il.size
            tell(scanned + start)
        if not prestack:
            offsets = np.array([post_offset or 0], dtype=np.int64)
        names = ("inline", "crossline", "offset") if prestack else ("inline", "crossline")
        by_speed = sorted(zip(names, orders, strict=False), key=lambda item: item[1].changes)
        sorting = {
            "order": [name for name, _ in by_speed],  # slowest-varying first
            "major": by_speed[0][0] if by_speed[0][0] != "offset" else by_speed[1][0],
            "directions": {name: o.direction for name, o in zip(names, orders, strict=False)},
        }
        if prestack:
            fastest = by_speed[-1][0]
            slowest = by_speed[0][0]
            sorting["offsets"] = (
                "interleaved"
                if fastest == "offset"
                else "grouped"
                if slowest == "offset"
                else "between lines"
            )
        geometry = Geometry(
            inlines=inlines,
            crosslines=crosslines,
            offsets=offsets,
            trace_map=trace_map,
            prestack=prestack,
            keys=dict(self.keys),
            filled_bins=int(np.count_nonzero(flat >= 0)),
            duplicate_traces=duplicates,
            duplicate_examples=examples,
            sorting=sorting,
        )
        return geometry, ""


def _line_bins(
    il: np.ndarray, xl: np.ndarray, inlines: np.ndarray, crosslines: np.ndarray
) -> np.ndarray:
    """Flat (inline, crossline) bin numbers of a block."""
    i = np.searchsorted(inlines, il.astype(np.int64))
    j = np.searchsorted(crosslines, xl.astype(np.int64))
    return i * crosslines.size + j


def build_geometry(
    inline: np.ndarray,
    crossline: np.ndarray,
    offset: np.ndarray,
    keys: dict[str, str] | None = None,
    block: int = 1 << 20,
) -> tuple[Geometry | None, str]:
    """The geometry of in-memory columns (one value per trace, in file order)."""
    keys = keys or {"inline": "inline", "crossline": "crossline", "offset": "offset"}

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for first in range(0, inline.size, block):
            stop = first + block
            yield inline[first:stop], crossline[first:stop], offset[first:stop]

    return GeometryBuilder(keys, inline.size).build(blocks)


def write_geometry(folder: Path, geometry: Geometry) -> None:
    """Write ``geometry`` into ``folder`` (the dataset's ``geometry/``, created here)."""
    folder.mkdir(exist_ok=True)
    for name in ("inlines", "crosslines", "offsets", "trace_map"):
        with open(folder / f"{name}.npy", "wb") as fh:
            np.save(fh, getattr(geometry, name), allow_pickle=False)
    (folder / "geometry.json").write_text(json.dumps(geometry.description(), indent=2) + "\n")


def write_no_geometry(folder: Path, keys: dict[str, str], reason: str) -> None:
    """Record in ``folder`` that ``keys`` describe no grid, and why."""
    folder.mkdir(exist_ok=True)
    info = {"keys": keys, "grid": False, "reason": reason}
    (folder / "geometry.json").write_text(json.dumps(info, indent=2) + "\n")


def geometry_info(folder: Path) -> dict[str, Any] | None:
    """``geometry.json`` of ``folder`` as a dict, or None when there is none."""
    try:
        return dict(json.loads((folder / "geometry.json").read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SegyError(f"the geometry in {folder} cannot be read: {exc}") from None


def read_geometry(folder: Path) -> Geometry | None:
    """The stored geometry (trace map memory-mapped), or None when there is none."""
    info = geometry_info(folder)
    if info is None or not info.get("grid", True):
        return None
    try:
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r" if name == "trace_map" else None)
            for name in ("inlines", "crosslines", "offsets", "trace_map")
        }
    except (OSError, ValueError) as exc:
        raise SegyError(f"the geometry in {folder} cannot be read: {exc}") from None
    expected = (arrays["inlines"].size, arrays["crosslines"].size, arrays["offsets"].size)
    if arrays["trace_map"].shape != expected or arrays["trace_map"].dtype.kind != "i":
        raise SegyError(f"{folder}: trace_map.npy does not match the line numbers")
    return Geometry(
        inlines=arrays["inlines"],
        crosslines=arrays["crosslines"],
        offsets=arrays["offsets"],
        trace_map=arrays["trace_map"],
        prestack=bool(info["prestack"]),
        keys=dict(info["keys"]),
        filled_bins=int(info["filled_bins"]),
        duplicate_traces=int(info["duplicate_traces"]),
        duplicate_examples=list(info["duplicate_examples"]),
        sorting=dict(info["sorting"]),
    )
