"""The command line for gathers and geometry: ``index``, import's ``--header-field`` and
geometry bytes, export's ``--sort``/``--select``; bad input is one error line, nothing
written. Each command runs its job in a real supervisor process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import open_dataset
from segycore.cli import main
from segycore.format.synthetic import write_records, write_survey
from tests.helpers import tree_digest


@pytest.fixture
def raw_cube(tmp_path: Path) -> Path:
    """A 4 x 5 cube with its line numbers at bytes 17 (inline) and 13 (crossline)."""
    il = np.repeat(np.arange(7, 11), 5).astype(np.int32)
    xl = np.tile(np.arange(1, 6), 4).astype(np.int32)
    samples = np.random.default_rng(1).standard_normal((20, 6)).astype(np.float32)
    return write_records(tmp_path / "raw.sgy", samples, raw_fields={17: ("i4", il), 13: ("i4", xl)})


def test_import_with_custom_fields_as_geometry_keys(raw_cube: Path, tmp_path: Path, capsys) -> None:
    ds_path = tmp_path / "ds"
    argv = ["import", str(raw_cube), str(ds_path), "--quiet", "--workers", "1"]
    argv += ["--header-field", "il:17:int32", "--header-field", "xl:13:int32"]
    assert main([*argv, "--inline-byte", "il", "--crossline-byte", "xl"]) == 0
    ds = open_dataset(ds_path)
    with segyio.open(raw_cube, iline=17, xline=13) as f:
        np.testing.assert_array_equal(ds.geometry.inlines, f.ilines)
        for number in f.ilines:
            np.testing.assert_array_equal(ds.inline(int(number)), f.iline[number])
    assert ds.metadata["header_fields"] == ["il:17:int32", "xl:13:int32"]
    assert main(["info", str(ds_path)]) == 0
    assert "post-stack grid from il / xl" in capsys.readouterr().out


def test_index_command_adds_keys_and_geometry(raw_cube: Path, tmp_path: Path, capsys) -> None:
    ds_path = tmp_path / "ds"
    assert main(["import", str(raw_cube), str(ds_path), "--quiet", "--workers", "1"]) == 0
    assert open_dataset(ds_path).geometry is None
    argv = ["index", str(ds_path), "--ensemble-key", "13", "--inline-byte", "17"]
    assert main([*argv, "--crossline-byte", "13"]) == 0
    out = capsys.readouterr().out
    assert "keys trace_number; geometry: 4 x 5 x 1, 20 bins filled" in out
    ds = open_dataset(ds_path)
    assert ds.ensemble_keys == ["field_record", "trace_number"]
    assert ds.gather(3, key="TraceNumber").shape == (4, 6)
    with segyio.open(raw_cube, iline=17, xline=13) as f:
        np.testing.assert_array_equal(ds.crossline(2), f.xline[2])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ensemble-key", "nope"], "unknown trace header field 'nope'"),
        (["--inline-byte", "3"], "unknown trace header field 3"),
    ],
)
def test_index_bad_input_changes_nothing(tmp_path: Path, capsys, argv, message) -> None:
    source = write_survey(tmp_path / "s.sgy", 2, 8, 10, format_code=5)
    ds_path = tmp_path / "ds"
    assert main(["import", str(source), str(ds_path), "--quiet", "--workers", "1"]) == 0
    digest = tree_digest(ds_path)
    assert main(["index", str(ds_path), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert tree_digest(ds_path) == digest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--header-field", "x:250:int32"], "must start at byte 1..237"),
        (["--header-field", "x:9:float16"], "unknown TYPE 'float16'"),
        (["--ensemble-key", "nope"], "unknown trace header field"),
    ],
)
def test_import_bad_options_write_nothing(tmp_path: Path, capsys, argv, message) -> None:
    source = write_survey(tmp_path / "s.sgy", 2, 8, 10, format_code=5)
    assert main(["import", str(source), str(tmp_path / "ds"), "--quiet", *argv]) == 1
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sgy"]


def test_export_sort_and_select(tmp_path: Path, capsys) -> None:
    source = write_survey(tmp_path / "s.sgy", 4, 12, 10, format_code=5)
    ds_path = tmp_path / "ds"
    assert main(["import", str(source), str(ds_path), "--quiet", "--workers", "2"]) == 0
    out = tmp_path / "cdp.sgy"
    argv = ["export", str(ds_path), str(out), "--quiet", "--sort", "CDP,offset"]
    assert main([*argv, "--select", "offset=50:200", "--select", "cdp=3:9"]) == 0
    with (
        segyio.open(source, ignore_geometry=True) as f,
        segyio.open(out, ignore_geometry=True) as g,
    ):
        cdp = f.attributes(segyio.TraceField.CDP)[:]
        offset = f.attributes(segyio.TraceField.offset)[:]
        keep = [t for t in range(f.tracecount) if 50 <= offset[t] <= 200 and 3 <= cdp[t] <= 9]
        expected = sorted(keep, key=lambda t: (cdp[t], offset[t]))
        np.testing.assert_array_equal(g.trace.raw[:], f.trace.raw[:][expected])
        for t_out, t_in in enumerate(expected):
            assert g.header[t_out] == f.header[t_in]
    for bad, message in (
        (["--select", "cdp=900:999"], "matches no trace"),
        (["--select", "cdp:1:2"], "malformed selection"),
        (["--sort", "cdp,nope"], "unknown trace header field 'nope'"),
    ):
        target = tmp_path / "bad.sgy"
        assert main(["export", str(ds_path), str(target), "--quiet", *bad]) == 1
        assert message in capsys.readouterr().err
        assert not target.exists()
        assert not [p for p in tmp_path.iterdir() if "segycore-tmp" in p.name]
