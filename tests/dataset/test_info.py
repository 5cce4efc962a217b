"""``segycore info`` on datasets: the geometry lines against segyio's view of the cube."""

from __future__ import annotations

from pathlib import Path

import segyio

from segycore import ImportConfig, ParallelImportCoordinator
from segycore.dataset.info import describe, render
from tests.helpers import segy_data


def _import(name: str, destination: Path) -> Path:
    ParallelImportCoordinator(ImportConfig(segy_data(name), destination, workers=1)).run()
    return destination


def test_info_shows_the_grid(tmp_path: Path) -> None:
    path = _import("small-ps.sgy", tmp_path / "ps")
    info = describe(path)
    text = render(info)
    with segyio.open(segy_data("small-ps.sgy")) as f:
        ilines, xlines, offsets = list(f.ilines), list(f.xlines), list(f.offsets)
    assert info["geometry"]["n_inlines"] == len(ilines)
    assert f"inlines       {ilines[0]}-{ilines[-1]} step 1 ({len(ilines)})" in text
    assert f"crosslines    {xlines[0]}-{xlines[-1]} step 1 ({len(xlines)})" in text
    assert f"offsets       {offsets[0]}-{offsets[-1]} step 1 ({len(offsets)})" in text
    n = len(ilines) * len(xlines) * len(offsets)
    assert f"fill          {n:,} of {n:,} bins (100.0%)" in text
    assert "pre-stack grid from inline / crossline / offset" in text
    assert "sorting       inline-major" in text and "offsets interleaved" in text


def test_info_says_why_there_is_no_grid(tmp_path: Path) -> None:
    text = render(describe(_import("shot-gather.sgy", tmp_path / "shots")))
    assert "geometry        no grid: the inline field (inline) is 0 in every trace" in text
