"""Export: byte-exact round trips of every shared file, conversions, edits, failures."""

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
from segycore.errors import JobCancelled, SegyError, UnrepresentableValueError
from segycore.format.synthetic import write_survey
from tests.helpers import VALID, assert_no_staging, segy_data


def _import(source: Path, destination: Path, **options) -> Path:
    ParallelImportCoordinator(ImportConfig(source, destination, **options)).run()
    return destination


def _export(dataset: Path, destination: Path, **options) -> Path:
    ParallelExportCoordinator(ExportConfig(dataset, destination, **options)).run()
    return destination


@pytest.mark.parametrize("segments", [False, True], ids=["in-place", "segments"])
@pytest.mark.parametrize("name", VALID)
def test_round_trip_is_byte_exact(name: str, segments: bool, tmp_path: Path) -> None:
    source = segy_data(name)
    dataset = _import(source, tmp_path / "ds", workers=2)
    out = _export(dataset, tmp_path / "out.sgy", workers=2, segments=segments)
    assert out.read_bytes() == source.read_bytes()
    assert_no_staging(tmp_path)


def test_generated_survey_round_trips_with_any_worker_count(tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=500, traces_per_shot=200, n_samples=25)
    dataset = _import(source, tmp_path / "ds", chunk_bytes=1 << 20)
    expected = source.read_bytes()
    for workers in (1, 2, 4):
        for segments in (False, True):
            out = _export(
                dataset,
                tmp_path / f"out{workers}{segments}.sgy",
                workers=workers,
                chunk_bytes=1 << 20,
                segments=segments,
            )
            assert out.read_bytes() == expected, f"{workers} workers, segments={segments}"


def test_ibm_to_ieee_and_back_keeps_values(tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=3, traces_per_shot=20, n_samples=100)
    dataset = _import(source, tmp_path / "ds")
    ieee = _export(dataset, tmp_path / "ieee.sgy", format_code=5)
    with segyio.open(ieee, ignore_geometry=True) as f:
        assert f.bin[segyio.BinField.Format] == 5
        np.testing.assert_array_equal(f.trace.raw[:], open_dataset(dataset).traces)
    back = _export(_import(ieee, tmp_path / "ds-ieee"), tmp_path / "ibm.sgy", format_code=1)
    assert back.read_bytes() == source.read_bytes()


def test_byte_order_change_round_trips(tmp_path: Path) -> None:
    source = segy_data("f3.sgy")
    little = _export(_import(source, tmp_path / "ds"), tmp_path / "lsb.sgy", endian="little")
    assert little.read_bytes() == segy_data("f3-lsb.sgy").read_bytes()


def test_int16_to_float_and_refusal_of_lossy_conversion(tmp_path: Path) -> None:
    dataset = _import(segy_data("f3.sgy"), tmp_path / "ds")
    as_float = _export(dataset, tmp_path / "float.sgy", format_code=5)
    with segyio.open(as_float, ignore_geometry=True) as f:
        np.testing.assert_array_equal(f.trace.raw[:], open_dataset(dataset).traces)
    wide = _import(segy_data("multiformats/Format2msb.sgy"), tmp_path / "ds32")
    values = open_dataset(wide).traces
    assert np.abs(values).max() > 127  # so int8 (format 8) cannot hold them
    with pytest.raises(UnrepresentableValueError, match="format 8 .* cannot hold"):
        _export(wide, tmp_path / "int8.sgy", format_code=8)
    assert not (tmp_path / "int8.sgy").exists()
    ibm = _import(write_survey(tmp_path / "s.sgy", 2, 10, 50), tmp_path / "ds-ibm")
    with pytest.raises(UnrepresentableValueError, match="not an integer"):
        _export(ibm, tmp_path / "int16.sgy", format_code=3)
    assert_no_staging(tmp_path)


def test_format_4_export_is_refused(tmp_path: Path) -> None:
    dataset = _import(segy_data("small.sgy"), tmp_path / "ds")
    with pytest.raises(SegyError, match="format 4 .* not supported"):
        _export(dataset, tmp_path / "f4.sgy", format_code=4)


def test_edited_headers_reach_the_output(tmp_path: Path) -> None:
    source = segy_data("small.sgy")
    dataset = _import(source, tmp_path / "ds")
    ds = open_dataset(dataset)
    new_cdp = np.arange(ds.n_traces, dtype=np.int32) * 7 + 100
    ds.update_headers({"CDP": new_cdp})
    out = _export(dataset, tmp_path / "out.sgy")
    with segyio.open(out, ignore_geometry=True) as f:
        np.testing.assert_array_equal(f.attributes(segyio.TraceField.CDP)[:], new_cdp)
    original = np.frombuffer(source.read_bytes(), np.uint8)
    edited = np.frombuffer(out.read_bytes(), np.uint8)
    changed = np.flatnonzero(original != edited)
    trace_offsets = (changed - 3600) % (240 + 50 * 4)
    assert changed.min() >= 3600 and set(trace_offsets) <= {20, 21, 22, 23}


def test_textual_header_replacement(tmp_path: Path) -> None:
    dataset = _import(segy_data("small.sgy"), tmp_path / "ds")
    out = _export(dataset, tmp_path / "out.sgy", textual_header="C 1 REPROCESSED BY SEGYCORE")
    with segyio.open(out, ignore_geometry=True) as f:
        assert f.text[0].decode("ascii", "replace").startswith("C 1 REPROCESSED BY SEGYCORE")


@pytest.mark.parametrize("stage", ["export", "merge"])
def test_cancel_leaves_nothing(stage: str, tmp_path: Path) -> None:
    source = write_survey(tmp_path / "s.sgy", n_shots=20, traces_per_shot=100, n_samples=500)
    dataset = _import(source, tmp_path / "ds")
    coordinator = ParallelExportCoordinator(
        ExportConfig(dataset, tmp_path / "out.sgy", workers=2, chunk_bytes=16 * 1024, segments=True)
    )

    def cancel_in_stage(key: str, progress) -> None:
        done = progress.done if key == "export" else progress[0]
        if key == stage and done > 0:
            coordinator.cancel()

    with pytest.raises(JobCancelled):
        coordinator.run(cancel_in_stage)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "s.sgy"]


@pytest.mark.parametrize("segments", [False, True], ids=["in-place", "segments"])
def test_merge_stats_and_stage_api(segments: bool, tmp_path: Path) -> None:
    source = segy_data("small.sgy")
    dataset = _import(source, tmp_path / "ds")
    coordinator = ParallelExportCoordinator(
        ExportConfig(dataset, tmp_path / "out.sgy", workers=2, segments=segments)
    )
    segments_written, n_traces, n_samples = coordinator.run_parallel_export()
    assert (n_traces, n_samples, len(segments_written)) == (25, 50, 2 if segments else 0)
    segments = segments_written
    assert coordinator.get_merge_stats(segments)["output_size_bytes"] == source.stat().st_size
    assert coordinator.run_merge(segments, n_samples) == 25
    coordinator.run_cleanup(segments, coordinator.segment_dir)
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()
    assert_no_staging(tmp_path)
