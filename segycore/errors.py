"""The exceptions segycore raises: one family, each with a message a user can act on."""

from __future__ import annotations

__all__ = [
    "JobCancelled",
    "SegyError",
    "SegyFormatError",
    "SegycoreError",
    "UnrepresentableValueError",
    "is_internal",
    "user_message",
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


def user_message(exc: BaseException, context: str | None = None) -> str:
    """The user's message for any exception: the one place every front end gets it.

    A segycore error is its own message; an OSError names the file (or the paths of a
    failed rename), and one that names none - a full disk during ``write`` - gets
    ``context``, such as ``"import to /data/survey.dataset"``, so the user knows where it
    happened. Anything else is a bug of ours: ``"internal error: <type>: <text>"``.
    The CLI shows the first line, the GUI the first line with the rest as details.
    """
    if isinstance(exc, SegycoreError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        if exc.filename:
            target = f": {exc.filename}"
            if exc.filename2:
                target += f" -> {exc.filename2}"
        else:
            target = f" ({context})" if context else ""
        return f"{exc.strerror or exc}{target}"
    return f"internal error: {type(exc).__name__}: {exc}"


def is_internal(exc: BaseException) -> bool:
    """Whether ``exc`` is a bug of ours rather than a problem a user can act on."""
    return not isinstance(exc, SegycoreError | OSError)
