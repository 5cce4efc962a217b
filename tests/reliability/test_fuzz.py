"""A property-based fuzzer: valid files with mutated headers and sizes.

Every mutated file either fails with a :class:`~segycore.errors.SegycoreError` (nothing
written, source unchanged) or imports, and then the dataset equals a plain-numpy
decoding of the file bit for bit. Anything else - another exception type, a crash of a
compiled kernel, a hang - fails the test.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segycore import (
    ExportConfig,
    ImportConfig,
    ParallelExportCoordinator,
    ParallelImportCoordinator,
    SegycoreError,
    read_layout,
)
from segycore.dataset.info import describe
from segycore.format.layout import SegyLayout
from tests.reliability.malformed import FILE_HEADER_SIZE, SegySpec, valid_segy
from tests.reliability.support import (
    REPO,
    FileState,
    assert_dataset_matches,
    file_state,
    listing,
)

#: Valid files the fuzzer starts from: formats of every width, both byte orders, rev 0-2.
BASES: tuple[bytes, ...] = tuple(
    valid_segy(spec)
    for spec in (
        SegySpec(n_traces=7, n_samples=23, format_code=1, seed=1),
        SegySpec(n_traces=5, n_samples=31, format_code=5, endian="little", seed=2),
        SegySpec(n_traces=9, n_samples=17, format_code=8, revision=0, seed=3),
        SegySpec(n_traces=4, n_samples=40, format_code=3, endian="little", revision=2, seed=4),
        SegySpec(n_traces=6, n_samples=11, format_code=7, extended=1, seed=5),
        SegySpec(n_traces=3, n_samples=9, format_code=12, revision=2, seed=6),
    )
)
#: (1-based byte, width) of the fields that decide a file's layout, binary and trace header.
LAYOUT_FIELDS: tuple[tuple[int, int], ...] = (
    (3217, 2),  # sample interval
    (3221, 2),  # samples per trace
    (3225, 2),  # format code
    (3269, 4),  # rev 2 extended samples per trace
    (3273, 8),  # rev 2 extended sample interval (a float)
    (3297, 4),  # rev 2 byte-order constant
    (3501, 1),  # revision major
    (3502, 1),  # revision minor
    (3505, 2),  # extended textual headers
    (3507, 4),  # additional trace headers
    (3529, 4),  # trailer stanzas
    (FILE_HEADER_SIZE + 115, 2),  # first trace: samples
    (FILE_HEADER_SIZE + 117, 2),  # first trace: sample interval
)
#: Examples per run; ``SEGYCORE_FUZZ_EXAMPLES`` raises it for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("SEGYCORE_FUZZ_EXAMPLES", "150"))


@st.composite
def field_values(draw: st.DrawFn, width: int) -> bytes:
    """Bytes for a ``width``-byte field: boundary values, small numbers or anything."""
    bits = 8 * width
    value = draw(
        st.one_of(
            st.sampled_from([0, 1, 2, -1, 2 ** (bits - 1) - 1, -(2 ** (bits - 1)), 0x01020304]),
            st.integers(-3, 20),
            st.integers(-(2 ** (bits - 1)), 2**bits - 1),
        )
    )
    order = draw(st.sampled_from(["big", "little"]))
    return (value % 2**bits).to_bytes(width, order)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, int, bytes]:
    """One edit: set a layout field, overwrite bytes, truncate, or append."""
    kind = draw(st.sampled_from(["field", "field", "bytes", "truncate", "append"]))
    if kind == "field":
        byte, width = draw(st.sampled_from(LAYOUT_FIELDS))
        return kind, byte - 1, draw(field_values(width))
    if kind == "bytes":
        offset = draw(st.integers(0, FILE_HEADER_SIZE + 500))
        return kind, offset, draw(st.binary(min_size=1, max_size=8))
    if kind == "truncate":  # remove this many bytes from the end
        return kind, draw(st.integers(1, 1500)), b""
    return kind, 0, draw(st.binary(min_size=1, max_size=700))


def mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    """Apply ``edits`` in order (patches past the end are clipped)."""
    out = bytearray(data)
    for kind, offset, payload in edits:
        if kind in ("field", "bytes"):
            patch = payload[: max(0, len(out) - offset)]
            out[offset : offset + len(patch)] = patch
        elif kind == "truncate":
            del out[max(0, len(out) - offset) :]
        else:
            out += payload
    return bytes(out)


def import_fuzzed(
    folder: Path, data: bytes, **options: Any
) -> tuple[Path, FileState | None, SegyLayout | None]:
    """Write ``data`` as ``folder/fuzzed.sgy`` and import it with ``options``.

    A refusal must be one clean line that leaves nothing but the source (checked here;
    the layout returned is then None); an import must match a plain numpy reading of the
    file's layout (checked here; that layout is returned). Returns the source, its state
    before the import, and the layout.
    """
    source = folder / "fuzzed.sgy"
    source.write_bytes(data)
    before = file_state(source)
    config = ImportConfig(source, folder / "out.dataset", **options)
    try:
        ParallelImportCoordinator(config).run()
    except SegycoreError as exc:
        event("refused: " + re.sub(r"-?\d+", "N", str(exc).replace(source.name, ""))[:45])
        assert str(exc) and "\n" not in str(exc)
        assert listing(folder) == {"fuzzed.sgy"}
        return source, before, None
    layout = read_layout(source, salvage=options.get("salvage", False))
    assert_dataset_matches(folder / "out.dataset", layout)
    return source, before, layout


def export_back(folder: Path) -> Path:
    """Export ``folder/out.dataset`` to ``folder/back.sgy``."""
    back = folder / "back.sgy"
    ParallelExportCoordinator(ExportConfig(folder / "out.dataset", back, workers=2)).run()
    return back


@pytest.mark.timeout(max(240, MAX_EXAMPLES))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    base=st.sampled_from(range(len(BASES))),
    edits=st.lists(mutations(), min_size=1, max_size=4),
    workers=st.integers(1, 3),
)
def test_mutated_files_fail_cleanly_or_import_exactly(
    tmp_path: Path, base: int, edits: list[tuple[str, int, bytes]], workers: int
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:  # one folder per example
        folder = Path(scratch)
        source, before, layout = import_fuzzed(
            folder, mutate(BASES[base], edits), workers=workers, chunk_bytes=1500
        )
        if layout is not None:
            event("imported")
            back = export_back(folder)  # every imported file exports back byte for byte
            assert back.read_bytes() == source.read_bytes()
        try:  # the preview path (memory-mapped headers) holds as well
            info = describe(source)
        except SegycoreError:
            pass
        else:
            assert info["n_traces"] >= 1
        assert file_state(source) == before


def test_hypothesis_stores_nothing_in_the_repository() -> None:
    from hypothesis.configuration import storage_directory

    where = storage_directory("constants", intent_to_write=False).path.resolve()
    assert not where.is_relative_to(REPO), where
