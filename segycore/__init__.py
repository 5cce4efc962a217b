"""segycore: parallel, byte-exact SEG-Y import and export.

The public API: the staged coordinators, the job API over the supervisor process,
:func:`open_dataset`, and the SEG-Y vocabulary.
"""

from .dataset.dataset import Dataset, open_dataset
from .errors import (
    JobCancelled,
    SegycoreError,
    SegyError,
    SegyFormatError,
    UnrepresentableValueError,
)
from .format.layout import SegyLayout, read_layout
from .format.spec import SAMPLE_FORMATS, TRACE_FIELDS, resolve_trace_field
from .pipeline.exporter import ExportConfig, ExportResult, ParallelExportCoordinator
from .pipeline.importer import ImportConfig, ImportResult, ParallelImportCoordinator
from .pipeline.indexer import INDEX_STAGES, IndexConfig, IndexCoordinator, IndexResult
from .pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, ParallelProgress

__version__ = "0.1.0"

__all__ = [
    "EXPORT_STAGES",
    "IMPORT_STAGES",
    "INDEX_STAGES",
    "SAMPLE_FORMATS",
    "TRACE_FIELDS",
    "Dataset",
    "ExportConfig",
    "ExportResult",
    "ImportConfig",
    "ImportResult",
    "IndexConfig",
    "IndexCoordinator",
    "IndexResult",
    "Job",
    "JobCancelled",
    "ParallelExportCoordinator",
    "ParallelImportCoordinator",
    "ParallelProgress",
    "SegyError",
    "SegyFormatError",
    "SegyLayout",
    "SegycoreError",
    "UnrepresentableValueError",
    "__version__",
    "open_dataset",
    "read_layout",
    "resolve_trace_field",
    "start_export",
    "start_import",
    "start_index",
    "start_job",
]


def __getattr__(name: str) -> object:
    # The job API pulls in the supervisor and progress block; load it on first use.
    if name in ("Job", "start_import", "start_export", "start_index", "start_job"):
        from .runtime import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module 'segycore' has no attribute {name!r}")
