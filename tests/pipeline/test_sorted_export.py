"""Reordered and subset exports, compared record by record with the source (segyio's
headers decide the expected order), custom fields as keys, bad options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    open_dataset,
)
from segycore.errors import SegyError
from segycore.format.layout import binary_header_dtype
from segycore.format.synthetic import write_records, write_survey
from tests.helpers import assert_no_staging, segy_data


def records(path: Path, n_samples: int, itemsize: int = 4) -> np.ndarray:
    """Every trace record of a file without extended headers, as (n, record bytes)."""
    size = 240 + n_samples * itemsize
    data = np.fromfile(path, np.uint8)[3600:]
    return data.reshape(-1, size)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sorted")
    source = write_survey(folder / "s.sgy", 7, 30, 20)  # IBM floats, shot order
    ParallelImportCoordinator(ImportConfig(source, folder / "ds", workers=2)).run()
    return source, folder / "ds"


def _export(dataset: Path, out: Path, **options) -> Path:
    ParallelExportCoordinator(ExportConfig(dataset, out, workers=2, **options)).run()
    return out


@pytest.mark.parametrize("segments", [False, True])
def test_sort_by_cdp_offset_is_the_source_records_in_that_order(shots, tmp_path, segments) -> None:
    source, dataset = shots
    out = _export(
        dataset, tmp_path / "sorted.sgy", sort="CDP,offset", segments=segments, chunk_bytes=4096
    )
    with segyio.open(source, ignore_geometry=True) as f:
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        offset = f.attributes(segyio.TraceField.offset)[:]
    expected = sorted(range(len(cdp)), key=lambda t: (cdp[t], offset[t]))
    np.testing.assert_array_equal(records(out, 20), records(source, 20)[expected])
    src, dst = source.read_bytes(), out.read_bytes()
    assert dst[:3200] == src[:3200]  # textual header as the source's
    before = np.frombuffer(src[3200:3600], binary_header_dtype("big"))[0]
    after = np.frombuffer(dst[3200:3600], binary_header_dtype("big"))[0]
    changed = {n for n in before.dtype.names if before[n] != after[n]}
    assert changed <= {"sorting_code", "traces_per_ensemble", "ensemble_fold"}
    _, fold = np.unique(cdp, return_counts=True)
    assert (after["sorting_code"], after["ensemble_fold"]) == (2, fold.max())
    assert after["traces_per_ensemble"] == fold.max()
    assert_no_staging(tmp_path)


def test_select_and_sort_with_segyio_reading_the_output(shots, tmp_path) -> None:
    source, dataset = shots
    out = _export(
        dataset,
        tmp_path / "subset.sgy",
        sort=["offset", "FieldRecord"],
        select=["offset=100:300", "cdp=5:12"],
    )
    with segyio.open(source, ignore_geometry=True) as f:
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        offset = f.attributes(segyio.TraceField.offset)[:]
        shot = f.attributes(segyio.TraceField.FieldRecord)[:]
        samples = f.trace.raw[:]
    keep = [t for t in range(len(cdp)) if 100 <= offset[t] <= 300 and 5 <= cdp[t] <= 12]
    expected = sorted(keep, key=lambda t: (offset[t], shot[t]))
    with segyio.open(out, ignore_geometry=True) as g:
        assert g.tracecount == len(expected)
        np.testing.assert_array_equal(g.trace.raw[:], samples[expected])
        np.testing.assert_array_equal(g.attributes(segyio.TraceField.CDP)[:], cdp[expected])
        assert g.bin[segyio.BinField.SortingCode] == 7  # common offset
    np.testing.assert_array_equal(records(out, 20), records(source, 20)[expected])


def test_custom_field_as_sort_key_and_written_back_after_an_edit(tmp_path) -> None:
    n = 40
    rng = np.random.default_rng(4)
    key = rng.permutation(n).astype(np.int32)
    samples = rng.standard_normal((n, 8)).astype(np.float32)
    source = write_records(tmp_path / "c.sgy", samples, raw_fields={233: ("i4", key)})
    dataset = tmp_path / "ds"
    ParallelImportCoordinator(
        ImportConfig(source, dataset, workers=2, header_fields=["slot:233:int32"])
    ).run()
    ds = open_dataset(dataset)
    np.testing.assert_array_equal(ds.header("slot"), key)
    out = _export(dataset, tmp_path / "by-slot.sgy", sort="slot")
    np.testing.assert_array_equal(records(out, 8), records(source, 8)[np.argsort(key)])
    ds.update_headers({"slot": key * 2})
    edited = _export(dataset, tmp_path / "edited.sgy")
    a, b = records(source, 8), records(edited, 8)
    diff = np.argwhere(a != b)
    assert set(diff[:, 1].tolist()) <= {232, 233, 234, 235}  # only the custom field's bytes
    np.testing.assert_array_equal(b[:, 232:236].copy().view(">i4").reshape(-1), key * 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sort": "cdp,,offset"}, "malformed sort keys"),
        ({"select": ["cdp=5"]}, "malformed selection"),
        ({"select": "cdp=1:2"}, "list of KEY=LO:HI"),
    ],
)
def test_malformed_options_fail_when_the_config_is_built(shots, tmp_path, options, message) -> None:
    with pytest.raises(SegyError, match=message):
        ExportConfig(shots[1], tmp_path / "x.sgy", **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sort": "nope"}, "unknown trace header field"),
        ({"select": ["cdp=100000:200000"]}, "matches no trace"),
    ],
)
def test_bad_keys_and_empty_selections_write_nothing(shots, tmp_path, options, message) -> None:
    with pytest.raises(SegyError, match=message):
        ParallelExportCoordinator(ExportConfig(shots[1], tmp_path / "x.sgy", **options))
    assert list(tmp_path.iterdir()) == []


def test_shared_cube_reordered_crossline_major(tmp_path) -> None:
    source = segy_data("small.sgy")
    ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", workers=1)).run()
    out = _export(tmp_path / "ds", tmp_path / "xl.sgy", sort="crossline,inline")
    with segyio.open(out) as f, segyio.open(source) as g:
        assert f.sorting == segyio.TraceSortingFormat.CROSSLINE_SORTING
        for number in g.xlines:
            np.testing.assert_array_equal(f.xline[number], g.xline[number])


def test_sorted_export_on_a_local_cluster_equals_the_threads(shots, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    dataset = shots[1]
    threads = _export(dataset, tmp_path / "threads.sgy", sort="CDP,offset", select=["cdp=3:20"])
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
        silence_logs=50,
    ) as lc:  # fmt: skip
        config = ExportConfig(
            dataset, tmp_path / "cluster.sgy", sort="CDP,offset", select=["cdp=3:20"],
            scheduler=lc.scheduler_address, chunk_bytes=4096,
        )  # fmt: skip
        ParallelExportCoordinator(config).run()
    assert (tmp_path / "cluster.sgy").read_bytes() == threads.read_bytes()
    assert_no_staging(tmp_path)


def test_sorted_export_writes_kept_raw_ibm_bytes_back(tmp_path) -> None:
    source = write_survey(tmp_path / "odd.sgy", 3, 8, 6)  # IBM floats
    data = bytearray(source.read_bytes())
    size = 240 + 6 * 4
    for trace, word in ((2, 0x4100_0123), (13, 0x4100_0000), (20, 0xC200_0000)):
        at = 3600 + trace * size + 240 + 4  # the second sample: unnormalised / odd zeros
        data[at : at + 4] = word.to_bytes(4, "big")
    source.write_bytes(bytes(data))
    ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", workers=2)).run()
    assert (tmp_path / "ds" / "ibm_raw").is_dir()  # the import kept those traces' bytes
    out = _export(tmp_path / "ds", tmp_path / "sorted.sgy", sort="cdp,offset")
    with segyio.open(source, ignore_geometry=True) as f:
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        offset = f.attributes(segyio.TraceField.offset)[:]
    expected = sorted(range(len(cdp)), key=lambda t: (cdp[t], offset[t]))
    np.testing.assert_array_equal(records(out, 6), records(source, 6)[expected])
