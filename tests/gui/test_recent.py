"""Recent datasets: newest first, no duplicates, bounded, and saved for the next start."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings

from segycore_gui.recent import RECENT_KEY, RecentDatasets

pytestmark = pytest.mark.gui


def test_recent_datasets_are_saved_for_the_next_start(qtbot, tmp_path: Path) -> None:
    ini = str(tmp_path / "gui.ini")
    recent = RecentDatasets(QSettings(ini, QSettings.Format.IniFormat), limit=3)
    for name in ("a", "b", "c", "b", "d"):
        recent.add(tmp_path / name)
    expected = [str(tmp_path / n) for n in ("d", "b", "c")]
    assert recent.paths == expected

    def saved() -> bool:
        return QSettings(ini, QSettings.Format.IniFormat).value(RECENT_KEY, [], list) == expected

    qtbot.waitUntil(saved, timeout=5000)  # written by a background thread
    again = RecentDatasets(QSettings(ini, QSettings.Format.IniFormat), limit=3)
    assert again.paths == expected


def test_recent_menu_greys_out_datasets_that_are_gone(qtbot, window, tmp_path: Path) -> None:
    there, gone = tmp_path / "there.dataset", tmp_path / "gone.dataset"
    there.mkdir()
    window.recent.add(gone)
    window.recent.add(there)
    window._rebuild_recent_menu()
    actions = {a.text(): a for a in window.recent_menu.actions()}
    assert set(actions) == {str(there), str(gone)}
    qtbot.waitUntil(lambda: not actions[str(gone)].isEnabled(), timeout=5000)  # checked off-thread
    assert actions[str(there)].isEnabled()
    assert actions[str(gone)].toolTip() == "no longer there"
