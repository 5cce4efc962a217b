"""``import segycore`` stays light: numpy, pyarrow and the coordinators load on first use
of a name that needs them, and every public name still resolves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import segycore

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("numpy", "pyarrow", "segycore.pipeline.importer", "segycore.pipeline.exporter")


def loaded_after(statement: str) -> set[str]:
    """The heavy modules a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": REPO}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import segycore",
        "import segycore.format.spec",
        "from segycore import SegyError, JobCancelled, SAMPLE_FORMATS, IMPORT_STAGES",
        "import segycore.runtime.jobs",
        "from segycore import ImportConfig, ExportConfig, IndexConfig, INDEX_STAGES",
        "from segycore.runtime.registry import job_stages; job_stages('import')",
    ],
)
def test_light_imports_load_nothing_heavy(statement: str) -> None:
    assert loaded_after(statement) == set()


def test_a_heavy_name_loads_its_module() -> None:
    assert loaded_after("from segycore import ParallelImportCoordinator") >= {"numpy", "pyarrow"}


@pytest.mark.parametrize("name", segycore.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(segycore, name) is not None
    assert name in dir(segycore)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = segycore.nope  # type: ignore[attr-defined]


def test_sample_format_dtypes_are_numpy_dtypes() -> None:
    import numpy as np

    from segycore.format.spec import SAMPLE_FORMATS, TRACE_FIELDS

    assert SAMPLE_FORMATS[1].dtype == np.dtype(np.float32)
    assert SAMPLE_FORMATS[12].dtype == np.dtype(np.uint64)
    assert all(isinstance(f.dtype, np.dtype) for f in TRACE_FIELDS)


@pytest.mark.parametrize(("kind", "other"), [("import", "exporter"), ("export", "importer")])
def test_a_job_kind_loads_only_its_own_coordinator(kind: str, other: str) -> None:
    code = (
        "import sys\n"
        "from segycore.runtime.registry import job_kind\n"
        f"job = job_kind({kind!r})\n"
        "print(job.coordinator.__module__, "
        f"'segycore.pipeline.{other}' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    module, loaded = done.stdout.split()
    assert module == f"segycore.pipeline.{kind}er" and loaded == "False"


def test_every_builtin_kind_is_listed_and_unknown_kinds_refused() -> None:
    from segycore.errors import SegycoreError
    from segycore.runtime.registry import job_kind, job_kinds

    assert {"import", "export"} <= set(job_kinds())
    with pytest.raises(SegycoreError, match=r"unknown job kind 'nope' \(known: .*export.*import"):
        job_kind("nope")
