"""Time the segment merge's methods against ``cp`` of one file of the same total size.

Generates ``--parts`` segment files of ``--size-mb`` MiB in total under ``--workdir``,
then, ``--repeat`` rounds in alternation, copies one file of that size with ``cp`` and
merges the segments with each method (and ``auto``). Dirty pages are flushed (``sync``,
not timed) before every timed run so that no run pays for the previous one's write-back.
Prints a Markdown table: min / median / max seconds, throughput, and the ratio of each
median to ``cp``'s. Everything generated is deleted at the end.

Merges are timed in this process, not as child processes like ``common.run_alternating``
does: importing ``segycore`` costs ~0.3 s, as much as the whole merge of 1 GiB.

Run: ``python3 benchmarks/bench_merge.py --size-mb 1024``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segycore.storage.merge import DEFAULT_CHUNK_SIZE, available_methods, merge_files

__all__ = ["main"]

MIB = 1024 * 1024
PREFIX = b"C" * 3200 + b"\x00" * 400  # textual + binary header: 3600 bytes
BLOCK = 16 * MIB


def write_file(path: Path, size: int, seed: int) -> None:
    """Write ``size`` bytes that do not repeat across blocks (no help from compression)."""
    block = bytearray(os.urandom(BLOCK))
    with path.open("wb") as f:
        written = 0
        while written < size:
            block[:8] = (seed * 1_000_003 + written).to_bytes(8, "little")
            n = min(BLOCK, size - written)
            f.write(memoryview(block)[:n])
            written += n


def timed(run: Callable[[], object], output: Path) -> float:
    """Seconds ``run`` takes, starting with no dirty pages; ``output`` is removed after."""
    os.sync()
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    output.unlink()
    return elapsed


def markdown(rows: dict[str, list[float]], size: int) -> str:
    """The results table, with every median as a ratio to ``cp``'s."""
    cp_median = statistics.median(rows["cp"])
    lines = [
        "| method | min s | median s | max s | GB/s (median) | median / cp |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, seconds in rows.items():
        median = statistics.median(seconds)
        lines.append(
            f"| {name} | {min(seconds):.3f} | {median:.3f} | {max(seconds):.3f} "
            f"| {size / median / 1e9:.2f} | {median / cp_median:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="total size in MiB")
    parser.add_argument("--parts", type=int, default=2, help="number of segment files")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    parser.add_argument(
        "--chunk-mb", type=int, default=DEFAULT_CHUNK_SIZE // MIB, help="merge chunk in MiB"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(__file__).resolve().parent / "work",
        help="where to generate files (the destination's file system)",
    )
    args = parser.parse_args(argv)
    if args.size_mb <= 0 or args.parts <= 0 or args.repeat <= 0 or args.chunk_mb <= 0:
        parser.error("--size-mb, --parts, --repeat and --chunk-mb must be positive")

    made_workdir = not args.workdir.exists()
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_merge-", dir=args.workdir))
    try:
        segment_size = args.size_mb * MIB - len(PREFIX)
        base, extra = divmod(segment_size, args.parts)
        parts = [work / f"segment{i:03d}.seg" for i in range(args.parts)]
        for i, part in enumerate(parts):
            write_file(part, base + (i < extra), seed=i)
        single = work / "single.sgy"
        write_file(single, args.size_mb * MIB, seed=args.parts)
        output = work / "out.sgy"
        chunk = args.chunk_mb * MIB

        def run_cp() -> None:
            subprocess.run(["cp", str(single), str(output)], check=True)

        def run_merge(method: str) -> Callable[[], object]:
            return lambda: merge_files(PREFIX, parts, output, method=method, chunk_size=chunk)

        runs: dict[str, Callable[[], object]] = {"cp": run_cp}
        runs.update({m: run_merge(m) for m in [*available_methods(), "auto"]})
        for run in runs.values():  # warm the page cache, untimed
            run()
            output.unlink()
        results: dict[str, list[float]] = {name: [] for name in runs}
        for round_ in range(args.repeat):
            names = list(runs)
            names = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in names:
                results[name].append(timed(runs[name], output))
        print(
            f"Merge of {args.parts} segments + {len(PREFIX)}-byte prefix, "
            f"{args.size_mb} MiB in total, chunk {args.chunk_mb} MiB, "
            f"{args.repeat} rounds (warm cache, sync before each run):\n"
        )
        print(markdown(results, args.size_mb * MIB))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if made_workdir:
            with contextlib.suppress(OSError):  # another benchmark may be using it
                args.workdir.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
