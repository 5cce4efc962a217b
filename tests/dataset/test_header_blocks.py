"""Export's header blocks: raw-only reads give the same bytes as rebuilding every field,
blocks cross row groups correctly, and the fingerprint tells an untouched file from an
edited one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from segycore.dataset.header_blocks import (
    FINGERPRINT_KEY,
    headers_fingerprint,
    headers_unchanged,
    iter_header_blocks,
)
from segycore.dataset.headers import headers_to_table, open_header_writer
from segycore.format.spec import TRACE_HEADER_SIZE

N = 1000
GROUP = 300  # row groups of 300: blocks must cross their boundaries


def write_headers(path: Path, raw: np.ndarray, endian: str = "big") -> None:
    with open_header_writer(path) as writer:
        for at in range(0, len(raw), GROUP):
            writer.write_table(headers_to_table(raw[at : at + GROUP], endian))


@pytest.fixture
def headers(tmp_path: Path) -> tuple[Path, np.ndarray]:
    raw = np.random.default_rng(3).integers(0, 256, (N, TRACE_HEADER_SIZE), dtype=np.uint8)
    path = tmp_path / "headers.parquet"
    write_headers(path, raw)
    return path, raw


def collect(path: Path, start: int, stop: int, raw_only: bool, batch: int, endian="big"):
    with pq.ParquetFile(path) as f:
        blocks = list(iter_header_blocks(f, start, stop, endian, "big", raw_only, batch))
    firsts = [first for first, _ in blocks]
    assert all(len(b) <= batch for _, b in blocks)
    out = np.concatenate([b for _, b in blocks]) if blocks else np.empty((0, 240), np.uint8)
    if blocks:  # consecutive, in order
        assert firsts == list(np.cumsum([start] + [len(b) for _, b in blocks[:-1]]))
    return out


@pytest.mark.parametrize(
    ("start", "stop", "batch"),
    [(0, N, 64), (0, N, 5000), (299, 301, 1), (250, 777, 100), (600, 900, 300), (999, N, 7)],
)
@pytest.mark.parametrize("raw_only", [True, False])
def test_blocks_give_the_raw_bytes(
    headers: tuple[Path, np.ndarray], start: int, stop: int, batch: int, raw_only: bool
) -> None:
    path, raw = headers
    np.testing.assert_array_equal(collect(path, start, stop, raw_only, batch), raw[start:stop])


def test_empty_range_yields_nothing(headers: tuple[Path, np.ndarray]) -> None:
    path, _ = headers
    assert collect(path, 500, 500, True, 10).shape == (0, 240)


def test_byte_order_change_rebuilds_every_field(headers: tuple[Path, np.ndarray]) -> None:
    path, raw = headers
    little = collect(path, 0, N, False, 128, endian="little")
    # every byte belongs to a field: each 4-byte field comes back reversed, e.g. bytes 1-4
    np.testing.assert_array_equal(little[:, 0:4], raw[:, 3::-1])
    np.testing.assert_array_equal(little[:, 20:24], raw[:, 23:19:-1])
    with pq.ParquetFile(path) as f, pytest.raises(ValueError, match="source byte order"):
        next(iter_header_blocks(f, 0, N, "little", "big", True, 128))


def test_edited_column_reaches_the_full_path_only(headers: tuple[Path, np.ndarray]) -> None:
    path, raw = headers
    table = pq.read_table(path)
    cdp = np.arange(N, dtype=np.int32)
    table = table.set_column(table.schema.get_field_index("cdp"), "cdp", [cdp])
    pq.write_table(table, path)
    full = collect(path, 0, N, False, 100)
    np.testing.assert_array_equal(full[:, 20:24].copy().view(">i4").ravel(), cdp)
    np.testing.assert_array_equal(collect(path, 0, N, True, 100), raw)  # hence the fingerprint


def test_fingerprint_tells_a_rewritten_file(headers: tuple[Path, np.ndarray]) -> None:
    path, raw = headers
    metadata = {FINGERPRINT_KEY: headers_fingerprint(path)}
    assert headers_unchanged(path, json.loads(json.dumps(metadata)))  # survives JSON
    assert not headers_unchanged(path, {})  # datasets from before: assume edited
    assert not headers_unchanged(path, {FINGERPRINT_KEY: "junk"})
    stat = os.stat(path)
    write_headers(path, raw)  # same content, rewritten
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not headers_unchanged(path, metadata)
    assert not headers_unchanged(path.with_name("missing.parquet"), metadata)
