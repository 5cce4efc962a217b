"""Synthetic surveys in every sample format and byte order read back, with segyio too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segyio

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    open_dataset,
    read_layout,
)
from segycore.format.reference import decode_records_reference
from segycore.format.spec import SAMPLE_FORMATS, TRACE_HEADER_SIZE
from segycore.format.synthetic import survey_size, write_survey

SUPPORTED = [code for code, fmt in SAMPLE_FORMATS.items() if fmt.supported]
#: segyio cannot decode 24-bit samples (formats 7 and 15).
SEGYIO_READS = [code for code in SUPPORTED if code not in (7, 15)]


@pytest.mark.filterwarnings("ignore:Unknown trace value format")
@pytest.mark.parametrize("endian", ["big", "little"])
@pytest.mark.parametrize("code", SUPPORTED)
def test_every_format_reads_back(code: int, endian: str, tmp_path: Path) -> None:
    n_shots, per_shot, n_samples = 3, 7, 33
    path = write_survey(
        tmp_path / "s.sgy", n_shots, per_shot, n_samples, format_code=code, endian=endian
    )
    n_traces = n_shots * per_shot
    assert path.stat().st_size == survey_size(n_traces, n_samples, code)
    layout = read_layout(path)
    assert (layout.n_traces, layout.n_samples, layout.format.code) == (n_traces, n_samples, code)
    assert layout.endian == endian

    # The numpy reference decoder on the file's own bytes ...
    raw = path.read_bytes()[layout.data_offset :]
    expected = np.empty((n_traces, n_samples), dtype=layout.format.dtype)
    decode_records_reference(raw, n_traces, n_samples, code, endian == "little", None, expected)
    assert np.ptp(expected) > 0  # real waveforms, not a constant
    # ... agrees with segycore's import and, where it decodes the format, with segyio.
    ParallelImportCoordinator(ImportConfig(path, tmp_path / "ds", workers=2)).run()
    dataset = open_dataset(tmp_path / "ds")
    np.testing.assert_array_equal(dataset.traces, expected)
    np.testing.assert_array_equal(
        dataset.headers().column("field_record").to_numpy(),
        np.repeat(np.arange(1001, 1001 + n_shots), per_shot),
    )
    if code in SEGYIO_READS:
        with segyio.open(path, ignore_geometry=True, endian=endian) as f:
            assert f.tracecount == n_traces
            np.testing.assert_array_equal(f.trace.raw[:].astype(expected.dtype), expected)
            assert len(f.header[0].buf) == TRACE_HEADER_SIZE
    ParallelExportCoordinator(ExportConfig(tmp_path / "ds", tmp_path / "out.sgy")).run()
    assert (tmp_path / "out.sgy").read_bytes() == path.read_bytes()
