"""The index job on an existing dataset: adds keys, keeps the others, redoes geometry with
byte positions, and leaves the dataset as it was on cancel or bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.errors import JobCancelled, SegyError
from segycore.format.synthetic import write_records, write_survey
from segycore.pipeline.indexer import IndexConfig, IndexCoordinator
from tests.helpers import tree_digest


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    source = write_survey(tmp_path / "demo.sgy", 6, 24, 20, format_code=5)
    dest = tmp_path / "ds"
    ParallelImportCoordinator(ImportConfig(source, dest, workers=2)).run()
    return source, dest


def test_adds_keys_and_keeps_the_others(demo: tuple[Path, Path]) -> None:
    source, path = demo
    before = open_dataset(path).ensembles("field_record")
    progress: list[tuple[int, int]] = []
    result = IndexCoordinator(IndexConfig(path, ["CDP", 37])).run(
        lambda stage, p: progress.append(p)
    )
    assert result.keys == ("cdp", "offset")
    assert progress[-1] == (144, 144)
    ds = open_dataset(path)
    assert ds.ensemble_keys == ["field_record", "cdp", "offset"]
    assert ds.ensembles("field_record").equals(before)
    with segyio.open(source, ignore_geometry=True) as f:
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        samples = f.trace.raw[:]
    for value in np.unique(cdp):
        np.testing.assert_array_equal(ds.gather(int(value), key="cdp"), samples[cdp == value])
    assert not [p for p in path.iterdir() if "segycore-tmp" in p.name]


def test_cancel_and_bad_keys_leave_the_dataset_as_it_was(demo: tuple[Path, Path]) -> None:
    path = demo[1]
    digest = tree_digest(path)
    with pytest.raises(SegyError, match="unknown trace header field"):
        IndexCoordinator(IndexConfig(path, ["nope"]))
    with pytest.raises(SegyError, match="nothing to index"):
        IndexConfig(path, [], geometry_keys=None)
    coordinator = IndexCoordinator(IndexConfig(path, ["cdp"]))
    coordinator.cancel()
    with pytest.raises(JobCancelled):
        coordinator.run()
    assert tree_digest(path) == digest
    assert not [p for p in path.iterdir() if "segycore-tmp" in p.name]


def test_geometry_at_byte_positions(tmp_path: Path) -> None:
    il = np.repeat(np.arange(3, 6), 4).astype(np.int32)
    xl = np.tile(np.arange(10, 14), 3).astype(np.int32)
    samples = np.random.default_rng(0).standard_normal((12, 5)).astype(np.float32)
    source = write_records(tmp_path / "c.sgy", samples, raw_fields={17: ("i4", il), 13: ("i4", xl)})
    path = tmp_path / "ds"
    ParallelImportCoordinator(ImportConfig(source, path, workers=1)).run()
    assert open_dataset(path).geometry is None
    IndexCoordinator(IndexConfig(path, geometry_keys=(17, 13, "offset"))).run()
    ds = open_dataset(path)
    with segyio.open(source, iline=17, xline=13) as f:
        np.testing.assert_array_equal(ds.geometry.inlines, f.ilines)
        for number in f.ilines:
            np.testing.assert_array_equal(ds.inline(int(number)), f.iline[number])


def test_index_job_in_a_supervisor(demo: tuple[Path, Path]) -> None:
    import segycore

    path = demo[1]
    with segycore.start_index(IndexConfig(path, ["cdp"], geometry_keys=None)) as job:
        snap = job.wait(timeout=120)
    assert snap.state == "done", snap.error
    assert job.result["kind"] == "index" and job.result["keys"] == ["cdp"]
    assert [s.name for s in snap.stages] == ["Build ensemble index"]
    assert snap.stages[0].done == snap.stages[0].total == 144
    assert open_dataset(path).gather(5, key="cdp").shape[0] == 3
