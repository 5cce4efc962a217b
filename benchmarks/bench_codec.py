"""Codec throughput per thread at every SIMD level, side by side in one run.

    python benchmarks/bench_codec.py                    # IBM, IEEE, int16; 1 and 2 threads
    python benchmarks/bench_codec.py --formats 1 --rounds 9 --json codec.json

Decodes and encodes the workers' chunk (2 MiB of 1000-sample big-endian records, the
import's and export's ``CHUNK_BYTES``) from a small ring of buffers, with the kernels
pinned to each level (``portable`` is the x86-64 baseline build: the code before the
SIMD clones; ``avx2`` and ``avx512`` are the run-time dispatched clones); for IBM also
the import's byte-exactness test (``ibm_inexact_traces``). Levels
alternate round by round (order rotating) and each figure is the median over rounds of
file bytes converted per second per thread. ``--threads 2`` runs two threads at once,
each on its own buffers (the GIL is released in the kernels), as two workers do.
``--baseline path/to/_convert.so`` adds another build of the module as a contender.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's segycore

from segycore.format import _convert
from segycore.format.spec import TRACE_HEADER_SIZE, sample_format
from segycore.format.synthetic import _base_gather, _to_format

__all__ = ["main", "measure"]

CHUNK_BYTES = 2 * 1024 * 1024
N_SAMPLES = 1000
RING = 1  # buffers per thread (--ring): 1 = the chunk stays in cache, as in a worker


def load_module(path: Path) -> ModuleType:
    """Another build of ``_convert`` (e.g. the one before a change), under its own name."""
    loader = importlib.machinery.ExtensionFileLoader("_convert", str(path))
    spec = importlib.util.spec_from_file_location("_convert", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def make_chunk(code: int, n_traces: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Realistic records (the synthetic survey's gathers), their headers and samples."""
    values = _to_format(_base_gather(n_traces, N_SAMPLES, 0.002), code)
    headers = np.random.default_rng(0).integers(0, 256, (n_traces, TRACE_HEADER_SIZE), np.uint8)
    record = TRACE_HEADER_SIZE + N_SAMPLES * sample_format(code).itemsize
    records = np.empty(n_traces * record, np.uint8)
    assert _convert.encode_records(headers, values, code, False, records) == -1
    return records, headers, values


def _worker(
    kind: str, module: ModuleType, code: int, n: int, repeat: int, ring: int, out: list
) -> None:
    records, headers, samples = make_chunk(code, n)
    srcs = [records.copy() for _ in range(ring)]
    dsts = [np.empty_like(samples) for _ in range(ring)]
    hdrs = [np.empty_like(headers) for _ in range(ring)]
    outs = [np.empty_like(records) for _ in range(ring)]
    flags = np.zeros(n, np.uint8)
    for i in range(ring):  # touch every page first
        module.decode_records(srcs[i], n, N_SAMPLES, code, False, hdrs[i], dsts[i])
    _BARRIER.wait()  # all threads start converting together
    started = time.perf_counter()
    for r in range(repeat):
        i = r % ring
        if kind == "decode":
            module.decode_records(srcs[i], n, N_SAMPLES, code, False, hdrs[i], dsts[i])
        elif kind == "ibm exactness":
            module.ibm_inexact_traces(srcs[i], n, N_SAMPLES, False, flags)
        else:
            module.encode_records(hdrs[i], dsts[i], code, False, outs[i])
    out.append(time.perf_counter() - started)


_BARRIER: threading.Barrier


def measure(
    kind: str, module: ModuleType, code: int, threads: int, repeat: int, ring: int = RING
) -> float:
    """File bytes per second per thread for ``repeat`` chunks on each of ``threads``."""
    global _BARRIER
    record = TRACE_HEADER_SIZE + N_SAMPLES * sample_format(code).itemsize
    n = max(1, CHUNK_BYTES // record)
    _BARRIER = threading.Barrier(threads)
    results: list[list] = [[] for _ in range(threads)]
    pool = [
        threading.Thread(target=_worker, args=(kind, module, code, n, repeat, ring, results[t]))
        for t in range(threads)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = max(r[-1] for r in results)
    return n * record * repeat / seconds


def _ops(code: int, module: ModuleType) -> tuple[str, ...]:
    """What to time for a format: decode, encode, and for IBM the import's exactness test."""
    exact = code == 1 and hasattr(module, "ibm_inexact_traces")
    return ("decode", "encode", "ibm exactness") if exact else ("decode", "encode")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", type=int, nargs="+", default=[1, 5, 3])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200, help="chunks per measurement")
    parser.add_argument("--ring", type=int, default=RING, help="buffers per thread")
    parser.add_argument("--baseline", type=Path, help="another _convert build to compare")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    contenders: list[tuple[str, ModuleType, str | None]] = [
        (level, _convert, level) for level in _convert.simd_levels()
    ]
    if args.baseline:
        contenders.insert(0, (f"baseline {args.baseline.name}", load_module(args.baseline), None))
    figures: dict[tuple[str, int, int, str], list[float]] = {}
    for rnd in range(args.rounds):
        shift = rnd % len(contenders)
        for name, module, level in contenders[shift:] + contenders[:shift]:
            if level is not None:
                _convert.set_simd_level(level)
            for code in args.formats:
                for threads in args.threads:
                    for kind in _ops(code, module):
                        rate = measure(kind, module, code, threads, args.repeat, args.ring)
                        figures.setdefault((kind, code, threads, name), []).append(rate)
        print(f"  round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    _convert.set_simd_level("auto")

    names = [c[0] for c in contenders]
    ref = "portable"
    lines = [
        f"Codec throughput, GB/s of file bytes per thread (median of {args.rounds} rounds, "
        f"2 MiB chunks of {N_SAMPLES}-sample big-endian records; levels here: "
        f"{', '.join(_convert.simd_levels())})",
        "",
        "| format | op | threads | " + " | ".join(names) + f" | best / {ref} |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in names) + " | ---: |",
    ]
    rows: list[dict[str, Any]] = []
    for code in args.formats:
        for kind in _ops(code, _convert):
            for threads in args.threads:
                medians = {
                    n: statistics.median(figures[(kind, code, threads, n)])
                    for n in names
                    if (kind, code, threads, n) in figures  # an old build may lack an op
                }
                best = max(medians[n] for n in names if n in _convert.simd_levels())
                cells = " | ".join(
                    f"{medians[n] / 1e9:.2f}" if n in medians else "-" for n in names
                )
                lines.append(
                    f"| {code} {sample_format(code).name} | {kind} | {threads} | {cells} | "
                    f"{best / medians[ref]:.2f}x |"
                )
                rows.append({"format": code, "op": kind, "threads": threads, "gb_per_s": medians})
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"table": "\n".join(lines), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
