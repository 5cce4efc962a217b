"""``headers.parquet`` from the workers' raw header segments, in trace order.

The merge-headers stage turns every worker's raw 240-byte header segments into one
Parquet file. Much of that work need not wait for the parallel stage: a segment is final
once its worker has started the next one, so while the workers still run a follower
thread appends the first worker's segments, and the stage is left with the rest (about
half with two workers, all but the last segment with one). The follower runs only beside
worker threads of this process; segments written on other hosts are read once their
tasks have returned.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..dataset.headers import ROW_GROUP_SIZE, headers_to_table, iter_raw_headers, open_header_writer
from ..format.fields import CustomField
from ..format.layout import Endian
from .tasks import segment_path

__all__ = ["FOLLOW_POLL_SECONDS", "MERGE_LOOKAHEAD", "HeaderMerge"]

#: Header blocks decoded ahead of the Parquet writer. One: decoding (one compiled pass,
#: ~4 ms a block) is far quicker than writing (~60 ms), and each block in flight holds
#: ~25 MB; two let the peak grow with the file (131 -> 170 MiB from 300k to 1M traces,
#: one: 115 -> 118 MiB) for no measurable speed.
MERGE_LOOKAHEAD = 1
#: How often the follower looks for the next finished segment (a segment is ~1 s of work).
FOLLOW_POLL_SECONDS = 0.05


class HeaderMerge:
    """One ``headers.parquet`` being written: raw header segments appended in trace order.

    Parameters
    ----------
    path
        The Parquet file to create.
    endian
        Byte order of the raw headers.
    custom_fields
        Extra header columns (``--header-field``) decoded beside the standard ones.
    """

    def __init__(self, path: Path, endian: Endian, custom_fields: Sequence[CustomField]) -> None:
        self.path = path
        self.endian = endian
        self.custom_fields = tuple(custom_fields)
        #: The segments appended so far, in order.
        self.written: list[Path] = []
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            sink = pa.OSFile(str(self.path), "wb")  # closed even if the writer fails
            try:
                self._writer = open_header_writer(sink, self.custom_fields)
            except BaseException:
                sink.close()
                raise
            self._sink = sink
        return self._writer

    def write(
        self, segments: Sequence[Path], on_segment: Callable[[int], None] | None = None
    ) -> None:
        """Append ``segments``; ``on_segment(n)`` after each, ``n`` counting all appended.

        Decoding the next block (compiled, GIL released) overlaps writing the current one
        (pyarrow, GIL released); at most :data:`MERGE_LOOKAHEAD` blocks wait in memory.
        """
        writer = self._open()
        first = len(self.written)

        def blocks() -> Iterator[tuple[object, int]]:
            """Raw header blocks, each with the segments complete once it is written."""
            for done, segment in enumerate(segments, first + 1):
                previous = None
                for raw in iter_raw_headers(segment):
                    if previous is not None:
                        yield previous, done - 1
                    previous = raw
                if previous is not None:
                    yield previous, done

        pending: deque[tuple[Future[pa.Table], int]] = deque()

        def appended(done: int) -> None:
            """Segments up to ``done`` (counting all appended) are in the file."""
            while len(self.written) < done:
                self.written.append(segments[len(self.written) - first])
                if on_segment is not None:
                    on_segment(len(self.written))

        def write_oldest() -> None:
            table, done = pending.popleft()
            writer.write_table(table.result(), row_group_size=ROW_GROUP_SIZE)
            appended(done)

        with ThreadPoolExecutor(MERGE_LOOKAHEAD, thread_name_prefix="segycore-headers") as pool:
            for raw, done in blocks():
                pending.append(
                    (pool.submit(headers_to_table, raw, self.endian, self.custom_fields), done)
                )
                if len(pending) > MERGE_LOOKAHEAD:
                    write_oldest()
            while pending:
                write_oldest()
        appended(first + len(segments))  # and any trailing segment without a header

    def close(self) -> None:
        """Finish the file (a file with the schema and no rows if nothing was appended)."""
        writer = self._open()
        try:
            writer.close()
        finally:
            self._release()

    def discard(self) -> None:
        """Close without caring whether the file is complete (a failed job removes it)."""
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:  # best effort: the job's own error is the one to report
            pass
        finally:
            self._release()

    def _release(self) -> None:
        self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    @contextmanager
    def following(self, folder: Path, worker: int) -> Iterator[None]:
        """While the block runs, append task ``worker``'s segments in ``folder`` as each
        one is finished (its successor exists). When the block ends the follower stops
        after the segment it is writing; the rest is the merge stage's. A failure of the
        follower is raised when the block ends without an error of its own."""
        stop = threading.Event()
        failure: list[BaseException] = []

        def follow() -> None:
            try:
                while not stop.is_set():
                    number = len(self.written)
                    if segment_path(folder, worker, number + 1).exists():
                        self.write([segment_path(folder, worker, number)])
                    else:
                        stop.wait(FOLLOW_POLL_SECONDS)
            except BaseException as exc:  # handed to the stage's thread
                failure.append(exc)

        if self.written:
            raise RuntimeError("a header merge follows only from its first segment")
        thread = threading.Thread(target=follow, name="segycore-headers-follow", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if failure:
            raise failure[0]
