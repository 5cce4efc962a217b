"""Custom header fields: parsing, decoding against numpy's own reading of the bytes, writing
back only where a value changed."""

from __future__ import annotations

import numpy as np
import pytest

from segycore.dataset.headers import custom_fields_of, headers_to_table, table_to_headers
from segycore.errors import SegyError
from segycore.format.fields import FIELD_TYPES, parse_header_field, parse_header_fields
from segycore.format.reference import float32_to_ibm_reference


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("iline", "NAME:BYTE:TYPE"),
        ("iline:17", "NAME:BYTE:TYPE"),
        ("iline:17:int32:x", "NAME:BYTE:TYPE"),
        ("1abc:17:int32", "identifier"),
        ("iline:x:int32", "BYTE must be a number"),
        ("iline:17:int128", "unknown TYPE 'int128'"),
        ("iline:238:int32", "must start at byte 1..237"),
        ("iline:0:int8", "must start at byte 1..240"),
        ("cdp:17:int32", "already a standard field"),
        ("FieldRecord:17:int32", "already a standard field"),
        ("raw_header:1:int8", "already a standard field"),
    ],
)
def test_malformed_specs_are_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(SegyError, match=message):
        parse_header_field(spec)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(SegyError, match="given twice"):
        parse_header_fields(["a:1:int8", "A:5:int16"])


@pytest.mark.parametrize("type_name", list(FIELD_TYPES))
@pytest.mark.parametrize("endian", ["big", "little"])
def test_decode_matches_numpy_view_and_round_trips(type_name: str, endian: str) -> None:
    field = parse_header_field(f"extra:191:{type_name}")
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 256, (64, 240), dtype=np.uint8)
    order = ">" if endian == "big" else "<"
    if type_name == "ibm32":  # IBM words of float32 values: exact both ways
        words, _ = float32_to_ibm_reference(rng.standard_normal(64).astype(np.float32) * 1e3)
        raw[:, 190:194] = words.astype(order + "u4").view(np.uint8).reshape(64, 4)
        expected = None
    else:
        if type_name == "float32":  # finite values only: random bytes may be NaN
            raw[:, 190:194] = (
                rng.standard_normal(64).astype(order + "f4").view(np.uint8).reshape(64, 4)
            )
        code = FIELD_TYPES[type_name][0]
        expected = raw[:, 190 : 190 + field.width].copy().view(order + code).reshape(-1)
    values = field.decode(raw, endian)
    if expected is not None:
        np.testing.assert_array_equal(values, expected)
    assert values.dtype == field.dtype
    np.testing.assert_array_equal(field.encode(values, endian), raw[:, 190 : 190 + field.width])


def test_headers_table_round_trip_and_edit_writes_only_the_field() -> None:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (100, 240), dtype=np.uint8)
    custom = parse_header_fields(["iline:17:int32", "depth:233:float32", "tiny:3:uint8"])
    raw[:, 232:236] = rng.random(100).astype(">f4").view(np.uint8).reshape(100, 4)
    table = headers_to_table(raw, "big", custom)
    assert [f.spec for f in custom_fields_of(table.schema)] == [f.spec for f in custom]
    np.testing.assert_array_equal(table_to_headers(table, "big", "big"), raw)
    iline = table.column("iline").to_numpy().copy()
    iline[10] = 123456
    edited = table.set_column(table.schema.get_field_index("iline"), "iline", [iline])
    out = table_to_headers(edited, "big", "big")
    changed = np.argwhere(out != raw)
    assert set(map(tuple, changed[:, :1].tolist())) == {(10,)}
    assert set(changed[:, 1].tolist()) <= {16, 17, 18, 19}
    assert int(out[10, 16:20].view(">i4")[0]) == 123456
    # A byte-swapped export writes the custom fields in the new order too.
    swapped = table_to_headers(table, "little", "big")
    assert headers_to_table(swapped, "little", custom).column("iline").equals(table.column("iline"))
