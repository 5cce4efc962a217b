"""Options every job shares (workers, byte order, chunk size, rate limit), checked once.

Import and export configs are frozen dataclasses of plain values; this module holds
what both need: the checks of the shared options, the default worker count, and the
conversion of a config to plain JSON-ready data and back, which is how a config
reaches the supervisor process (never pickled).
"""

from __future__ import annotations

import dataclasses
import operator
import os
from pathlib import PurePath
from typing import Any, TypeVar

from ..errors import SegyError
from ..format.spec import SampleFormat, resolve_trace_field, sample_format
from ..storage import merge

__all__ = [
    "CHUNK_BYTES",
    "MAX_WORKERS",
    "check_field_names",
    "check_flag",
    "check_job_options",
    "check_merge_method",
    "check_path",
    "check_reading_options",
    "check_sample_format",
    "config_from_data",
    "config_to_data",
    "default_workers",
]

#: Bytes of trace records a worker converts at a time: bounded memory per worker.
CHUNK_BYTES = 2 * 1024 * 1024
#: Most workers a job may run: one slot each in the shared-memory progress block.
MAX_WORKERS = 64

C = TypeVar("C")


def default_workers() -> int:
    """The default worker count: the CPU count, within ``1..MAX_WORKERS``."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def check_job_options(
    workers: int, endian: str | None, chunk_bytes: int, rate_limit: float | None
) -> None:
    """Refuse job options no run could honour, with a message naming the option."""
    if not _is_whole(workers):
        raise SegyError(f"workers must be a whole number, got {workers!r}")
    if workers < 1:
        raise SegyError(f"workers must be at least 1, got {workers}")
    if workers > MAX_WORKERS:
        raise SegyError(
            f"workers must be at most {MAX_WORKERS} (one progress slot each), got {workers}"
        )
    if endian not in (None, "big", "little"):
        raise SegyError(f"byte order must be 'big' or 'little', got {endian!r}")
    if not _is_whole(chunk_bytes) or chunk_bytes < 1:
        raise SegyError(f"chunk size must be a positive number of bytes, got {chunk_bytes!r}")
    if rate_limit is not None:
        if isinstance(rate_limit, bool) or not isinstance(rate_limit, int | float):
            raise SegyError(f"rate limit must be a number of MB/s, got {rate_limit!r}")
        if not rate_limit > 0 or rate_limit == float("inf"):
            raise SegyError(f"rate limit must be positive MB/s, got {rate_limit}")


def check_path(value: object, what: str) -> None:
    """Refuse a ``what`` (source, destination ...) that is not a non-empty path."""
    if isinstance(value, bytes) or not isinstance(value, str | os.PathLike):
        raise SegyError(f"{what} must be a path, got {value!r}")
    if not os.fspath(value):
        raise SegyError(f"{what} must be a path, got an empty one")


def check_flag(value: object, what: str) -> None:
    """Refuse an on/off option that is not ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise SegyError(f"{what} must be True or False, got {value!r}")


def check_field_names(keys: object) -> tuple[str, ...]:
    """The canonical names of the trace-header fields ``keys`` names; refuse unknown ones."""
    if isinstance(keys, str | int):
        keys = (keys,)
    try:
        return tuple(resolve_trace_field(k).name for k in keys)  # type: ignore[union-attr]
    except TypeError:
        raise SegyError(f"ensemble keys must be a list of field names, got {keys!r}") from None
    except ValueError as exc:
        raise SegyError(str(exc)) from None


def check_sample_format(code: object) -> SampleFormat:
    """The sample format of ``code``; refuse unknown and unsupported codes."""
    if not _is_whole(code):
        raise SegyError(f"a sample format code is a whole number, got {code!r}")
    try:
        fmt = sample_format(code)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SegyError(str(exc)) from None
    if not fmt.supported:
        raise SegyError(f"sample format {fmt.code} ({fmt.name}) is not supported")
    return fmt


def check_reading_options(
    salvage: object,
    format_code: object,
    samples: object,
    textual_encoding: object,
    ibm_exact: object,
) -> None:
    """Refuse import reading options (salvage, overrides) no run could honour."""
    check_flag(salvage, "salvage")
    check_flag(ibm_exact, "ibm_exact")
    if format_code is not None:
        check_sample_format(format_code)
    if samples is not None and (not _is_whole(samples) or not 0 < samples < 2**31):
        raise SegyError(f"samples override must be a whole number from 1, got {samples!r}")
    if textual_encoding not in (None, "ebcdic", "ascii"):
        raise SegyError(f"textual encoding must be 'ebcdic' or 'ascii', got {textual_encoding!r}")


def check_merge_method(method: str) -> None:
    """Refuse a segment merge method this system does not have."""
    methods = merge.available_methods()
    if method != "auto" and method not in methods:
        raise SegyError(f"unknown merge method {method!r} (available: auto, {', '.join(methods)})")


def _is_whole(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def _plain(value: Any) -> Any:
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def config_to_data(config: Any) -> dict[str, Any]:
    """A config dataclass as JSON-ready plain data (paths as strings, sequences as lists)."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_data(cls: type[C], data: dict[str, Any]) -> C:
    """Rebuild (and so re-validate) a config of class ``cls`` from :func:`config_to_data`."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise SegyError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)
