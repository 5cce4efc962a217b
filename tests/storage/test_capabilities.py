"""Every system-specific call has a portable fallback, and each fallback runs here.

The capability table is switched off one entry at a time (and all at once by
``SEGYCORE_FORCE_FALLBACKS=all``, which CI runs the I/O-heavy folders with).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    SegyFormatError,
)
from segycore.format.synthetic import write_survey
from segycore.runtime.progress import ProgressBlock, StageSpec, block_name
from segycore.storage import merge
from segycore.storage.capabilities import (
    CAPABILITIES,
    FORCE_FALLBACKS_ENV,
    Capabilities,
    arm_parent_death_signal,
    forced,
)
from segycore.storage.fileio import pread_exact, pwrite_all
from tests.helpers import REPO, assert_no_staging, assert_supervisor_dies_with_front_end


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("caps")
    return write_survey(folder / "s.sgy", n_shots=5, traces_per_shot=40, n_samples=150)


# -- the table -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["all", "positional_io,parent_death"])
def test_the_environment_switches_capabilities_off(value: str) -> None:
    code = (
        "import dataclasses, json;"
        "from segycore.storage.capabilities import CAPABILITIES as C;"
        "print(json.dumps(dataclasses.asdict(C)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env=_env(**{FORCE_FALLBACKS_ENV: value}),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    caps = json.loads(done.stdout)
    off = set(Capabilities.names()) if value == "all" else set(value.split(","))
    assert {name for name, on in caps.items() if not on} >= off
    assert all(not caps[name] for name in off)


def test_an_unknown_capability_name_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import segycore.storage.capabilities"],
        capture_output=True, text=True, timeout=60, env=_env(**{FORCE_FALLBACKS_ENV: "warp"}),
    )  # fmt: skip
    assert done.returncode != 0
    assert "unknown capability 'warp'" in done.stderr


def test_forced_restores_the_table() -> None:
    before = dict(vars(CAPABILITIES))
    with forced("positional_io") as caps:
        assert caps.positional_io is False
    assert dict(vars(CAPABILITIES)) == before


# -- positional I/O ----------------------------------------------------------------------------
def _ended(offset: int) -> SegyFormatError:
    return SegyFormatError(f"ended at {offset}")


@pytest.mark.parametrize("force", [False, True], ids=["positional", "seek-fallback"])
def test_reads_and_writes_at_offsets(force: bool, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    original = bytes(range(256)) * 4
    path.write_bytes(original)
    fd = os.open(path, os.O_RDWR)
    try:
        with forced("positional_io") if force else contextlib.nullcontext():
            view = memoryview(bytearray(100))
            pread_exact(fd, view, 300, _ended)
            assert bytes(view) == original[300:400]
            pwrite_all(fd, memoryview(b"\xff" * 10), 1000)
            with pytest.raises(SegyFormatError, match="ended at 1024"):
                pread_exact(fd, memoryview(bytearray(50)), 1000, _ended)
    finally:
        os.close(fd)
    assert path.read_bytes() == original[:1000] + b"\xff" * 10 + original[1010:]


def test_round_trip_without_positional_calls(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on Windows: ``os.preadv`` and ``os.pwrite`` do not exist at all."""
    monkeypatch.delattr(os, "preadv")
    monkeypatch.delattr(os, "pwrite")
    with forced("positional_io"):
        ParallelImportCoordinator(ImportConfig(survey, tmp_path / "ds", workers=3)).run()
        for segments in (False, True):
            out = tmp_path / f"out-{segments}.sgy"
            config = ExportConfig(tmp_path / "ds", out, workers=3, segments=segments)
            ParallelExportCoordinator(config).run()
            assert out.read_bytes() == survey.read_bytes()
    assert_no_staging(tmp_path)


# -- merge --------------------------------------------------------------------------------------
def test_merge_falls_back_to_plain_reads(survey: Path, tmp_path: Path) -> None:
    ParallelImportCoordinator(ImportConfig(survey, tmp_path / "ds", workers=2)).run()
    with forced("copy_file_range", "sendfile"):
        assert "copy_file_range" not in merge.available_methods()
        assert "sendfile" not in merge.available_methods()
        out = tmp_path / "out.sgy"
        ParallelExportCoordinator(ExportConfig(tmp_path / "ds", out, segments=True)).run()
        assert out.read_bytes() == survey.read_bytes()


# -- parent death -------------------------------------------------------------------------------
def test_parent_death_signal_can_be_switched_off() -> None:
    with forced("parent_death"):
        assert arm_parent_death_signal() is False


def test_the_watcher_takes_the_supervisor_along_without_the_signal(
    survey: Path, tmp_path: Path
) -> None:
    """With no parent-death signal (macOS, Windows) the supervisor's watcher thread
    notices its front end is gone and stops, removing what it wrote."""
    assert_supervisor_dies_with_front_end(
        survey,
        tmp_path,
        rate_limit=2,
        supervisor_timeout=15,
        env=_env(**{FORCE_FALLBACKS_ENV: "parent_death"}),
    )


# -- shared-memory names -------------------------------------------------------------------------
def test_short_block_names_fit_macos_limit() -> None:
    with forced("long_shm_names"):
        name = block_name(4_194_304)  # the largest Linux pid
        assert len("/" + name) <= 31
        with ProgressBlock.create("import", [StageSpec("a", "A", "traces", True)], 1) as block:
            assert len("/" + block.name) <= 31
            other = ProgressBlock.attach(block.name)
            other.close()
    assert len(block_name(4_194_304)) > len(name) or not CAPABILITIES.long_shm_names
