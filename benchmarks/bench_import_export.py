"""Import and export side by side with ``cp`` and the single-process segyio script.

    python benchmarks/bench_import_export.py --workload W1 --repeat 3
    python benchmarks/bench_import_export.py --workload W2 --repeat 3

Every contender is a child process (``segycore`` runs its real command line, supervisor
process included), timed wall-clock with its peak RSS; runs alternate; the table shows
min / median / max and the ratio to ``cp`` of the same file, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import WORKLOADS, Contender, ensure_workload, markdown_table, remover, run_alternating

HERE = Path(__file__).resolve().parent


def contenders_for(source: Path, work: Path, workers: Sequence[int]) -> list[Contender]:
    segycore = [sys.executable, "-m", "segycore.cli"]
    copy = work / "copy.sgy"
    out: list[Contender] = [
        Contender("cp", lambda: ["cp", str(source), str(copy)], remover(copy)),
    ]
    segyio_out = work / "segyio.out"
    out.append(
        Contender(
            "segyio script (import)",
            lambda: [sys.executable, str(HERE / "segyio_script.py"), str(source), str(segyio_out)],
            remover(segyio_out),
        )
    )
    for n in workers:
        ds = work / f"import-{n}.dataset"
        out.append(
            Contender(
                f"segycore import, {n} worker{'s' * (n > 1)}",
                lambda ds=ds, n=n: [
                    *segycore,
                    "import",
                    str(source),
                    str(ds),
                    "--quiet",
                    "--workers",
                    str(n),
                ],
                remover(ds),
            )
        )
    return out


def export_contenders(
    dataset: Path, source: Path, work: Path, workers: Sequence[int]
) -> list[Contender]:
    segycore = [sys.executable, "-m", "segycore.cli"]
    copy = work / "copy.sgy"
    out = [Contender("cp", lambda: ["cp", str(source), str(copy)], remover(copy))]
    for n in workers:
        target = work / f"export-{n}.sgy"
        out.append(
            Contender(
                f"segycore export, {n} worker{'s' * (n > 1)}",
                lambda target=target, n=n: [
                    *segycore,
                    "export",
                    str(dataset),
                    str(target),
                    "--quiet",
                    "--workers",
                    str(n),
                ],
                remover(target),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="W1")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workdir", type=Path, help="where workloads and outputs go")
    parser.add_argument("--no-segyio", action="store_true", help="skip the segyio script")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.gettempdir()) / "segycore-bench"
    n_traces, n_samples = WORKLOADS[args.workload]
    source = ensure_workload(work, n_traces, n_samples)

    importers = contenders_for(source, work, args.workers)
    if args.no_segyio:
        importers = [c for c in importers if "segyio" not in c.name]
    print(
        f"## Import, {args.workload} ({source.stat().st_size / 1e9:.2f} GB), "
        f"{args.repeat} alternating runs\n",
        flush=True,
    )
    run_alternating(importers, args.repeat)
    print(markdown_table(importers) + "\n", flush=True)

    dataset = work / "export-source.dataset"
    if not dataset.exists():
        from segycore import ImportConfig, ParallelImportCoordinator

        ParallelImportCoordinator(ImportConfig(source, dataset)).run()
    exporters = export_contenders(dataset, source, work, args.workers)
    print(f"## Export, {args.workload}, {args.repeat} alternating runs\n", flush=True)
    run_alternating(exporters, args.repeat)
    print(markdown_table(exporters), flush=True)
    remover(dataset)()


if __name__ == "__main__":
    main()
