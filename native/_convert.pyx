# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Trace-record conversion between SEG-Y bytes and dataset arrays: the import/export hot path.

A trace record is a 240-byte trace header followed by ``n_samples`` samples of the
format's ``itemsize`` bytes, all in one byte order. :func:`decode_records` turns whole
records into header bytes and dataset samples, :func:`encode_records` does the inverse.
Every size, shape and dtype is checked before memory is touched (``ValueError``
otherwise); the loops run without the GIL, so threads can convert chunks side by side.

IBM floats are converted with integer arithmetic only: the result never depends on the
FPU's rounding or flush-to-zero mode, whatever other libraries set in the process.
"""

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memcpy

import operator

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
    #define SC_BSWAP16(x) _byteswap_ushort(x)
    #define SC_BSWAP32(x) _byteswap_ulong(x)
    #define SC_BSWAP64(x) _byteswap_uint64(x)
    static __inline int sc_clz32(uint32_t x) {
        unsigned long i; _BitScanReverse(&i, x); return 31 - (int)i;
    }
    #else
    #define SC_BSWAP16(x) __builtin_bswap16(x)
    #define SC_BSWAP32(x) __builtin_bswap32(x)
    #define SC_BSWAP64(x) __builtin_bswap64(x)
    static inline int sc_clz32(uint32_t x) { return __builtin_clz(x); }
    #endif
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define SC_HOST_LITTLE 0
    #else
    #define SC_HOST_LITTLE 1
    #endif
    /* Unaligned loads and stores in native order; records need not be aligned. */
    static inline uint16_t sc_get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
    static inline uint32_t sc_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
    static inline uint64_t sc_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
    static inline void sc_put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
    static inline void sc_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
    static inline void sc_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
    static inline float sc_f32(uint32_t bits) { float f; memcpy(&f, &bits, 4); return f; }
    static inline uint32_t sc_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
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

__all__ = ["decode_records", "encode_records", "float32_to_ibm", "ibm_to_float32"]

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
    cdef int k, t, lz, e
    cdef uint32_t frac, bias, carry
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
    # so frac = m / 2**t rounded, t = (-k) mod 4. Branch-free: real data has random low bits.
    t = (-k) & 3
    e = 70 + (k + t) // 4
    # round to nearest, ties to even: add half - 1 + (lowest kept bit), nothing when t == 0
    bias = (((1u << t) >> 1) + ((m >> t) & 1u) - 1u) & (0u - <uint32_t>(t != 0))
    frac = (m + bias) >> t
    carry = frac >> 24  # rounding up to 2**24 = 16 * 2**20: next exponent
    frac >>= 4 * carry
    return sign | (<uint32_t>(e + <int>carry) << 24) | frac


# ---------------------------------------------------------------- sample loops

cdef void _decode_samples(
    const uint8_t *s, uint8_t *d, Py_ssize_t n, int kind, bint swap, bint big
) noexcept nogil:
    """Decode ``n`` samples at ``s`` into dataset values at ``d`` (native order)."""
    cdef Py_ssize_t j
    cdef uint32_t v32
    cdef int32_t i32
    if kind == IBM:
        if swap:
            for j in range(n):
                sc_put32(d + 4 * j, _ibm_to_f32(SC_BSWAP32(sc_get32(s + 4 * j))))
        else:
            for j in range(n):
                sc_put32(d + 4 * j, _ibm_to_f32(sc_get32(s + 4 * j)))
    elif kind == COPY32:
        if swap:
            for j in range(n):
                sc_put32(d + 4 * j, SC_BSWAP32(sc_get32(s + 4 * j)))
        else:
            memcpy(d, s, 4 * n)
    elif kind == COPY64:
        if swap:
            for j in range(n):
                sc_put64(d + 8 * j, SC_BSWAP64(sc_get64(s + 8 * j)))
        else:
            memcpy(d, s, 8 * n)
    elif kind == I16:
        if swap:
            for j in range(n):
                sc_put32(d + 4 * j, sc_bits(<float><int16_t>SC_BSWAP16(sc_get16(s + 2 * j))))
        else:
            for j in range(n):
                sc_put32(d + 4 * j, sc_bits(<float><int16_t>sc_get16(s + 2 * j)))
    elif kind == U16:
        if swap:
            for j in range(n):
                sc_put32(d + 4 * j, sc_bits(<float>SC_BSWAP16(sc_get16(s + 2 * j))))
        else:
            for j in range(n):
                sc_put32(d + 4 * j, sc_bits(<float>sc_get16(s + 2 * j)))
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


cdef inline bint _integral_in(float x, float lo, float hi) noexcept nogil:
    """True when ``x`` is an integer in ``[lo, hi]`` (NaN and infinities are not)."""
    return x >= lo and x <= hi and <float>(<int32_t>x) == x


cdef Py_ssize_t _encode_samples(
    const uint8_t *s, uint8_t *d, Py_ssize_t n, int kind, bint swap, bint big
) noexcept nogil:
    """Encode ``n`` dataset values at ``s`` as file samples at ``d``.

    Returns -1, or the index of the first value the format cannot hold exactly; such a
    value is written as all-zero bytes.
    """
    cdef Py_ssize_t j, bad = -1
    cdef uint32_t v32
    cdef uint16_t v16
    cdef float x
    cdef float lo = 0.0, hi = 0.0
    if kind == IBM:
        for j in range(n):
            v32 = sc_get32(s + 4 * j)
            if (v32 & 0x7F800000u) == 0x7F800000u:  # NaN or infinity
                v32 = 0
                if bad < 0:
                    bad = j
            else:
                v32 = _f32_to_ibm(v32)
            sc_put32(d + 4 * j, SC_BSWAP32(v32) if swap else v32)
    elif kind == COPY32:
        if swap:
            for j in range(n):
                sc_put32(d + 4 * j, SC_BSWAP32(sc_get32(s + 4 * j)))
        else:
            memcpy(d, s, 4 * n)
    elif kind == COPY64:
        if swap:
            for j in range(n):
                sc_put64(d + 8 * j, SC_BSWAP64(sc_get64(s + 8 * j)))
        else:
            memcpy(d, s, 8 * n)
    elif kind == I16 or kind == U16:
        if kind == I16:
            lo, hi = -32768.0, 32767.0
        else:
            lo, hi = 0.0, 65535.0
        for j in range(n):
            x = sc_f32(sc_get32(s + 4 * j))
            if _integral_in(x, lo, hi):
                v16 = <uint16_t>(<int32_t>x)
            else:
                v16 = 0
                if bad < 0:
                    bad = j
            sc_put16(d + 2 * j, SC_BSWAP16(v16) if swap else v16)
    elif kind == I24 or kind == U24:
        if kind == I24:
            lo, hi = -8388608.0, 8388607.0
        else:
            lo, hi = 0.0, 16777215.0
        for j in range(n):
            x = sc_f32(sc_get32(s + 4 * j))
            if _integral_in(x, lo, hi):
                v32 = <uint32_t>(<int32_t>x)
            else:
                v32 = 0
                if bad < 0:
                    bad = j
            if big:
                d[3 * j] = <uint8_t>(v32 >> 16)
                d[3 * j + 1] = <uint8_t>(v32 >> 8)
                d[3 * j + 2] = <uint8_t>v32
            else:
                d[3 * j] = <uint8_t>v32
                d[3 * j + 1] = <uint8_t>(v32 >> 8)
                d[3 * j + 2] = <uint8_t>(v32 >> 16)
    elif kind == I8 or kind == U8:
        if kind == I8:
            lo, hi = -128.0, 127.0
        else:
            lo, hi = 0.0, 255.0
        for j in range(n):
            x = sc_f32(sc_get32(s + 4 * j))
            if _integral_in(x, lo, hi):
                d[j] = <uint8_t>(<int32_t>x)
            else:
                d[j] = 0
                if bad < 0:
                    bad = j
    return bad


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
    const uint8_t[::1] src,
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
    kind, itemsize, dtype = _format(format_code)
    nt = _count(n_traces, "n_traces")
    ns = _count(n_samples, "n_samples")
    rec = _record_size(nt, ns, itemsize, src.shape[0], "src")
    cdef uint8_t *samples = _array_data(samples_out, "samples_out", dtype, (nt, ns), True)
    cdef uint8_t *headers = NULL
    if headers_out is not None:
        headers = _array_data(
            headers_out, "headers_out", np.dtype(np.uint8), (nt, HEADER), True
        )
    if nt == 0:
        return
    cdef const uint8_t *base = &src[0]
    cdef Py_ssize_t out_row = ns * (<Py_ssize_t>dtype.itemsize)
    cdef bint swap = little_endian != SC_HOST_LITTLE
    cdef bint big = not little_endian
    with nogil:
        for i in range(nt):
            if headers != NULL:
                memcpy(headers + i * HEADER, base + i * rec, HEADER)
            _decode_samples(base + i * rec + HEADER, samples + i * out_row, ns, kind, swap, big)


def encode_records(headers, samples, format_code, bint little_endian, uint8_t[::1] dest):
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
        formats (such samples are written as zero bytes). Float32 to IBM rounds to
        nearest, ties to even; every finite float32 has an IBM encoding.
    """
    cdef int kind
    cdef Py_ssize_t itemsize, nt, ns, rec, i, bad, first = -1
    kind, itemsize, dtype = _format(format_code)
    if not isinstance(samples, np.ndarray) or samples.ndim != 2:
        raise ValueError("samples must be a two-dimensional numpy array")
    nt, ns = samples.shape
    cdef const uint8_t *src = _array_data(samples, "samples", dtype, (nt, ns), False)
    cdef const uint8_t *hdr = _array_data(
        headers, "headers", np.dtype(np.uint8), (nt, HEADER), False
    )
    rec = _record_size(nt, ns, itemsize, dest.shape[0], "dest")
    if nt == 0:
        return -1
    cdef uint8_t *out = &dest[0]
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


def ibm_to_float32(ibm):
    """Convert IBM bit patterns (uint32 array, native order) to float32, as decode does."""
    if not isinstance(ibm, np.ndarray) or ibm.dtype != np.uint32:
        raise ValueError("ibm_to_float32 needs a numpy uint32 array of IBM bit patterns")
    cdef cnp.ndarray src = np.ascontiguousarray(ibm)
    cdef cnp.ndarray out = np.empty_like(src, dtype=np.float32)
    cdef const uint8_t *s = <const uint8_t *>cnp.PyArray_DATA(src)
    cdef uint8_t *d = <uint8_t *>cnp.PyArray_DATA(out)
    cdef Py_ssize_t n = src.size
    with nogil:
        _decode_samples(s, d, n, IBM, False, False)
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
    cdef Py_ssize_t n = src.size, bad
    with nogil:
        bad = _encode_samples(s, d, n, IBM, False, False)
    if bad >= 0:
        raise ValueError(f"value {values.flat[bad]!r} at flat index {bad} has no IBM encoding")
    return out
