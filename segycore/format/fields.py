"""Custom trace-header fields: ``NAME:BYTE:TYPE``, decoded as extra header columns.

Many surveys keep inline, crossline or other numbers at bytes the standard does not
assign to them (or as floats). A custom field names such a slot: ``iline:17:int32``,
``depth:181:float32``, ``gain:233:ibm32``. ``BYTE`` is 1-based as in the standard and
segyio; ``TYPE`` is one of :data:`FIELD_TYPES` (integers two's complement or unsigned,
``float32`` IEEE, ``ibm32`` IBM float), read in the file's byte order. The field must
lie inside the 240-byte trace header; it may overlap standard fields.

Parsing and resolving names need no numpy (a config checks its fields when it is built,
in the front end's process); numpy is imported on first use of a column's values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SegyError
from .spec import TRACE_HEADER_SIZE, resolve_trace_field

if TYPE_CHECKING:  # numpy loads on first use of a column's values, not with the parser
    import numpy as np

__all__ = [
    "FIELD_TYPES",
    "CustomField",
    "parse_header_field",
    "parse_header_fields",
    "resolve_column",
    "resolve_columns",
]

#: TYPE -> (numpy dtype of the column, bytes in the header).
FIELD_TYPES: dict[str, tuple[str, int]] = {
    "int8": ("i1", 1),
    "int16": ("i2", 2),
    "int32": ("i4", 4),
    "int64": ("i8", 8),
    "uint8": ("u1", 1),
    "uint16": ("u2", 2),
    "uint32": ("u4", 4),
    "float32": ("f4", 4),
    "ibm32": ("f4", 4),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CustomField:
    """One custom trace-header field."""

    name: str
    byte: int
    type: str

    @property
    def width(self) -> int:
        return FIELD_TYPES[self.type][1]

    @property
    def dtype(self) -> np.dtype:
        """The column's dtype (float32 for ``ibm32``)."""
        import numpy as np

        return np.dtype(FIELD_TYPES[self.type][0])

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.byte}:{self.type}"

    def _wire(self, endian: str) -> np.dtype:
        import numpy as np

        code = "u4" if self.type == "ibm32" else FIELD_TYPES[self.type][0]
        return np.dtype(code).newbyteorder(">" if endian == "big" else "<")

    def decode(self, raw: np.ndarray, endian: str) -> np.ndarray:
        """The field of every header in ``raw`` ((n, 240) uint8) as its column dtype."""
        import numpy as np

        from .reference import ibm_to_float32_reference

        start = self.byte - 1
        data = np.ascontiguousarray(raw[:, start : start + self.width])
        values = data.reshape(-1).view(self._wire(endian))
        if self.type == "ibm32":
            return ibm_to_float32_reference(values.astype(np.uint32))
        return values.astype(self.dtype)

    def encode(self, values: np.ndarray, endian: str) -> np.ndarray:
        """``values`` as the field's bytes, shape (n, width) uint8."""
        import numpy as np

        from .reference import float32_to_ibm_reference

        values = np.asarray(values)
        if self.type == "ibm32":
            words, bad = float32_to_ibm_reference(values.astype(np.float32))
            if bad.any():
                raise SegyError(f"{self.name}: NaN or infinity cannot be written as IBM float")
            wire = words.astype(self._wire(endian))
        else:
            wire = values.astype(self._wire(endian))
        return wire.view(np.uint8).reshape(-1, self.width)

    def check_values(self, values: np.ndarray) -> None:
        """Raise SegyError when ``values`` do not fit the field's type."""
        import numpy as np

        if self.dtype.kind in "iu" and values.size:
            if values.dtype.kind == "f" and not np.all(np.equal(np.mod(values, 1), 0)):
                raise SegyError(f"new {self.name} values are not integers ({self.type})")
            info = np.iinfo(self.dtype)
            if values.min() < info.min or values.max() > info.max:
                raise SegyError(f"new {self.name} values do not fit {self.type}")


def parse_header_field(spec: str) -> CustomField:
    """Parse ``NAME:BYTE:TYPE``; one clear :class:`SegyError` for anything malformed."""
    text = str(spec).strip()
    parts = text.split(":")
    usage = "give NAME:BYTE:TYPE, e.g. iline:17:int32"
    if len(parts) != 3:
        raise SegyError(f"malformed header field {spec!r}: {usage}")
    name, byte_text, type_name = (p.strip() for p in parts)
    if not _NAME.match(name):
        raise SegyError(f"malformed header field {spec!r}: NAME must be a Python-style identifier")
    if name.lower() == "raw_header" or _is_standard(name):
        raise SegyError(
            f"header field {spec!r}: {name!r} is already a standard field name; choose another"
        )
    try:
        byte = int(byte_text)
    except ValueError:
        raise SegyError(f"malformed header field {spec!r}: BYTE must be a number") from None
    type_name = type_name.lower()
    if type_name not in FIELD_TYPES:
        known = ", ".join(FIELD_TYPES)
        raise SegyError(f"header field {spec!r}: unknown TYPE {type_name!r} (one of {known})")
    width = FIELD_TYPES[type_name][1]
    last = TRACE_HEADER_SIZE - width + 1
    if not 1 <= byte <= last:
        raise SegyError(
            f"header field {spec!r}: a {type_name} must start at byte 1..{last} "
            f"of the {TRACE_HEADER_SIZE}-byte trace header"
        )
    return CustomField(name, byte, type_name)


def parse_header_fields(specs: Iterable[str | CustomField]) -> tuple[CustomField, ...]:
    """Parse several specs; duplicate names are an error."""
    fields = tuple(s if isinstance(s, CustomField) else parse_header_field(s) for s in specs)
    names = [f.name.lower() for f in fields]
    for name in names:
        if names.count(name) > 1:
            raise SegyError(f"header field {name!r} is given twice")
    return fields


def _is_standard(name: str) -> bool:
    try:
        resolve_trace_field(name)
    except ValueError:
        return False
    return True


def resolve_column(key: str | int, custom: Iterable[CustomField] = ()) -> str:
    """The header column a user's name means: a custom field's name (case-insensitive)
    first, then a standard field's name, segyio name or byte position; SegyError if none."""
    token = str(key).strip().lower()
    for field in custom:
        if token == field.name.lower():
            return field.name
    try:
        return resolve_trace_field(key).name
    except ValueError as exc:
        raise SegyError(str(exc)) from None


def resolve_columns(
    keys: object, custom: Iterable[CustomField] = (), what: str = "keys"
) -> tuple[str, ...]:
    """:func:`resolve_column` of each of ``keys`` (a list of names); SegyError otherwise."""
    if isinstance(keys, str | int):
        keys = (keys,)
    try:
        items = list(keys)  # type: ignore[call-overload]
    except TypeError:
        raise SegyError(f"{what} must be a list of field names, got {keys!r}") from None
    custom = tuple(custom)
    return tuple(resolve_column(k, custom) for k in items)
