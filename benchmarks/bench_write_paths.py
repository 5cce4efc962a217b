"""How worker threads should write one big output file: the ways measured, side by side.

Import writes every worker's rows into the one ``traces.npy`` and export every worker's
records into the one output file. Each way below writes ``--gib`` GiB of 2 MiB chunks into
one pre-allocated file (``posix_fallocate``, as segycore does), in rotating order, each
in a fresh process:

``pwrite``     each thread ``os.pwrite``s its own half (what segycore does)
``locked``     the same behind one lock of ours (threads sleep instead of spinning on
               the kernel's inode lock)
``mmap``       each thread maps its half and copies into the mapping (no inode lock,
               no ``write`` copy; a page fault per new page instead)
``populate``   ``mmap`` with ``MADV_POPULATE_WRITE`` before each chunk

    python benchmarks/bench_write_paths.py --dir /work/bench --threads 1 2 --rounds 3

Prints one line per run and the median per way and thread count. Linux only (mmap
``madvise``); the file is removed after each run.
"""

from __future__ import annotations

import argparse
import mmap
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["WAYS", "main", "write_once"]

WAYS = ("pwrite", "locked", "mmap", "populate")
CHUNK = 2 * 1024 * 1024
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)  # Linux 5.14; 3.11 lacks it


def write_once(path: Path, way: str, threads: int, total: int) -> tuple[float, float]:
    """Write ``total`` bytes into a new pre-allocated ``path`` ``way``; (wall s, CPU s)."""
    import numpy as np

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        os.posix_fallocate(fd, 0, total)
        part = total // threads
        lock = threading.Lock()

        def work(index: int) -> None:
            chunk = np.full(CHUNK, index + 1, np.uint8)
            base = index * part
            if way in ("pwrite", "locked"):
                for offset in range(0, part, CHUNK):
                    if way == "locked":
                        with lock:
                            os.pwrite(fd, chunk, base + offset)
                    else:
                        os.pwrite(fd, chunk, base + offset)
                return
            mapping = mmap.mmap(fd, part, offset=base)
            view = np.frombuffer(mapping, dtype=np.uint8)
            for offset in range(0, part, CHUNK):
                if way == "populate":
                    mapping.madvise(MADV_POPULATE_WRITE, offset, CHUNK)
                view[offset : offset + CHUNK] = chunk
            del view
            mapping.close()

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        started, cpu = time.perf_counter(), time.process_time()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="where the file is written")
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=WAYS)
    parser.add_argument("--one", nargs=2, metavar=("WAY", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    total = int(args.gib * 2**30) // CHUNK * CHUNK
    if args.one:
        wall, cpu = write_once(args.dir / "write-paths.bin", args.one[0], int(args.one[1]), total)
        print(f"{wall:.3f} {cpu:.3f}")
        return 0
    times: dict[tuple[str, int], list[float]] = {}
    for round_ in range(args.rounds):
        ways = args.ways[round_ % len(args.ways) :] + args.ways[: round_ % len(args.ways)]
        for way in ways:
            for threads in args.threads:
                done = subprocess.run(
                    [sys.executable, __file__, "--dir", str(args.dir), "--gib", str(args.gib),
                     "--one", way, str(threads)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                wall, cpu = (float(x) for x in done.stdout.split())
                times.setdefault((way, threads), []).append(wall)
                print(f"round {round_ + 1} {way:9s} {threads} thread(s): {wall:.2f} s, "
                      f"{cpu:.2f} CPU-s", flush=True)  # fmt: skip
    print("\n| way | threads | median s | min-max s |\n| --- | ---: | ---: | --- |")
    for (way, threads), walls in times.items():
        print(f"| {way} | {threads} | {statistics.median(walls):.2f} "
              f"| {min(walls):.2f}-{max(walls):.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
