# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Trace-record conversion between SEG-Y bytes and dataset arrays: the import/export hot path.

A trace record is a 240-byte trace header followed by ``n_samples`` samples of the
format's ``itemsize`` bytes, all in one byte order. :func:`decode_records` turns whole
records into header bytes and dataset samples, :func:`encode_records` does the inverse.
Every size, shape and dtype is checked before memory is touched (``ValueError``
otherwise); the loops run without the GIL, so threads can convert chunks side by side.

The IBM conversions use integer arithmetic and int-to-float conversions that are exact by
construction, so results never depend on the FPU's rounding or flush-to-zero modes,
whatever other libraries set in the process.
"""

from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memcpy

import operator
import os
import warnings

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(_MSC_VER)
    #include <stdlib.h>
    #include <intrin.h>
    #define SC_INLINE static __inline
    #define SC_BSWAP16(x) _byteswap_ushort(x)
    #define SC_BSWAP32(x) _byteswap_ulong(x)
    #define SC_BSWAP64(x) _byteswap_uint64(x)
    SC_INLINE int sc_clz32(uint32_t x) {
        unsigned long i; _BitScanReverse(&i, x); return 31 - (int)i;
    }
    #else
    #define SC_INLINE static inline
    #define SC_BSWAP16(x) __builtin_bswap16(x)
    #define SC_BSWAP32(x) __builtin_bswap32(x)
    #define SC_BSWAP64(x) __builtin_bswap64(x)
    SC_INLINE int sc_clz32(uint32_t x) { return __builtin_clz(x); }
    #endif
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define SC_HOST_LITTLE 0
    #else
    #define SC_HOST_LITTLE 1
    #endif
    /* Unaligned loads and stores in native order; records need not be aligned. */
    SC_INLINE uint16_t sc_get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
    SC_INLINE uint32_t sc_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
    SC_INLINE uint64_t sc_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
    SC_INLINE void sc_put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
    SC_INLINE void sc_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
    SC_INLINE void sc_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
    SC_INLINE float sc_f32(uint32_t bits) { float f; memcpy(&f, &bits, 4); return f; }
    SC_INLINE uint32_t sc_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
    """
    uint16_t SC_BSWAP16(uint16_t x) nogil
    uint32_t SC_BSWAP32(uint32_t x) nogil
    uint64_t SC_BSWAP64(uint64_t x) nogil
    int sc_clz32(uint32_t x) nogil
    bint SC_HOST_LITTLE
    uint16_t sc_get16(const unsigned char *p) nogil
    uint32_t sc_get32(const unsigned char *p) nogil
    uint64_t sc_get64(const unsigned char *p) nogil
    void sc_put16(unsigned char *p, uint16_t v) nogil
    void sc_put32(unsigned char *p, uint32_t v) nogil
    void sc_put64(unsigned char *p, uint64_t v) nogil
    float sc_f32(uint32_t bits) nogil
    uint32_t sc_bits(float f) nogil

# The vectorised sample loops, one clone per instruction set, chosen at run time.
cdef extern from "simd_kernels.h":
    int SCK_N_LEVELS
    const char *sck_level_names[]
    int sck_level
    int sck_best_level() nogil
    int sck_select(int level) nogil
    uint32_t sck_decode_ibm(const unsigned char *s, unsigned char *d, Py_ssize_t n, bint swap) nogil
    uint32_t sck_encode_ibm(const unsigned char *s, unsigned char *d, Py_ssize_t n, bint swap) nogil
    void sck_bswap32(const unsigned char *s, unsigned char *d, Py_ssize_t n) nogil
    void sck_bswap64(const unsigned char *s, unsigned char *d, Py_ssize_t n) nogil
    void sck_decode_16(
        const unsigned char *s, unsigned char *d, Py_ssize_t n, bint swap, bint is_signed
    ) nogil

__all__ = [
    "decode_records",
    "encode_records",
    "float32_to_ibm",
    "ibm_inexact_traces",
    "ibm_to_float32",
    "set_simd_level",
    "simd_level",
    "simd_levels",
]

cdef enum:
    HEADER = 240  # trace header bytes
    FLT_MAX_BITS = 0x7F7FFFFF

# What a format's samples are, for the conversion loops (one loop per kind).
cdef enum Kind:
    COPY32 = 0  # formats 2, 5, 10: 4 bytes stored as-is (byte order aside)
    COPY64 = 1  # formats 6, 9, 12
    IBM = 2  # format 1
    I16 = 3  # format 3
    U16 = 4  # format 11
    I24 = 5  # format 7
    U24 = 6  # format 15
    I8 = 7  # format 8
    U8 = 8  # format 16

# format code -> (kind, itemsize, dataset dtype); kept in step with segycore.spec.
_FORMATS = {
    1: (IBM, 4, np.dtype(np.float32)),
    2: (COPY32, 4, np.dtype(np.int32)),
    3: (I16, 2, np.dtype(np.float32)),
    5: (COPY32, 4, np.dtype(np.float32)),
    6: (COPY64, 8, np.dtype(np.float64)),
    7: (I24, 3, np.dtype(np.float32)),
    8: (I8, 1, np.dtype(np.float32)),
    9: (COPY64, 8, np.dtype(np.int64)),
    10: (COPY32, 4, np.dtype(np.uint32)),
    11: (U16, 2, np.dtype(np.float32)),
    12: (COPY64, 8, np.dtype(np.uint64)),
    15: (U24, 3, np.dtype(np.float32)),
    16: (U8, 1, np.dtype(np.float32)),
}


# ---------------------------------------------------------------- IBM <-> float32 bits

cdef inline uint32_t _ibm_to_f32(uint32_t ibm) noexcept nogil:
    """IBM bit pattern -> float32 bits: exact value, rounded once (RNE), clamped to FLT_MAX."""
    cdef uint32_t sign = ibm & 0x80000000u
    cdef uint32_t frac = ibm & 0x00FFFFFFu
    cdef int lz, biased, shift
    cdef uint32_t m, q, rem, half
    if frac == 0:
        return sign
    # value = frac * 2**(4*(e-64)-24); put the leading 1 at bit 23 (exact, even unnormalised)
    lz = sc_clz32(frac) - 8
    m = frac << lz
    biased = 4 * <int>((ibm >> 24) & 0x7F) - 130 - lz
    if biased >= 255:
        return sign | FLT_MAX_BITS
    if biased >= 1:
        return sign | ((<uint32_t>(biased - 1) << 23) + m)
    # float32 subnormal: value = (m >> shift) * 2**-149, rounded to nearest, ties to even;
    # a carry out of the mantissa lands in the exponent field, which is the right result.
    shift = 1 - biased
    if shift > 24:
        return sign
    q = m >> shift
    rem = m & ((1u << shift) - 1u)
    half = 1u << (shift - 1)
    if rem > half or (rem == half and (q & 1u)):
        q += 1u
    return sign | q


cdef inline uint32_t _f32_to_ibm(uint32_t bits) noexcept nogil:
    """Finite float32 bits -> IBM bit pattern, rounded to nearest, ties to even.

    Every finite float32, subnormals included, lies in IBM range; the caller handles
    NaN and infinity (exponent field 255).
    """
    cdef uint32_t sign = bits & 0x80000000u
    cdef uint32_t e8 = (bits >> 23) & 0xFFu
    cdef uint32_t m = bits & 0x007FFFFFu
    cdef int k, t, lz
    cdef uint32_t frac, rem, half
    if e8 == 0:
        if m == 0:
            return sign  # +0 and -0 keep their sign
        lz = sc_clz32(m) - 8
        m <<= lz
        k = -149 - lz
    else:
        m |= 0x00800000u
        k = <int>e8 - 150
    # value = m * 2**k, m in [2**23, 2**24); IBM wants frac * 16**(e-70), frac in [2**20, 2**24)
    # so frac = m / 2**t rounded, t = (-k) mod 4. Rounding never carries into the exponent:
    # for t >= 1 the quotient is at most 2**(24-t), still a valid normalised fraction.
    t = (-k) & 3
    frac = m >> t
    rem = m & ((1u << t) - 1u)
    half = (1u << t) >> 1
    if rem > half or (rem == half and t != 0 and (frac & 1u)):
        frac += 1u  # round to nearest, ties to even
    return sign | (<uint32_t>(70 + (k + t) // 4) << 24) | frac


# ---------------------------------------------------------------- sample loops
#
# The IBM loops first run a branch-free fast path (native/simd_kernels.h, compiled per
# instruction set and chosen at run time): it is exact for every value whose result is a
# normal number (or zero), and it notes whether any sample needs more (float32 subnormal
# or overflow, float32 subnormal or NaN input). Only then is the row redone one sample at
# a time with the exact functions above.

cdef void _decode_ibm(const uint8_t *s, uint8_t *d, Py_ssize_t n, bint swap) noexcept nogil:
    cdef Py_ssize_t j
    cdef uint32_t u, frac, fbits
    cdef int32_t shift
    # the vectorised fast path (simd_kernels.h), then the exact fix-up where it flagged
    cdef uint32_t special = sck_decode_ibm(s, d, n, swap)
    if special:  # redo just the samples the fast path cannot do
        for j in range(n):
            u = sc_get32(s + 4 * j)
            if swap:
                u = SC_BSWAP32(u)
            frac = u & 0x00FFFFFFu
            if frac == 0:
                continue
            fbits = sc_bits(<float><int32_t>frac)
            shift = 4 * <int32_t>((u >> 24) & 0x7Fu) - 280
            if <uint32_t>(<int32_t>(fbits >> 23) + shift - 1) > 253u:
                sc_put32(d + 4 * j, _ibm_to_f32(u))


cdef Py_ssize_t _encode_ibm(const uint8_t *s, uint8_t *d, Py_ssize_t n, bint swap) noexcept nogil:
    """Float32 -> IBM for one row; returns -1 or the index of the first NaN/infinity."""
    cdef Py_ssize_t j
    cdef uint32_t u, e8, r
    # the vectorised fast path (simd_kernels.h), then the exact fix-up where it flagged
    cdef uint32_t special = sck_encode_ibm(s, d, n, swap)
    if not special:
        return -1
    cdef Py_ssize_t bad = -1
    for j in range(n):  # redo just the samples the fast path cannot do
        u = sc_get32(s + 4 * j)
        e8 = (u >> 23) & 0xFFu
        if (u & 0x7FFFFFFFu) == 0 or e8 - 1u <= 253u:
            continue
        if e8 == 0xFFu:  # NaN or infinity: no IBM encoding
            r = 0
            if bad < 0:
                bad = j
        else:
            r = _f32_to_ibm(u)
        sc_put32(d + 4 * j, SC_BSWAP32(r) if swap else r)
    return bad


cdef void _decode_samples(
    const uint8_t *s, uint8_t *d, Py_ssize_t n, int kind, bint swap, bint big
) noexcept nogil:
    """Decode ``n`` samples at ``s`` into dataset values at ``d`` (native order)."""
    cdef Py_ssize_t j
    cdef uint32_t v32
    cdef int32_t i32
    if kind == IBM:
        _decode_ibm(s, d, n, swap)
    elif kind == COPY32:
        if swap:
            sck_bswap32(s, d, n)
        else:
            memcpy(d, s, 4 * n)
    elif kind == COPY64:
        if swap:
            sck_bswap64(s, d, n)
        else:
            memcpy(d, s, 8 * n)
    elif kind == I16 or kind == U16:
        sck_decode_16(s, d, n, swap, kind == I16)
    elif kind == I24 or kind == U24:
        for j in range(n):
            if big:
                v32 = (<uint32_t>s[3 * j] << 16) | (<uint32_t>s[3 * j + 1] << 8) | s[3 * j + 2]
            else:
                v32 = (<uint32_t>s[3 * j + 2] << 16) | (<uint32_t>s[3 * j + 1] << 8) | s[3 * j]
            if kind == I24:
                i32 = <int32_t>(v32 ^ 0x800000u) - 0x800000  # sign-extend 24 bits
                sc_put32(d + 4 * j, sc_bits(<float>i32))
            else:
                sc_put32(d + 4 * j, sc_bits(<float>v32))
    elif kind == I8:
        for j in range(n):
            sc_put32(d + 4 * j, sc_bits(<float>(<int8_t>s[j])))
    elif kind == U8:
        for j in range(n):
            sc_put32(d + 4 * j, sc_bits(<float>s[j]))


cdef inline uint32_t _held(float x, float lo, float hi, uint32_t *missed) noexcept nogil:
    """``x`` as an integer in ``[lo, hi]``, or 0 (and ``*missed`` set) when it is not one.

    Branch-free so that the loops vectorise: clamp (NaN becomes ``lo``), convert, compare.
    """
    cdef float clamped = x if x > lo else lo
    clamped = clamped if clamped < hi else hi
    cdef int32_t v = <int32_t>clamped
    cdef uint32_t exact = <float>v == x
    missed[0] |= exact ^ 1u
    return <uint32_t>v & (0u - exact)


cdef inline bint _held_exactly(float x, float lo, float hi) noexcept nogil:
    return x >= lo and x <= hi and <float>(<int32_t>x) == x


cdef Py_ssize_t _first_not_held(const uint8_t *s, Py_ssize_t n, float lo, float hi) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        if not _held_exactly(sc_f32(sc_get32(s + 4 * j)), lo, hi):
            return j
    return -1


cdef Py_ssize_t _encode_samples(
    const uint8_t *s, uint8_t *d, Py_ssize_t n, int kind, bint swap, bint big
) noexcept nogil:
    """Encode ``n`` dataset values at ``s`` as file samples at ``d``.

    Returns -1, or the index of the first value the format cannot hold exactly; such a
    value is written as all-zero bytes.
    """
    cdef Py_ssize_t j
    cdef uint32_t v, missed = 0
    cdef uint16_t v16
    cdef float lo = 0.0, hi = 0.0
    if kind == IBM:
        return _encode_ibm(s, d, n, swap)
    if kind == COPY32:
        if swap:
            sck_bswap32(s, d, n)
        else:
            memcpy(d, s, 4 * n)
        return -1
    if kind == COPY64:
        if swap:
            sck_bswap64(s, d, n)
        else:
            memcpy(d, s, 8 * n)
        return -1
    if kind == I16:
        lo, hi = -32768.0, 32767.0
    elif kind == U16:
        lo, hi = 0.0, 65535.0
    elif kind == I24:
        lo, hi = -8388608.0, 8388607.0
    elif kind == U24:
        lo, hi = 0.0, 16777215.0
    elif kind == I8:
        lo, hi = -128.0, 127.0
    else:
        lo, hi = 0.0, 255.0
    if kind == I16 or kind == U16:
        for j in range(n):
            v = _held(sc_f32(sc_get32(s + 4 * j)), lo, hi, &missed)
            v16 = <uint16_t>v
            sc_put16(d + 2 * j, SC_BSWAP16(v16) if swap else v16)
    elif kind == I24 or kind == U24:
        for j in range(n):
            v = _held(sc_f32(sc_get32(s + 4 * j)), lo, hi, &missed)
            if big:
                d[3 * j] = <uint8_t>(v >> 16)
                d[3 * j + 1] = <uint8_t>(v >> 8)
                d[3 * j + 2] = <uint8_t>v
            else:
                d[3 * j] = <uint8_t>v
                d[3 * j + 1] = <uint8_t>(v >> 8)
                d[3 * j + 2] = <uint8_t>(v >> 16)
    else:
        for j in range(n):
            v = _held(sc_f32(sc_get32(s + 4 * j)), lo, hi, &missed)
            d[j] = <uint8_t>v
    return _first_not_held(s, n, lo, hi) if missed else -1


# ---------------------------------------------------------------- IBM byte-exactness
#
# Kept apart from the conversion loops: import runs ibm_inexact_traces on each IBM chunk
# right after decode_records (measured: fusing it into the decode loop gained nothing).

cdef extern from *:
    """
    /* Whether decode then encode gives the IBM word back, as a branch-free test that
       vectorises. A word round-trips iff it is a signed zero, or its fraction f is
       normalised (top hex digit set) and its value frac * 2**(4e-280) is held exactly by
       a float32: exponent e in 33-96 (a normal float32, or for 33 a multiple of 2**-148),
       or e in 27-32 with the low 131-4e bits of f zero (a float32 subnormal, a multiple of
       2**-149). Anything else is unnormalised, a zero with an exponent, rounds or clamps.
       The test reads the word as loaded (w); with SWAP the file's byte order is not the
       host's, and every mask is byte-swapped instead of the word. */
    #define SC_M(SWAP, m) ((SWAP) ? SC_BSWAP32((uint32_t)(m)) : (uint32_t)(m))
    #define SC_IBM_EXACT(SWAP, w, e) ( \
        (uint32_t)(((w) & SC_M(SWAP, 0x7FFFFFFFu)) == 0) \
        | ((uint32_t)(((w) & SC_M(SWAP, 0x00F00000u)) != 0) & ( \
            (uint32_t)(((e) - 33u) <= 63u) \
            | ((uint32_t)((e) == 32u) & (uint32_t)(((w) & SC_M(SWAP, 0x00000007u)) == 0)) \
            | ((uint32_t)((e) == 31u) & (uint32_t)(((w) & SC_M(SWAP, 0x0000007Fu)) == 0)) \
            | ((uint32_t)((e) == 30u) & (uint32_t)(((w) & SC_M(SWAP, 0x000007FFu)) == 0)) \
            | ((uint32_t)((e) == 29u) & (uint32_t)(((w) & SC_M(SWAP, 0x00007FFFu)) == 0)) \
            | ((uint32_t)((e) == 28u) & (uint32_t)(((w) & SC_M(SWAP, 0x0007FFFFu)) == 0)) \
            | ((uint32_t)((e) == 27u) & (uint32_t)(((w) & SC_M(SWAP, 0x007FFFFFu)) == 0)))))
    /* The common case first: a signed zero or a normalised value that is a normal
       float32 (e in 33-96) - a handful of vector operations per 4 words. */
    #define SC_IBM_PLAIN(SWAP, w, e) ( \
        (uint32_t)(((w) & SC_M(SWAP, 0x7FFFFFFFu)) == 0) \
        | ((uint32_t)(((w) & SC_M(SWAP, 0x00F00000u)) != 0) & (uint32_t)(((e) - 33u) <= 63u)))
    #define SC_IBM_ROW(SWAP, TEST, row, n, bad) do { \
        uint32_t w_, e_; Py_ssize_t j_; \
        for (j_ = 0; j_ < (n); j_++) { \
            memcpy(&w_, (row) + 4 * j_, 4); \
            e_ = (SWAP) ? (w_ & 0x7Fu) : ((w_ >> 24) & 0x7Fu); \
            (bad) |= TEST(SWAP, w_, e_) ^ 1u; \
        } } while (0)
    /* 1 when some of the n IBM words at row would not come back from decode + encode:
       the plain test over the row, then the exact test only for a row that fails it. */
    SCK_INLINE uint32_t sc_ibm_row_inexact_body(const unsigned char *row, Py_ssize_t n,
                                                int swap) {
        uint32_t plain = 0, bad = 0;
        if (swap) {
            SC_IBM_ROW(1, SC_IBM_PLAIN, row, n, plain);
            if (plain) SC_IBM_ROW(1, SC_IBM_EXACT, row, n, bad);
        } else {
            SC_IBM_ROW(0, SC_IBM_PLAIN, row, n, plain);
            if (plain) SC_IBM_ROW(0, SC_IBM_EXACT, row, n, bad);
        }
        return bad;
    }
    /* One clone per SIMD level of simd_kernels.h, called at the level in use. */
    typedef uint32_t (*sc_inexact_fn)(const unsigned char *, Py_ssize_t, int);
    static uint32_t sc_ibm_row_inexact_portable(const unsigned char *r, Py_ssize_t n, int s) {
        return sc_ibm_row_inexact_body(r, n, s);
    }
    #if SCK_X86_DISPATCH
    SCK_AVX2 static uint32_t sc_ibm_row_inexact_avx2(const unsigned char *r, Py_ssize_t n, int s) {
        return sc_ibm_row_inexact_body(r, n, s);
    }
    SCK_AVX512 static uint32_t sc_ibm_row_inexact_avx512(const unsigned char *r, Py_ssize_t n,
                                                          int s) {
        return sc_ibm_row_inexact_body(r, n, s);
    }
    static const sc_inexact_fn sc_inexact_levels[SCK_N_LEVELS] = {
        sc_ibm_row_inexact_portable, sc_ibm_row_inexact_avx2, sc_ibm_row_inexact_avx512};
    #else
    static const sc_inexact_fn sc_inexact_levels[SCK_N_LEVELS] = {sc_ibm_row_inexact_portable};
    #endif
    static uint32_t sc_ibm_row_inexact(const unsigned char *row, Py_ssize_t n, int swap) {
        return sc_inexact_levels[sck_level](row, n, swap);
    }
    """
    uint32_t sc_ibm_row_inexact(const uint8_t *row, Py_ssize_t n, int swap) nogil


# ---------------------------------------------------------------- argument checks

cdef tuple _format(object format_code):
    try:
        return _FORMATS[format_code]
    except (KeyError, TypeError):
        pass
    if format_code == 4:
        raise ValueError("sample format 4 (fixed point with gain) is not supported")
    raise ValueError(f"unknown or unsupported sample format code {format_code!r}")


cdef uint8_t *_array_data(
    object arr, str name, object dtype, tuple shape, bint writable
) except NULL:
    """Check that ``arr`` is a C-contiguous ndarray of ``dtype`` and ``shape``; return its data."""
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return <uint8_t *>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef Py_ssize_t _count(object value, str name) except -1:
    try:
        n = operator.index(value)
    except TypeError:
        n = -1
    if n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return min(n, PY_SSIZE_T_MAX)


cdef Py_ssize_t _record_size(
    Py_ssize_t n_traces, Py_ssize_t n_samples, Py_ssize_t itemsize, Py_ssize_t available, str what
) except -1:
    """Bytes per record; check that ``available`` bytes hold ``n_traces`` records."""
    # Python integers: nothing here can overflow.
    cdef object rec = HEADER + <object>n_samples * itemsize
    cdef object needed = rec * n_traces
    if rec > PY_SSIZE_T_MAX or available < needed:
        raise ValueError(
            f"{what} holds {available} bytes, fewer than {n_traces} records of {rec} bytes "
            f"({needed} bytes)"
        )
    return rec


# ---------------------------------------------------------------- public kernels

def decode_records(
    src,
    n_traces,
    n_samples,
    format_code,
    bint little_endian,
    headers_out,
    samples_out,
):
    """Decode ``n_traces`` whole trace records from ``src`` into headers and samples.

    Parameters
    ----------
    src
        Contiguous uint8 buffer (bytes, mmap, array ...) holding at least ``n_traces``
        records of ``240 + n_samples * itemsize`` bytes; extra bytes are ignored.
    n_traces, n_samples
        Number of records and samples per record.
    format_code
        SEG-Y sample format (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 15 or 16; 4 is refused).
    little_endian
        Byte order of the samples in ``src``.
    headers_out
        uint8 array of shape ``(n_traces, 240)`` receiving the raw header bytes, or None.
    samples_out
        C-contiguous array of shape ``(n_traces, n_samples)`` and exactly the format's
        dataset dtype (``segycore.spec.sample_format(code).dtype``).

    Notes
    -----
    IBM floats decode to their exact value rounded once to float32 (to nearest, ties to
    even, subnormals included); unnormalised values too. IBM +0 and -0 keep their sign.
    Values whose magnitude exceeds float32's range clamp to +-FLT_MAX. ``src`` must not
    overlap the outputs. Raises ``ValueError`` for any bad argument, before touching memory.
    """
    cdef int kind
    cdef Py_ssize_t itemsize, nt, ns, rec, i
    cdef const uint8_t[::1] src_view
    kind, itemsize, dtype = _format(format_code)
    try:
        src_view = src
    except (BufferError, TypeError, ValueError) as exc:
        raise ValueError(f"src must be a contiguous uint8 buffer ({exc})") from None
    nt = _count(n_traces, "n_traces")
    ns = _count(n_samples, "n_samples")
    rec = _record_size(nt, ns, itemsize, src_view.shape[0], "src")
    cdef uint8_t *samples = _array_data(samples_out, "samples_out", dtype, (nt, ns), True)
    cdef uint8_t *headers = NULL
    if headers_out is not None:
        headers = _array_data(
            headers_out, "headers_out", np.dtype(np.uint8), (nt, HEADER), True
        )
    if nt == 0:
        return
    cdef const uint8_t *base = &src_view[0]
    cdef Py_ssize_t out_row = ns * (<Py_ssize_t>dtype.itemsize)
    cdef bint swap = little_endian != SC_HOST_LITTLE
    cdef bint big = not little_endian
    with nogil:
        for i in range(nt):
            if headers != NULL:
                memcpy(headers + i * HEADER, base + i * rec, HEADER)
            _decode_samples(base + i * rec + HEADER, samples + i * out_row, ns, kind, swap, big)


def encode_records(headers, samples, format_code, bint little_endian, dest):
    """Encode trace headers and samples as SEG-Y trace records into ``dest``.

    Parameters
    ----------
    headers
        uint8 array of shape ``(n_traces, 240)``, C-contiguous: the raw trace headers.
    samples
        C-contiguous array of shape ``(n_traces, n_samples)`` with exactly the format's
        dataset dtype.
    format_code, little_endian
        Target sample format and byte order.
    dest
        Writable contiguous uint8 buffer of at least ``n_traces`` records.

    Returns
    -------
    int
        -1 when every sample was written exactly, else the flat index
        (``trace * n_samples + sample``) of the first sample the format cannot hold:
        NaN or infinity for IBM, non-integral or out-of-range values for the integer
        formats. Such samples are written as zero bytes. Float32 to IBM rounds to
        nearest, ties to even; every finite float32, subnormals included, has an IBM
        encoding, and normalised IBM values in float32 range come back bit for bit.
    """
    cdef int kind
    cdef Py_ssize_t itemsize, nt, ns, rec, i, bad, first = -1
    cdef uint8_t[::1] dest_view
    kind, itemsize, dtype = _format(format_code)
    try:
        dest_view = dest
    except (BufferError, TypeError, ValueError) as exc:
        raise ValueError(f"dest must be a writable contiguous uint8 buffer ({exc})") from None
    if not isinstance(samples, np.ndarray) or samples.ndim != 2:
        raise ValueError("samples must be a two-dimensional numpy array")
    nt, ns = samples.shape
    cdef const uint8_t *src = _array_data(samples, "samples", dtype, (nt, ns), False)
    cdef const uint8_t *hdr = _array_data(
        headers, "headers", np.dtype(np.uint8), (nt, HEADER), False
    )
    rec = _record_size(nt, ns, itemsize, dest_view.shape[0], "dest")
    if nt == 0:
        return -1
    cdef uint8_t *out = &dest_view[0]
    cdef Py_ssize_t in_row = ns * (<Py_ssize_t>dtype.itemsize)
    cdef bint swap = little_endian != SC_HOST_LITTLE
    cdef bint big = not little_endian
    with nogil:
        for i in range(nt):
            memcpy(out + i * rec, hdr + i * HEADER, HEADER)
            bad = _encode_samples(src + i * in_row, out + i * rec + HEADER, ns, kind, swap, big)
            if bad >= 0 and first < 0:
                first = i * ns + bad
    return first


cdef enum:
    BLOCK = 4096  # helper arrays convert in blocks, so one odd value slows only its block


def ibm_to_float32(ibm):
    """Convert IBM bit patterns (uint32 array, native order) to float32, as decode does."""
    if not isinstance(ibm, np.ndarray) or ibm.dtype != np.uint32:
        raise ValueError("ibm_to_float32 needs a numpy uint32 array of IBM bit patterns")
    cdef cnp.ndarray src = np.ascontiguousarray(ibm)
    cdef cnp.ndarray out = np.empty_like(src, dtype=np.float32)
    cdef const uint8_t *s = <const uint8_t *>cnp.PyArray_DATA(src)
    cdef uint8_t *d = <uint8_t *>cnp.PyArray_DATA(out)
    cdef Py_ssize_t n = src.size, i = 0
    with nogil:
        while i < n:
            _decode_ibm(s + 4 * i, d + 4 * i, min(<Py_ssize_t>BLOCK, n - i), False)
            i += BLOCK
    return out


def float32_to_ibm(values):
    """Convert float32 values to IBM bit patterns (native-order uint32), as encode does.

    Raises ``ValueError`` naming the first NaN or infinity, which IBM cannot hold.
    """
    if not isinstance(values, np.ndarray) or values.dtype != np.float32:
        raise ValueError("float32_to_ibm needs a numpy float32 array")
    cdef cnp.ndarray src = np.ascontiguousarray(values)
    cdef cnp.ndarray out = np.empty_like(src, dtype=np.uint32)
    cdef const uint8_t *s = <const uint8_t *>cnp.PyArray_DATA(src)
    cdef uint8_t *d = <uint8_t *>cnp.PyArray_DATA(out)
    cdef Py_ssize_t n = src.size, i = 0, bad, first = -1
    with nogil:
        while i < n:
            bad = _encode_ibm(s + 4 * i, d + 4 * i, min(<Py_ssize_t>BLOCK, n - i), False)
            if bad >= 0 and first < 0:
                first = i + bad
            i += BLOCK
    if first >= 0:
        raise ValueError(
            f"value {src.flat[first]!r} at flat index {first} has no IBM encoding"
        )
    return out


# ---------------------------------------------------------------- instruction-set level

def simd_levels():
    """The levels this CPU and build can run, lowest first (``"portable"`` always)."""
    return tuple(sck_level_names[i].decode() for i in range(sck_best_level() + 1))


def simd_level():
    """The level the kernels use now: ``"portable"``, ``"avx2"`` or ``"avx512"``."""
    return sck_level_names[sck_level].decode()


def set_simd_level(level):
    """Use ``level`` (a name from :func:`simd_levels`, or ``"auto"`` for the best one).

    For tests and benchmarks: every level gives bit-identical results. Not meant to be
    switched while other threads convert. Returns the level now in use.
    """
    names = [sck_level_names[i].decode() for i in range(SCK_N_LEVELS)]
    if level == "auto":
        return sck_level_names[sck_select(-1)].decode()
    if level not in names:
        raise ValueError(f"unknown SIMD level {level!r}; expected 'auto' or one of {names}")
    if level not in simd_levels():
        raise ValueError(f"SIMD level {level!r} is not available here (have {simd_levels()})")
    return sck_level_names[sck_select(names.index(level))].decode()


def _level_from_environment():
    """SEGYCORE_SIMD=portable (or avx2 ...) pins a level for the process; default: the best."""
    wanted = os.environ.get("SEGYCORE_SIMD", "auto") or "auto"
    try:
        set_simd_level(wanted)
    except ValueError as exc:  # a typo must not stop the import: warn, use the best level
        warnings.warn(f"SEGYCORE_SIMD ignored: {exc}", RuntimeWarning, stacklevel=2)
        set_simd_level("auto")


_level_from_environment()


def ibm_inexact_traces(src, n_traces, n_samples, bint little_endian, flags_out):
    """Flag the IBM trace records whose sample bytes re-encoding would not reproduce.

    Parameters
    ----------
    src
        Contiguous uint8 buffer of ``n_traces`` format-1 records (240-byte header plus
        ``4 * n_samples`` bytes), as given to :func:`decode_records`.
    n_traces, n_samples, little_endian
        As for :func:`decode_records`.
    flags_out
        uint8 array of shape ``(n_traces,)``: 1 where some sample is unnormalised, a zero
        with an exponent, beyond float32's range or below its normal range with bits
        lost - any word ``encode(decode(word)) != word`` - else 0.

    Returns
    -------
    int
        The number of flagged traces. One branch-free bit test per sample (it vectorises)
        decides; ``test_ibm_exactness`` checks it against decode-then-encode itself.
    """
    cdef Py_ssize_t nt, ns, rec, i, count = 0
    cdef const uint8_t[::1] src_view
    try:
        src_view = src
    except (BufferError, TypeError, ValueError) as exc:
        raise ValueError(f"src must be a contiguous uint8 buffer ({exc})") from None
    nt = _count(n_traces, "n_traces")
    ns = _count(n_samples, "n_samples")
    rec = _record_size(nt, ns, 4, src_view.shape[0], "src")
    cdef uint8_t *flags = _array_data(flags_out, "flags_out", np.dtype(np.uint8), (nt,), True)
    if nt == 0:
        return 0
    cdef const uint8_t *base = &src_view[0]
    cdef bint swap = little_endian != SC_HOST_LITTLE
    with nogil:
        for i in range(nt):
            flags[i] = <uint8_t>sc_ibm_row_inexact(base + i * rec + HEADER, ns, swap)
            count += flags[i]
    return count
