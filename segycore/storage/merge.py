"""Merge segment files into one SEG-Y file: the export's "Merge segments" stage.

The destination is the file headers (``prefix``) followed by the segment files in order.
It is pre-sized, and on Linux its blocks are reserved up front, so a full disk is one
clear error before any copying. Files are copied in bounded chunks, never read whole;
between chunks the merge reports ``(bytes_done, bytes_total)`` and polls for cancel.
Whatever stops a merge (cancel, an error, a failing callback) removes the partial
destination before the exception propagates.

Copy methods, fastest first as measured here (Linux 6.18, ext4, warm cache, 1 GiB in
two segments: ``cp`` 0.40 s; ``copy_file_range`` and ``sendfile`` 1.06-1.08x of it,
``readinto`` 1.10x, ``mmap`` 1.6x; see ``benchmarks/bench_merge.py``):

``copy_file_range``
    ``os.copy_file_range``: the kernel copies page cache to page cache (Linux).
``sendfile``
    ``os.sendfile`` into the destination file (Linux), the same in-kernel copy.
``readinto``
    Portable: ``readinto`` a reusable buffer, then ``write``.
``mmap``
    The compiled kernel (:mod:`segycore.storage._merge`): mapped windows, ``memcpy`` without
    the GIL. Slowest here: every destination page is faulted in, and so zero-filled,
    before it is overwritten, a pass over memory that ``write`` does not make.

``"auto"`` tries them in :data:`AUTO_ORDER`; a method the file system turns down
(``copy_file_range`` raises ``EXDEV``/``ENOSYS``/``EINVAL`` on some) hands over to the
next one where it stopped. ``readinto`` is never turned down, so ``"auto"`` completes
wherever plain reads and writes do.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from ..errors import JobCancelled
from .capabilities import CAPABILITIES

__all__ = [
    "AUTO_ORDER",
    "DEFAULT_CHUNK_SIZE",
    "METHODS",
    "MergeCancelled",
    "available_methods",
    "merge_files",
    "merge_size",
]

_log = logging.getLogger(__name__)

_kernel: ModuleType | None
try:
    from . import _merge as _kernel
except ImportError:  # extension not built: the pure-Python methods still work
    _kernel = None

#: Every method :func:`merge_files` knows, whether or not this machine has it.
METHODS: tuple[str, ...] = ("mmap", "copy_file_range", "sendfile", "readinto")
#: The order ``"auto"`` tries methods in: fastest first, by ``benchmarks/bench_merge.py``.
AUTO_ORDER: tuple[str, ...] = ("copy_file_range", "sendfile", "readinto", "mmap")
#: Bytes copied between two progress reports / cancel checks, unless told otherwise.
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
#: Smallest chunk the merge shrinks to when keeping progress steps near 1 %.
_MIN_STEP = 1024 * 1024
#: Largest chunk: one copy_file_range / sendfile call moves at most ~2 GiB.
_MAX_CHUNK = 1024 * 1024 * 1024

_Progress = Callable[[int, int], None]


class MergeCancelled(JobCancelled):
    """The merge was cancelled; the partial destination has been removed."""


class _Unsupported(Exception):
    """A copy method cannot work on these files; ``done`` bytes of the range were copied."""

    def __init__(self, done: int, reason: str) -> None:
        super().__init__(reason)
        self.done = done


class _Tracker:
    """Counts bytes written, reports them, and turns a cancel request into an exception."""

    def __init__(
        self, total: int, progress: _Progress | None, should_cancel: Callable[[], bool] | None
    ) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._should_cancel = should_cancel

    def advance(self, n: int) -> None:
        """Record ``n`` more bytes written and report the running total."""
        self.done += n
        if self._progress is not None:
            self._progress(self.done, self.total)

    def cancel_requested(self) -> bool:
        """Whether the caller asked to stop."""
        return self._should_cancel is not None and bool(self._should_cancel())

    def check(self) -> None:
        """Raise :class:`MergeCancelled` if the caller asked to stop."""
        if self.cancel_requested():
            raise MergeCancelled("merge cancelled by the user")


# A copier copies ``length`` bytes of ``src_fd`` at ``src_offset`` to ``dst_fd`` at
# ``dst_offset`` in chunks, calling ``tracker.check`` before and ``tracker.advance`` after
# each. It raises ``_Unsupported`` when the method cannot handle these files.
_Copier = Callable[[int, int, int, int, int, int, _Tracker], None]


def _ended_early(done: int, length: int) -> OSError:
    """The error for a segment that is shorter than it was when the merge began."""
    return OSError(
        errno.EIO,
        f"a segment file ended after {done} of {length} bytes: it changed during the merge",
    )


def _copy_mmap(
    src_fd: int,
    dst_fd: int,
    src_offset: int,
    dst_offset: int,
    length: int,
    chunk: int,
    tracker: _Tracker,
) -> None:
    """Copy through the compiled kernel's mapped windows."""
    assert _kernel is not None
    copied = 0

    def advance(n: int) -> None:
        nonlocal copied
        copied += n
        tracker.advance(n)

    tracker.check()
    try:
        done = _kernel.copy_range(
            src_fd, src_offset, dst_fd, dst_offset, length, chunk, advance, tracker.cancel_requested
        )
    except OSError as exc:
        if exc.errno in (errno.ENODEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise _Unsupported(copied, f"mmap: {exc}") from exc
        raise
    if done < length:
        raise MergeCancelled("merge cancelled by the user")


_CFR_UNSUPPORTED = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})


def _copy_file_range(
    src_fd: int,
    dst_fd: int,
    src_offset: int,
    dst_offset: int,
    length: int,
    chunk: int,
    tracker: _Tracker,
) -> None:
    """Copy with ``os.copy_file_range``: no data passes through this process."""
    done = 0
    while done < length:
        tracker.check()
        try:
            n = os.copy_file_range(
                src_fd, dst_fd, min(chunk, length - done), src_offset + done, dst_offset + done
            )
        except OSError as exc:
            if exc.errno in _CFR_UNSUPPORTED:
                raise _Unsupported(done, f"copy_file_range: {exc}") from exc
            raise
        if n == 0:  # some file systems report 0 instead of an error: let another try
            raise _Unsupported(done, "copy_file_range copied nothing") from _ended_early(
                done, length
            )
        done += n
        tracker.advance(n)


_SENDFILE_UNSUPPORTED = frozenset(
    {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOTSOCK}
)


def _copy_sendfile(
    src_fd: int,
    dst_fd: int,
    src_offset: int,
    dst_offset: int,
    length: int,
    chunk: int,
    tracker: _Tracker,
) -> None:
    """Copy with ``os.sendfile``, which writes at the destination's file position."""
    done = 0
    os.lseek(dst_fd, dst_offset, os.SEEK_SET)
    while done < length:
        tracker.check()
        try:
            n = os.sendfile(dst_fd, src_fd, src_offset + done, min(chunk, length - done))
        except OSError as exc:
            if exc.errno in _SENDFILE_UNSUPPORTED:
                raise _Unsupported(done, f"sendfile: {exc}") from exc
            raise
        if n == 0:
            raise _Unsupported(done, "sendfile copied nothing") from _ended_early(done, length)
        done += n
        tracker.advance(n)


def _write_all(fd: int, data: memoryview) -> None:
    """Write all of ``data`` at ``fd``'s position (``os.write`` may write less)."""
    while data:
        data = data[os.write(fd, data) :]


class _ReadInto:
    """The portable copier: ``readinto`` one reusable buffer, then write it out."""

    def __init__(self, chunk: int) -> None:
        self._buffer = memoryview(bytearray(chunk))

    def __call__(
        self,
        src_fd: int,
        dst_fd: int,
        src_offset: int,
        dst_offset: int,
        length: int,
        chunk: int,
        tracker: _Tracker,
    ) -> None:
        os.lseek(src_fd, src_offset, os.SEEK_SET)
        os.lseek(dst_fd, dst_offset, os.SEEK_SET)
        reader = io.FileIO(src_fd, "rb", closefd=False)
        done = 0
        while done < length:
            tracker.check()
            n = reader.readinto(self._buffer[: min(len(self._buffer), length - done)])
            if not n:
                raise _ended_early(done, length)
            _write_all(dst_fd, self._buffer[:n])
            done += n
            tracker.advance(n)


def _has_method(method: str) -> bool:
    """Whether ``method`` can run on this platform and build."""
    if method == "mmap":
        return _kernel is not None and bool(_kernel.MMAP_AVAILABLE)
    if method == "copy_file_range":
        return CAPABILITIES.copy_file_range
    if method == "sendfile":  # only Linux sends into a regular file
        return CAPABILITIES.sendfile
    return method == "readinto"


def available_methods() -> list[str]:
    """Methods usable here, in the order ``"auto"`` tries them (fastest first)."""
    return [m for m in AUTO_ORDER if _has_method(m)]


def merge_size(prefix: bytes, parts: Sequence[Path]) -> int:
    """Size in bytes of the merged file: the prefix plus every part as it is now."""
    return len(prefix) + sum(os.stat(p).st_size for p in parts)


def _make_copier(method: str, chunk: int) -> _Copier:
    """The copier of ``method``; ``readinto``'s owns a ``chunk``-sized buffer."""
    if method == "mmap":
        return _copy_mmap
    if method == "copy_file_range":
        return _copy_file_range
    if method == "sendfile":
        return _copy_sendfile
    return _ReadInto(chunk)


def _reserve(fd: int, size: int) -> None:
    """Pre-size the destination and, where possible, reserve its blocks (ENOSPC now)."""
    os.ftruncate(fd, size)
    if _kernel is None or size == 0:
        return
    try:
        _kernel.preallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
            raise


def _check_destination(destination: Path, parts: Sequence[Path]) -> None:
    """Refuse a destination that is one of the parts (truncating it would lose data)."""
    if not destination.exists():
        return
    for part in parts:
        if os.path.samefile(destination, part):
            raise ValueError(f"the merge destination {destination} is also one of its parts")


def _copy_parts(
    dst_fd: int,
    parts: Sequence[Path],
    sizes: Sequence[int],
    offset: int,
    methods: list[str],
    chunk: int,
    tracker: _Tracker,
) -> None:
    """Copy every part after ``offset``, moving on to the next method when one is refused."""
    copier = _make_copier(methods[0], chunk)
    for part, size in zip(parts, sizes, strict=True):
        src_fd = os.open(part, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            if (now := os.fstat(src_fd).st_size) != size:
                raise OSError(
                    errno.EIO, f"{part} changed size during the merge ({size} -> {now} bytes)"
                )
            done = 0
            while True:
                try:
                    copier(src_fd, dst_fd, done, offset + done, size - done, chunk, tracker)
                    break
                except _Unsupported as exc:
                    if len(methods) == 1:
                        raise exc.__cause__ or OSError(errno.EIO, str(exc)) from None
                    _log.info("merge: %s; falling back to %s", exc, methods[1])
                    done += exc.done
                    methods = methods[1:]
                    copier = _make_copier(methods[0], chunk)
        finally:
            os.close(src_fd)
        offset += size


def merge_files(
    prefix: bytes,
    parts: Sequence[Path],
    destination: Path,
    *,
    method: str = "auto",
    progress: _Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Write ``prefix`` then each of ``parts`` in order to ``destination``.

    Parameters
    ----------
    prefix
        The file headers (textual, extended textual, binary) written first.
    parts
        Segment files, copied whole in this order. They must not change meanwhile.
    destination
        Created or truncated; removed again if the merge does not complete.
    method
        ``"auto"`` or one of :func:`available_methods`.
    progress
        Called as ``progress(bytes_done, bytes_total)``: at the start, after the prefix
        and after every chunk, ending at ``(total, total)``. A chunk is at most
        ``chunk_size`` bytes, and at most 1 % of the total unless that is under 1 MiB.
    should_cancel
        Polled before every chunk; once it returns true the merge stops within one chunk,
        removes the destination and raises :class:`MergeCancelled`.
    chunk_size
        Largest number of bytes copied between two progress reports.

    Returns
    -------
    int
        Bytes written: ``len(prefix)`` plus the parts' sizes.

    Raises
    ------
    MergeCancelled
        ``should_cancel`` returned true.
    ValueError
        Unknown or unavailable method, non-positive chunk size, or the destination is one
        of the parts.
    OSError
        A missing part (``FileNotFoundError``, before the destination is created), a full
        disk, or any other I/O error.
    """
    if method == "auto":
        methods = available_methods()
    elif method not in METHODS:
        raise ValueError(f"unknown merge method {method!r}: use 'auto' or one of {METHODS}")
    elif not _has_method(method):
        raise ValueError(
            f"merge method {method!r} is not available here "
            f"(available: {', '.join(available_methods())})"
        )
    else:
        methods = [method]
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
    destination = Path(destination)
    parts = [Path(p) for p in parts]
    sizes = [os.stat(p).st_size for p in parts]
    _check_destination(destination, parts)
    total = len(prefix) + sum(sizes)
    chunk = min(chunk_size, _MAX_CHUNK, max(_MIN_STEP, total // 100))
    tracker = _Tracker(total, progress, should_cancel)

    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    dst_fd = os.open(destination, flags, 0o666)
    try:
        try:
            tracker.advance(0)
            tracker.check()
            _reserve(dst_fd, total)
            _write_all(dst_fd, memoryview(prefix))
            tracker.advance(len(prefix))
            _copy_parts(dst_fd, parts, sizes, len(prefix), methods, chunk, tracker)
        finally:
            os.close(dst_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            destination.unlink(missing_ok=True)
        raise
    return total
