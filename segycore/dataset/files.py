"""The names of the files and folders in a dataset folder (see :mod:`segycore.dataset.dataset`).

Plain names, importable without numpy or pyarrow: a job config names what its job will
replace (:attr:`segycore.pipeline.configs.IndexConfig.destination`) in the front end.
"""

from __future__ import annotations

__all__ = ["HEADERS_FILE", "INDEX_DIR", "METADATA_FILE", "TRACES_FILE"]

TRACES_FILE = "traces.npy"
HEADERS_FILE = "headers.parquet"
INDEX_DIR = "index"
METADATA_FILE = "metadata.json"
