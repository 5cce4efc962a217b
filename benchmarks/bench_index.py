"""Time the ensemble-index sort kernels side by side on realistic keys.

Contenders, each producing the stable sort permutation of ``--traces`` int32 keys:

- ``numpy stable argsort``: ``np.argsort(keys, kind="stable")`` (the reference path);
- ``cython counting sort``: segycore's kernels (``native/_index.pyx``) as
  :func:`segycore.dataset.ensembles.sort_order` runs them, boundaries included: the
  counting sort, or for keys spanning more than half the trace count (the full-range
  row) the LSD radix sort;
- ``numba counting sort``: the same algorithm as a Numba kernel (``cache=True``), with its
  start-up (import of Numba and loading the cached kernel) timed separately in a fresh
  process, since a supervisor process pays it once per job.

Key orders: shot-ordered CDPs (240-channel shots, CDP = 2 * shot + channel, the demo's and
W1/W2's order), shot numbers in receiver order (each value spread over the file), and
uniformly random keys over n/50 values and over the whole int32 range. Every
contender's permutation is checked equal to numpy's. Prints a Markdown table of median
seconds over ``--repeat`` runs.

Run: ``python3 benchmarks/bench_index.py --traces 10000000`` (and ``--traces 100000000``
for 10^8 keys: about 8 GB peak, most of it numpy's own sort buffers).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segycore.dataset.ensembles import sort_order

__all__ = ["main"]

NUMBA_KERNEL = """
import numba, numpy as np

@numba.njit(cache=True, nogil=True)
def counting_order(keys, lo, span, order):
    counts = np.zeros(span + 1, np.int64)
    for i in range(keys.size):
        counts[keys[i] - lo + 1] += 1
    for j in range(span):
        counts[j + 1] += counts[j]
    for i in range(keys.size):
        v = keys[i] - lo
        order[counts[v]] = i
        counts[v] += 1
    return counts
"""


def key_orders(n: int) -> dict[str, np.ndarray]:
    """The benchmark's keys: realistic file orders of common ensemble keys."""
    trace = np.arange(n, dtype=np.int64)
    shot, channel = np.divmod(trace, 240)
    rng = np.random.default_rng(0)
    return {
        "CDP, shot order": (2 * shot + channel + 1).astype(np.int32),
        "shot, receiver order": ((trace * 240) % n // 240).astype(np.int32),
        "random, n/50 values": rng.integers(0, max(1, n // 50), n).astype(np.int32),
        "random, full int32 range": rng.integers(-(2**31), 2**31 - 1, n).astype(np.int32),
    }


def numba_kernel(workdir: Path) -> Callable[[np.ndarray], np.ndarray | None] | None:
    """The Numba contender, compiled (and cached under ``workdir``), or None without Numba."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return None
    module = workdir / "bench_index_numba.py"
    module.write_text(NUMBA_KERNEL)
    sys.path.insert(0, str(workdir))
    from bench_index_numba import counting_order  # type: ignore[import-not-found]

    def run(keys: np.ndarray) -> np.ndarray | None:
        lo = int(keys.min())
        if int(keys.max()) - lo > keys.size:  # a counting sort only: no full-range keys
            return None
        order = np.empty(keys.size, np.int32)
        counting_order(keys, lo, int(keys.max()) - lo + 1, order)
        return order

    run(np.array([1, 0], np.int32))  # compile (or load the cache) outside the timings
    return run


def numba_startup(workdir: Path) -> float:
    """Seconds a fresh process spends importing Numba and loading the cached kernel."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(workdir)!r}); t = time.perf_counter(); "
        "import numpy as np; from bench_index_numba import counting_order; "
        "o = np.empty(2, np.int32); counting_order(np.array([1, 0], np.int32), 0, 2, o); "
        "print(time.perf_counter() - t)"
    )
    base = "import time, numpy; t = time.perf_counter(); print(time.perf_counter() - t)"
    with_numba = float(subprocess.check_output([sys.executable, "-c", code]).decode())
    without = float(subprocess.check_output([sys.executable, "-c", base]).decode())
    return with_numba - without


def median_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/work"))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    numba_run = numba_kernel(args.workdir)
    contenders: dict[str, Callable[[np.ndarray], object]] = {
        "numpy stable argsort": lambda k: np.argsort(k, kind="stable"),
        "cython (counting / radix)": lambda k: sort_order(k)[0],
    }
    if numba_run is not None:
        contenders["numba counting sort"] = numba_run
    print(f"Ensemble index sort, {args.traces:,} int32 keys, median of {args.repeat} (s)\n")
    print("| keys | " + " | ".join(contenders) + " | best vs numpy |")
    print("| --- |" + " ---: |" * (len(contenders) + 1))
    for name, keys in key_orders(args.traces).items():
        seconds, reference = {}, None
        for label, fn in contenders.items():
            seconds[label], order = median_seconds(lambda fn=fn, keys=keys: fn(keys), args.repeat)
            if order is None:
                seconds[label] = float("nan")
            elif reference is None:
                reference = order
            elif not np.array_equal(order, reference):
                raise AssertionError(f"{label} disagrees with numpy on {name}")
        best = min(v for k, v in seconds.items() if k != "numpy stable argsort" and v == v)
        cells = " | ".join(
            "-" if seconds[k] != seconds[k] else f"{seconds[k]:.3f}" for k in contenders
        )
        print(f"| {name} | {cells} | {seconds['numpy stable argsort'] / best:.1f}x |")
    if numba_run is not None:
        print(f"\nNumba start-up in a fresh process (import + cached kernel): "
              f"{numba_startup(args.workdir):.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
