"""The supervisor starts from any script: no main guard, standard input, ``python -c``.

It is started as ``python -m segycore.runtime.supervisor`` with the job as JSON, so
the caller's ``__main__`` is never imported again (its body runs once) and nothing of
the job - no supervisor, no multiprocessing helper - outlives the front end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from segycore import ImportConfig, start_import
from segycore.format.synthetic import write_survey
from segycore.runtime.jobs import supervisor_command
from tests.helpers import REPO, assert_no_staging
from tests.reliability.support import wait_for_progress

#: A user's script as the README writes it: no ``if __name__ == "__main__":`` guard.
SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import segycore

    runs = Path({runs!r})
    with runs.open("a") as log:  # one line per execution of this body
        log.write("ran\\n")
    job = segycore.start_import(segycore.ImportConfig({source!r}, {destination!r}, workers=2))
    snap = job.wait(120)
    print(snap.state, job.result["n_traces"] if job.result else snap.error)
    """
)


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("launch")
    return write_survey(folder / "survey.sgy", n_shots=4, traces_per_shot=50, n_samples=200)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _script(survey: Path, folder: Path) -> tuple[str, Path, Path]:
    runs = folder / "runs.txt"
    destination = folder / "ds"
    text = SCRIPT.format(runs=str(runs), source=str(survey), destination=str(destination))
    return text, runs, destination


@pytest.mark.parametrize("how", ["file", "stdin", "-c"])
def test_a_script_without_main_guard_runs_its_job_once(
    how: str, survey: Path, tmp_path: Path
) -> None:
    text, runs, destination = _script(survey, tmp_path)
    script = tmp_path / "job.py"
    script.write_text(text)
    if how == "file":
        command, stdin = [sys.executable, str(script)], None
    elif how == "stdin":
        command, stdin = [sys.executable, "-"], text
    else:
        command, stdin = [sys.executable, "-c", text], None
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=180, cwd=tmp_path, env=_env()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["done", "200"], done.stdout + done.stderr
    assert runs.read_text() == "ran\n"  # the body ran exactly once: never re-imported
    assert "Traceback" not in done.stderr and "resource_tracker" not in done.stderr
    assert (destination / "traces.npy").exists()
    assert_no_staging(tmp_path)


def _group(pgid: int) -> list[psutil.Process]:
    """Live processes of process group ``pgid``."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


@pytest.mark.skipif(not hasattr(os, "getpgid"), reason="process groups are POSIX")
def test_nothing_of_the_cli_job_outlives_the_command(survey: Path, tmp_path: Path) -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "segycore.cli", "import", str(survey), str(tmp_path / "ds")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=_env(),
        start_new_session=True,  # its own process group, to look for leftovers in
    )
    seen: set[int] = set()
    while cli.poll() is None:  # note every process of the group while the job runs
        seen.update(p.pid for p in _group(cli.pid))
        time.sleep(0.01)
    _, err = cli.communicate()
    assert cli.returncode == 0, err
    assert len(seen) >= 2, "never saw the supervisor run"  # the CLI and its supervisor
    assert _group(cli.pid) == []  # none of them outlives the command
    assert "resource_tracker" not in err


def test_the_supervisor_command_is_a_module_run(survey: Path, tmp_path: Path) -> None:
    """The supervisor is this interpreter running segycore's module, not a spawn child."""
    assert supervisor_command()[-2:] == ["-m", "segycore.runtime.supervisor"]
    job = start_import(ImportConfig(survey, tmp_path / "ds", workers=1, rate_limit=2))
    try:
        wait_for_progress(job, 0)  # the supervisor runs the module by then
        cmdline = psutil.Process(job.pid).cmdline()
        assert cmdline[0] == sys.executable and cmdline[-1] == "segycore.runtime.supervisor"
        assert not any("multiprocessing" in part for part in cmdline)
    finally:
        job.close()
    assert job.snapshot().state == "cancelled"
    assert not psutil.pid_exists(job.pid) or psutil.Process(job.pid).status() == "zombie"


def test_a_garbled_request_fails_the_supervisor_at_start_up() -> None:
    done = subprocess.run(
        supervisor_command(), input="not json", capture_output=True, text=True, timeout=60,
        env=_env(),
    )  # fmt: skip
    assert done.returncode == 2
    assert "bad job request" in done.stderr
