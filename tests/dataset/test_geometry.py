"""Survey geometry against segyio: generated 3D pre- and post-stack surveys in every trace
order with missing and duplicate traces, custom byte positions, and the shared cubes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import ImportConfig, ParallelImportCoordinator, open_dataset
from segycore.dataset.geometry import build_geometry
from segycore.dataset.indexing import build_indexes
from segycore.errors import SegyError
from segycore.format.synthetic import write_records
from tests.helpers import segy_data

N_SAMPLES = 6


def cube_traces(
    inlines: np.ndarray,
    crosslines: np.ndarray,
    offsets: np.ndarray | None,
    major: str,
    il_dir: int,
    xl_dir: int,
    offset_mode: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inline, crossline, offset) per trace, in the requested file order."""
    ils, xls = inlines[::il_dir], crosslines[::xl_dir]
    offs = offsets if offsets is not None else np.array([0])
    lines = (
        [(i, x) for i in ils for x in xls]
        if major == "inline"
        else [(i, x) for x in xls for i in ils]
    )
    if offset_mode == "interleaved":
        rows = [(i, x, o) for i, x in lines for o in offs]
    else:  # grouped: all traces of one offset, then the next
        rows = [(i, x, o) for o in offs for i, x in lines]
    il, xl, off = (np.array(c, dtype=np.int32) for c in zip(*rows, strict=True))
    return il, xl, off


def write_cube(
    path: Path,
    il: np.ndarray,
    xl: np.ndarray,
    off: np.ndarray,
    keep: np.ndarray | None = None,
    raw: bool = False,
) -> Path:
    if keep is not None:
        il, xl, off = il[keep], xl[keep], off[keep]
    rng = np.random.default_rng(il.size)
    samples = rng.standard_normal((il.size, N_SAMPLES)).astype(np.float32)
    if raw:  # inline at byte 17, crossline at byte 13 (as segyio's iline=17, xline=13)
        fields = {"offset": off}
        raw_fields = {17: ("i4", il), 13: ("i4", xl)}
        return write_records(path, samples, fields, raw_fields)
    return write_records(path, samples, {"inline": il, "crossline": xl, "offset": off})


def segyio_oracle(path: Path, il_byte: int = 189, xl_byte: int = 193):
    """Per trace (inline, crossline, offset) and samples, as segyio reads the headers."""
    with segyio.open(path, ignore_geometry=True) as f:
        return (
            f.attributes(il_byte)[:],
            f.attributes(xl_byte)[:],
            f.attributes(segyio.TraceField.offset)[:],
            f.trace.raw[:],
        )


def expected_grid(path: Path, il_byte: int = 189, xl_byte: int = 193) -> tuple:
    """The dense (n_il, n_xl, n_off, n_samples) grid the headers describe, zeros where missing
    (the first trace of a bin wins)."""
    il, xl, off, samples = segyio_oracle(path, il_byte, xl_byte)
    ils, xls, offs = np.unique(il), np.unique(xl), np.unique(off)
    grid = np.zeros((ils.size, xls.size, offs.size, samples.shape[1]), samples.dtype)
    seen = set()
    for t in range(il.size):
        b = (int(np.searchsorted(ils, il[t])), int(np.searchsorted(xls, xl[t])))
        b += (int(np.searchsorted(offs, off[t])),)
        if b not in seen:
            seen.add(b)
            grid[b] = samples[t]
    return ils, xls, offs, grid, len(seen)


def _import(source: Path, dest: Path, **options) -> Path:
    ParallelImportCoordinator(ImportConfig(source, dest, workers=2, **options)).run()
    return dest


ORDERS = list(itertools.product(("inline", "crossline"), (1, -1), (1, -1)))


@pytest.mark.parametrize(("major", "il_dir", "xl_dir"), ORDERS)
@pytest.mark.parametrize("missing", [False, True])
def test_poststack_any_order_against_segyio_headers(
    tmp_path: Path, major: str, il_dir: int, xl_dir: int, missing: bool
) -> None:
    il, xl, off = cube_traces(
        np.arange(10, 22, 2), np.arange(100, 127, 3), None, major, il_dir, xl_dir, "interleaved"
    )
    keep = np.random.default_rng(5).random(il.size) > 0.2 if missing else None
    source = write_cube(tmp_path / "cube.sgy", il, xl, off, keep)
    ds = open_dataset(_import(source, tmp_path / "ds"))
    ils, xls, _, grid, filled = expected_grid(source)
    geometry = ds.geometry
    assert geometry is not None and not geometry.prestack
    np.testing.assert_array_equal(geometry.inlines, ils)
    np.testing.assert_array_equal(geometry.crosslines, xls)
    assert geometry.filled_bins == filled and geometry.duplicate_traces == 0
    assert geometry.sorting["major"] == major
    assert geometry.sorting["directions"] == {
        "inline": "increasing" if il_dir > 0 else "decreasing",
        "crossline": "increasing" if xl_dir > 0 else "decreasing",
    }
    for i, number in enumerate(ils):
        np.testing.assert_array_equal(ds.inline(int(number)), grid[i, :, 0])
    for j, number in enumerate(xls):
        np.testing.assert_array_equal(ds.crossline(int(number)), grid[:, j, 0])
    for s in range(N_SAMPLES):
        np.testing.assert_array_equal(ds.sample_slice(s), grid[:, :, 0, s])


@pytest.mark.parametrize("offset_mode", ["interleaved", "grouped"])
@pytest.mark.parametrize(("major", "il_dir", "xl_dir"), ORDERS[::3])
def test_prestack_any_order_with_missing_traces(
    tmp_path: Path, offset_mode: str, major: str, il_dir: int, xl_dir: int
) -> None:
    il, xl, off = cube_traces(
        np.arange(1, 6), np.arange(20, 28), np.array([100, 250, 400]), major, il_dir, xl_dir,
        offset_mode,
    )  # fmt: skip
    keep = np.random.default_rng(9).random(il.size) > 0.15
    source = write_cube(tmp_path / "ps.sgy", il, xl, off, keep)
    ds = open_dataset(_import(source, tmp_path / "ds"))
    ils, xls, offs, grid, filled = expected_grid(source)
    geometry = ds.geometry
    assert geometry.prestack and geometry.filled_bins == filled
    np.testing.assert_array_equal(geometry.offsets, offs)
    assert geometry.sorting["offsets"] == offset_mode
    for i, number in enumerate(ils):
        np.testing.assert_array_equal(ds.inline(int(number)), grid[i])
        for k, offset in enumerate(offs):
            np.testing.assert_array_equal(ds.inline(int(number), int(offset)), grid[i, :, k])
    for j, number in enumerate(xls):
        np.testing.assert_array_equal(ds.crossline(int(number)), grid[:, j])
        np.testing.assert_array_equal(ds.crossline(int(number), 250), grid[:, j, 1])
    np.testing.assert_array_equal(ds.sample_slice(3), grid[..., 3])
    np.testing.assert_array_equal(ds.sample_slice(2, offset=400), grid[:, :, 2, 2])


def test_duplicates_are_reported_and_the_first_kept(tmp_path: Path) -> None:
    il, xl, off = cube_traces(np.arange(1, 4), np.arange(1, 5), None, "inline", 1, 1, "x")
    il, xl, off = np.append(il, [2, 3]), np.append(xl, [2, 4]), np.append(off, [0, 0])
    source = write_cube(tmp_path / "dup.sgy", il, xl, off)
    ds = open_dataset(_import(source, tmp_path / "ds"))
    _, _, _, grid, _ = expected_grid(source)
    geometry = ds.geometry
    assert geometry.duplicate_traces == 2
    assert [(d["trace"], d["kept_trace"]) for d in geometry.duplicate_examples] == [
        (12, 5),
        (13, 11),
    ]
    assert ds.geometry_info["duplicate_traces"] == 2
    np.testing.assert_array_equal(ds.inline(2), grid[1, :, 0])


def test_custom_byte_positions(tmp_path: Path) -> None:
    il, xl, off = cube_traces(np.arange(5, 9), np.arange(1, 7), None, "crossline", -1, 1, "x")
    source = write_cube(tmp_path / "raw.sgy", il, xl, off, raw=True)
    ds = open_dataset(_import(source, tmp_path / "ds"))
    assert ds.geometry is None  # bytes 189/193 are zero
    assert "0 in every trace" in ds.geometry_info["reason"]
    keys = {"inline": "energy_source_point", "crossline": "trace_number", "offset": "offset"}
    (tmp_path / "out").mkdir()
    result = build_indexes(ds.headers_path, ds.n_traces, [], tmp_path / "out", keys)
    ils, xls, _, grid, _ = expected_grid(source, il_byte=17, xl_byte=13)
    geometry = result.geometry
    np.testing.assert_array_equal(geometry.inlines, ils)
    np.testing.assert_array_equal(geometry.crosslines, xls)
    assert geometry.sorting["major"] == "crossline"
    with segyio.open(source, iline=17, xline=13) as f:  # segyio's own geometry as a 2nd oracle
        np.testing.assert_array_equal(np.sort(f.ilines), ils)  # segyio: in file order
        assert f.sorting == segyio.TraceSortingFormat.CROSSLINE_SORTING
        numbers = geometry.trace_map[:, :, 0]
        for i, number in enumerate(ils):
            np.testing.assert_array_equal(ds.traces[numbers[i]], f.iline[number])
            np.testing.assert_array_equal(ds.traces[numbers[i]], grid[i, :, 0])


@pytest.mark.parametrize("name", ["small.sgy", "f3.sgy", "small-lsb.sgy"])
def test_shared_poststack_cubes_match_segyio_geometry(name: str, tmp_path: Path) -> None:
    source = segy_data(name)
    ds = open_dataset(_import(source, tmp_path / "ds"))
    endian = "little" if "lsb" in name else "big"
    with segyio.open(source, endian=endian) as f:
        geometry = ds.geometry
        np.testing.assert_array_equal(geometry.inlines, f.ilines)
        np.testing.assert_array_equal(geometry.crosslines, f.xlines)
        assert geometry.filled_bins == f.tracecount
        major = {
            segyio.TraceSortingFormat.INLINE_SORTING: "inline",
            segyio.TraceSortingFormat.CROSSLINE_SORTING: "crossline",
        }[f.sorting]
        assert geometry.sorting["major"] == major
        for number in f.ilines:
            np.testing.assert_array_equal(ds.inline(int(number)), f.iline[number])
        for number in f.xlines:
            np.testing.assert_array_equal(ds.crossline(int(number)), f.xline[number])
        for s in range(0, ds.n_samples, 7):
            np.testing.assert_array_equal(ds.sample_slice(s), f.depth_slice[s])


def test_shared_prestack_matches_segyio_geometry(tmp_path: Path) -> None:
    source = segy_data("small-ps.sgy")
    ds = open_dataset(_import(source, tmp_path / "ds"))
    with segyio.open(source) as f:
        geometry = ds.geometry
        assert geometry.prestack
        np.testing.assert_array_equal(geometry.offsets, f.offsets)
        for number in f.ilines:
            lines = ds.inline(int(number))
            assert lines.shape == (len(f.xlines), len(f.offsets), ds.n_samples)
            for k, offset in enumerate(f.offsets):
                np.testing.assert_array_equal(lines[:, k], f.iline[number, offset])
                np.testing.assert_array_equal(ds.inline(int(number), int(offset)), lines[:, k])
        for number in f.xlines:
            for k, offset in enumerate(f.offsets):
                np.testing.assert_array_equal(
                    ds.crossline(int(number))[:, k], f.xline[number, offset]
                )


def test_bad_requests_are_clear_errors(tmp_path: Path) -> None:
    ds = open_dataset(_import(segy_data("small.sgy"), tmp_path / "ds"))
    with pytest.raises(SegyError, match="inline 99 is not in the survey"):
        ds.inline(99)
    with pytest.raises(SegyError, match="crossline 0 is not in the survey"):
        ds.crossline(0)
    with pytest.raises(SegyError, match="offset 7 is not in the survey"):
        ds.inline(1, offset=7)
    with pytest.raises(SegyError, match="sample index 50 outside"):
        ds.sample_slice(50)


def test_no_grid_on_a_shot_line(tmp_path: Path) -> None:
    ds = open_dataset(_import(segy_data("shot-gather.sgy"), tmp_path / "ds"))
    assert ds.geometry is None
    with pytest.raises(SegyError, match="has no survey geometry"):
        ds.inline(1)


def test_in_memory_builder_any_blocking() -> None:
    il, xl, off = cube_traces(
        np.arange(3), np.arange(4), np.arange(2), "crossline", -1, 1, "grouped"
    )
    whole, _ = build_geometry(il, xl, off)
    small, _ = build_geometry(il, xl, off, block=5)
    np.testing.assert_array_equal(whole.trace_map, small.trace_map)
    assert whole.sorting == small.sorting
    assert whole.filled_bins == il.size
