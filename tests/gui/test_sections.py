"""The viewer on top of the complete index and the geometry: gathers of spread-out keys,
inline/crossline/time-slice sections, the wiggle display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore_gui.dataset_panel import DatasetPanel
from segycore_gui.ensemble_source import OrderedTraces, ensemble_source
from segycore_gui.section_view import SectionView
from segycore_gui.wiggle import wiggle_arrays
from tests.helpers import segy_data

pytestmark = pytest.mark.gui


def _import(source: Path, destination: Path, **options) -> Path:
    ParallelImportCoordinator(ImportConfig(source, destination, workers=2, **options)).run()
    return destination


@pytest.fixture(scope="module")
def shots(survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("sections") / "shots.dataset"
    return _import(survey, destination, ensemble_keys=("field_record", "cdp"))


def test_spread_out_cdp_gathers_show_every_trace(qtbot, shots: Path) -> None:
    panel = DatasetPanel()
    qtbot.addWidget(panel)
    ds = open_dataset(shots)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.set_dataset(ds)
    table = ds.ensembles("cdp").to_pydict()
    panel.key_box.setCurrentText("cdp")  # listed in the background
    rows = len(table["value"])
    qtbot.waitUntil(lambda: panel.gather_view.ensemble_count == rows, timeout=5000)
    row = next(i for i, f in enumerate(table["first_trace"]) if f is None)  # spread out
    value = table["value"][row]
    assert panel.ensemble_model.data(panel.ensemble_model.index(row, 1)) == (
        f"{int(ds.ensemble_traces(value, 'cdp')[0]):,}"
    )
    view = panel.gather_view
    view.show_ensemble(row)
    qtbot.waitUntil(lambda: view.gather is not None and view.gather.row == row, timeout=5000)
    np.testing.assert_array_equal(view.gather.data, ds.gather(value, key="cdp"))
    assert f"{table['trace_count'][row]:,} traces" in view.title.text()
    assert not panel.tabs.isTabVisible(1)  # shot gathers: no grid, no sections tab


def test_ordered_traces_reads_through_the_permutation(shots: Path) -> None:
    ds = open_dataset(shots)
    src = ensemble_source(ds, "cdp")
    assert isinstance(src.traces, OrderedTraces)
    order = ds.ensemble_index("cdp").order
    np.testing.assert_array_equal(src.traces[3:9:2, ::5], ds.traces[order[3:9:2]][:, ::5])
    contiguous = ensemble_source(ds, "field_record")
    assert contiguous.traces is ds.traces


@pytest.mark.parametrize("name", ["small.sgy", "small-ps.sgy"])
def test_sections_equal_the_dataset_reads(qtbot, tmp_path: Path, name: str) -> None:
    ds = open_dataset(_import(segy_data(name), tmp_path / "ds"))
    view = SectionView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.available, timeout=5000) as signal:
        view.set_dataset(ds)
    assert signal.args == [True]
    g = ds.geometry
    for mode, number, expected in (
        ("Inline", int(g.inlines[1]), ds.inline(int(g.inlines[1]))),
        ("Crossline", int(g.crosslines[-1]), ds.crossline(int(g.crosslines[-1]))),
    ):
        with qtbot.waitSignal(view.sectionShown, timeout=5000):
            view.show_line(mode, number)
        assert (view.section.mode, view.section.number) == (mode, number)
        np.testing.assert_array_equal(view.section.data, expected.reshape(-1, ds.n_samples))
        qtbot.waitUntil(lambda: view.wiggle.item.arrays is not None, timeout=5000)
        assert view.wiggle.item.arrays.line[0].size == expected.size
    with qtbot.waitSignal(view.sectionShown, timeout=5000):
        view.show_line("Time slice", 5)
    slice_ = ds.sample_slice(5)
    expected = (
        slice_.T if slice_.ndim == 2 else slice_.transpose(1, 0, 2).reshape(slice_.shape[1], -1)
    )
    np.testing.assert_array_equal(view.section.data, expected)
    view.display_box.setCurrentText("Wiggle")
    assert view.image.isVisible()  # a time slice has no wiggles: the image stays
    if g.prestack:
        view.mode_box.setCurrentText("Inline")
        with qtbot.waitSignal(view.sectionShown, timeout=5000):
            view.offset_box.setCurrentText(str(int(g.offsets[1])))
        number = view.section.number
        np.testing.assert_array_equal(view.section.data, ds.inline(number, int(g.offsets[1])))


def test_panel_shows_the_sections_tab_for_a_cube(qtbot, tmp_path: Path) -> None:
    panel = DatasetPanel()
    qtbot.addWidget(panel)
    ds = open_dataset(_import(segy_data("small.sgy"), tmp_path / "ds"))
    with qtbot.waitSignal(panel.section_view.available, timeout=5000):
        panel.set_dataset(ds)
    assert panel.tabs.isTabVisible(1) and panel.tabs.tabText(1) == "Sections"
    qtbot.waitUntil(lambda: panel.section_view.section is not None, timeout=5000)
    panel.section_view.display_box.setCurrentText("Wiggle")
    overlay = panel.section_view.wiggle
    assert overlay.item.isVisible() and not panel.section_view.image.isVisible()
    panel.gather_view.wiggle.display_box.setCurrentText("Both")  # the gather view has one too
    assert panel.gather_view.wiggle.item.isVisible() and panel.gather_view.image.isVisible()


def test_wiggle_arrays() -> None:
    data = np.array([[0.0, 2.0, -2.0, 1.0], [4.0, 0.0, 0.0, -4.0]])
    arrays = wiggle_arrays(data, x0=10.0, dx=2.0, dt=4.0)
    x, y, connect = arrays.line
    np.testing.assert_allclose(x, [10, 11, 9, 10.5, 14, 12, 12, 10])
    np.testing.assert_allclose(y, [0, 4, 8, 12] * 2)
    assert connect.tolist() == [1, 1, 1, 0] * 2  # traces are separate lines
    fx, fy, fconnect = arrays.fill
    assert fconnect.tolist() == [1, 1, 1, 1, 1, 0] * 2
    assert fx.reshape(2, -1)[0].tolist() == [10, 11, 10, 10.5, 10, 10]  # lobes right of 10
    assert fy.reshape(2, -1)[0].tolist() == [0, 4, 8, 12, 12, 0]
    many = wiggle_arrays(np.ones((1000, 3)), max_traces=100)
    assert many.trace_step == 10 and many.line[0].size == 100 * 3


def test_add_index_runs_the_index_job_and_reopens_the_dataset(
    qtbot, window, survey: Path, tmp_path: Path
) -> None:
    from segycore.pipeline.indexer import INDEX_STAGES
    from segycore_gui.index_action import show_index_dialog
    from tests.gui.support import JOB_TIMEOUT_MS

    destination = _import(survey, tmp_path / "plain.dataset")
    assert not window.index_action.isEnabled()
    with qtbot.waitSignal(window.panel.loaded, timeout=5000):
        window.open_dataset(destination)  # opens in the background
    assert window.index_action.isEnabled()
    dialogs = []
    show_index_dialog(window, dialogs.append)  # the dataset's fields are read off-thread
    qtbot.waitUntil(lambda: bool(dialogs), timeout=5000)
    dialog = dialogs[0]
    dialog.check("cdp", "offset")
    dialog.geometry.setChecked(False)
    assert dialog.options() == {"ensemble_keys": ["cdp", "offset"], "geometry_keys": None}
    panel = window.panel
    with (
        qtbot.waitSignal(panel.loaded, timeout=JOB_TIMEOUT_MS),  # reopened after the job
        qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished,
    ):
        dialog.accept()
    state, result = finished.args
    assert state == "done", result
    assert result["keys"] == ["cdp", "offset"]
    assert [title for title, _ in window.stage_dialogs] == [INDEX_STAGES[0].name]
    assert "Indexed 192 traces" in window.last_message.text
    keys = [panel.key_box.itemText(i) for i in range(panel.key_box.count())]
    assert keys == ["field_record", "cdp", "offset"]
    ds = open_dataset(destination)
    panel.key_box.setCurrentText("cdp")  # listed in the background
    rows = ds.ensembles("cdp").num_rows
    qtbot.waitUntil(lambda: panel.gather_view.ensemble_count == rows, timeout=5000)
    row = next(i for i, f in enumerate(ds.ensembles("cdp").to_pydict()["first_trace"]) if f is None)
    panel.gather_view.show_ensemble(row)
    view = panel.gather_view
    qtbot.waitUntil(lambda: view.gather is not None and view.gather.row == row, timeout=5000)
    value = ds.ensembles("cdp").column("value")[row].as_py()
    np.testing.assert_array_equal(view.gather.data, ds.gather(value, key="cdp"))


def test_add_index_with_a_bad_key_reports_and_changes_nothing(
    qtbot, window, survey: Path, tmp_path: Path
) -> None:
    from tests.gui.support import JOB_TIMEOUT_MS

    destination = _import(survey, tmp_path / "plain.dataset")
    before = sorted(p.name for p in (destination / "index").iterdir())
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        window.start_index(destination, ensemble_keys=["no_such_field"])
    state, info = finished.args
    assert state == "failed" and "unknown trace header field" in info["error"]
    assert sorted(p.name for p in (destination / "index").iterdir()) == before


def test_sections_and_add_index_never_touch_a_file_on_the_gui_thread(
    qtbot, window, tmp_path: Path
) -> None:
    from segycore_gui.index_action import show_index_dialog
    from tests.gui.file_access import FileAccessRecorder
    from tests.gui.support import JOB_TIMEOUT_MS

    destination = _import(segy_data("small-ps.sgy"), tmp_path / "ps.dataset")
    panel = window.panel
    with FileAccessRecorder([tmp_path]) as recorder:
        with qtbot.waitSignal(panel.section_view.available, timeout=5000):
            window.open_dataset(destination)
        view = panel.section_view
        qtbot.waitUntil(lambda: view.section is not None, timeout=5000)
        for mode, number in (("Crossline", 2), ("Time slice", 3), ("Inline", 1)):
            with qtbot.waitSignal(view.sectionShown, timeout=5000):
                view.show_line(mode, number)
        view.display_box.setCurrentText("Both")
        qtbot.waitUntil(lambda: view.wiggle.item.arrays is not None, timeout=5000)
        dialogs = []
        show_index_dialog(window, dialogs.append)
        qtbot.waitUntil(lambda: bool(dialogs), timeout=5000)
        dialogs[0].check("cdp")
        with (
            qtbot.waitSignal(panel.loaded, timeout=JOB_TIMEOUT_MS),
            qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished,
        ):
            dialogs[0].accept()
        panel.key_box.setCurrentText("cdp")
        qtbot.waitUntil(lambda: panel.gather_view.gather is not None, timeout=5000)
        qtbot.wait(100)
    assert finished.args[0] == "done", finished.args
    assert recorder.on_gui_thread == [], recorder.on_gui_thread
    names = {Path(a.path).name for a in recorder.elsewhere}
    assert {"trace_map.npy", "geometry.json", "traces.npy"} <= names


def test_import_dialog_custom_fields_and_geometry_bytes(qtbot, window, tmp_path: Path) -> None:
    from segycore.format.synthetic import write_records
    from tests.gui.support import JOB_TIMEOUT_MS

    il = np.repeat(np.arange(3, 6), 4).astype(np.int32)
    xl = np.tile(np.arange(1, 5), 3).astype(np.int32)
    samples = np.random.default_rng(2).standard_normal((12, 5)).astype(np.float32)
    source = write_records(
        tmp_path / "c.sgy", samples, raw_fields={233: ("i4", il), 17: ("i4", xl)}
    )
    dialog = window.show_import_dialog(source)
    qtbot.waitUntil(lambda: dialog.scan is not None, timeout=10_000)
    dialog.geometry_options.header_fields.setText("il:233:int32, xl:17:int32")
    dialog.geometry_options.boxes[0].setCurrentText("il")
    dialog.geometry_options.boxes[1].setCurrentText("17")  # a byte position works too
    options = dialog.options()
    assert options["header_fields"] == ("il:233:int32", "xl:17:int32")
    assert options["geometry_keys"] == ("il", 17, "offset")
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        dialog.accept()
    assert finished.args[0] == "done", finished.args
    ds = open_dataset(source.with_suffix(".dataset"))
    assert ds.geometry.shape == (3, 4, 1)
    np.testing.assert_array_equal(ds.inline(4), samples[4:8])
    np.testing.assert_array_equal(ds.header("il"), il)
    dialog = window.show_import_dialog(source)
    qtbot.waitUntil(lambda: dialog.scan is not None, timeout=10_000)
    dialog.destination_edit.setText(str(tmp_path / "bad.dataset"))
    dialog.geometry_options.header_fields.setText("il:300:int32")
    with qtbot.waitSignal(window.jobFinished, timeout=JOB_TIMEOUT_MS) as finished:
        dialog.accept()
    assert finished.args[0] == "failed" and "must start at byte" in finished.args[1]["error"]
    assert not (tmp_path / "bad.dataset").exists()
