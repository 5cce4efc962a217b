"""Numba kernels over header columns, each beside the plain numpy reference tests compare with.

Numba is imported on first use, not at package import: it costs about half a second,
which a 25-trace import or a CLI ``info`` should not pay up front.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

__all__ = ["run_starts", "run_starts_reference"]


def run_starts_reference(keys: np.ndarray) -> np.ndarray:
    """Indices ``i > 0`` where ``keys[i] != keys[i - 1]``: where a new ensemble begins."""
    keys = np.asarray(keys)
    return np.flatnonzero(keys[1:] != keys[:-1]).astype(np.int64) + 1


@cache
def _compiled_run_starts() -> Callable[[np.ndarray], np.ndarray]:
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(keys: np.ndarray) -> np.ndarray:
        n = keys.shape[0]
        count = 0
        for i in range(1, n):
            if keys[i] != keys[i - 1]:
                count += 1
        out = np.empty(count, dtype=np.int64)
        j = 0
        for i in range(1, n):
            if keys[i] != keys[i - 1]:
                out[j] = i
                j += 1
        return out

    return kernel


def run_starts(keys: np.ndarray) -> np.ndarray:
    """Compiled :func:`run_starts_reference`: one pass, no temporaries, releases the GIL."""
    keys = np.ascontiguousarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"ensemble keys must be one-dimensional, got shape {keys.shape}")
    if keys.dtype.kind not in "iu":
        raise ValueError(f"ensemble keys must be integers, got {keys.dtype}")
    if keys.size < 2:
        return np.empty(0, dtype=np.int64)
    return _compiled_run_starts()(keys.astype(np.int64, copy=False))
