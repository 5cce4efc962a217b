"""The "25-trace file imported in 0.5 s end to end" target (issue 14), with its floor.

Times, as cold child processes in alternation, the whole command
``python -m segycore.cli import small.sgy DEST --quiet`` beside ``python -c pass``
(interpreter start), ``python -c "import numba"`` (what a process that needs Numba pays
first) and ``python -c "import segycore"``. The import's own stage timings come from
the dataset's ``metadata.json``; whatever the wall time has beyond them is start-up
(interpreter, imports, supervisor spawn) and publishing.

    python benchmarks/bench_small_file.py --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_import_export import SEGYCORE, metadata_stages

from common import Contender, markdown_table, remover, run_alternating

__all__ = ["SMALL_FILE", "TARGET_SECONDS", "contenders", "run"]

SMALL_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "segy" / "small.sgy"
TARGET_SECONDS = 0.5


def contenders(source: Path, work: Path) -> list[Contender]:
    """The floor references and the segycore import of ``source``."""
    python = sys.executable
    dataset = work / "small.dataset"
    return [
        Contender("python -c pass", lambda: [python, "-c", "pass"]),
        Contender('python -c "import numba"', lambda: [python, "-c", "import numba"]),
        Contender('python -c "import segycore"', lambda: [python, "-c", "import segycore"]),
        Contender(
            "segycore import small.sgy --quiet",
            lambda: [*SEGYCORE, "import", str(source), str(dataset), "--quiet"],
            remover(dataset),
            kind="import",
            stages=lambda _stdout: metadata_stages(dataset),
        ),
    ]


def run(source: Path, work: Path, repeat: int) -> dict[str, Any]:
    """Time the commands; the raw runs and a Markdown table (ratios to ``python -c pass``)."""
    work.mkdir(parents=True, exist_ok=True)
    runs = contenders(source, work)
    run_alternating(runs, repeat, sync=False)
    table = markdown_table(runs, reference="python -c pass")
    table = table.replace("x cp median", "x `python -c pass` median")
    return {
        "source": str(source),
        "source_bytes": source.stat().st_size,
        "contenders": [c.to_dict() for c in runs],
        "table": table,
        "import_median_seconds": runs[-1].median(),
        "target_seconds": TARGET_SECONDS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SMALL_FILE)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "segycore-bench"
    )
    args = parser.parse_args(argv)
    if not args.source.exists():
        raise SystemExit(f"{args.source} is absent (the shared test data is not here)")
    result = run(args.source, args.workdir, args.repeat)
    print(result["table"])
    verdict = "met" if result["import_median_seconds"] <= TARGET_SECONDS else "MISSED"
    median = result["import_median_seconds"]
    print(f"\nmedian import {median:.2f} s: target <= {TARGET_SECONDS} s {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
