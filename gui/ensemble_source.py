"""What the gather view needs to show every ensemble of a key, contiguous or not.

The gather view reads ``traces[first:end:step, ::step]`` per ensemble row. For a key
whose values are spread over the file (a CDP of a shot-ordered survey) a trace range
cannot describe an ensemble, so the view is given the traces in the key's sort order
instead (:class:`OrderedTraces`, a view through ``index/<key>.order.npy``) and each
ensemble's range in that order: every trace of the value, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segycore.dataset.dataset import Dataset

__all__ = ["EnsembleSource", "OrderedTraces", "ensemble_source"]


class OrderedTraces:
    """``traces`` seen through a permutation: row ``i`` is ``traces[order[i]]`` (read-only)."""

    def __init__(self, traces: np.ndarray, order: np.ndarray) -> None:
        self._traces = traces
        self._order = order
        self.shape = (len(order), traces.shape[1])
        self.dtype = traces.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: object) -> np.ndarray:
        rows, columns = key if isinstance(key, tuple) else (key, slice(None))
        numbers = np.asarray(self._order[rows], dtype=np.int64)
        return np.asarray(self._traces[numbers])[:, columns]


@dataclass(frozen=True)
class EnsembleSource:
    """One key's ensembles for the viewer: values, rows' ranges in ``traces``, counts."""

    traces: np.ndarray | OrderedTraces
    values: np.ndarray
    first: np.ndarray  # range of each ensemble in ``traces``
    end: np.ndarray
    first_trace: np.ndarray  # the first trace number of each ensemble in the file
    counts: np.ndarray


def ensemble_source(dataset: Dataset, key: str) -> EnsembleSource:
    """The ensembles of ``key`` (reads the index: call it off the GUI thread for big data)."""
    index = dataset.ensemble_index(key)
    table = index.table
    values = table.column("value").to_numpy()
    counts = table.column("trace_count").to_numpy()
    start = table.column("order_start").to_numpy()
    first_trace = np.asarray(index.order[start], dtype=np.int64) if len(start) else start
    if table.column("first_trace").null_count == 0:  # every ensemble a trace range
        first = table.column("first_trace").to_numpy()
        return EnsembleSource(dataset.traces, values, first, first + counts, first_trace, counts)
    traces = OrderedTraces(dataset.traces, index.order)
    return EnsembleSource(traces, values, start, start + counts, first_trace, counts)
