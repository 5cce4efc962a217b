"""Wiggle display with variable area: each trace a line, its positive lobes filled black.

:func:`wiggle_arrays` (numpy only, safe to run off the GUI thread) turns a block of
traces into the vertices of both paths and :func:`wiggle_paths` those into Qt paths
(``pg.arrayToQPath``, one call each; also off the GUI thread: a 240 x 1000 gather's
two paths took 32 ms there); :class:`WiggleItem` draws them. At most :data:`MAX_WIGGLE_TRACES`
traces are drawn (evenly decimated): more wiggles than pixels show nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject, QRectF
from PyQt6.QtGui import QBrush, QColor, QPainterPath, QPen
from PyQt6.QtWidgets import QComboBox, QGraphicsPathItem

__all__ = [
    "DISPLAYS",
    "MAX_WIGGLE_TRACES",
    "WiggleArrays",
    "WiggleItem",
    "WiggleOverlay",
    "wiggle_arrays",
    "wiggle_paths",
]

MAX_WIGGLE_TRACES = 400
DISPLAYS = ("Variable density", "Wiggle", "Both")


@dataclass(frozen=True)
class WiggleArrays:
    """Vertices of the wiggle lines and of the filled positive lobes (x, y, connect)."""

    line: tuple[np.ndarray, np.ndarray, np.ndarray]
    fill: tuple[np.ndarray, np.ndarray, np.ndarray]
    trace_step: int


def wiggle_arrays(
    data: np.ndarray,
    x0: float = 0.0,
    dx: float = 1.0,
    dt: float = 1.0,
    clip: float | None = None,
    max_traces: int = MAX_WIGGLE_TRACES,
) -> WiggleArrays:
    """Wiggle vertices of ``data`` (n_traces, n_samples): trace ``i`` at ``x0 + i * dx``.

    Amplitudes are scaled so ``clip`` (default: the largest magnitude) spans one trace
    spacing, and clipped there so wiggles never cross more than their neighbour.
    """
    data = np.asarray(data, dtype=np.float64)
    step = max(1, -(-data.shape[0] // max_traces))
    data = data[::step]
    n, m = data.shape
    scale = clip if clip and clip > 0 else float(np.nanmax(np.abs(data))) if data.size else 0.0
    amp = np.zeros_like(data) if scale == 0 else np.clip(data / scale, -1.0, 1.0)
    amp = np.nan_to_num(amp) * dx * step
    base = x0 + np.arange(n)[:, None] * dx * step
    t = np.arange(m) * dt
    x_line = (base + amp).reshape(-1)
    y_line = np.tile(t, n)
    connect = np.ones((n, m), dtype=np.int32)
    connect[:, -1] = 0  # no segment from one trace's end to the next one's start
    # Filled lobes: the positive part, closed along the trace's zero line.
    positive = base + np.maximum(amp, 0.0)
    x_fill = np.concatenate([positive, np.repeat(base, 2, axis=1)], axis=1).reshape(-1)
    y_fill = np.tile(np.concatenate([t, [t[-1] if m else 0.0, 0.0]]), n)
    fill_connect = np.ones((n, m + 2), dtype=np.int32)
    fill_connect[:, -1] = 0
    return WiggleArrays(
        (x_line, y_line, connect.reshape(-1)),
        (x_fill, y_fill, fill_connect.reshape(-1)),
        step,
    )


def wiggle_paths(arrays: WiggleArrays) -> tuple[QPainterPath, QPainterPath]:
    """The line and fill paths of ``arrays`` (QPainterPath is reentrant: any thread)."""
    line = pg.arrayToQPath(*arrays.line[:2], connect=arrays.line[2])
    fill = pg.arrayToQPath(*arrays.fill[:2], connect=arrays.fill[2])
    return line, fill


class WiggleItem(pg.GraphicsObject):
    """The two paths of :func:`wiggle_arrays` as one plot item (lines black, lobes filled)."""

    def __init__(self) -> None:
        super().__init__()
        self._line = QGraphicsPathItem(self)
        self._fill = QGraphicsPathItem(self)
        pen = QPen(QColor(0, 0, 0))
        pen.setCosmetic(True)
        self._line.setPen(pen)
        self._fill.setPen(QPen(QColor(0, 0, 0, 0)))
        self._fill.setBrush(QBrush(QColor(0, 0, 0)))
        self.arrays: WiggleArrays | None = None

    def set_arrays(
        self, arrays: WiggleArrays | None, paths: tuple[QPainterPath, QPainterPath] | None = None
    ) -> None:
        """Show ``arrays`` (None: nothing); ``paths`` from :func:`wiggle_paths`, made in
        the background, spare the GUI thread building them (~15 ms per gather path)."""
        self.prepareGeometryChange()
        self.arrays = arrays
        if arrays is None or not arrays.line[0].size:
            self._line.setPath(QPainterPath())
            self._fill.setPath(QPainterPath())
        else:
            line, fill = paths if paths is not None else wiggle_paths(arrays)
            self._line.setPath(line)
            self._fill.setPath(fill)
        self.update()

    def boundingRect(self):
        if self.arrays is None or not self.arrays.line[0].size:
            return QRectF()
        return self._line.boundingRect().united(self._fill.boundingRect())

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """What auto-range sees: the wiggles' extent, nothing while there are none."""
        if self.arrays is None or not self.arrays.line[0].size:
            return (None, None)
        values = self.arrays.line[ax]
        return (float(values.min()), float(values.max()))

    def paint(self, painter, option, widget=None) -> None:  # children paint themselves
        pass


class WiggleOverlay(QObject):
    """A wiggle layer over an image plot, with its display chooser.

    ``display_box`` offers :data:`DISPLAYS`; :meth:`show` computes the wiggles of the
    data on screen in a background thread and draws them when ready (a newer call
    supersedes an older one).
    """

    def __init__(self, plot: pg.PlotWidget, image: pg.ImageItem) -> None:
        super().__init__(plot)
        self.image = image
        self.item = WiggleItem()
        plot.addItem(self.item)
        self.display_box = QComboBox()
        self.display_box.addItems(DISPLAYS)
        self.display_box.setToolTip("Variable density, wiggle (variable area), or both")
        self.display_box.currentTextChanged.connect(self._apply)
        self._generation = 0
        self.enabled = True
        self._apply(self.display_box.currentText())

    def show(
        self, data: np.ndarray | None, x0: float = 0, dx: float = 1, dt: float = 1, clip: float = 0
    ) -> None:
        """Draw the wiggles of ``data`` (traces at ``x0 + i * dx``, samples ``dt`` apart);
        None: this view has no wiggles (a time slice), the image stays visible."""
        from .background import run_in_background

        self._generation += 1
        generation = self._generation
        self.item.set_arrays(None)
        self.enabled = data is not None
        self._apply(self.display_box.currentText())
        if data is None:
            return

        def ready(made: tuple[WiggleArrays, tuple[QPainterPath, QPainterPath] | None]) -> None:
            if generation == self._generation:
                self.item.set_arrays(*made)

        def make() -> tuple[WiggleArrays, tuple[QPainterPath, QPainterPath] | None]:
            arrays = wiggle_arrays(data, x, dx, dt, clip or None)
            return arrays, wiggle_paths(arrays) if arrays.line[0].size else None

        # Centred on the image's pixel columns: column i covers [x0 + i dx, x0 + (i + 1) dx).
        x = x0 + dx / 2
        run_in_background(self, make, ready, lambda e: None)

    def _apply(self, display: str) -> None:
        self.image.setVisible(display != "Wiggle" or not self.enabled)
        self.item.setVisible(display != "Variable density" and self.enabled)
