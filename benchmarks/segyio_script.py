"""The single-process segyio script users write today: traces + all headers to .npy + Parquet.

The baseline segycore's import is compared with (``bench_import_export.py`` runs it as a
child process and measures its time and peak memory). Usage:
``python segyio_script.py SOURCE.sgy OUTPUT_FOLDER``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import segyio


def main(source: str, output: str) -> None:
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    with segyio.open(source, ignore_geometry=True) as f:
        traces = f.trace.raw[:]
        np.save(folder / "traces.npy", traces)
        del traces
        columns = {str(field): f.attributes(int(field))[:] for field in segyio.TraceField.enums()}
    pq.write_table(pa.table(columns), folder / "headers.parquet")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
