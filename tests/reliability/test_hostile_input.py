"""Hostile input: every malformed file fails with one clear message and writes nothing.

Each case of :data:`malformed.CASES` runs through the in-process API (the import
coordinator and ``segycore info``); a representative set also runs through the command
line as a user runs it, all at once in child processes with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segycore import ImportConfig, ParallelImportCoordinator, SegycoreError
from segycore.cli import main
from tests.reliability.malformed import CASES, Case, SegySpec, case_named, valid_segy
from tests.reliability.support import (
    CLI_TIMEOUT,
    REPO,
    assert_one_error_line,
    can_drop_dac_override,
    drop_dac_override,
    file_state,
    listing,
)

#: Cases the command line runs too: one per region and kind of problem.
CLI_CASES = (
    "empty",
    "cut-in-binary-header",
    "cut-in-extended-header",
    "cut-in-first-trace-samples",
    "cut-in-later-samples",
    "too-many-samples",
    "trailing-bytes",
    "zero-traces",
    "format--1",
    "format-99",
    "extended-count-past-end",
    "random-bytes",
    "text-file",
    "directory",
    "missing",
    "fifo",
    "unreadable",
)


def _skip_if_root_reads_it(case: Case) -> None:
    if case.unprivileged and os.geteuid() == 0:
        pytest.skip(
            "running as root, which reads a chmod 000 file in-process; the command-line "
            "test runs this case with CAP_DAC_OVERRIDE dropped instead"
        )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_import_api_refuses_with_one_clear_error(case: Case, tmp_path: Path) -> None:
    _skip_if_root_reads_it(case)
    source = case.build(tmp_path)
    before, names = file_state(source), listing(tmp_path)
    with pytest.raises((SegycoreError, OSError)) as raised:
        ParallelImportCoordinator(ImportConfig(source, tmp_path / "out.dataset", workers=2)).run()
    message = str(raised.value)
    assert message and "\n" not in message
    for fragment in case.expect:
        assert fragment.lower() in message.lower(), (fragment, message)
    assert listing(tmp_path) == names  # nothing at or beside the destination
    assert file_state(source) == before


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_info_refuses_with_one_error_line(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _skip_if_root_reads_it(case)
    source = case.build(tmp_path)
    before = file_state(source)
    assert main(["info", str(source)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "internal error" not in lines[0] and not captured.out
    assert file_state(source) == before


def test_a_wrong_byte_order_override_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "big.sgy"
    source.write_bytes(valid_segy(SegySpec(endian="big")))
    with pytest.raises(SegycoreError, match="unknown sample format code 256.*little-endian"):
        ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", endian="little")).run()
    assert listing(tmp_path) == {"big.sgy"}


# -- the command line ------------------------------------------------------------------
def _cli_preexec(case: Case) -> object:
    """What the child needs so that the case fails as it would for a normal user."""
    if case.unprivileged and os.geteuid() == 0:
        return drop_dac_override if can_drop_dac_override() else None
    return None


@pytest.fixture(scope="module")
def cli_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[Path, object, subprocess.CompletedProcess[str] | None]]]:
    """Run every CLI case at once; per case its folder, source state and the result."""
    root = tmp_path_factory.mktemp("cli")
    started = {}
    for name in (*CLI_CASES, "wrong-endian"):
        folder = root / name
        folder.mkdir()
        if name == "wrong-endian":
            source = folder / "big.sgy"
            source.write_bytes(valid_segy())
            extra = ["--endian", "little"]
            preexec = None
        else:
            case = case_named(name)
            source = case.build(folder)
            extra = []
            preexec = _cli_preexec(case)
            if case.unprivileged and os.geteuid() == 0 and preexec is None:
                started[name] = (folder, None, None)
                continue
        command = [sys.executable, "-m", "segycore.cli", "import", str(source)]
        process = subprocess.Popen(
            [*command, str(folder / "out.dataset"), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            preexec_fn=preexec,  # type: ignore[arg-type]
        )
        started[name] = (folder, (source, file_state(source), listing(folder)), process)
    results = {}
    try:
        for name, (folder, before, process) in started.items():
            if process is None:
                results[name] = (folder, before, None)
                continue
            out, err = process.communicate(timeout=CLI_TIMEOUT)
            done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
            results[name] = (folder, before, done)
    finally:
        for _, _, process in started.values():
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    yield results
    unreadable = root / "unreadable" / "unreadable.sgy"
    if unreadable.exists():
        unreadable.chmod(0o644)


@pytest.mark.parametrize("name", [*CLI_CASES, "wrong-endian"])
def test_cli_refuses_with_one_error_line_and_writes_nothing(
    name: str, cli_runs: dict[str, tuple[Path, object, subprocess.CompletedProcess[str] | None]]
) -> None:
    folder, before, done = cli_runs[name]
    if done is None:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE: root reads chmod 000")
    expect = ("unknown sample format code 256",) if name == "wrong-endian" else None
    expect = expect or case_named(name).expect
    assert_one_error_line(done, *expect)
    assert not done.stdout
    source, state, names = before  # type: ignore[misc]
    assert listing(folder) == names  # nothing at or beside the destination
    assert file_state(source) == state
