"""Screenshots for the documentation, taken under a real X server (Xvfb).

Starts Xvfb on a free display (from :99), generates a small survey, imports it through
:class:`segycore_gui.MainWindow` (rate-limited so the parallel stage lasts a few seconds) and
grabs ``docs/screenshots/stage_dialog.png`` mid-stage, then the main window with a
gather on screen as ``docs/screenshots/main_window.png``. Xvfb is stopped by its pid.

    python benchmarks/screenshots.py        # needs Debian's xvfb package
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT_DIR = ROOT / "docs" / "screenshots"
SCREEN = "1600x1000x24"


def free_display(first: int = 99) -> int:
    """The first X display number from ``first`` with neither a socket nor a lock file."""
    for number in range(first, first + 100):
        if not (
            Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


@contextmanager
def xvfb(first: int = 99) -> Iterator[str]:
    """Run Xvfb on a free display while the block runs; yield its ``DISPLAY``."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb not found (Debian: apt-get install -y xvfb)")
    number = free_display(first)
    process = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 10
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Xvfb did not start on :{number}")
            time.sleep(0.05)
        yield f":{number}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Run the Qt event loop until ``condition()`` holds (or fail after ``timeout`` s)."""
    from PyQt6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    deadline = time.monotonic() + timeout
    poll.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise SystemExit(f"screenshots: gave up waiting after {timeout:.0f} s")


def take_screenshots(out_dir: Path) -> list[Path]:
    """Import a generated survey through the GUI and grab the two screenshots."""
    from PyQt6.QtCore import QRect, QSettings
    from PyQt6.QtWidgets import QApplication

    from segycore.format.synthetic import write_survey

    app = QApplication([sys.argv[0]])
    from segycore_gui import MainWindow

    out_dir.mkdir(parents=True, exist_ok=True)
    shots = [out_dir / "stage_dialog.png", out_dir / "main_window.png"]
    with tempfile.TemporaryDirectory(prefix="segycore-shots-") as scratch:
        folder = Path(scratch)
        survey = write_survey(folder / "line-7.sgy", n_shots=24, traces_per_shot=120, n_samples=750)
        settings = QSettings(str(folder / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, show_message_boxes=False)
        window.setGeometry(0, 0, 1400, 860)
        window.show()
        wait_for(lambda: window.isVisible(), 10)
        finished: list[str] = []
        window.jobFinished.connect(lambda state, info: finished.append(state))
        window.start_import(
            survey,
            folder / "line-7.dataset",
            workers=2,
            ensemble_keys=("field_record", "cdp"),
            rate_limit=2.0,  # MB/s, and small chunks: the stage lasts seconds, in steps
            chunk_bytes=256 * 1024,
        )

        def halfway() -> bool:
            snap = window.runner.snapshot
            dialog = window.stage_dialog
            return (
                dialog is not None
                and dialog.isVisible()
                and snap is not None
                and snap.state == "running"
                and snap.stage_index == 0
                and 0.4 * snap.stages[0].total < snap.stages[0].done < snap.stages[0].total
            )

        wait_for(halfway, 60)
        dialog = window.stage_dialog
        area = (
            dialog.frameGeometry().adjusted(-30, -30, 30, 30).intersected(QRect(0, 0, 1600, 1000))
        )
        screen = app.primaryScreen()
        screen.grabWindow(0, area.x(), area.y(), area.width(), area.height()).save(str(shots[0]))

        wait_for(lambda: bool(finished), 120)
        if finished[0] != "done":
            raise SystemExit(f"import {finished[0]}: {window.last_message}")
        view = window.panel.gather_view
        wait_for(lambda: view.gather is not None, 30)
        window.panel.ensemble_table.selectRow(6)
        wait_for(lambda: view.gather is not None and view.gather.row == 6, 30)
        view.clip.setValue(98.0)
        settle = time.monotonic() + 0.5
        wait_for(lambda: time.monotonic() > settle, 5)
        geometry = window.frameGeometry()
        screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(
            str(shots[1])
        )
        window.close()
    app.quit()
    return shots


def run_in_xvfb(
    script: str,
    take: Callable[[Path], list[Path]],
    description: str,
    argv: list[str] | None = None,
) -> int:
    """The command line of a screenshot script: ``take`` runs in a child under Xvfb.

    The parent starts Xvfb and runs ``script --take`` in it; Qt lives only in the child,
    so a Qt abort cannot leave Xvfb behind.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the PNG files")
    parser.add_argument("--take", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.take:
        for path in take(args.out):
            print(f"wrote {path}")
        return 0
    with xvfb() as display:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        child = [sys.executable, script, "--take", "--out", str(args.out)]
        return subprocess.run(child, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    return run_in_xvfb(__file__, take_screenshots, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
