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

import threading
from pathlib import Path

import numpy as np

from ..format import codec

__all__ = ["IBM_RAW_DIR", "IbmRawCollector", "IbmRawRestorer"]

IBM_RAW_DIR = "ibm_raw"
_TRACES, _SAMPLES = "traces.npy", "samples.npy"


class IbmRawCollector:
    """Import side: each worker appends the raw samples of its inexact traces to a part."""

    def __init__(self, staging: Path, n_samples: int, little_endian: bool) -> None:
        self.folder = staging / IBM_RAW_DIR
        self.row_bytes = 4 * n_samples
        self.n_samples = n_samples
        self.little_endian = little_endian
        self._parts: dict[int, tuple[Path, list[np.ndarray]]] = {}
        self._lock = threading.Lock()

    def check(self, worker: int, records: np.ndarray, first: int, n: int) -> None:
        """Keep the raw samples of the records among ``n`` that re-encoding would change."""
        flags = codec.ibm_inexact_traces(records, n, self.n_samples, self.little_endian)
        if not flags.any():
            return
        rows = np.flatnonzero(flags)
        size = records.size // n
        raw = records[: n * size].reshape(n, size)[rows, size - self.row_bytes :]
        with self._lock:
            if worker not in self._parts:
                self.folder.mkdir(exist_ok=True)
                self._parts[worker] = (self.folder / f"part-{worker:04d}.bin", [])
        path, numbers = self._parts[worker]
        with open(path, "ab") as fh:
            fh.write(np.ascontiguousarray(raw).tobytes())
        numbers.append(rows.astype(np.int64) + first)

    @property
    def part_paths(self) -> list[Path]:
        return [path for path, _ in self._parts.values()]

    def finish(self) -> int:
        """Join the parts into ``traces.npy`` and ``samples.npy``; return the trace count."""
        if not self._parts:
            return 0
        order = sorted(self._parts)
        numbers = np.concatenate([np.concatenate(self._parts[w][1]) for w in order])
        np.save(self.folder / _TRACES, numbers)
        with open(self.folder / _SAMPLES, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh,
                {"descr": "|u1", "fortran_order": False, "shape": (len(numbers), self.row_bytes)},
            )
            for w in order:
                with open(self._parts[w][0], "rb") as part:
                    while block := part.read(1 << 20):
                        fh.write(block)
        for path in self.part_paths:
            path.unlink()
        return len(numbers)


class IbmRawRestorer:
    """Export side: the kept raw bytes, written over re-encoded samples that match them."""

    def __init__(self, dataset_path: Path, n_samples: int, little_endian: bool) -> None:
        folder = dataset_path / IBM_RAW_DIR
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
    def present(dataset_path: Path) -> bool:
        return (dataset_path / IBM_RAW_DIR / _TRACES).is_file()

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
            raw = np.asarray(self.samples[k])
            decoded = codec.ibm_to_float32(raw.view(order).astype(np.uint32))
            if np.array_equal(decoded.view(np.uint32), values[t].view(np.uint32)):
                rows[t, size - raw.size :] = raw
                restored += 1
        return restored
