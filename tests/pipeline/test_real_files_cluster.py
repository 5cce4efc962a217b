"""Rev 2 structure, raw IBM bytes and variable-length traces through the cluster backend.

The cluster re-plans the coordinator's tasks into page-aligned ranges; every new task
field (additional headers, the raw-IBM folder, per-trace sample counts) must survive it.
A LocalCluster of in-process workers; tasks of 16 KiB so that each file takes several.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from segycore import (  # noqa: E402
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    open_dataset,
)
from tests.format.rev2_files import Rev2Spec, rev2_segy  # noqa: E402
from tests.helpers import assert_no_staging  # noqa: E402
from tests.pipeline.test_real_files import mixed_ibm  # noqa: E402
from tests.reliability.malformed import SegySpec  # noqa: E402


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address="127.0.0.1:0",
        silence_logs=50,
    ) as lc:
        yield lc.scheduler_address


FILES = {
    "rev2-extra-trailer": lambda: (
        rev2_segy(Rev2Spec(n_traces=300, n_samples=50, extra=2, trailer=1, seed=90)).data
    ),
    "ibm-unnormalised": lambda: mixed_ibm(
        SegySpec(n_traces=400, n_samples=40, format_code=1, seed=91)
    ),
    "variable-length": lambda: (
        rev2_segy(
            Rev2Spec(
                n_traces=200,
                n_samples=60,
                lengths=tuple(int(n) for n in np.random.default_rng(92).integers(1, 61, 200)),
                extra=1,
                format_code=1,
                seed=92,
            )
        ).data
    ),
}


@pytest.mark.parametrize("name", list(FILES))
def test_cluster_round_trip_is_byte_exact(
    address: str, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGYCORE_TASK_MB", "0.015625")  # 16 KiB per task: several tasks
    data = FILES[name]()
    source = tmp_path / "source.sgy"
    source.write_bytes(data)
    threads, on_cluster = tmp_path / "threads.ds", tmp_path / "cluster.ds"
    ParallelImportCoordinator(ImportConfig(source, threads, workers=2)).run()
    ParallelImportCoordinator(ImportConfig(source, on_cluster, scheduler=address)).run()
    for part in ("traces.npy", "extra_headers.npy", "trace_samples.npy", "ibm_raw/traces.npy"):
        if (threads / part).exists():
            np.testing.assert_array_equal(np.load(on_cluster / part), np.load(threads / part))
        else:
            assert not (on_cluster / part).exists()
    assert open_dataset(on_cluster).n_traces == open_dataset(threads).n_traces
    back = tmp_path / "back.sgy"
    ParallelExportCoordinator(ExportConfig(on_cluster, back, scheduler=address)).run()
    assert back.read_bytes() == data
    assert_no_staging(tmp_path)
