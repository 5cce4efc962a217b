"""Import and export side by side with ``cp``, ``copy_file_range``, segyio and MDIO.

    python benchmarks/bench_import_export.py --workload W1 --repeat 3
    python benchmarks/bench_import_export.py --workload W2 --repeat 3

Every contender is a child process (``segycore`` runs its real command line, supervisor
process included), timed wall-clock with its peak RSS; runs alternate; the table shows
min / median / max and the ratio to ``cp`` of the same file, measured in the same round.
The stage timings of segycore come from the dataset's ``metadata.json`` (import, run
with ``--quiet``) and from the summary the command prints (export, run without
``--quiet``: its only extra work is printing five lines).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import (
    WORKLOADS,
    Contender,
    child_env,
    ensure_workload,
    markdown_table,
    read_ahead,
    remover,
    run_alternating,
    timed_command,
)

__all__ = [
    "ROOFLINE",
    "export_contenders",
    "find_mdio_python",
    "import_contenders",
    "prepare_export_inputs",
    "reference_contenders",
    "run_workload",
]

HERE = Path(__file__).resolve().parent
SEGYCORE = [sys.executable, "-m", "segycore.cli"]
#: Where ``find_mdio_python`` looks when this interpreter lacks ``multidimio``.
MDIO_VENV_PYTHON = Path("/tmp/mdio-venv/bin/python")
#: MDIO's progress bars off (stderr only; they cost nothing measurable).
MDIO_ENV = child_env({"TQDM_DISABLE": "1"})
#: The roofline contender: every byte read and written once through user space.
ROOFLINE = "read+write loop, 1 MiB chunks"
_STAGE_LINE = re.compile(r"^\s+(\w+)\s+([0-9.]+) s$")


def _plural(n: int) -> str:
    return f"{n} worker{'s' * (n > 1)}"


def find_mdio_python(candidate: str | None = None) -> tuple[str | None, str]:
    """An interpreter that imports ``mdio`` and its version, or ``(None, why not)``."""
    for python in filter(None, [candidate, sys.executable, str(MDIO_VENV_PYTHON)]):
        if not Path(python).exists():
            continue
        probe = subprocess.run(
            [
                python,
                "-c",
                "from importlib.metadata import version; import mdio; print(version('multidimio'))",
            ],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            return python, probe.stdout.strip()
    return None, "multidimio is not installed (pip install multidimio)"


def metadata_stages(dataset: Path) -> dict[str, float]:
    """``stage_seconds`` from a dataset's ``metadata.json``."""
    meta = json.loads((dataset / "metadata.json").read_text())
    return {k: float(v) for k, v in meta.get("stage_seconds", {}).items()}


def printed_stages(stdout: str) -> dict[str, float]:
    """Stage timings from the summary ``segycore import|export`` prints (total excluded)."""
    stages = {}
    for line in stdout.splitlines():
        if (match := _STAGE_LINE.match(line)) and match.group(1) != "total":
            stages[match.group(1)] = float(match.group(2))
    return stages


def _argv(*parts: str | Path) -> Callable[[], list[str]]:
    """A command builder bound now (a lambda in a loop would see the loop's last values)."""
    argv = [str(p) for p in parts]
    return lambda: list(argv)


def reference_contenders(source: Path, work: Path) -> list[Contender]:
    """``cp``, ``os.copy_file_range`` and a read+write loop: the physical references."""
    copy = work / "copy.sgy"
    return [
        Contender("cp", _argv("cp", source, copy), remover(copy)),
        Contender(
            "copy_file_range",
            _argv(sys.executable, HERE / "copy_file_range.py", source, copy),
            remover(copy),
        ),
        Contender(
            ROOFLINE,
            _argv(sys.executable, HERE / "copy_loop.py", source, copy),
            remover(copy),
        ),
    ]


def import_contenders(
    source: Path,
    work: Path,
    workers: Sequence[int],
    segyio: bool = True,
    mdio_python: str | None = None,
) -> list[Contender]:
    """segyio script, MDIO import (with ``mdio_python``), segycore import per worker count."""
    out: list[Contender] = []
    if segyio:
        target = work / "segyio.out"
        command = _argv(sys.executable, HERE / "segyio_script.py", source, target)
        out.append(Contender("segyio script (import)", command, remover(target), kind="import"))
    if mdio_python:
        store = work / "import.mdio"
        command = _argv(mdio_python, HERE / "mdio_script.py", "import", source, store)
        out.append(Contender("MDIO import", command, remover(store), kind="import", env=MDIO_ENV))
    for n in workers:
        ds = work / f"import-{n}.dataset"
        out.append(
            Contender(
                f"segycore import, {_plural(n)}",
                _argv(*SEGYCORE, "import", source, ds, "--quiet", "--workers", str(n)),
                remover(ds),
                kind="import",
                stages=lambda _stdout, ds=ds: metadata_stages(ds),
                sample_anon=True,
            )
        )
    return out


def export_contenders(
    dataset: Path,
    work: Path,
    workers: Sequence[int],
    mdio_store: Path | None = None,
    mdio_python: str | None = None,
    segments: bool = False,
) -> list[Contender]:
    """MDIO export (with a store and ``mdio_python``), segycore export per worker count.

    With ``segments`` one more contender exports with ``--segments`` (one segment file
    per worker, then a real merge) using the largest worker count.
    """
    out: list[Contender] = []
    if mdio_store is not None and mdio_python:
        target = work / "mdio-export.sgy"
        command = _argv(mdio_python, HERE / "mdio_script.py", "export", mdio_store, target)
        out.append(Contender("MDIO export", command, remover(target), kind="export", env=MDIO_ENV))
    runs = [(f"segycore export, {_plural(n)}", n, []) for n in workers]
    if segments:
        n = max(workers)
        runs.append((f"segycore export --segments, {_plural(n)}", n, ["--segments"]))
    for i, (name, n, extra) in enumerate(runs):
        target = work / f"export-{i}.sgy"
        out.append(
            Contender(
                name,
                _argv(*SEGYCORE, "export", dataset, target, "--workers", str(n), *extra),
                remover(target),
                kind="export",
                stages=printed_stages,
                sample_anon=True,
            )
        )
    return out


def prepare_export_inputs(
    source: Path, work: Path, mdio_python: str | None = None
) -> tuple[Path, Path | None]:
    """Import the source once, untimed, into a dataset (and an MDIO store) to export."""
    dataset = work / "export-source.dataset"
    remover(dataset)()
    timed_command([*SEGYCORE, "import", str(source), str(dataset), "--quiet"], env=child_env())
    store = None
    if mdio_python:
        store = work / "export-source.mdio"
        remover(store)()
        timed_command(
            [mdio_python, str(HERE / "mdio_script.py"), "import", str(source), str(store)],
            env=MDIO_ENV,
        )
    return dataset, store


def run_workload(
    source: Path,
    work: Path,
    repeat: int,
    workers: Sequence[int],
    segyio: bool = True,
    mdio_python: str | None = None,
    segments: bool = False,
) -> list[Contender]:
    """All contenders on one source file, alternating; export inputs removed afterwards."""
    dataset, store = prepare_export_inputs(source, work, mdio_python)
    try:
        contenders = [
            *reference_contenders(source, work),
            *import_contenders(source, work, workers, segyio, mdio_python),
            *export_contenders(dataset, work, workers, store, mdio_python, segments),
        ]
        read_ahead(source, dataset / "traces.npy")  # warm page cache, as DESIGN.md measures
        run_alternating(contenders, repeat)
    finally:
        remover(dataset)()
        if store is not None:
            remover(store)()
    return contenders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="W1")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workdir", type=Path, help="where workloads and outputs go")
    parser.add_argument("--no-segyio", action="store_true", help="skip the segyio script")
    parser.add_argument("--mdio-python", help="interpreter with multidimio installed")
    parser.add_argument("--no-mdio", action="store_true", help="skip MDIO")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.gettempdir()) / "segycore-bench"
    n_traces, n_samples = WORKLOADS[args.workload]
    source = ensure_workload(work, n_traces, n_samples)
    mdio_python, mdio_note = (
        (None, "skipped") if args.no_mdio else find_mdio_python(args.mdio_python)
    )
    print(f"MDIO: {mdio_note}", file=sys.stderr)
    contenders = run_workload(
        source, work, args.repeat, args.workers, not args.no_segyio, mdio_python
    )
    size = source.stat().st_size
    print(
        f"## {args.workload} ({size / 1e9:.2f} GB), {args.repeat} alternating runs\n\n"
        f"{markdown_table(contenders, size_bytes=size)}"
    )
    results: dict[str, Any] = {c.name: c.to_dict() for c in contenders}
    print(json.dumps(results, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
