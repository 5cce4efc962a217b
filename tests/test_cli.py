"""The command line: exit codes, one-line errors, info, import/export through the job API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segycore.cli import main
from tests.helpers import assert_no_staging, segy_data


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command as a user runs it (a child process, not a TTY)."""
    return subprocess.run(
        [sys.executable, "-m", "segycore.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_import_then_export_round_trip(tmp_path: Path) -> None:
    source = segy_data("small.sgy")
    done = run_cli("import", str(source), str(tmp_path / "ds"), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "25 traces" in done.stdout
    done = run_cli("export", str(tmp_path / "ds"), str(tmp_path / "out.sgy"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()
    assert_no_staging(tmp_path)


def test_failure_is_one_error_line(tmp_path: Path) -> None:
    done = run_cli("import", str(segy_data("broken.sgy")), str(tmp_path / "ds"))
    assert done.returncode == 1
    assert done.stderr.startswith("error: broken.sgy is truncated")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_source_and_existing_destination(tmp_path: Path, capsys) -> None:
    assert main(["import", str(tmp_path / "nope.sgy"), str(tmp_path / "ds")]) == 1
    assert "error:" in capsys.readouterr().err
    (tmp_path / "ds").mkdir()
    assert main(["import", str(segy_data("small.sgy")), str(tmp_path / "ds")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import"])
    assert exc.value.code == 2


def test_info_on_file_and_dataset(tmp_path: Path, capsys) -> None:
    assert main(["info", str(segy_data("shot-gather.sgy")), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_traces"] == 61 and info["sample_format"] == 1
    assert info["ensembles_in_preview"]["field_record"] == 4
    assert main(["import", str(segy_data("shot-gather.sgy")), str(tmp_path / "ds"), "--quiet"]) == 0
    assert main(["info", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "4 by field_record" in out and "IBM" in out


def test_demo_round_trips(tmp_path: Path) -> None:
    done = run_cli(
        "demo", "--dir", str(tmp_path), "--shots", "3", "--channels", "24", "--samples", "100"
    )
    assert done.returncode == 0, done.stderr
    assert "identical byte for byte" in done.stdout
    assert (tmp_path / "survey.dataset" / "traces.npy").exists()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["import", "{small}", "{tmp}/ds", "--ensemble-key", "foo"], "unknown trace header field"),
        (["import", "{small}", "{tmp}/ds", "--workers", "65"], "workers must be at most 64"),
        (["import", "{small}", "{tmp}/ds", "--rate-limit", "0"], "rate limit must be positive"),
        (
            ["export", "{tmp}/none", "{tmp}/o.sgy", "--format", "13"],
            "unknown sample format code 13",
        ),
        (["export", "{tmp}/none", "{tmp}/o.sgy", "--format", "4"], "sample format 4"),
        (["export", "{tmp}/none", "{tmp}/o.sgy", "--merge-method", "x"], "unknown merge method"),
    ],
    ids=["ensemble-key", "workers", "rate-limit", "format-13", "format-4", "merge-method"],
)
def test_option_mistakes_are_one_error_line(
    command: list[str], expected: str, tmp_path: Path
) -> None:
    args = [a.format(small=segy_data("small.sgy"), tmp=tmp_path) for a in command]
    done = run_cli(*args)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert expected in lines[0]
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_argparse_usage_mistakes_exit_2(tmp_path: Path) -> None:
    done = run_cli("import", str(segy_data("small.sgy")), str(tmp_path / "ds"), "--workers", "0")
    assert done.returncode == 2
    assert "must be at least 1" in done.stderr
    assert list(tmp_path.iterdir()) == []


#: Run by a fresh interpreter: import, index and export ``argv[1]`` with the command
#: line's ``main``, then name the heavy packages the front end itself loaded.
_LIGHT_FRONT_END = """
import sys
from segycore.cli import main
src, tmp = sys.argv[1], sys.argv[2]
codes = [
    main(["import", src, tmp + "/ds", "--workers", "2", "--quiet"]),
    main(["index", tmp + "/ds", "--ensemble-key", "cdp", "--quiet"]),
    main(["export", tmp + "/ds", tmp + "/out.sgy", "--quiet"]),
]
heavy = ("numpy", "pyarrow", "segycore.pipeline.importer", "segycore.pipeline.exporter",
         "segycore.pipeline.indexer")
print(codes, sorted(m for m in heavy if m in sys.modules))
"""


def test_the_front_end_of_a_job_loads_no_numpy_pyarrow_or_coordinator(tmp_path: Path) -> None:
    """The supervisor does the work; the command that starts it stays light (issue 14)."""
    source = segy_data("small.sgy")
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT_FRONT_END, str(source), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[0,", "0,", "0]", "[]"], done.stdout + done.stderr
    assert (tmp_path / "out.sgy").read_bytes() == source.read_bytes()
    assert (tmp_path / "ds" / "index" / "cdp.parquet").is_file()
    assert_no_staging(tmp_path)
