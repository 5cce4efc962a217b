"""segycore: parallel, byte-exact SEG-Y import and export.

The public API: the staged coordinators, the job API over the supervisor process,
:func:`open_dataset`, and the SEG-Y vocabulary.

Only the exceptions are imported with the package; every other name is loaded from its
module on first use (PEP 562), so ``import segycore`` and the command line's front end
do not pay for numpy, pyarrow and the coordinators until a job needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    JobCancelled,
    SegycoreError,
    SegyError,
    SegyFormatError,
    UnrepresentableValueError,
)

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from .dataset.dataset import Dataset, open_dataset
    from .format.layout import SegyLayout, read_layout
    from .format.spec import SAMPLE_FORMATS, TRACE_FIELDS, resolve_trace_field
    from .pipeline.configs import ExportConfig, ImportConfig, IndexConfig
    from .pipeline.exporter import ExportResult, ParallelExportCoordinator
    from .pipeline.importer import ImportResult, ParallelImportCoordinator
    from .pipeline.indexer import IndexCoordinator, IndexResult
    from .pipeline.stages import EXPORT_STAGES, IMPORT_STAGES, INDEX_STAGES, ParallelProgress
    from .runtime.jobs import Job, start_export, start_import, start_index, start_job

__version__ = "0.1.0"

#: public name -> the module (relative to this package) that defines it.
_LAZY: dict[str, str] = {
    "Dataset": ".dataset.dataset",
    "open_dataset": ".dataset.dataset",
    "SegyLayout": ".format.layout",
    "read_layout": ".format.layout",
    "SAMPLE_FORMATS": ".format.spec",
    "TRACE_FIELDS": ".format.spec",
    "resolve_trace_field": ".format.spec",
    "ExportConfig": ".pipeline.configs",
    "ExportResult": ".pipeline.exporter",
    "ParallelExportCoordinator": ".pipeline.exporter",
    "ImportConfig": ".pipeline.configs",
    "ImportResult": ".pipeline.importer",
    "ParallelImportCoordinator": ".pipeline.importer",
    "INDEX_STAGES": ".pipeline.stages",
    "IndexConfig": ".pipeline.configs",
    "IndexCoordinator": ".pipeline.indexer",
    "IndexResult": ".pipeline.indexer",
    "EXPORT_STAGES": ".pipeline.stages",
    "IMPORT_STAGES": ".pipeline.stages",
    "ParallelProgress": ".pipeline.stages",
    "Job": ".runtime.jobs",
    "start_export": ".runtime.jobs",
    "start_import": ".runtime.jobs",
    "start_index": ".runtime.jobs",
    "start_job": ".runtime.jobs",
}

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
    """Load a public name from its module on first use, then keep it in the package."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segycore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
