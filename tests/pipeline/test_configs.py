"""Job configs are light: a front end builds and checks one without numpy, pyarrow,
dask, Qt or a coordinator; the old import paths name the same classes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import segycore
from segycore.pipeline import configs, exporter, importer, indexer, stages
from segycore.runtime.registry import job_kind, job_stages
from tests.helpers import REPO

#: Packages (and their submodules) a front end must not load to build a config.
HEAVY = (
    "numpy",
    "pyarrow",
    "pandas",
    "dask",
    "distributed",
    "PyQt6",
    "segycore.pipeline.importer",
    "segycore.pipeline.exporter",
    "segycore.pipeline.indexer",
    "segycore.pipeline.cluster",
    "segycore.dataset.dataset",
    "segycore.format.layout",
)

#: Runs a ``segycore`` command's own code up to the job start, in a fresh interpreter:
#: ``start_*`` is replaced by a stub that keeps the config the command built (or the
#: error that refused it before any job started).
BUILD_AS_THE_CLI_DOES = textwrap.dedent(
    """
    import json, sys
    import segycore.runtime.jobs as jobs
    from segycore.cli import build_parser
    from segycore.pipeline.options import config_to_data

    built = []

    class Built(Exception):
        pass

    def keep(config):
        built.append(config)
        raise Built

    jobs.start_import = jobs.start_export = jobs.start_index = keep
    args = build_parser().parse_args(json.loads(sys.argv[1]))
    error = None
    try:
        args.func(args)
    except Built:
        pass
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    config = built[0] if built else None
    heavy = json.loads(sys.argv[2])
    print(json.dumps({
        "class": f"{type(config).__module__}.{type(config).__qualname__}" if built else None,
        "data": config_to_data(config) if built else None,
        "error": error,
        "loaded": sorted(
            m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
        ),
    }))
    """
)


def build_in_fresh_interpreter(argv: list[str]) -> dict:
    """What a fresh interpreter built, and loaded, running the command ``argv``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AS_THE_CLI_DOES, json.dumps(argv), json.dumps(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _has_distributed() -> bool:
    return importlib.util.find_spec("distributed") is not None


COMMANDS = [
    pytest.param(
        [
            "import",
            "{tmp}/s.sgy",
            "{tmp}/s.dataset",
            "--workers",
            "2",
            "--header-field",
            "iline2:189:int32",
            "--ensemble-key",
            "iline2",
            "--ensemble-key",
            "cdp",
            "--inline-byte",
            "iline2",
            "--format",
            "1",
            "--samples",
            "50",
        ],
        "ImportConfig",
        {"header_fields": ["iline2:189:int32"], "geometry_keys": ["iline2", 193, 37]},
        id="import",
    ),
    pytest.param(
        [
            "export",
            "{tmp}/s.dataset",
            "{tmp}/o.sgy",
            "--format",
            "5",
            "--endian",
            "little",
            "--sort",
            "cdp,offset",
            "--select",
            "cdp=1:10",
            "--merge-method",
            "readinto",
            "--segments",
        ],
        "ExportConfig",
        {"sort": "cdp,offset", "select": ["cdp=1:10"], "format_code": 5, "segments": True},
        id="export",
    ),
    pytest.param(
        ["index", "{tmp}/s.dataset", "--ensemble-key", "cdp", "--inline-byte", "9"],
        "IndexConfig",
        {"ensemble_keys": ["cdp"], "geometry_keys": [9, 193, 37]},
        id="index",
    ),
    pytest.param(
        ["import", "{tmp}/s.sgy", "{tmp}/s.dataset", "--scheduler", "tcp://127.0.0.1:8786"],
        "ImportConfig",
        {"scheduler": "tcp://127.0.0.1:8786"},
        id="import-scheduler",
        marks=pytest.mark.skipif(not _has_distributed(), reason="needs the dask extra"),
    ),
]


@pytest.mark.parametrize(("argv", "name", "expected"), COMMANDS)
def test_a_command_builds_its_config_without_heavy_modules(
    argv: list[str], name: str, expected: dict, tmp_path: Path
) -> None:
    built = build_in_fresh_interpreter([a.format(tmp=tmp_path) for a in argv])
    assert built["loaded"] == []
    assert built["class"] == f"segycore.pipeline.configs.{name}"
    for key, value in expected.items():
        assert built["data"][key] == value, key


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "s.sgy", "d", "--header-field", "cdp:17:int32"], "already a standard field"),
        (["import", "s.sgy", "d", "--header-field", "x:239:int32"], "must start at byte 1..237"),
        (["import", "s.sgy", "d", "--ensemble-key", "nope"], "unknown trace header field"),
        (["import", "s.sgy", "d", "--scheduler", "http://h:1"], "not a dask scheduler address"),
        (["export", "d", "o.sgy", "--select", "cdp=9:1"], "is above HI"),
        (["export", "d", "o.sgy", "--sort", "cdp,,offset"], "malformed sort keys"),
        (["export", "d", "o.sgy", "--format", "4"], "is not supported"),
        (["export", "d", "o.sgy", "--merge-method", "teleport"], "unknown merge method"),
        (["index", "d", "--no-geometry"], "nothing to index"),
    ],
)
def test_a_bad_option_is_refused_before_a_job_starts(argv: list[str], message: str) -> None:
    """The light configs check all they checked, in the front end, still without numpy."""
    built = build_in_fresh_interpreter(argv)
    assert built["class"] is None  # no job was started
    assert message in built["error"] and "Error" in built["error"].split(":")[0]
    assert built["loaded"] == []


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (importer, "ImportConfig"),
        (exporter, "ExportConfig"),
        (indexer, "IndexConfig"),
        (segycore, "ImportConfig"),
        (segycore, "ExportConfig"),
        (segycore, "IndexConfig"),
    ],
)
def test_the_old_names_are_the_light_classes(module: object, name: str) -> None:
    assert getattr(module, name) is getattr(configs, name)
    assert name in module.__all__  # type: ignore[attr-defined]


def test_index_stages_have_one_home() -> None:
    assert indexer.INDEX_STAGES is stages.INDEX_STAGES is segycore.INDEX_STAGES


@pytest.mark.parametrize("kind", ["import", "export", "index"])
def test_job_stages_are_the_coordinators_stages(kind: str) -> None:
    job = job_kind(kind)
    assert job_stages(kind) == job.stages == job.coordinator.stages
    assert job.config is getattr(configs, f"{kind.capitalize()}Config")
