"""Byte-exact IBM round trips: the raw sample bytes of traces re-encoding would change.

Unnormalised IBM fractions, zeros with an exponent and values beyond float32's range
decode exactly (or clamp) but encode back to other bytes. Import finds such traces with
:func:`segycore.format.codec.ibm_inexact_traces` and keeps their raw sample bytes in the
dataset's ``ibm_raw/`` folder, readable with numpy alone:

``ibm_raw/traces.npy``   int64 ``(k,)``: the trace numbers, ascending
``ibm_raw/samples.npy``  uint8 ``(k, 4 * n_samples)``: their sample bytes as in the source

Export (format 1, the source's byte order) writes those bytes back for every such trace
whose samples still decode from them bit for bit; a trace changed since import is encoded
from its values like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..format import codec
from ..format.spec import TRACE_HEADER_SIZE

__all__ = ["IBM_RAW_DIR", "IbmRawPart", "IbmRawRestorer", "join_parts"]

IBM_RAW_DIR = "ibm_raw"
_TRACES, _SAMPLES = "traces.npy", "samples.npy"


class IbmRawPart:
    """One import task's inexact traces: ``part-<index>.traces`` (int64 trace numbers) and
    ``part-<index>.bin`` (their raw sample bytes) in ``ibm_raw/``; created afresh by each
    run of the task, so a re-run task replaces its part."""

    def __init__(self, folder: Path, index: int, n_samples: int, little_endian: bool) -> None:
        self.folder, self.index = folder, index
        self.n_samples, self.little_endian = n_samples, little_endian
        self.row_bytes = 4 * n_samples
        self._traces: BinaryIO | None = None
        self._samples: BinaryIO | None = None
        for path in self._paths():
            path.unlink(missing_ok=True)

    def _paths(self) -> tuple[Path, Path]:
        name = f"part-{self.index:04d}"
        return self.folder / f"{name}.traces", self.folder / f"{name}.bin"

    def check(self, records: np.ndarray, first: int, n: int) -> None:
        """Keep the raw samples of the records among ``n`` that re-encoding would change."""
        size = records.size // n  # variable-length traces come one record at a time
        n_samples = (size - TRACE_HEADER_SIZE) // 4
        flags = codec.ibm_inexact_traces(records, n, n_samples, self.little_endian)
        if not flags.any():
            return
        rows = np.flatnonzero(flags)
        raw = np.zeros((len(rows), self.row_bytes), dtype=np.uint8)  # shorter ones zero-padded
        raw[:, : 4 * n_samples] = records[: n * size].reshape(n, size)[rows, TRACE_HEADER_SIZE:]
        if self._traces is None:
            self.folder.mkdir(exist_ok=True)
            traces, samples = self._paths()
            self._traces = open(traces, "wb")  # noqa: SIM115 (closed in close())
            self._samples = open(samples, "wb")  # noqa: SIM115
        self._traces.write((rows.astype("<i8") + first).tobytes())
        self._samples.write(np.ascontiguousarray(raw).tobytes())  # type: ignore[union-attr]

    def close(self) -> None:
        for fh in (self._traces, self._samples):
            if fh is not None:
                fh.close()
        self._traces = self._samples = None

    def __enter__(self) -> IbmRawPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def join_parts(folder: Path, n_samples: int) -> int:
    """Join the tasks' parts, in task order, into ``traces.npy`` and ``samples.npy``;
    return how many traces they hold (0: no part, no folder)."""
    parts = sorted(folder.glob("part-*.traces")) if folder.is_dir() else []
    if not parts:
        return 0
    pieces = [np.fromfile(p, dtype="<i8").astype(np.int64) for p in parts]
    # parts are whole trace ranges: ordering the parts by their first trace orders all
    # (a cluster's task indexes need not follow the traces)
    order = sorted(range(len(parts)), key=lambda i: int(pieces[i][0]) if len(pieces[i]) else 0)
    numbers = np.concatenate([pieces[i] for i in order])
    np.save(folder / _TRACES, numbers)
    with open(folder / _SAMPLES, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|u1", "fortran_order": False, "shape": (len(numbers), 4 * n_samples)}
        )
        for i in order:
            with open(parts[i].with_suffix(".bin"), "rb") as src:
                while block := src.read(1 << 20):
                    fh.write(block)
    for part in parts:
        part.unlink()
        part.with_suffix(".bin").unlink()
    return len(numbers)


class IbmRawRestorer:
    """Export side: the kept raw bytes, written over re-encoded samples that match them."""

    def __init__(self, folder: Path, n_samples: int, little_endian: bool) -> None:
        self.traces = np.load(folder / _TRACES, mmap_mode="r")
        self.samples = np.load(folder / _SAMPLES, mmap_mode="r")
        if (
            self.traces.ndim != 1
            or self.traces.dtype != np.int64
            or self.samples.shape != (len(self.traces), 4 * n_samples)
            or self.samples.dtype != np.uint8
        ):
            raise ValueError(f"{folder} does not match the dataset's traces")
        self.little_endian = little_endian

    @staticmethod
    def present(folder: Path) -> bool:
        """Whether ``folder`` (a dataset's ``ibm_raw/``) holds kept raw samples."""
        return (folder / _TRACES).is_file()

    def restore(self, records: np.ndarray, values: np.ndarray, first: int, n: int) -> int:
        """Put the raw bytes back into the sample part of ``n`` encoded records.

        ``values`` are the float32 samples the records were encoded from; a trace whose
        values no longer decode from its raw bytes (edited since import) is left alone.
        Returns how many traces were restored.
        """
        lo, hi = np.searchsorted(self.traces, [first, first + n])
        if lo == hi:
            return 0
        size = records.size // n
        rows = records[: n * size].reshape(n, size)
        order = "<u4" if self.little_endian else ">u4"
        restored = 0
        for k in range(lo, hi):
            t = int(self.traces[k]) - first
            raw = np.asarray(self.samples[k])[: size - TRACE_HEADER_SIZE]
            decoded = codec.ibm_to_float32(raw.view(order).astype(np.uint32))
            if np.array_equal(decoded.view(np.uint32), values[t].view(np.uint32)):
                rows[t, size - raw.size :] = raw
                restored += 1
        return restored
