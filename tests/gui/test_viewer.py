"""The dataset viewer: ensembles, the gather display, headers paged lazily from Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore_gui.dataset_panel import DatasetPanel
from segycore_gui.gather_view import MAX_TRACES, load_gather, seismic_colormap
from segycore_gui.table_models import PLACEHOLDER, HeaderTableModel

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def dataset(survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("viewer") / "survey.dataset"
    config = ImportConfig(survey, destination, workers=2, ensemble_keys=("field_record", "cdp"))
    ParallelImportCoordinator(config).run()
    return destination


@pytest.fixture
def panel(qtbot, dataset: Path) -> DatasetPanel:
    widget = DatasetPanel()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=5000):
        widget.set_dataset(open_dataset(dataset))
    return widget


def test_panel_shows_headers_and_ensembles(panel: DatasetPanel) -> None:
    ds = panel.dataset
    assert panel.textual_header.toPlainText().startswith("C 1 SEGYCORE SYNTHETIC")
    binary = {
        panel.binary_header.item(r, 0).text(): panel.binary_header.item(r, 1).text()
        for r in range(panel.binary_header.rowCount())
    }
    assert binary["samples_per_trace"] == "200" and binary["format_code"] == "1"
    assert [panel.key_box.itemText(i) for i in range(panel.key_box.count())] == [
        "field_record",
        "cdp",
    ]
    model = panel.ensemble_model
    assert model.rowCount() == ds.ensembles("field_record").num_rows == 4
    assert [model.data(model.index(r, 0)) for r in range(4)] == ["1,001", "1,002", "1,003", "1,004"]
    assert model.data(model.index(1, 1)) == "48" and model.data(model.index(1, 2)) == "48"


def test_gather_follows_the_ensemble_list(qtbot, panel: DatasetPanel) -> None:
    view = panel.gather_view
    ds = panel.dataset
    qtbot.waitUntil(lambda: view.gather is not None and view.gather.row == 0, timeout=5000)
    np.testing.assert_array_equal(view.gather.data, ds.traces[0:48])
    assert not view.previous_button.isEnabled()
    view.next()
    qtbot.waitUntil(lambda: view.gather.row == 1, timeout=5000)
    np.testing.assert_array_equal(view.gather.data, ds.traces[48:96])
    assert panel.ensemble_table.currentIndex().row() == 1
    panel.ensemble_table.selectRow(3)
    qtbot.waitUntil(lambda: view.gather.row == 3, timeout=5000)
    assert not view.next_button.isEnabled()
    assert "1,004" in view.title.text()


def test_clip_and_gain_set_symmetric_levels(qtbot, panel: DatasetPanel) -> None:
    view = panel.gather_view
    qtbot.waitUntil(lambda: view.gather is not None, timeout=5000)
    magnitude = np.abs(view.gather.data)
    view.clip.setValue(100.0)
    low, high = view.levels()
    assert low == -high and high == pytest.approx(magnitude.max(), rel=1e-6)
    view.gain.setValue(2.0)
    assert view.levels()[1] == pytest.approx(magnitude.max() / 2, rel=1e-6)
    view.clip.setValue(90.0)
    assert view.levels()[1] == pytest.approx(np.percentile(magnitude, 90) / 2, rel=1e-6)
    assert tuple(view.image.levels) == pytest.approx(view.levels())


def test_switching_key_lists_its_ensembles(qtbot, panel: DatasetPanel) -> None:
    panel.key_box.setCurrentText("cdp")
    expected = panel.dataset.ensembles("cdp").num_rows
    qtbot.waitUntil(lambda: panel.ensemble_model.rowCount() == expected, timeout=5000)
    assert panel.ensemble_model.rowCount() == panel.dataset.ensembles("cdp").num_rows
    assert panel.gather_view.ensemble_count == panel.ensemble_model.rowCount()


def test_big_gathers_are_decimated_for_display() -> None:
    traces = np.arange(5000 * 10, dtype=np.float32).reshape(5000, 10)
    gather = load_gather(traces, 0, 0, 5000, MAX_TRACES, 4)
    assert gather.data.shape[0] <= MAX_TRACES and gather.data.shape[1] <= 4
    np.testing.assert_array_equal(gather.data, traces[:: gather.trace_step, :: gather.sample_step])
    assert gather.amplitude[-1] == np.abs(gather.data).max()


def test_colormap_is_blue_white_red() -> None:
    lut = seismic_colormap().getLookupTable(nPts=3)
    assert lut[1].tolist()[:3] == [255, 255, 255]
    assert lut[0][2] > lut[0][0] and lut[2][0] > lut[2][2]


def test_header_model_reads_only_the_pages_asked_for(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "headers.parquet"
    n = 1000
    table = pa.table(
        {"field_record": np.arange(n, dtype=np.int32), "cdp": np.arange(n, dtype=np.int32) * 2}
    ).append_column("raw_header", pa.array([b"\0" * 240] * n, pa.binary(240)))
    pq.write_table(table, path, row_group_size=100)
    model = HeaderTableModel()
    model.set_source(path)
    qtbot.waitUntil(lambda: model.rowCount() == n, timeout=5000)  # footer read off-thread
    assert (model.rowCount(), model.columnCount()) == (n, 2)  # raw bytes are not a column
    assert model.columns == ["field_record", "cdp"]
    assert model.data(model.index(555, 1)) == PLACEHOLDER
    with qtbot.waitSignal(model.dataChanged, timeout=5000):
        pass
    assert model.loaded_pages == [5]
    assert model.data(model.index(555, 1)) == "1110"
    assert model.data(model.index(599, 0)) == "599"
    for page in range(10):  # walking through keeps only the last few pages in memory
        model.data(model.index(page * 100, 0))
        qtbot.waitUntil(lambda p=page: p in model.loaded_pages, timeout=5000)
    assert len(model.loaded_pages) < 10 and 9 in model.loaded_pages
    assert not model.errors
