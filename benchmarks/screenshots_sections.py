"""Screenshots of the section views and the wiggle display, under a real X server (Xvfb).

Generates a small 3D post-stack cube (dipping reflectors, crossline-major, with a gap of
missing traces) and a shot-ordered survey, imports both, opens them in
:class:`segycore_gui.MainWindow` and grabs ``docs/screenshots/inline_section.png``
(variable density + wiggle), ``docs/screenshots/time_slice.png`` and
``docs/screenshots/cdp_gather_wiggle.png`` (a CDP gathered from all over a
shot-ordered file). Xvfb is started and stopped by ``benchmarks/screenshots.py``'s helper.

    python benchmarks/screenshots_sections.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from screenshots import run_in_xvfb, wait_for  # noqa: E402

__all__ = ["main", "write_cube"]


def write_cube(path: Path, n_il: int = 60, n_xl: int = 80, n_samples: int = 300) -> Path:
    """A crossline-major cube of dipping Ricker reflectors with a hole of missing traces."""
    from segycore.format.synthetic import write_records

    il, xl = np.meshgrid(np.arange(n_il) + 1000, np.arange(n_xl) * 2 + 300, indexing="ij")
    il, xl = il.T.reshape(-1), xl.T.reshape(-1)  # crossline-major file order
    keep = ~((np.abs(il - 1030) < 6) & (np.abs(xl - 380) < 12))
    il, xl = il[keep], xl[keep]
    t = np.arange(n_samples)[None, :]
    data = np.zeros((il.size, n_samples))
    for t0, dip_il, dip_xl, amp in (
        (60, 0.6, 0.2, 1.0),
        (150, -0.3, 0.5, -0.8),
        (230, 0.1, -0.4, 0.6),
    ):
        arrival = t0 + dip_il * (il - 1000)[:, None] + dip_xl * (xl - 300)[:, None] / 2
        arg = (np.pi * 0.06 * (t - arrival)) ** 2
        data += amp * (1 - 2 * arg) * np.exp(-arg)
    data += 0.05 * np.random.default_rng(0).standard_normal(data.shape)
    return write_records(path, data.astype(np.float32), {"inline": il, "crossline": xl})


def take(out_dir: Path) -> list[Path]:
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from segycore import ImportConfig, ParallelImportCoordinator
    from segycore.format.synthetic import write_survey

    app = QApplication([sys.argv[0]])
    from segycore_gui import MainWindow

    out_dir.mkdir(parents=True, exist_ok=True)
    shots = [out_dir / n for n in ("inline_section.png", "time_slice.png", "cdp_gather_wiggle.png")]
    with tempfile.TemporaryDirectory(prefix="segycore-shots-") as scratch:
        folder = Path(scratch)
        cube = write_cube(folder / "cube.sgy")
        ParallelImportCoordinator(ImportConfig(cube, folder / "cube.dataset", workers=2)).run()
        line = write_survey(folder / "line.sgy", 24, 96, 500, format_code=5)
        keys = ("field_record", "cdp")
        ParallelImportCoordinator(
            ImportConfig(line, folder / "line.dataset", workers=2, ensemble_keys=keys)
        ).run()
        settings = QSettings(str(folder / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, show_message_boxes=False)
        window.setGeometry(0, 0, 1400, 860)
        window.show()
        wait_for(window.isVisible, 10)
        screen = app.primaryScreen()

        def grab(path: Path) -> None:
            settle = time.monotonic() + 0.7
            wait_for(lambda: time.monotonic() > settle, 5)
            g = window.frameGeometry()
            screen.grabWindow(0, g.x(), g.y(), g.width(), g.height()).save(str(path))

        panel = window.panel
        window.open_dataset(folder / "cube.dataset")

        wait_for(lambda: panel.tabs.isTabVisible(1), 20)
        panel.tabs.setCurrentIndex(1)
        view = panel.section_view
        view.display_box.setCurrentText("Both")
        view.show_line("Inline", 1030)
        wait_for(lambda: view.section is not None and view.section.number == 1030, 20)
        wait_for(lambda: view.wiggle.item.arrays is not None, 20)
        grab(shots[0])
        view.show_line("Time slice", 150)
        wait_for(lambda: view.section is not None and view.section.mode == "Time slice", 20)
        grab(shots[1])

        loaded: list[bool] = []
        panel.loaded.connect(lambda: loaded.append(True))
        window.open_dataset(folder / "line.dataset")
        gather = panel.gather_view
        wait_for(lambda: bool(loaded), 20)
        panel.tabs.setCurrentIndex(0)
        panel.key_box.setCurrentText("cdp")
        wait_for(lambda: gather.ensemble_count > 100, 20)  # listed in the background
        gather.wiggle.display_box.setCurrentText("Both")
        gather.show_ensemble(60)
        wait_for(lambda: gather.gather is not None and gather.gather.row == 60, 20)
        wait_for(lambda: gather.wiggle.item.arrays is not None, 20)
        grab(shots[2])
        window.close()
    app.quit()
    return shots


def main(argv: list[str] | None = None) -> int:
    return run_in_xvfb(__file__, take, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
