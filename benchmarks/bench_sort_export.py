"""A reordered export (``--sort CDP,offset``) side by side with a plain export of the same dataset.

    python benchmarks/bench_sort_export.py --traces 100000 --repeat 3   # W1-sized check
    python benchmarks/bench_sort_export.py --workload W2 --repeat 3     # the 3x target

The workload is the benchmarks' shot-ordered IBM survey (240-trace shots), imported
once into a dataset; then, alternating, ``segycore export`` writes it as stored, and
``segycore export --sort CDP,offset`` writes it in CDP order (every CDP's traces come
from up to 120 different shots, i.e. reads spread over the whole of ``traces.npy``),
each as a child process with its peak RSS. The table gives the ratio of each median
to the plain export's, measured in the same rounds; the target is at most 3x on W2.
The first sorted export's output is checked record by record against the source
(headers and samples of every output trace are the source's, in the planned order).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (
    WORKLOADS,
    Contender,
    child_env,
    ensure_workload,
    markdown_table,
    read_ahead,
    remover,
    run_alternating,
)

__all__ = ["check_sorted_output", "main"]

SEGYCORE = [sys.executable, "-m", "segycore.cli"]


def check_sorted_output(source: Path, output: Path, n_traces: int, n_samples: int) -> None:
    """Every output record is the source record the CDP,offset order puts there."""
    trace_size = 240 + 4 * n_samples
    src = np.memmap(source, np.uint8, "r", 3600, (n_traces, trace_size))
    out = np.memmap(output, np.uint8, "r", 3600, (n_traces, trace_size))
    cdp = src[:, 20:24].copy().view(">i4").reshape(-1)
    offset = src[:, 36:40].copy().view(">i4").reshape(-1)
    order = np.lexsort((offset, cdp))
    for first in range(0, n_traces, 65536):
        part = order[first : first + 65536]
        if not np.array_equal(out[first : first + len(part)], src[part]):
            raise SystemExit(f"sorted export differs from the source records near {first}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS)
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "segycore-bench"
    )
    args = parser.parse_args(argv)
    n_traces, n_samples = WORKLOADS[args.workload] if args.workload else (args.traces, args.samples)
    source = ensure_workload(args.workdir, n_traces, n_samples)
    dataset = args.workdir / f"{source.stem}.dataset"
    if not (dataset / "metadata.json").exists():
        remover(dataset)()
        subprocess.run(
            [
                *SEGYCORE,
                "import",
                str(source),
                str(dataset),
                "--quiet",
                "--workers",
                str(args.workers),
            ],
            check=True,
            env=child_env(),
        )
    read_ahead(dataset)
    plain_out = args.workdir / "plain.sgy"
    sorted_out = args.workdir / "sorted.sgy"
    common = ["--quiet", "--workers", str(args.workers)]
    subprocess.run(
        [*SEGYCORE, "export", str(dataset), str(sorted_out), "--sort", "CDP,offset", *common],
        check=True,
        env=child_env(),
    )
    check_sorted_output(source, sorted_out, n_traces, n_samples)
    remover(sorted_out)()
    contenders = [
        Contender(
            "plain export",
            lambda: [*SEGYCORE, "export", str(dataset), str(plain_out), *common],
            remover(plain_out),
        ),
        Contender(
            "export --sort CDP,offset",
            lambda: [
                *SEGYCORE,
                "export",
                str(dataset),
                str(sorted_out),
                "--sort",
                "CDP,offset",
                *common,
            ],
            remover(sorted_out),
            kind="segycore",
        ),
    ]
    run_alternating(contenders, args.repeat)
    size = source.stat().st_size
    print(f"\nSorted export, {n_traces:,} traces x {n_samples} samples ({size / 1e9:.2f} GB), "
          f"{args.workers} workers, median of {args.repeat}\n")  # fmt: skip
    print(
        markdown_table(contenders, reference="plain export", size_bytes=size).replace(
            "x cp", "x plain"
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
