"""The exceptions segycore raises: one family, each with a message a user can act on."""

from __future__ import annotations

__all__ = [
    "JobCancelled",
    "SegyError",
    "SegyFormatError",
    "SegycoreError",
    "UnrepresentableValueError",
]


class SegycoreError(Exception):
    """Base class of every error segycore reports to a user (shown without traceback)."""


class SegyError(SegycoreError, ValueError):
    """A SEG-Y file or dataset cannot be read or written as asked."""


class SegyFormatError(SegyError):
    """The source is not valid SEG-Y (truncated, impossible sizes, unknown format ...)."""


class UnrepresentableValueError(SegyError):
    """A sample cannot be held exactly by the requested output sample format."""


class JobCancelled(SegycoreError):
    """The job was cancelled by the user; everything it wrote has been removed."""
