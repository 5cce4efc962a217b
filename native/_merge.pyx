# cython: language_level=3
"""mmap-based copy kernel for the export's "Merge segments" stage.

``copy_range`` copies a byte range of one open file into a byte range of another
(pre-sized) open file through shared memory mappings, in bounded windows: each
window of source and destination is mapped, copied with ``memcpy`` without the GIL
and unmapped again, so the address space and resident set used stay bounded by the
chunk size whatever the file size.  Between windows it reports progress to Python and
polls a cancel callable.

Every offset and length is checked against the files' current sizes before anything
is mapped: a range outside either file raises ``ValueError`` instead of touching
memory past the end of a mapping (which would be ``SIGBUS``).

Linux extras, each behind a compile-time check so the module builds on any POSIX
system (and, with ``MMAP_AVAILABLE`` false, even where there is no mmap at all):
``MADV_POPULATE_WRITE`` pre-faults each destination window in one call (fewer page
faults, and a failing allocation such as a full disk becomes an error return rather
than ``SIGBUS``), and ``fallocate`` reserves the destination's blocks up front.
"""

from libc.errno cimport ENOSYS
from libc.string cimport strerror

__all__ = ["MMAP_AVAILABLE", "PAGE_SIZE", "copy_range", "file_size", "preallocate"]

cdef extern from *:
    """
    #include <errno.h>
    #include <string.h>
    #include <sys/types.h>
    #include <sys/stat.h>

    #if defined(_WIN32)
    #define SEGY_HAVE_MMAP 0
    static long long segy_page_size(void) { return 4096; }
    static int segy_copy_window(int sfd, long long soff, int dfd, long long doff,
                                size_t n, long long page) {
        (void)sfd; (void)soff; (void)dfd; (void)doff; (void)n; (void)page;
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

    /* Map the n bytes at soff in sfd (read-only) and at doff in dfd (read-write,
       shared), copy, unmap.  Offsets need not be page aligned: each mapping starts
       at the page boundary below its offset.  Returns 0 or an errno value. */
    static int segy_copy_window(int sfd, long long soff, int dfd, long long doff,
                                size_t n, long long page) {
        long long sbase = soff - soff % page;
        long long dbase = doff - doff % page;
        size_t shead = (size_t)(soff - sbase);
        size_t dhead = (size_t)(doff - dbase);
        int err;
        char *src = (char *)mmap(NULL, n + shead, PROT_READ, MAP_SHARED, sfd, (off_t)sbase);
        if (src == (char *)MAP_FAILED) return errno;
        char *dst = (char *)mmap(NULL, n + dhead, PROT_READ | PROT_WRITE, MAP_SHARED, dfd,
                                 (off_t)dbase);
        if (dst == (char *)MAP_FAILED) {
            err = errno;
            munmap(src, n + shead);
            return err;
        }
    #if defined(MADV_SEQUENTIAL)
        madvise(src, n + shead, MADV_SEQUENTIAL);
    #endif
    #if defined(MADV_POPULATE_WRITE)
        if (madvise(dst, n + dhead, MADV_POPULATE_WRITE) != 0
                && (errno == EFAULT
    #if defined(EHWPOISON)
                    || errno == EHWPOISON
    #endif
                )) {
            /* Touching these pages would raise SIGBUS: the file system could not
               back them (disk full, I/O error). */
            munmap(dst, n + dhead);
            munmap(src, n + shead);
            return EIO;
        }
    #endif
        memcpy(dst + dhead, src + shead, n);
        err = 0;
        if (munmap(dst, n + dhead) != 0) err = errno;
        if (munmap(src, n + shead) != 0 && err == 0) err = errno;
        return err;
    }
    #endif
    """
    int SEGY_HAVE_MMAP
    long long segy_page_size() nogil
    int segy_file_size(int fd, long long *size) nogil
    int segy_preallocate(int fd, long long off, long long length) nogil
    int segy_copy_window(int sfd, long long soff, int dfd, long long doff,
                         size_t n, long long page) nogil

#: True where this build can memory-map files (every POSIX system).
MMAP_AVAILABLE: bool = bool(SEGY_HAVE_MMAP)
#: The mapping granularity: window offsets are rounded down to a multiple of it.
PAGE_SIZE: int = segy_page_size()

cdef long long _PAGE = segy_page_size()


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
        Bytes per mapped window (> 0): bounds memory, progress and cancel latency.
    progress
        Called as ``progress(n)`` after each window with the ``n`` bytes it copied.
    should_cancel
        Polled before each window; when it returns true the copy stops there.

    Returns
    -------
    int
        Bytes copied: ``length``, or fewer if ``should_cancel`` stopped the copy.

    Raises
    ------
    ValueError
        A negative fd, offset or length, a non-positive chunk size, or a range past the
        end of either file.
    OSError
        Mapping failed (e.g. the file system cannot mmap), or the destination pages
        could not be backed (``EIO``: disk full or I/O error).
    """
    cdef long long src_size, dst_size, done = 0
    cdef long long n
    cdef int err
    if src_offset < 0 or dst_offset < 0:
        raise ValueError(f"offsets must be >= 0, got source {src_offset}, destination {dst_offset}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
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
    while done < length:
        if should_cancel is not None and should_cancel():
            break
        n = min(chunk_size, length - done)
        with nogil:
            err = segy_copy_window(
                src_fd, src_offset + done, dst_fd, dst_offset + done, <size_t>n, _PAGE
            )
        if err != 0:
            raise _os_error(err, "memory-mapped copy failed")
        done += n
        if progress is not None:
            progress(n)
    return done
