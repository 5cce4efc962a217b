"""The ensemble index: runs of consecutive traces sharing a header value (a shot, a CDP ...).

One table per key, one row per ensemble: ``value``, ``first_trace``, ``end_trace``
(exclusive) and ``trace_count``. A value that occurs in several separate runs has
several rows; :func:`lookup` returns the first.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["ENSEMBLE_SCHEMA", "EnsembleIndexBuilder", "lookup", "run_starts"]

ENSEMBLE_SCHEMA = pa.schema(
    [
        pa.field("value", pa.int64()),
        pa.field("first_trace", pa.int64()),
        pa.field("end_trace", pa.int64()),
        pa.field("trace_count", pa.int64()),
    ]
)


# Ensemble boundaries are one vectorised numpy comparison. A Numba kernel for the same job
# was measured and dropped: on 10 M keys it took 42 ms against numpy's 8 ms, and importing
# Numba and loading the kernel cost 0.7 s per supervisor process (README, Performance).
def run_starts(keys: np.ndarray) -> np.ndarray:
    """Indices ``i > 0`` where ``keys[i] != keys[i - 1]``: where a new ensemble begins."""
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"ensemble keys must be one-dimensional, got shape {keys.shape}")
    if keys.size < 2:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(keys[1:] != keys[:-1]).astype(np.int64) + 1


class EnsembleIndexBuilder:
    """Accumulate ensemble boundaries of one key over consecutive blocks of traces."""

    def __init__(self) -> None:
        self._values: list[np.ndarray] = []
        self._starts: list[np.ndarray] = []
        self._n_traces = 0
        self._last: int | None = None

    def add(self, keys: np.ndarray) -> None:
        """Add the key values of the next block of traces."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size == 0:
            return
        starts = run_starts(keys)
        if self._last is None or keys[0] != self._last:
            starts = np.concatenate(([0], starts))
        self._values.append(keys[starts])
        self._starts.append(starts + self._n_traces)
        self._n_traces += keys.size
        self._last = int(keys[-1])

    def table(self) -> pa.Table:
        """The finished index as a table with :data:`ENSEMBLE_SCHEMA`."""
        values = np.concatenate(self._values) if self._values else np.empty(0, np.int64)
        first = np.concatenate(self._starts) if self._starts else np.empty(0, np.int64)
        end = np.append(first[1:], self._n_traces)
        return pa.Table.from_arrays(
            [pa.array(values), pa.array(first), pa.array(end), pa.array(end - first)],
            schema=ENSEMBLE_SCHEMA,
        )


def lookup(index: pa.Table, value: int) -> slice:
    """The trace range of the first ensemble whose key equals ``value``."""
    values = index.column("value").to_numpy()
    hits = np.flatnonzero(values == value)
    if hits.size == 0:
        raise KeyError(f"no ensemble with value {value}")
    row = int(hits[0])
    return slice(
        int(index.column("first_trace")[row].as_py()), int(index.column("end_trace")[row].as_py())
    )
