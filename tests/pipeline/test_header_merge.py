"""headers.parquet written while the parallel stage runs (segycore.pipeline.header_merge)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import segyio

from segycore import ImportConfig, ParallelImportCoordinator
from segycore.dataset.headers import ROW_GROUP_SIZE, headers_to_table
from segycore.format.spec import TRACE_HEADER_SIZE
from segycore.format.synthetic import write_survey
from segycore.pipeline.header_merge import HeaderMerge
from segycore.pipeline.tasks import segment_path

RNG = np.random.default_rng(7)


def raw_headers(n: int) -> np.ndarray:
    """``n`` random big-endian raw headers (every field some value)."""
    return RNG.integers(0, 256, size=(n, TRACE_HEADER_SIZE), dtype=np.uint8)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_segments_appended_in_order_give_the_table_of_all_rows(tmp_path: Path) -> None:
    rows = raw_headers(ROW_GROUP_SIZE + 1000)
    parts = [rows[:ROW_GROUP_SIZE], rows[ROW_GROUP_SIZE:]]
    segments = []
    for number, part in enumerate(parts):
        path = segment_path(tmp_path, 0, number)
        path.write_bytes(part.tobytes())
        segments.append(path)
    merge = HeaderMerge(tmp_path / "headers.parquet", "big", ())
    seen: list[int] = []
    merge.write(segments[:1], seen.append)
    merge.write(segments[1:], seen.append)
    merge.close()
    assert seen == [1, 2]
    assert merge.written == segments
    table = pq.read_table(tmp_path / "headers.parquet")
    assert table.equals(headers_to_table(rows, "big", ()))


def test_follower_appends_a_segment_once_its_successor_exists(tmp_path: Path) -> None:
    rows = raw_headers(4 * 100)
    merge = HeaderMerge(tmp_path / "headers.parquet", "big", ())
    paths = [segment_path(tmp_path, 0, n) for n in range(4)]
    with merge.following(tmp_path, 0):
        paths[0].write_bytes(rows[:100].tobytes())
        time.sleep(0.2)
        assert merge.written == []  # segment 0 may still grow: no successor yet
        paths[1].write_bytes(rows[100:200].tobytes())
        wait_until(lambda: merge.written == paths[:1])
        paths[2].write_bytes(rows[200:300].tobytes())
        wait_until(lambda: merge.written == paths[:2])
        paths[3].write_bytes(rows[300:].tobytes())  # the last: its task's result says so
    assert merge.written in (paths[:2], paths[:3])  # 2 may have gone in before the end
    merge.write(paths[len(merge.written) :])
    merge.close()
    table = pq.read_table(tmp_path / "headers.parquet")
    assert table.equals(headers_to_table(rows, "big", ()))


def _broken_first_segment(folder: Path) -> None:
    segment_path(folder, 0, 0).write_bytes(b"\0" * (TRACE_HEADER_SIZE + 1))
    segment_path(folder, 0, 1).write_bytes(b"\0" * TRACE_HEADER_SIZE)
    time.sleep(0.3)  # the follower reads segment 0 and fails


def test_a_follower_failure_is_raised_when_the_stage_ends(tmp_path: Path) -> None:
    merge = HeaderMerge(tmp_path / "headers.parquet", "big", ())
    with pytest.raises(ValueError, match="whole number of headers"), merge.following(tmp_path, 0):
        _broken_first_segment(tmp_path)
    merge.discard()


def test_the_stage_error_wins_over_the_followers(tmp_path: Path) -> None:
    merge = HeaderMerge(tmp_path / "headers.parquet", "big", ())
    with pytest.raises(KeyError, match="the stage failed"), merge.following(tmp_path, 0):
        _broken_first_segment(tmp_path)
        raise KeyError("the stage failed")
    merge.discard()


@pytest.mark.parametrize("workers", [1, 2])
def test_import_merges_the_first_workers_headers_during_the_parallel_stage(
    tmp_path: Path, workers: int
) -> None:
    """More than two row groups per worker, slowed by the rate limit so the parallel stage
    outlasts a segment: the follower appends while it runs; the result is segyio's."""
    shots, per_shot = 2 * ROW_GROUP_SIZE // 240 + 40, 240
    source = write_survey(tmp_path / "big.sgy", shots, per_shot, n_samples=4)
    n_traces = shots * per_shot
    seconds = 1.5  # the parallel stage's length under the rate limit
    rate = source.stat().st_size / 1e6 / seconds
    config = ImportConfig(source, tmp_path / "ds", workers=workers, rate_limit=rate)
    coordinator = ParallelImportCoordinator(config)
    results, _ = coordinator.run_parallel_import()
    assert coordinator._header_merge is not None
    assert len(coordinator._header_merge.written) >= 1  # appended before the stage ended
    reports: list[int] = []
    headers = coordinator.run_merge_headers(results, lambda done, total: reports.append(done))
    assert reports[-1] == len([s for r in results for s in r.header_segments])
    table = pq.read_table(headers, columns=["field_record", "cdp", "offset", "raw_header"])
    assert table.num_rows == n_traces
    with segyio.open(source, ignore_geometry=True) as f:
        assert np.array_equal(table["field_record"].to_numpy(), f.attributes(9)[:])
        assert np.array_equal(table["cdp"].to_numpy(), f.attributes(21)[:])
        assert np.array_equal(table["offset"].to_numpy(), f.attributes(37)[:])
    record = TRACE_HEADER_SIZE + 4 * 4  # IBM samples
    with open(source, "rb") as raw:
        for i in (0, ROW_GROUP_SIZE - 1, ROW_GROUP_SIZE, n_traces - 1):
            raw.seek(3600 + i * record)
            assert table["raw_header"][i].as_py() == raw.read(TRACE_HEADER_SIZE)
    coordinator.run_build_index(headers)
    coordinator.run_cleanup(results)
