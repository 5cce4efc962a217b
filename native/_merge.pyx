# cython: language_level=3
"""mmap-based copy kernel for the export's "Merge segments" stage.

``copy_range`` copies a byte range of one open file into a byte range of another
(pre-sized) open file through shared memory mappings.  It maps a window of both files
at a time (``window_size``, 64 MiB by default), copies it in steps of ``chunk_size``
with ``memcpy`` without the GIL, reporting progress to Python and polling a cancel
callable between steps, and unmaps it again: address space and resident set stay
bounded by the window whatever the file size.

Window ends fall on multiples of 2 MiB in the destination.  Page-cache folios of a
new file are up to 2 MiB large (x86-64 PMD size); a shared mapping that begins inside
one was measured here (Linux 6.18, ext4) to make the copy about ten times slower.

Every offset and length is checked against the files' current sizes before anything
is mapped: a range outside either file raises ``ValueError`` instead of touching
memory past the end of a mapping (which would be ``SIGBUS``).

Linux extras, each behind a compile-time check so the module builds on any POSIX
system (and, with ``MMAP_AVAILABLE`` false, even where there is no mmap at all):
``MADV_POPULATE_WRITE`` faults each destination window in with one call (a page the
file system cannot back, e.g. on a full disk, becomes an error instead of ``SIGBUS``),
and ``fallocate`` reserves the destination's blocks up front.
"""

from libc.errno cimport ENOSYS
from libc.string cimport memcpy, strerror

__all__ = [
    "DEFAULT_WINDOW_SIZE",
    "MMAP_AVAILABLE",
    "PAGE_SIZE",
    "WINDOW_ALIGNMENT",
    "copy_range",
    "file_size",
    "preallocate",
]

cdef extern from *:
    """
    #include <errno.h>
    #include <string.h>
    #include <sys/types.h>
    #include <sys/stat.h>

    #if defined(_WIN32)
    #define SEGY_HAVE_MMAP 0
    static long long segy_page_size(void) { return 4096; }
    typedef struct { char *src, *dst; } segy_window;
    static void segy_unmap(segy_window *w) { (void)w; }
    static int segy_map(segy_window *w, int sfd, long long soff, int dfd, long long doff,
                        size_t n, long long page) {
        (void)w; (void)sfd; (void)soff; (void)dfd; (void)doff; (void)n; (void)page;
        return ENOSYS;
    }
    static int segy_file_size(int fd, long long *size) {
        struct _stat64 st;
        if (_fstat64(fd, &st) != 0) return errno;
        *size = (long long)st.st_size;
        return 0;
    }
    static int segy_preallocate(int fd, long long off, long long len) {
        (void)fd; (void)off; (void)len;
        return ENOSYS;
    }
    #else
    #include <fcntl.h>
    #include <sys/mman.h>
    #include <unistd.h>
    #define SEGY_HAVE_MMAP 1

    static long long segy_page_size(void) {
        long p = sysconf(_SC_PAGESIZE);
        return p > 0 ? (long long)p : 4096;
    }

    static int segy_file_size(int fd, long long *size) {
        struct stat st;
        if (fstat(fd, &st) != 0) return errno;
        *size = (long long)st.st_size;
        return 0;
    }

    /* Reserve blocks so that writes through the mapping cannot fail for want of
       space (which would be SIGBUS).  Linux only; elsewhere ENOSYS, and the caller
       goes on without it. */
    static int segy_preallocate(int fd, long long off, long long len) {
    #if defined(__linux__)
        if (len <= 0) return 0;
        if (fallocate(fd, 0, (off_t)off, (off_t)len) != 0) return errno;
        return 0;
    #else
        (void)fd; (void)off; (void)len;
        return ENOSYS;
    #endif
    }

    /* A pair of mappings: n bytes of the source at soff (read-only) and of the
       destination at doff (read-write, shared).  Offsets need not be page aligned:
       each mapping starts at the page boundary below its offset. */
    typedef struct {
        char *src_map, *dst_map;    /* mapping starts */
        size_t src_len, dst_len;    /* mapping lengths */
        char *src, *dst;            /* the first byte of the range in each */
    } segy_window;

    static void segy_unmap(segy_window *w) {
        if (w->dst_map != NULL) munmap(w->dst_map, w->dst_len);
        if (w->src_map != NULL) munmap(w->src_map, w->src_len);
        w->dst_map = w->src_map = NULL;
    }

    /* Returns 0 or an errno value (nothing left mapped then). */
    static int segy_map(segy_window *w, int sfd, long long soff, int dfd, long long doff,
                        size_t n, long long page) {
        long long sbase = soff - soff % page;
        long long dbase = doff - doff % page;
        void *m;
        int err;
        w->src_map = w->dst_map = NULL;
        w->src_len = n + (size_t)(soff - sbase);
        w->dst_len = n + (size_t)(doff - dbase);
        m = mmap(NULL, w->src_len, PROT_READ, MAP_SHARED, sfd, (off_t)sbase);
        if (m == MAP_FAILED) return errno;
        w->src_map = (char *)m;
        m = mmap(NULL, w->dst_len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, (off_t)dbase);
        if (m == MAP_FAILED) {
            err = errno;
            segy_unmap(w);
            return err;
        }
        w->dst_map = (char *)m;
        w->src = w->src_map + (soff - sbase);
        w->dst = w->dst_map + (doff - dbase);
    #if defined(MADV_SEQUENTIAL)
        madvise(w->src_map, w->src_len, MADV_SEQUENTIAL);
    #endif
    #if defined(MADV_POPULATE_WRITE)
        /* Fault the destination in with one call.  If the file system cannot back a
           page (disk full, I/O error) this fails with EFAULT, where a plain store
           would raise SIGBUS.  Older kernels answer EINVAL: go on without it. */
        if (madvise(w->dst_map, w->dst_len, MADV_POPULATE_WRITE) != 0
                && (errno == EFAULT
    #if defined(EHWPOISON)
                    || errno == EHWPOISON
    #endif
                )) {
            segy_unmap(w);
            return EIO;
        }
    #endif
        return 0;
    }
    #endif
    """
    int SEGY_HAVE_MMAP
    long long segy_page_size() nogil
    int segy_file_size(int fd, long long *size) nogil
    int segy_preallocate(int fd, long long off, long long length) nogil
    ctypedef struct segy_window:
        char *src
        char *dst
    int segy_map(segy_window *w, int sfd, long long soff, int dfd, long long doff,
                 size_t n, long long page) nogil
    void segy_unmap(segy_window *w) nogil

#: True where this build can memory-map files (every POSIX system).
MMAP_AVAILABLE: bool = bool(SEGY_HAVE_MMAP)
#: The mapping granularity: mappings start at a multiple of it.
PAGE_SIZE: int = segy_page_size()
#: Window ends fall on multiples of this in the destination (the largest folio size).
WINDOW_ALIGNMENT: int = max(2 * 1024 * 1024, PAGE_SIZE)
#: Bytes mapped at a time unless told otherwise.
DEFAULT_WINDOW_SIZE: int = 64 * 1024 * 1024

cdef long long _PAGE = PAGE_SIZE
cdef long long _ALIGN = WINDOW_ALIGNMENT


cdef inline object _os_error(int err, str what):
    """An ``OSError`` for errno ``err`` (``FileNotFoundError`` etc. by errno)."""
    return OSError(err, f"{what}: {strerror(err).decode('utf-8', 'replace')}")


cdef long long _size_of(int fd, str name) except -1:
    """The current size of open file ``fd``; ``ValueError`` for a negative fd."""
    cdef long long size = 0
    cdef int err
    if fd < 0:
        raise ValueError(f"{name} file descriptor must be >= 0, got {fd}")
    with nogil:
        err = segy_file_size(fd, &size)
    if err != 0:
        raise _os_error(err, f"cannot stat the {name} file")
    return size


def file_size(int fd) -> int:
    """Size in bytes of the open file ``fd`` (``fstat``), as the kernel sees it."""
    return _size_of(fd, "given")


def preallocate(int fd, long long offset, long long length) -> None:
    """Reserve disk blocks for ``[offset, offset + length)`` of ``fd`` (Linux ``fallocate``).

    Reserving up front turns a full disk into one clear ``OSError(ENOSPC)`` before any
    copying, instead of a failure midway.  Raises ``OSError`` with ``ENOSYS`` or
    ``EOPNOTSUPP`` where the platform or file system cannot do it; callers ignore those.
    """
    cdef int err
    if fd < 0:
        raise ValueError(f"file descriptor must be >= 0, got {fd}")
    if offset < 0 or length < 0:
        raise ValueError(f"offset and length must be >= 0, got {offset} and {length}")
    with nogil:
        err = segy_preallocate(fd, offset, length)
    if err != 0:
        raise _os_error(err, "cannot reserve space for the destination")


def copy_range(
    int src_fd,
    long long src_offset,
    int dst_fd,
    long long dst_offset,
    long long length,
    long long chunk_size,
    progress=None,
    should_cancel=None,
    long long window_size=DEFAULT_WINDOW_SIZE,
) -> int:
    """Copy ``length`` bytes from ``src_fd`` at ``src_offset`` to ``dst_fd`` at ``dst_offset``.

    Parameters
    ----------
    src_fd, dst_fd
        Open file descriptors: the source readable, the destination opened read-write
        and already at least ``dst_offset + length`` bytes long (the merge pre-sizes it).
    src_offset, dst_offset, length
        The byte range; checked against both files' sizes before anything is mapped.
    chunk_size
        Largest number of bytes copied between two progress calls / cancel checks (> 0).
    progress
        Called as ``progress(n)`` after each step with the ``n`` bytes it copied.
    should_cancel
        Polled before each step; when it returns true the copy stops there.
    window_size
        Largest number of bytes mapped at a time (> 0).

    Returns
    -------
    int
        Bytes copied: ``length``, or fewer if ``should_cancel`` stopped the copy.

    Raises
    ------
    ValueError
        A negative fd, offset or length, a non-positive chunk or window size, or a range
        past the end of either file.
    OSError
        Mapping failed (e.g. the file system cannot mmap), or the destination pages
        could not be backed (``EIO``: disk full or I/O error).
    """
    cdef long long src_size, dst_size, done = 0, end, wlen, pos, n
    cdef segy_window w
    cdef int err
    if src_offset < 0 or dst_offset < 0:
        raise ValueError(f"offsets must be >= 0, got source {src_offset}, destination {dst_offset}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
    if window_size <= 0:
        raise ValueError(f"window_size must be > 0, got {window_size}")
    src_size = _size_of(src_fd, "source")
    dst_size = _size_of(dst_fd, "destination")
    if src_offset > src_size or length > src_size - src_offset:
        raise ValueError(
            f"source range [{src_offset}, {src_offset} + {length}) is past the end of the "
            f"source file ({src_size} bytes)"
        )
    if dst_offset > dst_size or length > dst_size - dst_offset:
        raise ValueError(
            f"destination range [{dst_offset}, {dst_offset} + {length}) is past the end of "
            f"the destination file ({dst_size} bytes); pre-size it first"
        )
    if not SEGY_HAVE_MMAP:
        raise _os_error(ENOSYS, "memory-mapped copy is not available on this platform")
    w.src = w.dst = NULL
    while done < length:
        if should_cancel is not None and should_cancel():
            return done
        # The window: [dst_offset + done, end) in destination offsets, ending on an
        # alignment boundary unless it is the last one or too small to hold one.
        end = dst_offset + done + min(window_size, length - done)
        if end < dst_offset + length and end - end % _ALIGN > dst_offset + done:
            end -= end % _ALIGN
        wlen = end - dst_offset - done
        with nogil:
            err = segy_map(&w, src_fd, src_offset + done, dst_fd, dst_offset + done,
                           <size_t>wlen, _PAGE)
        if err != 0:
            raise _os_error(err, "memory-mapped copy failed")
        try:
            pos = 0
            while pos < wlen:
                if pos > 0 and should_cancel is not None and should_cancel():
                    return done
                n = min(chunk_size, wlen - pos)
                with nogil:
                    memcpy(w.dst + pos, w.src + pos, <size_t>n)
                pos += n
                done += n
                if progress is not None:
                    progress(n)
        finally:
            with nogil:
                segy_unmap(&w)
    return done
