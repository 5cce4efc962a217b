# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Trace-header fields to columns in one pass over the raw headers.

Decoding the 91 standard fields with numpy is one strided, byte-swapping cast per field:
91 passes over the raw bytes. :func:`decode_fields` reads each header once and writes
every field into its own contiguous column (a row of ``out2`` / ``out4``), 3-4x faster
(``benchmarks/bench_numba.py``, which also shows why this is not a Numba kernel: Numba
is as fast but costs a process 0.5 s to import). Every shape, dtype and offset is checked
before memory is touched (``ValueError`` otherwise); the loop runs without the GIL.
"""

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    static inline uint16_t sf_get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
    static inline uint32_t sf_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
    #if defined(_MSC_VER) && !defined(__clang__)
    #include <stdlib.h>
    #define SF_BSWAP16(x) _byteswap_ushort(x)
    #define SF_BSWAP32(x) _byteswap_ulong(x)
    #else
    #define SF_BSWAP16(x) __builtin_bswap16(x)
    #define SF_BSWAP32(x) __builtin_bswap32(x)
    #endif
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define SF_HOST_LITTLE 0
    #else
    #define SF_HOST_LITTLE 1
    #endif
    """
    uint16_t sf_get16(const unsigned char *p) nogil
    uint32_t sf_get32(const unsigned char *p) nogil
    uint16_t SF_BSWAP16(uint16_t x) nogil
    uint32_t SF_BSWAP32(uint32_t x) nogil
    bint SF_HOST_LITTLE

__all__ = ["decode_fields"]

cdef enum:
    TILE = 64  # headers per tile


cdef cnp.ndarray _checked(object arr, str name, object dtype, int ndim, bint writable):
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype or arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d {np.dtype(dtype)} array")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return <cnp.ndarray>arr


cdef void _check_offsets(cnp.ndarray offsets, str name, Py_ssize_t width, Py_ssize_t row) except *:
    if offsets.size and (offsets.min() < 0 or offsets.max() > row - width):
        raise ValueError(f"{name} must lie within the {row}-byte header (width {width})")


def decode_fields(raw, offsets2, offsets4, bint little_endian, out2, out4):
    """Decode 2- and 4-byte signed fields of every header in ``raw`` into columns.

    Parameters
    ----------
    raw
        uint8 array ``(n, header_bytes)``, C-contiguous: one header per row.
    offsets2, offsets4
        int64 arrays: the byte offset of each 2-byte / 4-byte field within a header.
    little_endian
        Byte order of the fields.
    out2, out4
        int16 ``(len(offsets2), n)`` and int32 ``(len(offsets4), n)``, C-contiguous and
        writable: ``out2[k, i]`` receives field ``k`` of header ``i``.
    """
    cdef cnp.ndarray r = _checked(raw, "raw", np.uint8, 2, False)
    cdef cnp.ndarray o2 = _checked(offsets2, "offsets2", np.int64, 1, False)
    cdef cnp.ndarray o4 = _checked(offsets4, "offsets4", np.int64, 1, False)
    cdef cnp.ndarray d2 = _checked(out2, "out2", np.int16, 2, True)
    cdef cnp.ndarray d4 = _checked(out4, "out4", np.int32, 2, True)
    cdef Py_ssize_t n = r.shape[0], row = r.shape[1]
    if d2.shape[0] != o2.shape[0] or d2.shape[1] != n:
        raise ValueError(f"out2 must have shape ({o2.shape[0]}, {n}), got {out2.shape}")
    if d4.shape[0] != o4.shape[0] or d4.shape[1] != n:
        raise ValueError(f"out4 must have shape ({o4.shape[0]}, {n}), got {out4.shape}")
    _check_offsets(o2, "offsets2", 2, row)
    _check_offsets(o4, "offsets4", 4, row)
    cdef const uint8_t *src = <const uint8_t *>cnp.PyArray_DATA(r)
    cdef const int64_t *off2 = <const int64_t *>cnp.PyArray_DATA(o2)
    cdef const int64_t *off4 = <const int64_t *>cnp.PyArray_DATA(o4)
    cdef int16_t *dst2 = <int16_t *>cnp.PyArray_DATA(d2)
    cdef int32_t *dst4 = <int32_t *>cnp.PyArray_DATA(d4)
    cdef Py_ssize_t n2 = o2.shape[0], n4 = o4.shape[0], i, k
    cdef const uint8_t *h
    cdef uint16_t v16
    cdef uint32_t v32
    cdef bint swap = little_endian != SF_HOST_LITTLE
    cdef Py_ssize_t t0, t1
    with nogil:
        # tiles of TILE headers (15 KiB, in L1): each field of the tile is one short,
        # contiguous run of its column, and the tile is read from cache for every field
        t0 = 0
        while t0 < n:
            t1 = min(t0 + TILE, n)
            for k in range(n2):
                for i in range(t0, t1):
                    v16 = sf_get16(src + i * row + off2[k])
                    dst2[k * n + i] = <int16_t>(SF_BSWAP16(v16) if swap else v16)
            for k in range(n4):
                for i in range(t0, t1):
                    v32 = sf_get32(src + i * row + off4[k])
                    dst4[k * n + i] = <int32_t>(SF_BSWAP32(v32) if swap else v32)
            t0 = t1
