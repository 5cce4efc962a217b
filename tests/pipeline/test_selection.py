"""Trace-order planning for reordered and subset exports, against Python's sorted()."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.errors import SegyError
from segycore.format.layout import binary_header_dtype
from segycore.format.synthetic import write_survey
from segycore.pipeline import selection
from segycore.pipeline.selection import (
    parse_select,
    parse_sort,
    plan_order,
    read_planned,
    reordered_binary_header,
    stage_raw_headers,
)
from segycore.storage.capabilities import forced


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("sel")
    source = write_survey(folder / "s.sgy", 5, 30, 12, format_code=5)
    ParallelImportCoordinator(ImportConfig(source, folder / "ds", workers=2)).run()
    return open_dataset(folder / "ds")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cdp", "KEY=LO:HI"),
        ("cdp=1", "KEY=LO:HI"),
        ("cdp=a:b", "KEY=LO:HI"),
        ("=1:2", "KEY=LO:HI"),
        ("cdp=5:1", "LO .5. is above HI"),
    ],
)
def test_malformed_selections(text: str, message: str) -> None:
    with pytest.raises(SegyError, match=message):
        parse_select(text)


def test_parse() -> None:
    s = parse_select(" cdp = -3 : 7 ")
    assert (s.key, s.lo, s.hi) == ("cdp", -3, 7)
    assert parse_sort("cdp, offset") == ("cdp", "offset")
    with pytest.raises(SegyError, match="malformed sort keys"):
        parse_sort("cdp,,offset")


def test_plan_matches_sorted(dataset) -> None:
    cdp, offset = dataset.header("cdp"), dataset.header("offset")
    order, facts = plan_order(dataset, ["CDP", 37], [parse_select("offset=100:400")])
    expected = sorted(
        (t for t in range(dataset.n_traces) if 100 <= offset[t] <= 400),
        key=lambda t: (cdp[t], offset[t]),
    )
    assert order.tolist() == expected
    assert facts["sorting_code"] == 2 and facts["primary_is_cdp"] == 1
    _, counts = np.unique(cdp[expected], return_counts=True)
    assert facts["largest_ensemble"] == counts.max()
    only, facts = plan_order(dataset, [], [parse_select("cdp=3:4"), parse_select("offset=0:75")])
    assert only.tolist() == [
        t for t in range(dataset.n_traces) if 3 <= cdp[t] <= 4 and offset[t] <= 75
    ]
    assert facts == {}


def test_bad_plans(dataset) -> None:
    with pytest.raises(SegyError, match="matches no trace"):
        plan_order(dataset, ["cdp"], [parse_select("cdp=10000:20000")])
    with pytest.raises(SegyError, match="unknown trace header field"):
        plan_order(dataset, ["nope"])


def test_read_planned_equals_fancy_indexing(dataset, tmp_path: Path) -> None:
    staged = tmp_path / "headers.bin"
    stage_raw_headers(dataset, "big", staged)
    raw = np.fromfile(staged, np.uint8).reshape(-1, 240)
    stored = dataset.headers(["raw_header"]).column("raw_header").to_pylist()
    assert [bytes(r) for r in raw] == stored
    planned = np.array([5, 6, 7, 100, 2, 3, 149, 0], np.int32)
    samples = np.empty((planned.size, dataset.n_samples), dataset.traces.dtype)
    headers = np.empty((planned.size, 240), np.uint8)
    tfd, hfd = os.open(dataset.path / "traces.npy", os.O_RDONLY), os.open(staged, os.O_RDONLY)
    try:
        read_planned(planned, tfd, dataset.traces.offset, hfd, samples, headers, OSError)
    finally:
        os.close(tfd)
        os.close(hfd)
    np.testing.assert_array_equal(samples, dataset.traces[planned])
    np.testing.assert_array_equal(headers, raw[planned])


def test_staging_threads_write_through_handles_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without positional I/O a write seeks its handle, so two staging threads sharing
    one would put row groups at each other's offsets: the first two writes are held until
    both are under way, and they must use different handles; the staged bytes are the
    stored raw headers."""
    source = write_survey(tmp_path / "big.sgy", 64, 2050, 2, format_code=5)  # 2 row groups
    ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", workers=2)).run()
    dataset = open_dataset(tmp_path / "ds")
    both_writing = threading.Barrier(2, timeout=30)
    handles: list[int] = []
    write = selection.pwrite_all

    def held_write(fd: int, data: memoryview, offset: int) -> None:
        handles.append(fd)
        if len(handles) <= 2:
            both_writing.wait()  # both threads are inside a write now
        write(fd, data, offset)

    monkeypatch.setattr(selection, "pwrite_all", held_write)
    staged = tmp_path / "headers.bin"
    with forced("positional_io"):
        stage_raw_headers(dataset, "big", staged, workers=2)
    assert len(handles) >= 2 and handles[0] != handles[1]
    raw = np.fromfile(staged, np.uint8).reshape(-1, 240)
    stored = dataset.headers(["raw_header"]).column("raw_header").to_pylist()
    assert [bytes(r) for r in raw] == stored


def test_binary_header_fields_updated_only_where_wrong(dataset) -> None:
    raw = dataset.file_headers.binary
    out = reordered_binary_header(
        raw, "big", 99, {"sorting_code": 2, "largest_ensemble": 5, "primary_is_cdp": 1}
    )
    before = np.frombuffer(raw, binary_header_dtype("big"))[0]
    after = np.frombuffer(out, binary_header_dtype("big"))[0]
    changed = {n for n in before.dtype.names if before[n] != after[n]}
    assert changed == {"sorting_code", "traces_per_ensemble", "ensemble_fold"}
    assert (after["sorting_code"], after["traces_per_ensemble"], after["ensemble_fold"]) == (
        2,
        5,
        5,
    )
    assert reordered_binary_header(raw, "big", 99, {}) == raw  # a subset of a rev 1 file


def test_datasets_with_unlike_records_are_refused_before_anything_is_written() -> None:
    from segycore.pipeline.selection import check_plannable

    check_plannable("ds", None, 0)
    for args, why in (
        ((np.array([3, 4]), 0), "variable-length traces"),
        ((None, 2), "2 additional trace headers"),
    ):
        with pytest.raises(SegyError, match=why):
            check_plannable("ds", *args)
