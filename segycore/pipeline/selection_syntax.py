"""The ``sort=``/``select=`` options of an export (``--sort``, ``--select``): their syntax.

Parsed and checked without the dataset (the keys are resolved against its columns when
the export is planned, :mod:`segycore.pipeline.selection`), so a config refuses a
malformed option when it is built, in the front end's process, without numpy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import SegyError

__all__ = ["Selection", "check_selection", "parse_select", "parse_sort"]

_SELECT = re.compile(r"^\s*([^=\s]+)\s*=\s*(-?[\d.eE+]+)\s*:\s*(-?[\d.eE+]+)\s*$")


@dataclass(frozen=True)
class Selection:
    """A parsed ``--select KEY=LO:HI`` (inclusive bounds)."""

    key: str
    lo: float
    hi: float


def parse_select(text: str) -> Selection:
    """Parse ``KEY=LO:HI``; one clear SegyError for anything else (``LO`` must be <= ``HI``)."""
    match = _SELECT.match(str(text))
    usage = "give KEY=LO:HI with numbers, e.g. cdp=100:200"
    if not match:
        raise SegyError(f"malformed selection {text!r}: {usage}")
    key, lo_text, hi_text = match.groups()
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        raise SegyError(f"malformed selection {text!r}: {usage}") from None
    if lo > hi:
        raise SegyError(f"selection {text!r}: LO ({lo_text}) is above HI ({hi_text})")
    return Selection(key, lo, hi)


def parse_sort(text: str | Sequence[str | int]) -> tuple[str | int, ...]:
    """``"cdp,offset"`` (or a sequence) as a tuple of keys; empty names are an error."""
    keys = text.split(",") if isinstance(text, str) else list(text)
    keys = [k.strip() if isinstance(k, str) else k for k in keys]
    if not keys or any(k == "" for k in keys):
        raise SegyError(f"malformed sort keys {text!r}: give KEY[,KEY...], e.g. cdp,offset")
    return tuple(keys)


def check_selection(sort: object, select: object) -> None:
    """Refuse malformed ``sort``/``select`` options (syntax only: keys need the dataset)."""
    if sort:
        parse_sort(sort)  # type: ignore[arg-type]
    if isinstance(select, str):
        raise SegyError("select is a list of KEY=LO:HI selections")
    for item in select or ():  # type: ignore[union-attr]
        parse_select(item)
