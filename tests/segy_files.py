"""The shared real SEG-Y files, grouped by what tests do with them."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA_DIR

#: Files that are valid SEG-Y segycore imports (every format but the refused 4).
VALID = [
    "small.sgy",
    "small-lsb.sgy",
    "f3.sgy",
    "f3-lsb.sgy",
    "shot-gather.sgy",
    "small-ps.sgy",
    "multi-text.sgy",
    "long.sgy",
] + [
    f"multiformats/Format{code}{order}.sgy"
    for code in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16)
    for order in ("msb", "lsb")
]


def is_little(name: str) -> bool:
    return name.endswith("lsb.sgy")


def path_of(name: str) -> Path:
    return DATA_DIR / name
