"""Safety: sources are only ever read, never replaced; nothing from a file is executed.

The read-only rule is checked at run time twice: in-process by recording every open of
the source, and across processes by importing an immutable (``chattr +i``) source,
which any write-mode open would fail on - even as root.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    SegycoreError,
    SegyError,
    open_dataset,
    read_layout,
)
from segycore.dataset.info import describe
from segycore.format.layout import read_trace_headers
from tests.reliability.support import (
    REPO,
    assert_dataset_matches,
    assert_one_error_line,
    file_state,
    immutable,
    listing,
    run_cli,
)

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _record_opens(monkeypatch: pytest.MonkeyPatch, target: Path) -> list[tuple[str, Any]]:
    """Record ``(how, flags or mode)`` of every ``os.open``/``open`` of ``target``."""
    resolved = target.resolve()
    opened: list[tuple[str, Any]] = []
    real_os_open, real_open = os.open, io.open

    def is_target(path: Any) -> bool:
        if isinstance(path, int):
            return False
        return Path(os.fsdecode(path)).resolve() == resolved

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if is_target(path):
            opened.append(("os.open", flags))
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if is_target(file):
            opened.append(("open", mode))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    return opened


def test_the_source_is_only_ever_opened_read_only(
    survey: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Path(shutil.copy(survey, tmp_path / "source.sgy"))
    before = file_state(source)
    opened = _record_opens(monkeypatch, source)
    layout = read_layout(source)
    read_trace_headers(layout, 0, 10)
    describe(source)
    ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", workers=2)).run()
    monkeypatch.undo()
    assert sum(how == "os.open" for how, _ in opened) >= 2 + 2  # read_layout twice, 2 workers
    for how, flags in opened:
        if how == "os.open":
            assert flags & WRITE_FLAGS == 0, (how, oct(flags))
        else:
            assert set(flags) <= set("rbt"), (how, flags)
    assert file_state(source) == before
    assert_dataset_matches(tmp_path / "ds", layout)


def test_an_immutable_source_imports_and_an_immutable_dataset_exports(
    survey: Path, survey_dataset: Path, tmp_path: Path
) -> None:
    """The supervisor process opens nothing of its source for writing: as root, only
    the immutable flag stops writes, and the jobs still succeed."""
    source = Path(shutil.copy(survey, tmp_path / "source.sgy"))
    dataset = Path(shutil.copytree(survey_dataset, tmp_path / "source.dataset"))
    dataset_files = [p for p in dataset.rglob("*") if p.is_file()]
    states = {p: file_state(p) for p in [source, *dataset_files]}
    with contextlib.ExitStack() as stack:
        for path in [source, *dataset_files, dataset / "index", dataset]:
            stack.enter_context(immutable(path))
        done = run_cli("import", source, tmp_path / "copy.dataset", "--quiet")
        assert done.returncode == 0, done.stderr
        done = run_cli("export", dataset, tmp_path / "copy.sgy", "--quiet")
        assert done.returncode == 0, done.stderr
    assert {p: file_state(p) for p in states} == states
    assert_dataset_matches(tmp_path / "copy.dataset", read_layout(source))
    assert (tmp_path / "copy.sgy").read_bytes() == survey.read_bytes()


# -- a destination that would replace the source ---------------------------------------------
def _same_file(folder: Path, source: Path) -> Path:
    return source


def _parent_folder(folder: Path, source: Path) -> Path:
    return source.parent


def _symlink_to_source(folder: Path, source: Path) -> Path:
    link = folder / "link.sgy"
    link.symlink_to(source)
    return link


def _inside_dataset(folder: Path, dataset: Path) -> Path:
    return dataset / "traces.npy"


@pytest.mark.parametrize(
    ("kind", "destination_of", "why"),
    [
        ("import", _same_file, "it is the source"),
        ("import", _parent_folder, "it holds the source"),
        ("import", _symlink_to_source, "it is the source"),
        ("export", _same_file, "it is the source"),
        ("export", _parent_folder, "it holds the source"),
        ("export", _inside_dataset, "it lies inside the source"),
    ],
    ids=["import-same", "import-parent", "import-symlink", "export-same", "export-parent",
         "export-inside"],
)  # fmt: skip
def test_a_destination_that_would_replace_the_source_is_refused(
    kind: str,
    destination_of: Callable[[Path, Path], Path],
    why: str,
    survey: Path,
    survey_dataset: Path,
    tmp_path: Path,
) -> None:
    """With overwrite, publishing there would delete the source (it did before the fix)."""
    folder = tmp_path / "work"
    folder.mkdir()
    if kind == "import":
        source = Path(shutil.copy(survey, folder / "source.sgy"))
    else:
        source = Path(shutil.copytree(survey_dataset, folder / "source.dataset"))
    destination = destination_of(tmp_path, source)
    before = {p: file_state(p) for p in [source, *source.rglob("*")]}
    with pytest.raises(SegyError, match=why):
        if kind == "import":
            ParallelImportCoordinator(ImportConfig(source, destination, overwrite=True)).run()
        else:
            ParallelExportCoordinator(ExportConfig(source, destination, overwrite=True)).run()
    assert {p: file_state(p) for p in before} == before
    assert listing(folder) == {source.name}


def test_cli_refuses_to_import_a_file_onto_itself(survey: Path, tmp_path: Path) -> None:
    source = Path(shutil.copy(survey, tmp_path / "source.sgy"))
    before = file_state(source)
    done = run_cli("import", source, source, "--overwrite")
    assert_one_error_line(done, "it is the source", "never replaces")
    assert file_state(source) == before and listing(tmp_path) == {"source.sgy"}


# -- nothing from a file is evaluated or unpickled ---------------------------------------------
#: Modules that turn bytes into code or arbitrary objects.
UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle",
                  "joblib", "yaml", "jsonpickle"}  # fmt: skip
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__", "input"}


def _unsafe_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in UNSAFE_BUILTINS:
                found.append(f"{node.func.id}() at line {node.lineno}")
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "allow_pickle" and not (
                    isinstance(value, ast.Constant) and value.value is False
                ):
                    found.append(f"allow_pickle at line {node.lineno}")
    return found


def test_no_code_path_evaluates_or_unpickles_anything() -> None:
    sources = sorted((REPO / "segycore").rglob("*.py"))
    assert len(sources) > 10
    unsafe = {p.name: _unsafe_uses(ast.parse(p.read_text(), str(p))) for p in sources}
    assert {name: uses for name, uses in unsafe.items() if uses} == {}
    # the check finds what it looks for
    assert _unsafe_uses(ast.parse("import pickle\neval('1')\nnp.load(f, allow_pickle=True)")) == [
        "pickle", "eval() at line 2", "allow_pickle at line 3",
    ]  # fmt: skip


class _Payload:
    """Unpickling this creates a folder: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.mkdir, (str(self.marker),)


def test_a_pickled_dataset_is_refused_without_being_run(
    survey_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = Path(shutil.copytree(survey_dataset, tmp_path / "evil.dataset"))
    marker = tmp_path / "payload-ran"
    traces = np.empty((1000, 500), dtype=object)
    traces[0, 0] = _Payload(marker)
    np.save(dataset / "traces.npy", traces, allow_pickle=True)
    with pytest.raises((SegycoreError, ValueError)):
        open_dataset(dataset)
    done = run_cli("export", dataset, tmp_path / "out.sgy")
    assert_one_error_line(done, "traces.npy cannot be read", "Python objects")
    done = run_cli("info", dataset)
    assert_one_error_line(done, "traces.npy cannot be read")
    assert not marker.exists()
    assert listing(tmp_path) == {"evil.dataset"}


def test_temporary_files_are_plain_data(survey: Path, tmp_path: Path) -> None:
    """The staging files between stages are raw bytes and a plain .npy: nothing there
    is ever interpreted as more than numbers."""
    importer = ParallelImportCoordinator(ImportConfig(survey, tmp_path / "ds", workers=2))
    results, n_traces = importer.run_parallel_import()
    segments = sorted(importer.staging.glob("headers-*.bin"))  # named in trace order
    assert sorted(p.name for p in importer.staging.iterdir()) == sorted(
        [*(p.name for p in segments), "traces.npy"]
    )
    assert np.load(importer.staging / "traces.npy", allow_pickle=False).dtype == np.float32
    layout = importer.layout
    records = np.fromfile(survey, np.uint8, offset=layout.data_offset).reshape(n_traces, -1)
    raw_headers = b"".join(p.read_bytes() for p in segments)
    assert raw_headers == records[:, :240].tobytes()  # exactly the raw trace headers, in order
    headers = importer.run_merge_headers(results)
    importer.run_build_index(headers)
    importer.run_cleanup(results)
    assert listing(tmp_path) == {"ds"}

    exporter = ParallelExportCoordinator(
        ExportConfig(tmp_path / "ds", tmp_path / "out.sgy", workers=2, segments=True)
    )
    paths, _, n_samples = exporter.run_parallel_export()
    assert b"".join(p.read_bytes() for p in paths) == records.tobytes()  # raw SEG-Y records
    exporter.run_merge(paths, n_samples)
    exporter.run_cleanup(paths, exporter.segment_dir)
    assert (tmp_path / "out.sgy").read_bytes() == survey.read_bytes()
    assert listing(tmp_path) == {"ds", "out.sgy"}
