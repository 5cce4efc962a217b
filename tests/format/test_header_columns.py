"""The one-pass header-field kernel (``_header_columns`` / ``codec.header_columns``) against
numpy's structured-dtype casts, and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from segycore.dataset.headers import headers_to_table
from segycore.format import _header_columns, codec
from segycore.format.layout import trace_header_dtype
from segycore.format.spec import TRACE_FIELDS, TRACE_HEADER_SIZE

ENDIANS = ["big", "little"]


def numpy_columns(raw: np.ndarray, endian: str) -> list[np.ndarray]:
    records = raw.reshape(-1).view(trace_header_dtype(endian))
    return [records[f.name].astype(f.dtype) for f in TRACE_FIELDS]


# 0 and 1 headers, a partial tile, several tiles plus a tail
@pytest.mark.parametrize("n", [0, 1, 63, 64, 1000])
@pytest.mark.parametrize("endian", ENDIANS)
def test_columns_match_numpy(n: int, endian: str) -> None:
    raw = np.random.default_rng(n).integers(0, 256, (n, TRACE_HEADER_SIZE), dtype=np.uint8)
    raw[: n // 2, :8] = 0xFF  # extremes too: -1 and int min/max patterns
    raw[n // 2 :, :4] = [0x80, 0, 0, 0] if endian == "big" else [0, 0, 0, 0x80]
    got = codec.header_columns(raw, endian == "little")
    expected = numpy_columns(raw, endian)
    assert len(got) == len(TRACE_FIELDS)
    for field, column, reference in zip(TRACE_FIELDS, got, expected, strict=True):
        assert column.dtype == field.dtype, field.name
        assert column.flags.c_contiguous
        np.testing.assert_array_equal(column, reference, err_msg=field.name)


@pytest.mark.parametrize("endian", ENDIANS)
def test_headers_to_table_still_decodes_every_field(endian: str) -> None:
    raw = np.random.default_rng(5).integers(0, 256, (300, TRACE_HEADER_SIZE), dtype=np.uint8)
    table = headers_to_table(raw, endian)
    for field, reference in zip(TRACE_FIELDS, numpy_columns(raw, endian), strict=True):
        np.testing.assert_array_equal(table.column(field.name).to_numpy(), reference)


def _args(n: int = 4) -> dict[str, object]:
    offsets2 = np.array([0, 238], np.int64)
    offsets4 = np.array([4, 236], np.int64)
    return {
        "raw": np.zeros((n, TRACE_HEADER_SIZE), np.uint8),
        "offsets2": offsets2,
        "offsets4": offsets4,
        "little_endian": False,
        "out2": np.zeros((2, n), np.int16),
        "out4": np.zeros((2, n), np.int32),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"offsets2": np.array([0, 239], np.int64)}, "offsets2 must lie within"),
        ({"offsets4": np.array([0, 237], np.int64)}, "offsets4 must lie within"),
        ({"offsets4": np.array([-1, 0], np.int64)}, "offsets4 must lie within"),
        ({"offsets2": np.array([0], np.int32)}, "offsets2 must be a 1-d int64"),
        ({"out2": np.zeros((2, 5), np.int16)}, "out2 must have shape"),
        ({"out4": np.zeros((1, 4), np.int32)}, "out4 must have shape"),
        ({"out4": np.zeros((2, 4), np.int64)}, "out4 must be a 2-d int32"),
        ({"out2": np.zeros((4, 2), np.int16).T}, "out2 must be C-contiguous"),
        ({"raw": np.zeros((4, 480), np.uint8)[:, ::2]}, "raw must be C-contiguous"),
        ({"raw": b"\0" * 960}, "raw must be a numpy array"),
    ],
)
def test_bad_arguments_are_refused_before_writing(change: dict, message: str) -> None:
    args = {**_args(), **change}
    sentinel2, sentinel4 = args["out2"].copy(), args["out4"].copy()
    with pytest.raises(ValueError, match=message):
        _header_columns.decode_fields(**args)
    np.testing.assert_array_equal(args["out2"], sentinel2)
    np.testing.assert_array_equal(args["out4"], sentinel4)


def test_read_only_output_is_refused() -> None:
    args = _args()
    args["out4"].flags.writeable = False
    with pytest.raises(ValueError, match="out4 must be writable"):
        _header_columns.decode_fields(**args)


def test_header_columns_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="raw headers must be"):
        codec.header_columns(np.zeros((3, 200), np.uint8), False)
    with pytest.raises(ValueError, match="raw headers must be"):
        codec.header_columns(np.zeros((3, 240), np.int8), False)
    with pytest.raises(ValueError, match="little_endian must be True or False"):
        codec.header_columns(np.zeros((3, 240), np.uint8), "big")  # type: ignore[arg-type]
