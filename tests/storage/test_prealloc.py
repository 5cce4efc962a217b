"""``preallocate``: exact length, allocated blocks where the filesystem can, the sparse
fallback where it cannot, and disk-full errors raised up front."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from segycore.storage import prealloc


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def test_allocates_blocks_and_sets_the_length(tmp_path: Path) -> None:
    fd = _open(tmp_path / "out")
    try:
        allocated = prealloc.preallocate(fd, 3 * 1024 * 1024 + 5)
        st = os.fstat(fd)
        assert st.st_size == 3 * 1024 * 1024 + 5
        if allocated:  # ext4, xfs, btrfs, tmpfs: the blocks exist, not a hole
            assert st.st_blocks * 512 >= st.st_size
        assert os.pread(fd, 16, 1024 * 1024) == b"\0" * 16  # reads as zeros either way
    finally:
        os.close(fd)


def test_shrinks_a_longer_file_to_the_size(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"x" * 10_000)
    fd = _open(path)
    try:
        prealloc.preallocate(fd, 100)
        assert os.fstat(fd).st_size == 100
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * 100


def test_zero_size(tmp_path: Path) -> None:
    fd = _open(tmp_path / "out")
    try:
        assert prealloc.preallocate(fd, 0) is False
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def test_unsupported_filesystem_falls_back_to_a_sparse_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(fd: int, mode: int, offset: int, length: int) -> int:
        prealloc.ctypes.set_errno(errno.EOPNOTSUPP)
        return -1

    monkeypatch.setattr(prealloc, "_fallocate", lambda: unsupported)
    fd = _open(tmp_path / "out")
    try:
        assert prealloc.preallocate(fd, 1 << 20) is False
        assert os.fstat(fd).st_size == 1 << 20
    finally:
        os.close(fd)


def test_disk_full_is_raised_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, mode: int, offset: int, length: int) -> int:
        prealloc.ctypes.set_errno(errno.ENOSPC)
        return -1

    monkeypatch.setattr(prealloc, "_fallocate", lambda: full)
    fd = _open(tmp_path / "out")
    try:
        with pytest.raises(OSError) as info:
            prealloc.preallocate(fd, 1 << 20)
        assert info.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_negative_size_is_refused(tmp_path: Path) -> None:
    fd = _open(tmp_path / "out")
    try:
        with pytest.raises(ValueError, match="non-negative"):
            prealloc.preallocate(fd, -1)
    finally:
        os.close(fd)


def test_more_than_the_disk_holds_is_an_oserror(tmp_path: Path) -> None:
    """Asking for more than the filesystem has fails with ENOSPC (or EFBIG), not later."""
    fd = _open(tmp_path / "out")
    try:
        with pytest.raises(OSError) as info:
            prealloc.preallocate(fd, 1 << 62)
        assert info.value.errno in (errno.ENOSPC, errno.EFBIG)
    finally:
        os.close(fd)
