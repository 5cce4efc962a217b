"""Ensemble boundaries against a plain Python loop."""

from __future__ import annotations

import numpy as np
import pytest

from segycore.dataset.ensembles import EnsembleIndexBuilder, run_starts


def loop_starts(keys: list[int]) -> list[int]:
    return [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]


@pytest.mark.parametrize("seed", range(5))
def test_run_starts_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.repeat(rng.integers(-5, 5, 300), rng.integers(1, 6, 300)).astype(np.int32)
    assert run_starts(keys).tolist() == loop_starts(keys.tolist())


def test_edge_cases() -> None:
    assert run_starts(np.array([], dtype=np.int16)).size == 0
    assert run_starts(np.array([7])).size == 0
    assert run_starts(np.array([1, 1, 1])).size == 0
    with pytest.raises(ValueError, match="one-dimensional"):
        run_starts(np.zeros((2, 2)))


def test_index_is_the_same_in_any_blocking() -> None:
    rng = np.random.default_rng(1)
    keys = np.repeat(rng.integers(0, 4, 500), rng.integers(1, 9, 500))
    whole = EnsembleIndexBuilder()
    whole.add(keys)
    for block in (1, 7, 64):
        parts = EnsembleIndexBuilder()
        for i in range(0, keys.size, block):
            parts.add(keys[i : i + block])
        assert parts.table().equals(whole.table())
    table = whole.table()
    starts = [0, *loop_starts(keys.tolist())]
    assert table.column("first_trace").to_pylist() == starts
    assert table.column("trace_count").to_numpy().sum() == keys.size
