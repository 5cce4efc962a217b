"""Variable-density display of one ensemble (a shot, a CDP ...) with a seismic colour map.

Traces are read from the dataset's memory map in a background thread (a gather of a
big file may be tens of MB on a cold disk), decimated to at most
:data:`MAX_TRACES` x :data:`MAX_SAMPLES` for display, and clipped at a percentile of
the absolute amplitude, scaled by a gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, pyqtSignal
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .background import run_in_background
from .wiggle import WiggleOverlay

__all__ = ["MAX_SAMPLES", "MAX_TRACES", "Gather", "GatherView", "seismic_colormap"]

MAX_TRACES = 2000
MAX_SAMPLES = 4000


def seismic_colormap() -> pg.ColorMap:
    """Dark blue - blue - white - red - dark red: negative blue, positive red."""
    colors = [(0, 0, 77), (0, 0, 255), (255, 255, 255), (255, 0, 0), (128, 0, 0)]
    return pg.ColorMap(np.linspace(0.0, 1.0, len(colors)), colors)


@dataclass(frozen=True)
class Gather:
    """One ensemble ready to display: decimated samples and where they came from."""

    row: int
    first_trace: int
    end_trace: int
    trace_step: int
    sample_step: int
    data: np.ndarray  # (shown traces, shown samples), float32
    amplitude: np.ndarray  # |data| percentiles 0..100, for the clip control


def load_gather(
    traces: np.ndarray, row: int, first: int, end: int, max_traces: int, max_samples: int
) -> Gather:
    """Read traces ``first:end`` (decimated to fit) as float32, with amplitude percentiles."""
    trace_step = max(1, -(-(end - first) // max_traces))
    sample_step = max(1, -(-traces.shape[1] // max_samples))
    # a copy, made here: a view would leave the memory map's page faults (disk reads)
    # to whoever touches the pixels next, the GUI thread
    data = np.array(traces[first:end:trace_step, ::sample_step], dtype=np.float32, copy=True)
    magnitude = np.abs(data[np.isfinite(data)])
    percentiles = (
        np.percentile(magnitude, np.arange(101)) if magnitude.size else np.zeros(101)
    ).astype(np.float64)
    return Gather(row, first, end, trace_step, sample_step, data, percentiles)


class GatherView(QWidget):
    """One ensemble at a time, with previous/next, clip and gain.

    Signals
    -------
    ensembleChanged(int)
        The ensemble row now shown.
    """

    ensembleChanged = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._traces: np.ndarray | None = None
        self._first = np.empty(0, np.int64)
        self._end = np.empty(0, np.int64)
        self._values = np.empty(0, np.int64)
        self._key = ""
        self._interval_ms = 1.0
        self._row = -1
        self._generation = 0
        self.gather: Gather | None = None
        self.error = ""

        self.previous_button = QPushButton("< Previous")
        self.next_button = QPushButton("Next >")
        self.title = QLabel("No dataset")
        self.clip = QDoubleSpinBox(suffix=" %", decimals=1, minimum=50.0, maximum=100.0)
        self.clip.setValue(99.0)
        self.clip.setToolTip("Clip at this percentile of the absolute amplitude")
        self.gain = QDoubleSpinBox(prefix="x ", decimals=2, minimum=0.01, maximum=1000.0)
        self.gain.setValue(1.0)
        self.gain.setToolTip("Gain: amplitudes are multiplied by this before clipping")
        self.previous_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.clip.valueChanged.connect(self._apply_levels)
        self.gain.valueChanged.connect(self._apply_levels)

        controls = QHBoxLayout()
        controls.addWidget(self.previous_button)
        controls.addWidget(self.next_button)
        controls.addWidget(self.title, 1)
        controls.addWidget(QLabel("Clip"))
        controls.addWidget(self.clip)
        controls.addWidget(QLabel("Gain"))
        controls.addWidget(self.gain)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "trace")
        self.plot.setLabel("left", "time (ms)")
        self.plot.getViewBox().invertY(True)
        self.image = pg.ImageItem(axisOrder="col-major", autoDownsample=True)
        self.image.setColorMap(seismic_colormap())
        self.plot.addItem(self.image)
        self.wiggle = WiggleOverlay(self.plot, self.image)  # wiggle display beside density
        controls.addWidget(self.wiggle.display_box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        self._update_buttons()

    # -- source ----------------------------------------------------------------------
    def set_source(
        self,
        traces: np.ndarray | None,
        values: np.ndarray,
        first: np.ndarray,
        end: np.ndarray,
        key: str,
        sample_interval_us: float,
    ) -> None:
        """Show the ensembles (``first``/``end`` trace rows) of ``traces``; the first one."""
        self._traces = traces
        self._values, self._first, self._end = values, first, end
        self._key = key
        self._interval_ms = (sample_interval_us or 1000.0) / 1000.0
        self._row = -1
        self._generation += 1  # a gather still loading from the old source is dropped
        self.gather = None
        self.image.clear()
        self.title.setText("No ensembles" if traces is None or not len(first) else "")
        if traces is not None and len(first):
            self.show_ensemble(0)
        self._update_buttons()

    @property
    def ensemble_count(self) -> int:
        return len(self._first)

    @property
    def current(self) -> int:
        """The ensemble row asked for last (-1: none)."""
        return self._row

    # -- navigation ------------------------------------------------------------------
    def show_ensemble(self, row: int) -> None:
        """Show ensemble ``row`` (0-based, in trace order); loads in the background."""
        if self._traces is None or not 0 <= row < len(self._first) or row == self._row:
            return
        self._row = row
        self._generation += 1
        generation = self._generation
        traces, first, end = self._traces, int(self._first[row]), int(self._end[row])
        self.title.setText(f"Loading ensemble {row + 1:,} of {len(self._first):,}...")
        self._update_buttons()
        self.ensembleChanged.emit(row)

        def shown(gather: Gather) -> None:
            if generation == self._generation:
                self._display(gather)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.error = f"cannot read ensemble {row + 1}: {exc}"
                self.title.setText(self.error)

        run_in_background(
            self,
            lambda: load_gather(traces, row, first, end, MAX_TRACES, MAX_SAMPLES),
            shown,
            failed,
        )

    def next(self) -> None:
        self.show_ensemble(self._row + 1)

    def previous(self) -> None:
        self.show_ensemble(self._row - 1)

    # -- drawing ---------------------------------------------------------------------
    def _display(self, gather: Gather) -> None:
        self.gather = gather
        self.image.setImage(gather.data, autoLevels=False)
        n_samples = gather.data.shape[1] * gather.sample_step
        self.image.setRect(
            QRectF(
                gather.first_trace,
                0.0,
                gather.end_trace - gather.first_trace,
                n_samples * self._interval_ms,
            )
        )
        self._apply_levels()
        self.wiggle.show(
            gather.data, gather.first_trace, gather.trace_step,
            gather.sample_step * self._interval_ms, float(gather.amplitude[99]),
        )  # fmt: skip
        count = gather.end_trace - gather.first_trace
        text = (
            f"Ensemble {gather.row + 1:,} of {len(self._first):,}: "
            f"{self._key} = {int(self._values[gather.row]):,}, {count:,} traces"
        )
        if gather.trace_step > 1 or gather.sample_step > 1:
            text += f" (every {gather.trace_step} trace, {gather.sample_step} sample shown)"
        self.title.setText(text)
        self.plot.autoRange()

    def levels(self) -> tuple[float, float]:
        """The amplitudes mapped to the ends of the colour map (symmetric around 0)."""
        if self.gather is None:
            return (-1.0, 1.0)
        clip = float(np.interp(self.clip.value(), np.arange(101), self.gather.amplitude))
        clip = clip / self.gain.value() if clip > 0 else 1.0
        return (-clip, clip)

    def _apply_levels(self) -> None:
        if self.gather is not None:
            self.image.setLevels(self.levels())

    def _update_buttons(self) -> None:
        self.previous_button.setEnabled(self._row > 0)
        self.next_button.setEnabled(0 <= self._row < len(self._first) - 1)
