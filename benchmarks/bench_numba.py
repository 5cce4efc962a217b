"""Does a Numba kernel beat numpy at decoding trace headers into columns?

    python benchmarks/bench_numba.py                     # 1,000,000 headers x 91 fields
    python benchmarks/bench_numba.py --traces 65536      # one Parquet row group

The import decodes every 240-byte trace header into 91 integer columns (62 of 2 bytes,
29 of 4) before writing ``headers.parquet``. Today that is numpy: a structured view of
the raw headers and one byte-swapping ``astype`` per field (``headers_to_table`` in
``segycore/dataset/headers.py``), i.e. 91 strided passes over the raw bytes. The Numba
contender decodes row by row in one pass into a (fields, traces) array per width, so
each column is contiguous, and in tiles of 64 headers (field by field within a tile, so
the tile stays in L1); the Cython contender is the tiled loop compiled ahead of time
(``native/_header_columns.pyx``, what ``headers_to_table`` now uses). All run on the same raw
headers, alternating round by round; the figure is the median. Also measured, each in a
fresh interpreter: what using Numba costs a process before its first call (``import
numba``; loading the kernel from its ``cache=True`` cache; compiling it when the cache is
cold).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segycore.format import codec  # noqa: E402
from segycore.format.layout import trace_header_dtype  # noqa: E402
from segycore.format.spec import TRACE_FIELDS, TRACE_HEADER_SIZE  # noqa: E402

__all__ = ["decode_numpy", "main"]

#: The Numba kernel, as source, so a fresh interpreter can time its import and cache load.
KERNEL = '''
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def decode_be(raw, offsets2, offsets4, out2, out4):
    """Big-endian header fields, row by row: out2[k, i], out4[k, i] for trace i."""
    for i in range(raw.shape[0]):
        for k in range(offsets2.shape[0]):
            o = offsets2[k]
            out2[k, i] = np.int16((np.uint16(raw[i, o]) << 8) | np.uint16(raw[i, o + 1]))
        for k in range(offsets4.shape[0]):
            o = offsets4[k]
            v = (
                (np.uint32(raw[i, o]) << 24)
                | (np.uint32(raw[i, o + 1]) << 16)
                | (np.uint32(raw[i, o + 2]) << 8)
                | np.uint32(raw[i, o + 3])
            )
            out4[k, i] = np.int32(v)


@numba.njit(cache=True, nogil=True)
def decode_be_tiled(raw, offsets2, offsets4, out2, out4):
    """The same in tiles of 64 headers, field by field within a tile (as _fields.pyx)."""
    n = raw.shape[0]
    for t0 in range(0, n, 64):
        t1 = min(t0 + 64, n)
        for k in range(offsets2.shape[0]):
            o = offsets2[k]
            for i in range(t0, t1):
                out2[k, i] = np.int16((np.uint16(raw[i, o]) << 8) | np.uint16(raw[i, o + 1]))
        for k in range(offsets4.shape[0]):
            o = offsets4[k]
            for i in range(t0, t1):
                v = (
                    (np.uint32(raw[i, o]) << 24)
                    | (np.uint32(raw[i, o + 1]) << 16)
                    | (np.uint32(raw[i, o + 2]) << 8)
                    | np.uint32(raw[i, o + 3])
                )
                out4[k, i] = np.int32(v)
'''


def decode_numpy(raw: np.ndarray) -> list[np.ndarray]:
    """Today's path: one structured-view cast per field (what ``headers_to_table`` does)."""
    records = raw.reshape(-1).view(trace_header_dtype("big"))
    return [records[f.name].astype(f.dtype) for f in TRACE_FIELDS]


def _kernel_module(cache_dir: Path):
    """The kernel, imported from a file in ``cache_dir`` (its Numba cache lives beside it)."""
    path = cache_dir / "bench_numba_kernel.py"
    if not path.exists() or path.read_text() != KERNEL:
        path.write_text(KERNEL)
    sys.path.insert(0, str(cache_dir))
    import bench_numba_kernel

    return bench_numba_kernel


def _fresh(code: str, cache_dir: Path) -> float:
    """Seconds a fresh interpreter takes to run ``code`` (beyond ``python -c pass``)."""
    env = {**os.environ, "PYTHONPATH": f"{cache_dir}{os.pathsep}{REPO}"}

    def once(snippet: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", snippet], env=env, check=True)
        return time.perf_counter() - started

    base = statistics.median(once("pass") for _ in range(3))
    return statistics.median(once(code) for _ in range(3)) - base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, help="where the kernel and its cache go")
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="segycore-numba-"))
    cache_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (args.traces, TRACE_HEADER_SIZE), dtype=np.uint8)
    offsets2 = np.array([f.offset for f in TRACE_FIELDS if f.width == 2], np.int64)
    offsets4 = np.array([f.offset for f in TRACE_FIELDS if f.width == 4], np.int64)
    out2 = np.empty((offsets2.size, args.traces), np.int16)
    out4 = np.empty((offsets4.size, args.traces), np.int32)

    for stale in cache_dir.glob("__pycache__/bench_numba_kernel*"):
        stale.unlink()  # time a cold compile first
    started = time.perf_counter()
    kernel = _kernel_module(cache_dir)
    one2, one4 = np.empty((offsets2.size, 1), np.int16), np.empty((offsets4.size, 1), np.int32)
    kernel.decode_be(raw[:1].copy(), offsets2, offsets4, one2, one4)  # the signature used below
    kernel.decode_be_tiled(raw[:1].copy(), offsets2, offsets4, one2, one4)
    compile_s = time.perf_counter() - started

    # same results, or the race means nothing
    kernel.decode_be(raw, offsets2, offsets4, out2, out4)
    reference = decode_numpy(raw)
    i2 = i4 = 0
    for f, column in zip(TRACE_FIELDS, reference, strict=True):
        got = out2[i2] if f.width == 2 else out4[i4]
        i2, i4 = (i2 + 1, i4) if f.width == 2 else (i2, i4 + 1)
        np.testing.assert_array_equal(got, column)

    def numba(fn: Callable[..., None]) -> Callable[[], None]:  # fresh outputs per call
        return lambda: fn(raw, offsets2, offsets4, np.empty_like(out2), np.empty_like(out4))

    contenders = {
        "numpy (per-field cast)": lambda: decode_numpy(raw),
        "numba (one pass)": numba(kernel.decode_be),
        "numba (tiles of 64)": numba(kernel.decode_be_tiled),
        "cython (tiles of 64, codec.header_columns)": lambda: codec.header_columns(raw, False),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for rnd in range(args.rounds):
        shift = rnd % len(contenders)
        order = list(contenders)[shift:] + list(contenders)[:shift]
        for name in order:
            started = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - started)

    import_s = _fresh("import numba", cache_dir)
    cached_s = _fresh(
        "import numpy as np, bench_numba_kernel as k\n"
        "r = np.zeros((1, 240), np.uint8); o = np.zeros(1, np.int64)\n"
        "k.decode_be(r, o, o, np.zeros((1, 1), np.int16), np.zeros((1, 1), np.int32))",
        cache_dir,
    )
    numpy_import_s = _fresh("import numpy", cache_dir)

    n = args.traces
    medians = {name: statistics.median(t) for name, t in times.items()}
    numpy_s = medians["numpy (per-field cast)"]
    numba_s = min(medians["numba (one pass)"], medians["numba (tiles of 64)"])
    cython_s = medians["cython (tiles of 64, codec.header_columns)"]
    print(
        f"Header decoding, {n:,} big-endian headers x {len(TRACE_FIELDS)} fields, "
        f"median of {args.rounds} alternating rounds (one thread, outputs allocated per call)\n"
    )
    print("| path | seconds | ns per header | vs numpy |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.3f} | {seconds / n * 1e9:.0f} | {numpy_s / seconds:.2f}x |")
    print(
        f"\nNumba's fixed costs per process: `import numba` {import_s:.2f} s (numpy alone "
        f"{numpy_import_s:.2f} s), import + load of the cached kernel + first call "
        f"{cached_s:.2f} s; cold compile {compile_s:.2f} s (once per machine, cache=True). "
        "The Cython kernel has none."
    )
    saved = cython_s - numba_s  # the faster Numba variant
    if saved > 0:
        print(
            f"Numba (its faster variant) over Cython: saves {saved / n * 1e9:.0f} ns per "
            f"header, so it would pay from about {cached_s / (saved / n):,.0f} headers per process."
        )
    else:
        print(
            f"Numba (its faster variant) over Cython: {-saved / n * 1e9:.0f} ns per header "
            "slower, so it never pays here; segycore uses the Cython kernel."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
