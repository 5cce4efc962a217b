"""Inline, crossline and time-slice views of a dataset with a survey grid.

A mode chooser, a slider over the lines (or samples) with the current number, an
offset chooser for pre-stack data, and the display: variable density, wiggle
(variable area) or both. Sections are read with ``Dataset.inline`` / ``crossline`` /
``sample_slice`` in a background thread, then decimated for display; the GUI thread
only sets images and paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from segycore.dataset.dataset import Dataset

from .background import run_in_background
from .gather_view import MAX_SAMPLES, MAX_TRACES, seismic_colormap
from .wiggle import WiggleOverlay

__all__ = ["MODES", "Section", "SectionView", "load_section"]

MODES = ("Inline", "Crossline", "Time slice")


@dataclass(frozen=True)
class Section:
    """One section ready to display."""

    mode: str
    number: int
    offset: int | None
    data: np.ndarray  # (columns shown, rows shown), float32
    x_label: str
    x_values: np.ndarray  # the line numbers (or bins) along x, before decimation
    step: tuple[int, int]
    clip: float


def load_section(ds: Dataset, mode: str, number: int, offset: int | None) -> Section:
    """Read and decimate one section (runs off the GUI thread)."""
    geometry = ds.geometry
    assert geometry is not None
    if mode == "Inline":
        raw, x_values, x_label = ds.inline(number, offset), geometry.crosslines, "crossline"
    elif mode == "Crossline":
        raw, x_values, x_label = ds.crossline(number, offset), geometry.inlines, "inline"
    else:
        raw, x_values, x_label = ds.sample_slice(number, offset), geometry.crosslines, "crossline"
        raw = raw.T if raw.ndim == 2 else raw.transpose(1, 0, 2).reshape(raw.shape[1], -1)
    if mode != "Time slice" and raw.ndim == 3:  # every offset of each bin side by side
        raw = raw.reshape(-1, raw.shape[-1])
        x_label += " x offset"
    if mode == "Time slice":
        x_label = "crossline (inline down)"
    step_x = max(1, -(-raw.shape[0] // MAX_TRACES))
    step_y = max(1, -(-raw.shape[1] // MAX_SAMPLES))
    data = np.asarray(raw[::step_x, ::step_y], dtype=np.float32)
    finite = np.abs(data[np.isfinite(data)])
    clip = float(np.percentile(finite, 99)) if finite.size else 1.0
    return Section(mode, number, offset, data, x_label, x_values, (step_x, step_y), clip)


class SectionView(QWidget):
    """Sections of a gridded dataset.

    Signals
    -------
    sectionShown(str, int)
        A section (mode, number) is on screen.
    available(bool)
        The dataset set last has (True) or has no (False) survey grid.
    """

    sectionShown = pyqtSignal(str, int)
    available = pyqtSignal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.section: Section | None = None
        self.error = ""
        self._generation = 0
        self._numbers = np.empty(0, np.int64)

        self.mode_box = QComboBox()
        self.mode_box.addItems(MODES)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.number_label = QLabel("")
        self.offset_box = QComboBox()
        self.title = QLabel("")
        self.mode_box.currentTextChanged.connect(self._mode_changed)
        self.slider.valueChanged.connect(self._request)
        self.offset_box.currentIndexChanged.connect(self._request)

        controls = QHBoxLayout()
        controls.addWidget(self.mode_box)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.number_label)
        controls.addWidget(QLabel("Offset"))
        controls.addWidget(self.offset_box)

        self.plot = pg.PlotWidget(background="w")
        self.plot.getViewBox().invertY(True)
        self.image = pg.ImageItem(axisOrder="col-major", autoDownsample=True)
        self.image.setColorMap(seismic_colormap())
        self.plot.addItem(self.image)
        self.wiggle = WiggleOverlay(self.plot, self.image)
        self.display_box = self.wiggle.display_box
        controls.addWidget(self.display_box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Show sections of ``dataset``: its geometry is read in the background, then
        :attr:`available` tells whether it has a grid."""
        self.dataset = None
        self.section = None
        self._generation += 1
        generation = self._generation
        if dataset is None:
            self._geometry_ready(generation, None, None)
            return
        run_in_background(
            self,
            lambda: dataset.geometry,
            lambda geometry: self._geometry_ready(generation, dataset, geometry),
            lambda exc: self._geometry_ready(generation, None, None, str(exc)),
        )

    def _geometry_ready(
        self, generation: int, dataset: Dataset | None, geometry: object, error: str = ""
    ) -> None:
        if generation != self._generation:
            return
        self.dataset = dataset if geometry is not None else None
        self.error = error
        self.setEnabled(geometry is not None)
        self.offset_box.blockSignals(True)
        self.offset_box.clear()
        if geometry is not None:
            if geometry.prestack:
                self.offset_box.addItem("all")
            self.offset_box.addItems([str(int(o)) for o in geometry.offsets])
        self.offset_box.setEnabled(geometry is not None and geometry.prestack)
        self.offset_box.blockSignals(False)
        self._mode_changed(self.mode_box.currentText())
        self.available.emit(geometry is not None)

    def _mode_changed(self, mode: str) -> None:
        ds = self.dataset
        geometry = ds.geometry if ds is not None else None
        if geometry is None:
            self._numbers = np.empty(0, np.int64)
        elif mode == "Inline":
            self._numbers = np.asarray(geometry.inlines)
        elif mode == "Crossline":
            self._numbers = np.asarray(geometry.crosslines)
        else:
            self._numbers = np.arange(ds.n_samples)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self._numbers) - 1))
        self.slider.setValue(len(self._numbers) // 2)
        self.slider.blockSignals(False)
        self._request()

    def show_line(self, mode: str, number: int) -> None:
        """Show the section ``number`` (a line number, or a sample index for slices)."""
        self.mode_box.setCurrentText(mode)
        positions = np.flatnonzero(self._numbers == number)
        if positions.size:
            self.slider.setValue(int(positions[0]))
            self._request()

    def _offset(self) -> int | None:
        if not self.offset_box.isEnabled():  # post-stack: the one offset slot
            return None
        text = self.offset_box.currentText()
        return None if text in ("", "all") else int(text)

    def _request(self) -> None:
        ds = self.dataset
        if ds is None or ds.geometry is None or not len(self._numbers):
            return
        mode = self.mode_box.currentText()
        number = int(self._numbers[self.slider.value()])
        offset = self._offset()
        if mode == "Time slice":
            self.number_label.setText(f"{number * ds.sample_interval / 1000:g} ms")
        else:
            self.number_label.setText(f"{mode.lower()} {number}")
        self._generation += 1
        generation = self._generation

        def shown(section: Section) -> None:
            if generation == self._generation:
                self._display(section)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.error = f"cannot read {mode.lower()} {number}: {exc}"
                self.title.setText(self.error)

        self.title.setText(f"Loading {mode.lower()} {number}...")
        run_in_background(self, lambda: load_section(ds, mode, number, offset), shown, failed)

    def _display(self, section: Section) -> None:
        self.section = section
        ds = self.dataset
        data = section.data
        step_x, step_y = section.step
        rows = data.shape[1] * step_y
        height = rows if section.mode == "Time slice" else rows * ds.sample_interval / 1000.0
        self.image.setImage(data, autoLevels=False)
        self.image.setLevels((-section.clip, section.clip))
        self.image.setRect(QRectF(0.0, 0.0, data.shape[0] * step_x, height))
        if section.mode == "Time slice":
            self.wiggle.show(None)
        else:
            dt = ds.sample_interval / 1000.0 * step_y
            self.wiggle.show(section.data, 0.0, float(step_x), dt, section.clip)
        self.plot.setLabel("bottom", section.x_label)
        self.plot.setLabel("left", "inline index" if section.mode == "Time slice" else "time (ms)")
        self.title.setText(
            f"{section.mode} {section.number}"
            + (f", offset {section.offset}" if section.offset is not None else "")
        )
        self.plot.autoRange()
        self.sectionShown.emit(section.mode, section.number)
