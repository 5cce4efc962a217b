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
    monkeypatch.setattr(prealloc.CAPABILITIES, "fallocate", True)
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
    monkeypatch.setattr(prealloc.CAPABILITIES, "fallocate", True)
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


def test_the_capability_switch_selects_the_sparse_fallback(tmp_path: Path) -> None:
    from segycore.storage.capabilities import forced

    fd = _open(tmp_path / "out")
    try:
        with forced("fallocate"):
            assert prealloc.preallocate(fd, 1 << 20) is False
        st = os.fstat(fd)
        assert st.st_size == 1 << 20
        assert st.st_blocks == 0  # a hole: nothing allocated
    finally:
        os.close(fd)


def test_import_and_export_presize_through_preallocate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both pipelines size their output with preallocate (one call each, exact size)."""
    from segycore import (
        ExportConfig,
        ImportConfig,
        ParallelExportCoordinator,
        ParallelImportCoordinator,
    )
    from segycore.format.synthetic import write_survey
    from segycore.pipeline import exporter, importer

    calls: list[tuple[str, int]] = []

    def spy(fd: int, size: int) -> bool:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), size))
        return prealloc.preallocate(fd, size)

    monkeypatch.setattr(importer, "preallocate", spy)
    monkeypatch.setattr(exporter, "preallocate", spy)
    source = write_survey(tmp_path / "s.sgy", n_shots=4, traces_per_shot=50, n_samples=200)
    ParallelImportCoordinator(ImportConfig(source, tmp_path / "ds", workers=2)).run()
    ParallelExportCoordinator(ExportConfig(tmp_path / "ds", tmp_path / "o.sgy", workers=2)).run()
    assert (tmp_path / "o.sgy").read_bytes() == source.read_bytes()
    assert Path(calls[0][0]).name == "traces.npy"
    assert calls[0][1] == os.path.getsize(tmp_path / "ds" / "traces.npy")
    assert calls[1][1] == source.stat().st_size
    assert len(calls) == 2
