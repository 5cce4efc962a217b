"""The complete ensemble index: kernel against the numpy reference and a plain loop; gathers
of non-contiguous keys against segyio."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.dataset import ensembles
from segycore.dataset._index import counting_order, radix_order
from segycore.dataset.ensembles import (
    EnsembleIndex,
    EnsembleIndexBuilder,
    run_starts,
    sort_order,
    sort_order_reference,
)
from segycore.errors import SegyError
from segycore.format.synthetic import write_survey
from tests.helpers import segy_data


def loop_starts(keys: list[int]) -> list[int]:
    return [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]


def loop_groups(keys: list) -> dict:
    """Trace numbers per value, in a plain loop (all NaNs one value, -0.0 the same as 0.0)."""
    groups: dict = defaultdict(list)
    for trace, key in enumerate(keys):
        groups[(1, 0.0) if key != key else (0, key + 0)].append(trace)
    return groups


@pytest.mark.parametrize("seed", range(5))
def test_run_starts_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.repeat(rng.integers(-5, 5, 300), rng.integers(1, 6, 300)).astype(np.int32)
    assert run_starts(keys).tolist() == loop_starts(keys.tolist())


def test_run_starts_edge_cases() -> None:
    assert run_starts(np.array([], dtype=np.int16)).size == 0
    assert run_starts(np.array([7])).size == 0
    with pytest.raises(ValueError, match="one-dimensional"):
        run_starts(np.zeros((2, 2)))


KEY_CASES = {
    "shot-ordered cdp": lambda rng: (
        2 * (np.arange(4800) // 240) + np.arange(4800) % 240 + 1
    ).astype(np.int32),
    "random narrow int32": lambda rng: rng.integers(-50, 50, 5000).astype(np.int32),
    "random wide int32 (numpy path)": lambda rng: rng.integers(-(2**31), 2**31 - 1, 5000).astype(
        np.int32
    ),
    "int16": lambda rng: rng.integers(-300, 300, 3000).astype(np.int16),
    "int64 custom field": lambda rng: rng.integers(2**40, 2**40 + 99, 3000).astype(np.int64),
    "uint8": lambda rng: rng.integers(0, 255, 3000).astype(np.uint8),
    "uint32": lambda rng: rng.integers(2**32 - 500, 2**32 - 1, 3000).astype(np.uint32),
    "float32": lambda rng: rng.choice(np.float32([-1.5, 0.25, 7.0]), 2000),
    "float32 with NaN, +-0, inf": lambda rng: rng.choice(
        np.float32([np.nan, -0.0, 0.0, -np.inf, np.inf, -2.5, 1e-40, 3.0]), 3000
    ),
    "float64 random": lambda rng: rng.standard_normal(2000).round(1),
    "wide int64 (radix, 4 passes)": lambda rng: rng.integers(-(2**62), 2**62, 3000),
    "wide uint32": lambda rng: rng.integers(0, 2**32 - 1, 3000).astype(np.uint32),
    "wide int16": lambda rng: rng.integers(-(2**15), 2**15 - 1, 3000).astype(np.int16),
    "constant": lambda rng: np.full(1000, 7, np.int32),
    "one trace": lambda rng: np.array([3], np.int32),
    "empty": lambda rng: np.empty(0, np.int32),
}


@pytest.mark.parametrize("case", KEY_CASES)
def test_sort_order_matches_reference_and_loop(case: str) -> None:
    keys = KEY_CASES[case](np.random.default_rng(3))
    order, values, starts = sort_order(keys)
    ref_order, ref_values, ref_starts = sort_order_reference(keys)
    np.testing.assert_array_equal(order, ref_order)
    np.testing.assert_array_equal(values, ref_values)  # NaN equals NaN here
    np.testing.assert_array_equal(starts, ref_starts)
    assert order.dtype == np.int32
    groups = loop_groups(keys.tolist())
    ordered = sorted(groups)  # NaN last
    assert len(values) == len(ordered)
    for value, group, a, b in zip(values.tolist(), ordered, starts[:-1], starts[1:], strict=True):
        assert value == group[1] or (group[0] == 1 and value != value)
        assert order[a:b].tolist() == groups[group]


def test_kernel_is_used_for_narrow_keys_and_checks_bounds() -> None:
    keys = np.array([5, 3, 5, 4], np.int32)
    assert ensembles._counting_span(keys) == (3, 3)
    assert ensembles._counting_span(np.array([0, 2**30], np.int32)) is None
    order = np.empty(4, np.int32)
    counts = np.empty(4, np.int64)
    counting_order(keys, 3, 3, order, counts)
    assert order.tolist() == [1, 3, 0, 2]
    assert counts.tolist() == [0, 1, 2, 4]
    with pytest.raises(ValueError, match="outside"):
        counting_order(keys, 4, 3, order, counts)  # key 3 below lo
    with pytest.raises(ValueError, match="outside"):
        counting_order(keys, 3, 2, order, np.empty(3, np.int64))  # key 5 beyond the span
    with pytest.raises(ValueError, match="slots"):
        counting_order(keys, 3, 3, np.empty(3, np.int32), counts)


def test_radix_kernel_is_stable_and_checks_its_arguments() -> None:
    original = np.array([0x20001, 0x10002, 0x20001, 0x10001], np.uint32)
    order, scratch = np.empty(4, np.int32), np.empty(4, np.int32)
    keys, other = original.copy(), np.empty(4, np.uint32)
    assert radix_order(keys, 2, order, scratch, other) == 0  # sorted keys back in ``keys``
    assert order.tolist() == [3, 1, 0, 2]
    assert keys.tolist() == sorted(original.tolist())
    keys = original.copy()
    assert radix_order(keys, 1, order, scratch, other) == 1  # low 16 bits: 1, 2, 1, 1
    assert order.tolist() == [0, 2, 3, 1]
    assert other.tolist() == original[[0, 2, 3, 1]].tolist()
    with pytest.raises(ValueError, match="passes must be 1..2"):
        radix_order(keys, 3, order, scratch, other)
    with pytest.raises(ValueError, match="slots"):
        radix_order(keys, 1, order, np.empty(3, np.int32), other)


def test_wide_keys_use_the_radix_path_and_the_builder_consumes_them() -> None:
    keys = np.random.default_rng(8).integers(-(2**31), 2**31 - 1, 5000).astype(np.int32)
    assert ensembles._counting_span(keys) is None
    builder = EnsembleIndexBuilder("x", keys.size, np.int32)
    builder.add(keys)
    built = builder.build()
    reference = sort_order_reference(keys)
    np.testing.assert_array_equal(built.order, reference[0])
    assert built.table.column("value").to_pylist() == reference[1].tolist()


def test_index_table_and_trace_numbers() -> None:
    keys = np.array([4, 4, 9, 4, 2, 2, 9], np.int32)
    index = EnsembleIndex.build("cdp", keys)
    table = index.table.to_pydict()
    assert table["value"] == [2, 4, 9]
    assert table["trace_count"] == [2, 3, 2]
    assert table["first_trace"] == [4, None, None]
    assert table["end_trace"] == [6, None, None]
    assert index.trace_numbers(4).tolist() == [0, 1, 3]
    assert index.trace_range(2) == slice(4, 6)
    with pytest.raises(SegyError, match="not consecutive"):
        index.trace_range(9)
    with pytest.raises(SegyError, match="no trace has cdp = 5"):
        index.trace_numbers(5)


def test_builder_in_blocks_equals_whole() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 40, 1000).astype(np.int16)
    builder = EnsembleIndexBuilder("k", keys.size, np.int16)
    for first in range(0, keys.size, 77):
        builder.add(keys[first : first + 77])
    built = builder.build()
    whole = EnsembleIndex.build("k", keys)
    assert built.table.equals(whole.table)
    np.testing.assert_array_equal(built.order, whole.order)
    with pytest.raises(ValueError, match="of 5 keys"):
        EnsembleIndexBuilder("k", 5, np.int32).build()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's survey (16 shots x 240 channels) imported with shot and CDP keys."""
    folder = tmp_path_factory.mktemp("demo")
    source = write_survey(folder / "demo.sgy", 16, 240, 50, format_code=5)
    ParallelImportCoordinator(
        ImportConfig(source, folder / "ds", workers=2, ensemble_keys=("FieldRecord", "CDP"))
    ).run()
    return source, folder / "ds"


def test_gather_of_a_non_contiguous_cdp_against_segyio(demo: tuple[Path, Path]) -> None:
    source, path = demo
    ds = open_dataset(path)
    with segyio.open(source, ignore_geometry=True) as f:
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        samples = f.trace.raw[:]
    table = ds.ensembles("CDP")
    assert table.num_rows == np.unique(cdp).size == 270
    gather = ds.gather(31, key="CDP")
    assert gather.shape == (16, 50)
    np.testing.assert_array_equal(gather, samples[cdp == 31])
    for value, count in zip(
        table.column("value").to_pylist(), table.column("trace_count").to_pylist(), strict=True
    ):
        expected = np.flatnonzero(cdp == value)
        assert count == expected.size
        np.testing.assert_array_equal(ds.ensemble_traces(value, "cdp"), expected)
    with pytest.raises(SegyError, match="not consecutive"):
        ds.ensemble(31, "CDP")
    assert ds.ensemble(1003, "FieldRecord") == slice(480, 720)
    np.testing.assert_array_equal(ds.gather(1003, key=9), samples[480:720])


def test_bad_keys_are_clear_errors(demo: tuple[Path, Path]) -> None:
    ds = open_dataset(demo[1])
    with pytest.raises(SegyError, match="no ensemble index on offset"):
        ds.gather(50, key="offset")
    with pytest.raises(SegyError, match="unknown trace header field"):
        ds.gather(50, key="no_such_field")
    with pytest.raises(SegyError, match="no trace has cdp = 9999"):
        ds.gather(9999, key="CDP")


def test_index_files_are_plain_numpy_and_parquet(demo: tuple[Path, Path]) -> None:
    import pyarrow.parquet as pq

    path = demo[1]
    order = np.load(path / "index" / "cdp.order.npy", allow_pickle=False)
    table = pq.read_table(path / "index" / "cdp.parquet").to_pydict()
    row = table["value"].index(31)
    start, count = table["order_start"][row], table["trace_count"][row]
    cdp = open_dataset(path).header("cdp")
    assert order.dtype == np.int32
    assert order[start : start + count].tolist() == np.flatnonzero(cdp == 31).tolist()


def test_old_index_without_order_file_is_rebuilt_in_memory(demo, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(demo[1], copy)
    (copy / "index" / "cdp.order.npy").unlink()
    ds = open_dataset(copy)
    assert ds.gather(31, key="CDP").shape == (16, 50)
    assert not (copy / "index" / "cdp.order.npy").exists()  # opened read-only


def test_small_ps_cdp_gathers_against_segyio(tmp_path: Path) -> None:
    source = segy_data("small-ps.sgy")
    ParallelImportCoordinator(
        ImportConfig(source, tmp_path / "ds", workers=2, ensemble_keys=("cdp", "offset"))
    ).run()
    ds = open_dataset(tmp_path / "ds")
    with segyio.open(source, ignore_geometry=True) as f:
        samples = f.trace.raw[:]
        for key, field in (("cdp", segyio.TraceField.CDP), ("offset", segyio.TraceField.offset)):
            values = f.attributes(field)[:]
            for value in np.unique(values):
                np.testing.assert_array_equal(
                    ds.gather(int(value), key=key), samples[values == value]
                )


def test_editing_an_indexed_key_rebuilds_its_index(demo: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(demo[1], copy)
    ds = open_dataset(copy)
    before = ds.ensembles("field_record")
    cdp = ds.header("cdp")
    ds.update_headers({"CDP": cdp * 10})
    again = open_dataset(copy)
    np.testing.assert_array_equal(again.ensemble_traces(310, "cdp"), np.flatnonzero(cdp == 31))
    assert ds.gather(310, key="cdp").shape == (16, 50)  # the open dataset sees it too
    assert again.ensembles("field_record").equals(before)
    assert not [p for p in copy.iterdir() if "segycore-tmp" in p.name]
