"""The single-process segyio script users write today: traces + all headers to .npy + Parquet.

The baseline segycore's import is compared with (``bench_import_export.py`` runs it as a
child process and measures its time and peak memory). It memory-maps the file
(``f.mmap()``), as a user who reads every header field should: without it each of the
91 field reads is a pass of ``fread`` calls over the file, 10-100x slower. Usage:
``python segyio_script.py SOURCE.sgy OUTPUT_FOLDER``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import segyio

__all__ = ["main"]


def main(source: str, output: str) -> None:
    """All traces to ``traces.npy``, every standard trace-header field to Parquet."""
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    with segyio.open(source, ignore_geometry=True) as f:
        f.mmap()
        traces = f.trace.raw[:]
        np.save(folder / "traces.npy", traces)
        del traces
        fields = segyio.TraceField.enums()
        columns = {str(field): f.attributes(int(field))[:] for field in fields}
    pq.write_table(pa.table(columns), folder / "headers.parquet")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
