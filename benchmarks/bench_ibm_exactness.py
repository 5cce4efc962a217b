"""What the IBM byte-exactness check costs: side by side, with and without it.

Two measurements on the same IBM workload (normalised samples, as real processed data):

* kernel: per 2 MiB chunk of trace records (page cache warm, one thread), the time of
  ``decode_records`` alone and of ``decode_records`` + ``ibm_inexact_traces``, alternating
  chunk by chunk so both see the same cache state;
* import: the whole import (``ImportConfig(ibm_exact=True)`` vs ``False``), as child
  processes alternating run by run (``common.run_alternating``).

    python3 benchmarks/bench_ibm_exactness.py --workload W1 --repeat 3
    python3 benchmarks/bench_ibm_exactness.py --workload W2 --repeat 3   # the full run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    WORKLOADS,
    Contender,
    find_or_make_workload,
    remover,
    run_alternating,
)
from segycore.format import codec
from segycore.format.layout import read_layout

CHUNK = 2 * 1024 * 1024
IMPORT = (
    "import sys; from segycore import ImportConfig, ParallelImportCoordinator as P; "
    "P(ImportConfig(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), "
    "ibm_exact=sys.argv[4] == '1')).run()"
)


def kernel_seconds(path: Path, limit: int | None) -> tuple[float, float, int]:
    """Total seconds of decode alone and decode + check over the file's records."""
    layout = read_layout(path)
    per = max(1, CHUNK // layout.trace_size)
    records = np.empty(per * layout.trace_size, np.uint8)
    samples = np.empty((per, layout.n_samples), np.float32)
    plain = checked = 0.0
    flagged = 0
    n_traces = layout.n_traces if limit is None else min(limit, layout.n_traces)
    fd = os.open(path, os.O_RDONLY)
    try:
        for first in range(0, n_traces, per):
            n = min(per, n_traces - first)
            view = memoryview(records)[: n * layout.trace_size]
            os.preadv(fd, [view], layout.data_offset + first * layout.trace_size)
            args = (records[: n * layout.trace_size], n, layout.n_samples, 1, False)
            codec.decode_records(*args, None, samples[:n])  # warm the chunk in cache
            t0 = time.perf_counter()
            codec.decode_records(*args, None, samples[:n])
            t1 = time.perf_counter()
            codec.decode_records(*args, None, samples[:n])
            flagged += int(codec.ibm_inexact_traces(args[0], n, layout.n_samples, False).sum())
            t2 = time.perf_counter()
            plain += t1 - t0
            checked += t2 - t1
    finally:
        os.close(fd)
    return plain, checked, flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="W1")
    parser.add_argument("--traces", type=int, help="use only this many traces (a quick run)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/segycore-bench"))
    args = parser.parse_args()
    n_traces, n_samples = WORKLOADS[args.workload]
    n_traces = args.traces or n_traces
    source = find_or_make_workload([args.workdir], n_traces, n_samples)
    size = source.stat().st_size
    print(f"workload: {source} ({n_traces:,} traces x {n_samples}, {size / 1e6:,.0f} MB)")

    plain, checked, flagged = kernel_seconds(source, n_traces)
    print(
        f"kernel, 1 thread: decode {plain:.3f} s, decode + check {checked:.3f} s "
        f"(+{100 * (checked - plain) / plain:.1f} %, {size / checked / 1e9:.2f} GB/s); "
        f"{flagged} traces flagged"
    )
    contenders = []
    for exact in (True, False):
        out = args.workdir / f"ibm-exact-{int(exact)}.dataset"
        contenders.append(
            Contender(
                f"import, ibm_exact={exact}",
                lambda out=out, exact=exact: [
                    sys.executable,
                    "-c",
                    IMPORT,
                    str(source),
                    str(out),
                    str(args.workers),
                    "1" if exact else "0",
                ],
                remover(out),
                kind="segycore",
            )
        )
    run_alternating(contenders, args.repeat)
    for c in contenders:
        c.cleanup()
        print(
            f"{c.name}: median {c.median():.2f} s (runs {', '.join(f'{s:.2f}' for s in c.seconds)})"
        )
    with_, without = (statistics.median(c.seconds) for c in contenders)
    print(f"import cost of the check: {100 * (with_ - without) / without:+.1f} %")


if __name__ == "__main__":
    main()
