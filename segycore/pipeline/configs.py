"""What a job is asked to do, checked when built: the import, export and index configs.

A config is a frozen dataclass of plain values (paths, numbers, strings, sequences of
them) that refuses, in ``__post_init__``, any option no run could honour. It is built in
the front end's process - a CLI command, a GUI's event-loop thread, a script - and
reaches the supervisor as plain data (:func:`segycore.pipeline.options.config_to_data`),
where it is rebuilt, and so checked again, before its coordinator runs.

This module and everything it imports load without numpy, pyarrow, dask or Qt (the
standard library and segycore's vocabulary only): a small job's front end must not pay
for what only its supervisor uses (``tests/pipeline/test_configs.py``). The checks that
need a file (the source's layout, a dataset's columns, free space) are the coordinators'
job, in :mod:`segycore.pipeline.importer`, :mod:`~segycore.pipeline.exporter` and
:mod:`~segycore.pipeline.indexer`, which re-export these classes under their old names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset.files import INDEX_DIR
from ..errors import SegyError
from ..format.fields import parse_header_fields, resolve_columns
from .options import (
    CHUNK_BYTES,
    check_flag,
    check_job_options,
    check_merge_method,
    check_path,
    check_reading_options,
    check_sample_format,
    default_workers,
)
from .scheduler_option import check_scheduler_option
from .selection_syntax import check_selection

if TYPE_CHECKING:  # the byte-order type only: format.layout loads numpy
    from ..format.layout import Endian

__all__ = ["ExportConfig", "ImportConfig", "IndexConfig"]


@dataclass(frozen=True)
class ImportConfig:
    """What to import and how.

    Parameters
    ----------
    source
        The SEG-Y file (opened read-only, never modified).
    destination
        The dataset folder to create.
    workers
        Worker threads; default the CPU count (at most
        :data:`~segycore.pipeline.options.MAX_WORKERS`).
    ensemble_keys
        Header fields to index ensembles on (any accepted field name or byte position).
    endian
        ``"big"`` or ``"little"`` to override byte-order detection.
    overwrite
        Replace an existing destination (only once the new dataset is complete).
    chunk_bytes
        Bytes of trace records a worker converts at a time (bounds its memory).
    rate_limit
        Cap on the job's I/O in MB/s, to keep a shared workstation responsive.
    header_fields
        Custom trace-header fields ``NAME:BYTE:TYPE`` decoded as extra columns
        (:mod:`segycore.format.fields`); usable as ensemble and geometry keys.
    geometry_keys
        The (inline, crossline, offset) fields the survey grid is detected from (names
        or byte positions, as segyio's ``iline=``/``xline=``); None: no geometry.
    salvage
        Import every complete trace of a damaged file (truncated, trailing bytes, a last
        trace cut short); what was dropped goes to ``metadata.json`` under ``"salvage"``.
    format_code, samples, textual_encoding
        Overrides of the stated sample format, samples per trace and textual header
        encoding; recorded as read and as used. Export writes the source's own headers.
    ibm_exact
        For IBM files, keep the raw sample bytes of the traces re-encoding would change
        (``ibm_raw/``), so export gives the source back byte for byte.
    scheduler
        ``tcp://host:port`` of a dask.distributed scheduler: run the parallel stage on
        its cluster (:mod:`segycore.pipeline.cluster`); default the worker threads.
    """

    source: Path | str
    destination: Path | str
    workers: int = field(default_factory=default_workers)
    ensemble_keys: Sequence[str | int] = ("field_record",)
    endian: Endian | None = None
    overwrite: bool = False
    chunk_bytes: int = CHUNK_BYTES
    rate_limit: float | None = None
    header_fields: Sequence[str] = ()
    geometry_keys: Sequence[str | int] | None = ("inline", "crossline", "offset")
    salvage: bool = False
    format_code: int | None = None
    samples: int | None = None
    textual_encoding: str | None = None
    ibm_exact: bool = True
    scheduler: str | None = None

    def __post_init__(self) -> None:
        check_path(self.source, "source")
        check_path(self.destination, "destination")
        check_job_options(self.workers, self.endian, self.chunk_bytes, self.rate_limit)
        check_scheduler_option(self.scheduler)
        custom = parse_header_fields(self.header_fields)
        resolve_columns(self.ensemble_keys, custom, "ensemble keys")
        geometry = self.geometry_keys
        if geometry is not None and len(resolve_columns(geometry, custom, "geometry keys")) != 3:
            raise SegyError("geometry keys are three fields: inline, crossline, offset")
        check_flag(self.overwrite, "overwrite")
        check_reading_options(
            self.salvage, self.format_code, self.samples, self.textual_encoding, self.ibm_exact
        )


@dataclass(frozen=True)
class ExportConfig:
    """What to export and how.

    Parameters
    ----------
    dataset
        The dataset folder to export.
    destination
        The SEG-Y file to create.
    workers
        Worker threads; default the CPU count.
    format_code
        Output sample format; default the source file's.
    endian
        Output byte order; default the source file's.
    textual_header
        Text replacing the textual header (40 lines of 80 characters, in the source's
        encoding); default the source's bytes.
    overwrite
        Replace an existing destination (only once the new file is complete).
    segments
        Write each worker's traces to a segment file of its own, then merge the
        segments into the output (the original scheme: twice the disk space and every
        byte written twice). By default workers write straight into their slice of the
        pre-sized output file and the merge stage only writes the file headers.
    merge_method
        How segments are merged (see :func:`segycore.storage.merge.available_methods`).
    chunk_bytes
        Bytes a worker encodes, and the merge copies, at a time.
    rate_limit
        Cap on the job's I/O in MB/s, to keep a shared workstation responsive.
    sort
        Write the traces stably sorted by these header fields (``"cdp,offset"`` or a
        list; custom fields too); see :mod:`segycore.pipeline.selection`.
    select
        Write only traces with every ``KEY=LO:HI`` (inclusive) true.
    scheduler
        ``tcp://host:port`` of a dask.distributed scheduler: run the parallel stage on
        its cluster (:mod:`segycore.pipeline.cluster`); default the worker threads.
    """

    dataset: Path | str
    destination: Path | str
    workers: int = field(default_factory=default_workers)
    format_code: int | None = None
    endian: Endian | None = None
    textual_header: str | None = None
    overwrite: bool = False
    segments: bool = False
    merge_method: str = "auto"
    chunk_bytes: int = CHUNK_BYTES
    rate_limit: float | None = None
    sort: str | Sequence[str | int] = ()
    select: Sequence[str] = ()
    scheduler: str | None = None

    def __post_init__(self) -> None:
        check_path(self.dataset, "dataset")
        check_path(self.destination, "destination")
        check_job_options(self.workers, self.endian, self.chunk_bytes, self.rate_limit)
        check_selection(self.sort, self.select)
        check_scheduler_option(self.scheduler)
        if self.scheduler and self.segments:
            raise SegyError("segments are not used on a cluster: each task writes its slice")
        if self.format_code is not None:
            check_sample_format(self.format_code)
        if self.textual_header is not None and not isinstance(self.textual_header, str):
            raise SegyError(f"textual header must be text, got {type(self.textual_header)}")
        check_flag(self.overwrite, "overwrite")
        check_flag(self.segments, "segments")
        check_merge_method(self.merge_method)


@dataclass(frozen=True)
class IndexConfig:
    """Which indexes of a dataset to add or rebuild.

    Parameters
    ----------
    dataset
        The dataset folder (changed in place, atomically).
    ensemble_keys
        Keys to index (names, segyio names, byte positions or custom field names);
        existing indexes of other keys are kept.
    geometry_keys
        The (inline, crossline, offset) fields to detect the survey grid from (byte
        positions work, as segyio's ``iline=``/``xline=``); None: leave the geometry.
    workers
        Worker slots of the job (the build itself is one thread).
    """

    dataset: Path | str
    ensemble_keys: Sequence[str | int] = ()
    geometry_keys: Sequence[str | int] | None = ("inline", "crossline", "offset")
    workers: int = field(default=1)

    def __post_init__(self) -> None:
        if isinstance(self.ensemble_keys, str | int):
            raise SegyError("ensemble_keys is a list of field names")
        if not self.ensemble_keys and self.geometry_keys is None:
            raise SegyError("nothing to index: give an ensemble key or geometry keys")
        if self.geometry_keys is not None and len(self.geometry_keys) != 3:
            raise SegyError("geometry_keys are three fields: inline, crossline, offset")

    @property
    def destination(self) -> Path:
        """What the job replaces: the dataset's ``index`` folder. Its staging folders are
        ``.index.segycore-tmp-<pid>-*`` beside it, which is where the job API looks for a
        dead supervisor's leftovers."""
        return Path(self.dataset) / INDEX_DIR
