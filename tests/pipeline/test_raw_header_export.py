"""Export reads only the stored raw headers while ``headers.parquet`` is as imported,
and rebuilds every field once it was edited (or the byte order changes, or the dataset
predates the fingerprint); every way gives the right bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    open_dataset,
)
from segycore.dataset.header_blocks import FINGERPRINT_KEY, headers_fingerprint
from segycore.format.synthetic import write_survey


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, Path]:
    # 3,000 traces of 50 samples; 64 KiB export chunks: many chunks per worker
    source = write_survey(tmp_path / "s.sgy", n_shots=15, traces_per_shot=200, n_samples=50)
    dataset = tmp_path / "ds"
    ParallelImportCoordinator(ImportConfig(source, dataset, workers=2)).run()
    return source, dataset


def export(dataset: Path, out: Path, **options: object) -> ParallelExportCoordinator:
    config = ExportConfig(dataset, out, workers=2, chunk_bytes=1 << 16, **options)
    coordinator = ParallelExportCoordinator(config)
    coordinator.run()
    return coordinator


def rewrite_metadata(dataset: Path, change) -> None:
    path = dataset / "metadata.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def test_import_records_the_fingerprint(imported: tuple[Path, Path]) -> None:
    _, dataset = imported
    metadata = json.loads((dataset / "metadata.json").read_text())
    assert metadata[FINGERPRINT_KEY] == headers_fingerprint(dataset / "headers.parquet")


def test_unedited_export_is_raw_only_and_byte_exact(
    imported: tuple[Path, Path], tmp_path: Path
) -> None:
    source, dataset = imported
    coordinator = export(dataset, tmp_path / "out.sgy")
    assert coordinator.raw_headers_only
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()


def test_raw_only_really_skips_the_columns(imported: tuple[Path, Path], tmp_path: Path) -> None:
    """An edit that the fingerprint does not see is ignored: proof the columns went unread."""
    source, dataset = imported
    table = pq.read_table(dataset / "headers.parquet")
    i = table.schema.get_field_index("cdp")
    table = table.set_column(i, "cdp", [np.full(table.num_rows, 7, np.int32)])
    pq.write_table(table, dataset / "headers.parquet")
    rewrite_metadata(
        dataset,
        lambda m: m.update({FINGERPRINT_KEY: headers_fingerprint(dataset / "headers.parquet")}),
    )
    export(dataset, tmp_path / "out.sgy")
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()


def test_update_headers_turns_raw_only_off_and_the_edit_is_written(
    imported: tuple[Path, Path], tmp_path: Path
) -> None:
    _, dataset = imported
    n = open_dataset(dataset).n_traces
    open_dataset(dataset).update_headers({"cdp": np.arange(n, dtype=np.int32) + 1000})
    coordinator = export(dataset, tmp_path / "out.sgy")
    assert not coordinator.raw_headers_only
    out = np.fromfile(tmp_path / "out.sgy", np.uint8)[3600:].reshape(n, -1)
    cdp = out[:, 20:24].copy().view(">i4").ravel()
    np.testing.assert_array_equal(cdp, np.arange(n) + 1000)


def test_dataset_without_fingerprint_rebuilds_fields(
    imported: tuple[Path, Path], tmp_path: Path
) -> None:
    source, dataset = imported
    rewrite_metadata(dataset, lambda m: m.pop(FINGERPRINT_KEY))
    coordinator = export(dataset, tmp_path / "out.sgy")
    assert not coordinator.raw_headers_only
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()


def test_byte_order_change_rebuilds_fields(imported: tuple[Path, Path], tmp_path: Path) -> None:
    _, dataset = imported
    coordinator = export(dataset, tmp_path / "le.sgy", endian="little")
    assert not coordinator.raw_headers_only
    back = tmp_path / "back"
    ParallelImportCoordinator(ImportConfig(tmp_path / "le.sgy", back, workers=2)).run()
    original, again = open_dataset(dataset), open_dataset(back)
    assert again.byte_order == "little"
    np.testing.assert_array_equal(again.traces, original.traces)
    for field in ("cdp", "offset", "field_record"):
        np.testing.assert_array_equal(again.header(field), original.header(field))
