"""The ensemble index: every trace of every value of a header key (a shot, a CDP, an offset ...).

Per key two files in ``index/``, readable with numpy and pyarrow alone:

``<key>.order.npy``
    The stable sort permutation of trace numbers by the key: the trace numbers of the
    smallest value first, each value's traces in file order. int32 while the dataset has
    fewer than 2**31 traces, else int64.
``<key>.parquet``
    One row per distinct value, ascending: ``value``, ``trace_count``, ``order_start``
    (where the value's trace numbers begin in the order file), and ``first_trace`` /
    ``end_trace`` (exclusive) when the value's traces are consecutive in the file, null
    when they are not (a CDP in a shot-ordered survey).

The traces of value ``v`` are ``order[order_start : order_start + trace_count]`` of its row.

Building sorts one key at a time with at most 16 bytes per trace of working memory for
keys of up to 4 bytes (every standard field, every 4-byte custom field), beyond the key
column itself and the per-value table (about 40 bytes per distinct value: small for
ensemble keys, as large as the data for a key whose every trace differs). Two Cython
kernels (``native/_index.pyx``, no GIL, bounds-checked): a stable counting sort, O(n +
span), for integer keys spanning at most about half the trace count (shots, CDPs,
lines, offsets, channels: order 4 + counters <= 4 bytes per trace), and an LSD radix
sort, 16 bits per pass, for any other key, floats included (order 4 + its second
buffer 4 + the keys' second buffer 4; 8-byte keys: 24). ``benchmarks/bench_index.py``
measures them against numpy's stable argsort (which needs ~60 bytes per trace on
random int32 keys) and a Numba version of the counting sort side by side;
:func:`sort_order_reference` is the plain numpy reference the tests compare with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SegyError

__all__ = [
    "COUNTING_SLACK",
    "EnsembleIndex",
    "EnsembleIndexBuilder",
    "index_paths",
    "order_dtype",
    "read_index",
    "run_starts",
    "sort_order",
    "sort_order_reference",
    "write_index",
]

#: Value slots the counting sort may use beyond half the trace count (512 KiB of counters).
COUNTING_SLACK = 65_536


def run_starts(keys: np.ndarray) -> np.ndarray:
    """Indices ``i > 0`` where ``keys[i] != keys[i - 1]``: where a run of equal values begins."""
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"ensemble keys must be one-dimensional, got shape {keys.shape}")
    if keys.size < 2:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(keys[1:] != keys[:-1]).astype(np.int64) + 1


def order_dtype(n_traces: int) -> np.dtype:
    """The order file's dtype: int32 below 2**31 traces, else int64."""
    return np.dtype(np.int32 if n_traces < 2**31 else np.int64)


def _counting_span(keys: np.ndarray) -> tuple[int, int] | None:
    """``(lo, span)`` when the counting sort suits ``keys``, else None."""
    if keys.dtype.kind not in "iu" or keys.size == 0:
        return None
    lo, hi = int(keys.min()), int(keys.max())
    span = hi - lo + 1
    return (lo, span) if span <= keys.size // 2 + COUNTING_SLACK else None


def _kernel_keys(keys: np.ndarray) -> np.ndarray:
    """``keys`` as one of the kernel's key types (int16, int32, int64), copying only if needed."""
    if keys.dtype in (np.int16, np.int32, np.int64):
        return np.ascontiguousarray(keys)
    if (keys.dtype.kind == "u" and keys.dtype.itemsize < 4) or keys.dtype == np.int8:
        return keys.astype(np.int32)
    return keys.astype(np.int64)  # uint32 (uint64 is not a key type: see custom fields)


def sort_order(
    keys: np.ndarray, consume: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable sort permutation of ``keys`` with the distinct values and where each starts.

    Returns ``(order, values, starts)``: ``order`` the trace numbers sorted by key (ties in
    file order, :func:`order_dtype`), ``values`` the distinct keys ascending and
    ``starts`` (int64, one longer than ``values``) where each value begins in ``order``.
    With ``consume`` the radix path may overwrite ``keys`` (saves a copy).
    """
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"ensemble keys must be one-dimensional, got shape {keys.shape}")
    if keys.size == 0:
        return sort_order_reference(keys)
    span = _counting_span(keys)
    if span is None:
        return _radix_sort_order(keys, consume)
    from ._index import counting_order

    lo, width = span
    order = np.empty(keys.size, dtype=order_dtype(keys.size))
    counts = np.empty(width + 1, dtype=np.int64)
    counting_order(_kernel_keys(keys), lo, width, order, counts)
    present = np.flatnonzero(counts[1:] != counts[:-1])
    values = (present + lo).astype(np.int64)
    starts = np.append(counts[present], keys.size).astype(np.int64)
    return order, values, starts


_BLOCK = 1 << 22
_SIGN32, _SIGN64 = np.uint32(1 << 31), np.uint64(1 << 63)


def _sortable(
    keys: np.ndarray, consume: bool
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Unsigned keys ordered (and equal) as ``keys`` are, and the map back to values.

    Integers become ``key - min``; floats their IEEE bits with the sign flipped (all bits
    for negatives), after mapping -0.0 to 0.0 and every NaN to one NaN, so NaNs sort last
    and +-0 are one value, as numpy's sort has them.
    """
    kind, size = keys.dtype.kind, keys.dtype.itemsize
    utype = np.dtype(np.uint64 if size == 8 else np.uint32)
    reuse = consume and keys.itemsize == utype.itemsize and keys.flags.c_contiguous
    u = keys.view(utype) if reuse and keys.flags.writeable else np.empty(keys.size, utype)
    if kind in "iu":
        lo = int(keys.min())
        wrap = utype.type(lo % 2 ** (8 * utype.itemsize))
        for a in range(0, keys.size, _BLOCK):
            block = keys[a : a + _BLOCK]
            if size == 8:  # modular subtraction: exact for any int64 span
                u[a : a + _BLOCK] = block.view(utype) - wrap
            else:
                u[a : a + _BLOCK] = (block.astype(np.int64) - lo).astype(utype)

        def inverse(v: np.ndarray) -> np.ndarray:
            return (v + wrap).view(np.int64) if size == 8 else v.astype(np.int64) + lo

        return u, inverse
    sign = _SIGN64 if size == 8 else _SIGN32
    ftype = keys.dtype
    for a in range(0, keys.size, _BLOCK):
        block = keys[a : a + _BLOCK]
        clean = np.where(np.isnan(block), ftype.type(np.nan), block) + ftype.type(0.0)
        bits = np.ascontiguousarray(clean, dtype=ftype).view(utype)
        u[a : a + _BLOCK] = np.where(bits & sign, ~bits, bits | sign)

    def inverse_float(v: np.ndarray) -> np.ndarray:
        bits = np.where(v & sign, v & ~sign, ~v).astype(utype)
        return bits.view(ftype).astype(np.float64)

    return u, inverse_float


def _radix_sort_order(keys: np.ndarray, consume: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sort_order` for keys of any span: LSD radix sort of :func:`_sortable` keys."""
    from ._index import radix_order

    u, inverse = _sortable(keys, consume)
    passes = max(1, -(-int(u.max()).bit_length() // 16))
    order = np.empty(keys.size, dtype=order_dtype(keys.size))
    scratch = np.empty_like(order)
    other = np.empty_like(u)
    ordered = (u, other)[radix_order(u, passes, order, scratch, other)]  # the sorted keys
    del scratch
    starts = _starts(ordered.size, lambda a, b: ordered[a:b])
    return order, inverse(ordered[starts[:-1]]), starts


def _starts(n: int, sorted_keys: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Where each distinct value begins in the sort order (and the end, ``n``), from
    ``sorted_keys(a, b)`` (the sorted keys ``a:b``) in blocks: never all in memory at once.
    NaNs are one value, and +-0 are one."""
    found = [np.zeros(1, dtype=np.intp)]
    previous = sorted_keys(0, 1)[0]
    for first in range(0, n, _BLOCK):
        chunk = sorted_keys(first, first + _BLOCK)
        new = np.empty(chunk.size, dtype=bool)
        new[0] = chunk[0] != previous
        np.not_equal(chunk[1:], chunk[:-1], out=new[1:])
        if chunk.dtype.kind == "f":  # all NaNs are one value
            nan = np.isnan(chunk)
            new[0] &= not (nan[0] and np.isnan(previous))
            new[1:] &= ~(nan[1:] & nan[:-1])
        hits = np.flatnonzero(new)
        hits += first
        found.append(hits)
        previous = chunk[-1]
    return np.append(np.concatenate(found), n).astype(np.int64)


def sort_order_reference(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`sort_order` returns, with numpy's stable argsort (the plain reference)."""
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable").astype(order_dtype(keys.size))
    if keys.size:
        starts = _starts(keys.size, lambda a, b: keys[order[a:b]])
    else:
        starts = np.zeros(1, dtype=np.int64)
    values = keys[order[starts[:-1]]] if keys.size else keys[:0]
    values = values.astype(np.float64 if keys.dtype.kind == "f" else np.int64)
    return order, values, starts


@dataclass(frozen=True)
class EnsembleIndex:
    """The complete index of one key: the per-value table and the sort permutation."""

    key: str
    table: pa.Table
    order: np.ndarray

    @classmethod
    def build(cls, key: str, keys: np.ndarray) -> EnsembleIndex:
        """Index ``keys`` (one value per trace, in file order)."""
        order, values, starts = sort_order(keys)
        return cls(key, _table(values, starts, order), order)

    def _row(self, value: float) -> int:
        values = self.table.column("value").to_numpy()
        row = int(np.searchsorted(values, value))
        if row >= values.size or values[row] != value:
            raise SegyError(f"no trace has {self.key} = {value:g}")
        return row

    def trace_numbers(self, value: float) -> np.ndarray:
        """Every trace number whose key equals ``value``, ascending (file order)."""
        row = self._row(value)
        start = int(self.table.column("order_start")[row].as_py())
        count = int(self.table.column("trace_count")[row].as_py())
        return np.asarray(self.order[start : start + count], dtype=np.int64)

    def trace_range(self, value: float) -> slice:
        """The traces of ``value`` as a slice; SegyError when they are not consecutive."""
        row = self._row(value)
        first = self.table.column("first_trace")[row].as_py()
        if first is None:
            count = self.table.column("trace_count")[row].as_py()
            raise SegyError(
                f"the {count} traces with {self.key} = {value:g} are not consecutive in the "
                "file: use gather() or ensemble_traces() for all of them"
            )
        return slice(int(first), int(self.table.column("end_trace")[row].as_py()))


def _table(values: np.ndarray, starts: np.ndarray, order: np.ndarray) -> pa.Table:
    counts = np.diff(starts)
    first = order[starts[:-1]].astype(np.int64) if values.size else np.empty(0, np.int64)
    last = order[starts[1:] - 1].astype(np.int64) if values.size else np.empty(0, np.int64)
    # Within a value the order is ascending, so its traces are consecutive iff they span count.
    consecutive = last - first + 1 == counts
    return pa.table(
        {
            "value": pa.array(values),
            "trace_count": pa.array(counts.astype(np.int64)),
            "first_trace": pa.array(first, mask=~consecutive),
            "end_trace": pa.array(last + 1, mask=~consecutive),
            "order_start": pa.array(starts[:-1].astype(np.int64)),
        }
    )


def index_paths(index_dir: Path, key: str) -> tuple[Path, Path]:
    """The table and order files of ``key`` in ``index_dir``."""
    return index_dir / f"{key}.parquet", index_dir / f"{key}.order.npy"


def write_index(index_dir: Path, index: EnsembleIndex) -> None:
    """Write ``index``'s two files into ``index_dir``."""
    table_path, order_path = index_paths(index_dir, index.key)
    with pa.OSFile(str(table_path), "wb") as sink:  # closed even on a failed write
        pq.write_table(index.table, sink)
    with open(order_path, "wb") as fh:
        np.save(fh, index.order, allow_pickle=False)


def read_index(index_dir: Path, key: str) -> EnsembleIndex | None:
    """The stored index of ``key`` (order memory-mapped), or None for a pre-0.2 index.

    Datasets written before the complete index have only a table of runs: callers
    rebuild the index from the headers then.
    """
    table_path, order_path = index_paths(index_dir, key)
    try:
        table = pq.read_table(table_path)
        if "order_start" not in table.column_names or not order_path.is_file():
            return None
        order = np.load(order_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise SegyError(f"the {key} index in {index_dir} cannot be read: {exc}") from None
    if order.ndim != 1 or order.dtype.kind != "i":
        raise SegyError(f"{order_path} is not an order file (dtype {order.dtype})")
    return EnsembleIndex(key, table, order)


class EnsembleIndexBuilder:
    """Collect one key's values over consecutive blocks of traces, then index them.

    Holds the key column at its own width (the blocks are copied into one array), so
    memory is the key's bytes per trace until :meth:`build`.
    """

    def __init__(self, key: str, n_traces: int, dtype: np.dtype | type) -> None:
        self.key = key
        self._keys = np.empty(n_traces, dtype=dtype)
        self._filled = 0

    def add(self, keys: np.ndarray) -> None:
        """Add the key values of the next block of traces."""
        keys = np.asarray(keys)
        end = self._filled + keys.size
        if end > self._keys.size:
            raise ValueError(f"more than {self._keys.size} keys added")
        self._keys[self._filled : end] = keys
        self._filled = end

    def build(self) -> EnsembleIndex:
        """The finished index (every trace must have been added)."""
        if self._filled != self._keys.size:
            raise ValueError(f"{self._filled} of {self._keys.size} keys added")
        order, values, starts = sort_order(self._keys, consume=True)
        self._keys = np.empty(0, dtype=self._keys.dtype)  # consumed
        return EnsembleIndex(self.key, _table(values, starts, order), order)
