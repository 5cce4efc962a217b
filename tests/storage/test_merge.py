"""The segment merge: byte-exact output for every method, progress, cancel, cleanup."""

from __future__ import annotations

import errno
import itertools
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from segycore.errors import JobCancelled
from segycore.storage import merge
from segycore.storage.merge import MergeCancelled, available_methods, merge_files, merge_size
from tests.helpers import segy_data

try:
    from segycore.storage import _merge as kernel
except ImportError:  # pragma: no cover - depends on the build
    kernel = None

needs_kernel = pytest.mark.skipif(kernel is None, reason="segycore.storage._merge is not built")

CHUNK = 4096
PREFIX = bytes(range(256)) * 14 + b"\x00" * 16  # 3600 bytes: a SEG-Y file header's size
METHODS = [*available_methods(), "auto"]


def make_parts(directory: Path, sizes: list[int], seed: int = 0) -> list[Path]:
    """Files of random bytes with the given sizes."""
    rng = random.Random(seed)
    paths = []
    for i, size in enumerate(sizes):
        path = directory / f"part{i:03d}.seg"
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    return paths


def expected(prefix: bytes, parts: list[Path]) -> bytes:
    return prefix + b"".join(p.read_bytes() for p in parts)


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


SIZE_CASES = {
    "single": [10_000],
    "empty-part": [0],
    "no-parts": [],
    "mixed-with-empties": [0, 5 * CHUNK + 17, 0, CHUNK, 1, 0],
    "larger-than-chunk": [7 * CHUNK + 1, 3 * CHUNK - 1],
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sizes", SIZE_CASES.values(), ids=SIZE_CASES.keys())
@pytest.mark.parametrize("prefix", [PREFIX, b""], ids=["prefix", "no-prefix"])
def test_merge_is_prefix_plus_parts(
    tmp_path: Path, method: str, sizes: list[int], prefix: bytes
) -> None:
    parts = make_parts(tmp_path, sizes)
    destination = tmp_path / "out.sgy"
    recorder = Recorder()
    written = merge_files(
        prefix, parts, destination, method=method, progress=recorder, chunk_size=CHUNK
    )
    want = expected(prefix, parts)
    assert written == len(want) == merge_size(prefix, parts)
    assert destination.read_bytes() == want
    assert recorder.calls[-1] == (len(want), len(want))


@pytest.mark.parametrize("method", METHODS)
def test_real_segy_file_split_at_traces_merges_back_byte_for_byte(
    tmp_path: Path, method: str
) -> None:
    source = segy_data("f3.sgy").read_bytes()  # 3600-byte headers, 414 traces of 390 bytes
    header, traces = source[:3600], source[3600:]
    cuts = [0, 100 * 390, 100 * 390, 413 * 390, len(traces)]  # includes an empty segment
    parts = []
    for i, (start, stop) in enumerate(itertools.pairwise(cuts)):
        parts.append(tmp_path / f"segment{i}.seg")
        parts[-1].write_bytes(traces[start:stop])
    destination = tmp_path / "f3-merged.sgy"
    assert merge_files(header, parts, destination, method=method, chunk_size=CHUNK) == len(source)
    assert destination.read_bytes() == source


@pytest.mark.parametrize("method", METHODS)
def test_progress_is_monotonic_per_chunk_and_ends_at_total(tmp_path: Path, method: str) -> None:
    parts = make_parts(tmp_path, [9 * CHUNK + 5, 2 * CHUNK])
    recorder = Recorder()
    total = merge_files(
        PREFIX, parts, tmp_path / "out.sgy", method=method, progress=recorder, chunk_size=CHUNK
    )
    done = [d for d, _ in recorder.calls]
    assert {t for _, t in recorder.calls} == {total}
    assert done[0] == 0
    assert done[-1] == total
    steps = [b - a for a, b in itertools.pairwise(done)]
    assert all(step >= 0 for step in steps)
    # No step skips more than one chunk (the prefix is written in one go).
    assert max(steps) <= max(CHUNK, len(PREFIX))


def test_chunk_shrinks_to_keep_progress_steps_near_one_percent(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [3 * 1024 * 1024])  # 1 % is under the 1 MiB floor
    recorder = Recorder()
    merge_files(
        b"", parts, tmp_path / "out.sgy", method="readinto", progress=recorder, chunk_size=1 << 30
    )
    done = [d for d, _ in recorder.calls]
    assert max(b - a for a, b in itertools.pairwise(done)) == 1024 * 1024


@pytest.mark.parametrize("method", METHODS)
def test_cancel_stops_within_a_chunk_and_removes_destination(tmp_path: Path, method: str) -> None:
    parts = make_parts(tmp_path, [20 * CHUNK, 20 * CHUNK])
    destination = tmp_path / "out.sgy"
    reported: list[int] = []
    cancelled_at: list[int] = []

    def progress(done: int, total: int) -> None:
        reported.append(done)
        if done >= len(PREFIX) + 25 * CHUNK and not cancelled_at:
            cancelled_at.append(done)

    with pytest.raises(MergeCancelled):
        merge_files(
            PREFIX,
            parts,
            destination,
            method=method,
            progress=progress,
            should_cancel=lambda: bool(cancelled_at),
            chunk_size=CHUNK,
        )
    assert reported[-1] == cancelled_at[0]  # not one chunk more after the request
    assert not destination.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in parts]


def test_cancel_before_start_writes_nothing(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [CHUNK])
    destination = tmp_path / "out.sgy"
    with pytest.raises(JobCancelled):  # MergeCancelled is the job-level cancel
        merge_files(PREFIX, parts, destination, should_cancel=lambda: True)
    assert not destination.exists()


def test_missing_part_raises_and_leaves_no_destination(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [CHUNK])
    destination = tmp_path / "out.sgy"
    with pytest.raises(FileNotFoundError):
        merge_files(PREFIX, [*parts, tmp_path / "missing.seg"], destination)
    assert not destination.exists()


def test_failing_progress_callback_removes_destination(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [8 * CHUNK])
    destination = tmp_path / "out.sgy"

    def progress(done: int, total: int) -> None:
        if done > len(PREFIX):
            raise RuntimeError("display went away")

    with pytest.raises(RuntimeError, match="display went away"):
        merge_files(PREFIX, parts, destination, progress=progress, chunk_size=CHUNK)
    assert not destination.exists()


def test_destination_that_is_a_part_is_refused_untouched(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [CHUNK, CHUNK])
    before = parts[1].read_bytes()
    with pytest.raises(ValueError, match="also one of its parts"):
        merge_files(PREFIX, parts, parts[1])
    assert parts[1].read_bytes() == before


def test_existing_destination_is_replaced(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [100])
    destination = tmp_path / "out.sgy"
    destination.write_bytes(b"x" * 100_000)
    merge_files(PREFIX, parts, destination)
    assert destination.read_bytes() == expected(PREFIX, parts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "carrier-pigeon"}, "unknown merge method"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_arguments_raise_before_writing(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    parts = make_parts(tmp_path, [10])
    destination = tmp_path / "out.sgy"
    with pytest.raises(ValueError, match=message):
        merge_files(PREFIX, parts, destination, **kwargs)  # type: ignore[arg-type]
    assert not destination.exists()


def test_available_methods() -> None:
    methods = available_methods()
    assert "readinto" in methods  # the portable fallback is always there
    assert set(methods) <= set(merge.METHODS)
    assert methods == [m for m in merge.AUTO_ORDER if m in methods]
    assert ("mmap" in methods) == (kernel is not None and kernel.MMAP_AVAILABLE)


def _refusing(real: Callable[..., int], err: int) -> Callable[..., int]:
    """Wrap a copy call: the first call works, later ones fail with ``err``."""
    calls = 0

    def wrapper(*args: object) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(err, os.strerror(err))
        return real(*args)

    return wrapper


def _patch_refusal(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Make ``method`` refuse (as some file systems do) after its first call."""
    if method == "mmap":
        monkeypatch.setattr(kernel, "copy_range", _refusing(kernel.copy_range, errno.ENODEV))
    elif method == "copy_file_range":
        monkeypatch.setattr(os, "copy_file_range", _refusing(os.copy_file_range, errno.EXDEV))
    else:
        monkeypatch.setattr(os, "sendfile", _refusing(os.sendfile, errno.EINVAL))


REFUSABLE = [m for m in ("mmap", "copy_file_range", "sendfile") if m in available_methods()]


@pytest.mark.parametrize("method", REFUSABLE)
def test_auto_falls_back_where_a_method_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setattr(merge, "AUTO_ORDER", (method, "readinto"))
    _patch_refusal(monkeypatch, method)
    parts = make_parts(tmp_path, [6 * CHUNK + 3, 2 * CHUNK])
    recorder = Recorder()
    total = merge_files(PREFIX, parts, tmp_path / "out.sgy", progress=recorder, chunk_size=CHUNK)
    assert (tmp_path / "out.sgy").read_bytes() == expected(PREFIX, parts)
    done = [d for d, _ in recorder.calls]
    assert done == sorted(done)
    assert done[-1] == total


@pytest.mark.parametrize("method", REFUSABLE)
def test_explicit_method_refused_raises_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    _patch_refusal(monkeypatch, method)
    parts = make_parts(tmp_path, [6 * CHUNK, 2 * CHUNK])
    destination = tmp_path / "out.sgy"
    with pytest.raises(OSError) as caught:
        merge_files(PREFIX, parts, destination, method=method, chunk_size=CHUNK)
    assert caught.value.errno in (errno.ENODEV, errno.EXDEV, errno.EINVAL)
    assert not destination.exists()


# -- the compiled kernel ------------------------------------------------------------


@pytest.fixture
def fds(tmp_path: Path):
    """An open 50,000-byte random source and an open, pre-sized 60,000-byte destination."""
    source = tmp_path / "src"
    source.write_bytes(random.Random(1).randbytes(50_000))
    destination = tmp_path / "dst"
    destination.write_bytes(b"\xff" * 60_000)
    src_fd = os.open(source, os.O_RDONLY)
    dst_fd = os.open(destination, os.O_RDWR)
    yield src_fd, dst_fd, source, destination
    os.close(src_fd)
    os.close(dst_fd)


@needs_kernel
@pytest.mark.parametrize(
    ("chunk", "window"),
    [(1, 1 << 26), (100, 8192), (4096, 3 * 4096 + 5), (5000, 4096), (1 << 20, 1 << 20), (7, 1)],
)
def test_kernel_copies_unaligned_ranges(fds, chunk: int, window: int) -> None:
    src_fd, dst_fd, source, destination = fds
    steps: list[int] = []
    done = kernel.copy_range(
        src_fd, 123, dst_fd, 4097, 40_001, chunk, steps.append, window_size=window
    )
    assert done == 40_001
    assert sum(steps) == 40_001
    assert max(steps) <= min(chunk, window)
    want = bytearray(b"\xff" * 60_000)
    want[4097 : 4097 + 40_001] = source.read_bytes()[123 : 123 + 40_001]
    assert destination.read_bytes() == want


@needs_kernel
def test_kernel_stops_when_cancelled(fds) -> None:
    src_fd, dst_fd, source, destination = fds
    steps: list[int] = []
    done = kernel.copy_range(
        src_fd, 0, dst_fd, 0, 50_000, 4096, steps.append, lambda: len(steps) >= 3, 10_000
    )
    assert steps == [4096, 4096, 10_000 - 2 * 4096]  # steps end where windows end
    assert done == 10_000
    written = destination.read_bytes()
    assert written[:done] == source.read_bytes()[:done]
    assert written[done:] == b"\xff" * (60_000 - done)


@needs_kernel
def test_kernel_zero_length_copies_nothing(fds) -> None:
    src_fd, dst_fd, _, destination = fds
    assert kernel.copy_range(src_fd, 50_000, dst_fd, 60_000, 0, 4096) == 0
    assert destination.read_bytes() == b"\xff" * 60_000


@needs_kernel
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 100, 4096), "offsets must be >= 0"),
        ((0, -1, 100, 4096), "offsets must be >= 0"),
        ((0, 0, -1, 4096), "length must be >= 0"),
        ((0, 0, 100, 0), "chunk_size must be > 0"),
        ((0, 0, 100, -5), "chunk_size must be > 0"),
        ((0, 0, 50_001, 1 << 20), "past the end of the source"),
        ((49_999, 0, 2, 4096), "past the end of the source"),
        ((60_000, 0, 0, 4096), "past the end of the source"),
        ((0, 59_000, 1001, 4096), "past the end of the destination"),
        ((0, 70_000, 0, 4096), "past the end of the destination"),
        ((0, 2**62, 2**62, 4096), "past the end of the source"),
    ],
)
def test_kernel_rejects_ranges_outside_the_files(fds, args: tuple, message: str) -> None:
    src_fd, dst_fd, _, destination = fds
    src_offset, dst_offset, length, chunk = args
    with pytest.raises(ValueError, match=message):
        kernel.copy_range(src_fd, src_offset, dst_fd, dst_offset, length, chunk)
    assert destination.read_bytes() == b"\xff" * 60_000


@needs_kernel
def test_kernel_rejects_empty_windows(fds) -> None:
    src_fd, dst_fd, _, _ = fds
    with pytest.raises(ValueError, match="window_size must be > 0"):
        kernel.copy_range(src_fd, 0, dst_fd, 0, 10, 4096, window_size=0)


@needs_kernel
def test_kernel_rejects_negative_fds(fds) -> None:
    src_fd, dst_fd, _, _ = fds
    with pytest.raises(ValueError, match="file descriptor"):
        kernel.copy_range(-1, 0, dst_fd, 0, 10, 4096)
    with pytest.raises(ValueError, match="file descriptor"):
        kernel.copy_range(src_fd, 0, -1, 0, 10, 4096)


@needs_kernel
def test_kernel_read_only_destination_is_an_os_error(fds) -> None:
    src_fd, _, _, destination = fds
    read_only = os.open(destination, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as caught:
            kernel.copy_range(src_fd, 0, read_only, 0, 10, 4096)
        assert caught.value.errno == errno.EACCES
    finally:
        os.close(read_only)


@needs_kernel
def test_kernel_preallocate_and_file_size(tmp_path: Path) -> None:
    path = tmp_path / "reserved"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        with pytest.raises(ValueError):
            kernel.preallocate(fd, -1, 10)
        with pytest.raises(ValueError):
            kernel.preallocate(-1, 0, 10)
        try:
            kernel.preallocate(fd, 0, 123_456)
        except OSError as exc:
            assert exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP)
            pytest.skip(f"fallocate not supported here: {exc}")
        assert kernel.file_size(fd) == 123_456
        assert path.read_bytes() == b"\x00" * 123_456
    finally:
        os.close(fd)


def _mappings_of(path: Path) -> int:
    """How many of this process's memory mappings are of ``path`` (Linux)."""
    maps = Path("/proc/self/maps").read_text().splitlines()
    return sum(line.rstrip().endswith(str(path)) for line in maps)


@needs_kernel
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/self/maps")
def test_kernel_unmaps_its_windows_on_every_exit(fds) -> None:
    src_fd, dst_fd, source, destination = fds

    def failing_progress(n: int) -> None:
        assert _mappings_of(source) == _mappings_of(destination) == 1  # one window each
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        kernel.copy_range(src_fd, 0, dst_fd, 0, 50_000, 4096, failing_progress)
    assert _mappings_of(source) == _mappings_of(destination) == 0
    kernel.copy_range(src_fd, 0, dst_fd, 0, 50_000, 4096, should_cancel=lambda: True)
    kernel.copy_range(src_fd, 0, dst_fd, 0, 50_000, 4096, window_size=8192)
    assert _mappings_of(source) == _mappings_of(destination) == 0


@needs_kernel
def test_kernel_windows_end_on_alignment_boundaries(tmp_path: Path) -> None:
    align = kernel.WINDOW_ALIGNMENT
    size = 2 * align + align // 2
    source = tmp_path / "src"
    source.write_bytes(random.Random(2).randbytes(size))
    destination = tmp_path / "dst"
    destination.write_bytes(bytes(size + 100))
    steps: list[int] = []
    with open(source, "rb") as src, open(destination, "r+b") as dst:
        done = kernel.copy_range(
            src.fileno(), 0, dst.fileno(), 100, size, 1 << 40, steps.append, window_size=align + 1
        )
    assert done == size
    ends = list(itertools.accumulate(steps, initial=100))[1:]
    assert ends[:-1] == [align, 2 * align]  # one step per window: windows end aligned
    assert destination.read_bytes()[100:] == source.read_bytes()
