"""Import of every shared SEG-Y file, checked against segyio; stages, workers, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import segyio

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.errors import JobCancelled, SegyError, SegyFormatError
from segycore.format.spec import TRACE_FIELDS, sample_format
from segycore.format.synthetic import write_survey
from tests.helpers import VALID, assert_no_staging, is_little, segy_data


def _segyio_open(path: Path, little: bool):
    return segyio.open(path, ignore_geometry=True, endian="little" if little else "big")


def _expected_samples(name: str, path: Path, little: bool) -> np.ndarray:
    """segyio's samples; formats 7 and 15 (which segyio cannot decode) from Format3's."""
    code = int(name.split("Format")[1].split("m")[0].split("l")[0]) if "Format" in name else 0
    if code in (7, 15):
        twin = path.with_name(path.name.replace(f"Format{code}", "Format3"))
        with _segyio_open(twin, little) as f:
            values = f.trace.raw[:].astype(np.int64)
        return (values % 2**24 if code == 15 else values).astype(np.float32)
    with _segyio_open(path, little) as f:
        return f.trace.raw[:]


def _import(source: Path, destination: Path, **options) -> Path:
    coordinator = ParallelImportCoordinator(ImportConfig(source, destination, **options))
    coordinator.run()
    return destination


@pytest.mark.filterwarnings("ignore:Unknown trace value format")  # segyio on formats 7, 15
@pytest.mark.parametrize("name", VALID)
def test_import_matches_segyio(name: str, tmp_path: Path) -> None:
    source = segy_data(name)
    little = is_little(name)
    ds = open_dataset(_import(source, tmp_path / "ds", workers=2))
    expected = _expected_samples(name, source, little)
    assert ds.traces.dtype == sample_format(ds.sample_format).dtype
    np.testing.assert_array_equal(ds.traces, expected)
    headers = ds.headers()
    with _segyio_open(source, little) as f:
        for field in TRACE_FIELDS:
            column = headers.column(field.name).to_numpy()
            np.testing.assert_array_equal(
                column, f.attributes(field.byte)[:], err_msg=f"{name}: {field.name}"
            )
        assert ds.metadata["binary_header"]["format_code"] == f.bin[segyio.BinField.Format]
    keys = headers.column("field_record").to_numpy()
    index = ds.ensembles("field_record")
    starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]  # plain oracle
    np.testing.assert_array_equal(index.column("first_trace").to_numpy(), starts)
    np.testing.assert_array_equal(index.column("value").to_numpy(), keys[starts])
    assert index.column("trace_count").to_numpy().sum() == ds.n_traces
    assert_no_staging(tmp_path)


def test_shot_gather_ensembles_by_any_field_name(tmp_path: Path) -> None:
    ds = open_dataset(
        _import(segy_data("shot-gather.sgy"), tmp_path / "ds", ensemble_keys=["FieldRecord", 21])
    )
    assert ds.ensemble_keys == ["field_record", "cdp"]
    values = ds.ensembles("FieldRecord").column("value").to_pylist()
    assert values == [2, 3, 5, 8]
    gather = ds.gather(5, key=9)
    records = ds.header("field_record")
    assert gather.shape[0] == int((records == 5).sum())
    np.testing.assert_array_equal(gather, ds.traces[records == 5])


def test_small_ps_has_multi_trace_cdp_ensembles(tmp_path: Path) -> None:
    ds = open_dataset(_import(segy_data("small-ps.sgy"), tmp_path / "ds", ensemble_keys=["CDP"]))
    counts = ds.ensembles("cdp").column("trace_count").to_numpy()
    assert counts.max() > 1
    assert counts.sum() == ds.n_traces


def test_metadata_keeps_headers(tmp_path: Path) -> None:
    source = segy_data("multi-text.sgy")
    ds = open_dataset(_import(source, tmp_path / "ds"))
    raw = source.read_bytes()
    headers = ds.file_headers
    assert headers.textual == raw[:3200]
    assert headers.binary == raw[3200:3600]
    assert b"".join(headers.extended) == raw[3600 : 3600 + 4 * 3200]
    assert ds.metadata["textual_encoding"] == "ebcdic"
    assert len(ds.metadata["extended_textual_headers"]) == 4
    assert set(ds.metadata["stage_seconds"]) == {
        "import",
        "merge_headers",
        "build_index",
        "cleanup",
    }


@pytest.mark.parametrize("name", ["broken.sgy", "multiformats/Format4msb.sgy"])
def test_bad_input_writes_nothing(name: str, tmp_path: Path) -> None:
    source = segy_data(name)
    before = source.read_bytes()
    with pytest.raises(SegyFormatError):
        _import(source, tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []
    assert source.read_bytes() == before


def test_existing_destination_needs_overwrite(tmp_path: Path) -> None:
    source = segy_data("small.sgy")
    destination = _import(source, tmp_path / "ds")
    with pytest.raises(SegyError, match="already exists"):
        _import(source, destination)
    _import(segy_data("f3.sgy"), destination, overwrite=True)
    assert open_dataset(destination).n_traces == 414
    assert_no_staging(tmp_path)


def test_stage_callbacks_report_progress(tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=10, traces_per_shot=100, n_samples=100)
    seen: dict[str, list] = {}
    ParallelImportCoordinator(
        ImportConfig(source, tmp_path / "ds", workers=2, chunk_bytes=64 * 1024)
    ).run(lambda stage, progress: seen.setdefault(stage, []).append(progress))
    assert list(seen) == ["import", "merge_headers", "build_index", "cleanup"]
    final = seen["import"][-1]
    assert (final.done, final.total, final.active_workers) == (1000, 1000, 0)
    assert seen["merge_headers"][-1] == (2, 2)
    assert seen["build_index"][-1] == (1000, 1000)
    assert seen["cleanup"][-1] == (2, 2)


def test_cancel_in_parallel_stage_leaves_nothing(tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=20, traces_per_shot=100, n_samples=200)
    coordinator = ParallelImportCoordinator(
        ImportConfig(source, tmp_path / "ds", workers=2, chunk_bytes=16 * 1024)
    )

    def cancel_midway(stage: str, progress) -> None:
        if stage == "import" and progress.done > 0:
            coordinator.cancel()

    with pytest.raises(JobCancelled):
        coordinator.run(cancel_midway)
    assert coordinator.was_cancelled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sgy"]


def test_workers_give_identical_datasets(tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=500, traces_per_shot=200, n_samples=25)
    datasets = [
        open_dataset(_import(source, tmp_path / f"ds{w}", workers=w, chunk_bytes=1 << 20))
        for w in (1, 2, 4)
    ]
    first = datasets[0]
    assert first.n_traces == 100_000
    for other in datasets[1:]:
        assert (first.path / "traces.npy").read_bytes() == (other.path / "traces.npy").read_bytes()
        assert pq.read_table(first.headers_path).equals(pq.read_table(other.headers_path))
        assert first.ensembles().equals(other.ensembles())
    assert first.ensembles().num_rows == 500
