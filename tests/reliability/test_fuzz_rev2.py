"""The fuzzer on rev 2 files: additional trace headers, trailers, gaps, salvage.

Every mutation of a valid rev 2 file either fails with a
:class:`~segycore.errors.SegycoreError` (nothing written, source unchanged) or imports
exactly what a plain-numpy reading of the layout :func:`read_layout` reports gives
(additional headers included), and export then gives the file back byte for byte (less
what a salvaging read dropped). Half the examples import with ``salvage=True``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.format.rev2_files import Rev2Spec, rev2_segy
from tests.reliability.malformed import FILE_HEADER_SIZE
from tests.reliability.support import file_state
from tests.reliability.test_fuzz import export_back, field_values, import_fuzzed, mutate

BASES: tuple[bytes, ...] = tuple(
    rev2_segy(spec).data
    for spec in (
        Rev2Spec(n_traces=6, n_samples=9, extra=1, seed=1),
        Rev2Spec(n_traces=4, n_samples=13, extra=2, minor=1, endian="little", seed=2),
        Rev2Spec(n_traces=5, n_samples=7, extra=3, trailer=1, format_code=3, seed=3),
        Rev2Spec(n_traces=3, n_samples=5, extended=1, extended_field=-1, gap=50, seed=4),
        Rev2Spec(n_traces=4, n_samples=6, trailer=2, trailer_field=-1, format_code=8, seed=5),
        Rev2Spec(n_traces=5, n_samples=8, lengths=(8, 3, 5, 8, 1), extra=1, seed=6),
    )
)
#: (1-based byte, width) of the rev 2 fields that decide the layout, and the first trace's.
REV2_FIELDS: tuple[tuple[int, int], ...] = (
    (3221, 2),
    (3225, 2),
    (3269, 4),
    (3501, 1),
    (3502, 1),
    (3505, 2),
    (3507, 4),
    (3507, 2),
    (3513, 8),
    (3521, 8),
    (3529, 4),
    (FILE_HEADER_SIZE + 115, 2),
    (FILE_HEADER_SIZE + 240 + 137, 4),  # extension 1: samples in this trace
    (FILE_HEADER_SIZE + 240 + 157, 2),  # extension 1: additional header count
)
MAX_EXAMPLES = int(os.environ.get("SEGYCORE_FUZZ_EXAMPLES", "60"))


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, int, bytes]:
    kind = draw(st.sampled_from(["field", "field", "truncate", "append"]))
    if kind == "field":
        byte, width = draw(st.sampled_from(REV2_FIELDS))
        return kind, byte - 1, draw(field_values(width))
    if kind == "truncate":
        return kind, draw(st.integers(1, 4000)), b""
    return kind, 0, draw(st.binary(min_size=1, max_size=900))


@pytest.mark.timeout(max(240, 2 * MAX_EXAMPLES))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    base=st.sampled_from(range(len(BASES))),
    edits=st.lists(mutations(), min_size=1, max_size=3),
    salvage=st.booleans(),
    workers=st.integers(1, 3),
)
def test_mutated_rev2_files_fail_cleanly_or_import_exactly(
    tmp_path: Path,
    base: int,
    edits: list[tuple[str, int, bytes]],
    salvage: bool,
    workers: int,
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        folder = Path(scratch)
        source, before, layout = import_fuzzed(
            folder, mutate(BASES[base], edits), workers=workers, chunk_bytes=900, salvage=salvage
        )
        if layout is not None:
            event(f"imported, {layout.extra_headers} additional headers")
            back = export_back(folder)  # and export gives the file back, byte for byte
            data = source.read_bytes()
            assert back.read_bytes() == data[: layout.data_end] + layout.trailer
        assert file_state(source) == before
