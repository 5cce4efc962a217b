# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Stable counting sort of integer header keys: the ensemble index's build kernel.

:func:`counting_order` writes into ``order`` the trace numbers ``0 .. n-1`` sorted by
``keys``, ties in file order (a stable sort), in two passes over the keys: count each
value, then place each trace at its value's next free slot. It is O(n + span) and runs
without the GIL. ``counts`` (``span + 1`` slots) comes back holding, in slot ``v``, the
position in ``order`` where value ``lo + v`` starts, and in the last slot ``n``.

Every key is checked to lie in ``[lo, lo + span)`` before any slot is written: a key
outside raises ``ValueError`` instead of writing past the ends of ``counts``/``order``.

:func:`radix_order` is the same permutation for keys of any span: an LSD radix sort of
unsigned keys (the caller maps signed and float keys to order-preserving unsigned ones),
16 bits per pass. Its digit index is masked to 16 bits and every ``order`` slot it
writes is a counter below ``n``, so it never leaves its buffers.
Measured against numpy's stable argsort and a Numba kernel in ``benchmarks/bench_index.py``.
"""

from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t

import numpy as np

__all__ = ["counting_order", "radix_order"]

ctypedef fused key_t:
    int16_t
    int32_t
    int64_t

ctypedef fused order_t:
    int32_t
    int64_t


def counting_order(
    const key_t[::1] keys, int64_t lo, int64_t span, order_t[::1] order, int64_t[::1] counts
) -> None:
    """Fill ``order`` with the stable sort permutation of ``keys`` (values in ``[lo, lo+span)``).

    ``counts`` must have ``span + 1`` slots; on return slot ``v`` is where value ``lo + v``
    starts in ``order`` and the last slot is ``len(keys)``.
    """
    cdef Py_ssize_t n = keys.shape[0]
    cdef Py_ssize_t i
    cdef int64_t v, total, c
    cdef int bad = 0
    if span < 1:
        raise ValueError(f"span must be positive, got {span}")
    if order.shape[0] != n:
        raise ValueError(f"order has {order.shape[0]} slots for {n} keys")
    if counts.shape[0] != span + 1:
        raise ValueError(f"counts has {counts.shape[0]} slots, expected span + 1 = {span + 1}")
    if order_t is int32_t and n > 2147483647:
        raise ValueError("int32 order cannot hold more than 2**31 - 1 trace numbers")
    with nogil:
        for i in range(span + 1):
            counts[i] = 0
        for i in range(n):
            v = <int64_t>keys[i] - lo
            if v < 0 or v >= span:
                bad = 1
                break
            counts[v] += 1
        if not bad:
            total = 0
            for i in range(span):
                c = counts[i]
                counts[i] = total
                total += c
            counts[span] = total
            for i in range(n):
                v = <int64_t>keys[i] - lo
                order[counts[v]] = <order_t>i
                counts[v] += 1
            # counts[v] now holds the end of value v: shift back to starts.
            for i in range(span - 1, 0, -1):
                counts[i] = counts[i - 1]
            counts[0] = 0
    if bad:
        raise ValueError(f"key {keys[i]} outside [{lo}, {lo + span})")


ctypedef fused ukey_t:
    uint32_t
    uint64_t


def radix_order(
    ukey_t[::1] keys, int passes, order_t[::1] order, order_t[::1] scratch, ukey_t[::1] kscratch
) -> int:
    """Fill ``order`` with the stable sort permutation of unsigned ``keys`` by their low
    ``16 * passes`` bits: an LSD radix sort, 16 bits per pass, O(passes * n).

    The keys move with the permutation (every pass reads them sequentially), between
    ``keys`` and ``kscratch``; ``scratch`` is the permutation's second buffer. Returns 0
    when the sorted keys end in ``keys``, 1 when in ``kscratch``. Counters: 65,536 int64.
    """
    cdef Py_ssize_t n = keys.shape[0]
    cdef Py_ssize_t i
    cdef int p, shift
    cdef int64_t total, c, slot
    cdef uint64_t digit
    cdef order_t[::1] src
    cdef order_t[::1] dst
    cdef order_t[::1] swap
    cdef ukey_t[::1] ksrc = keys
    cdef ukey_t[::1] kdst = kscratch
    cdef ukey_t[::1] kswap
    cdef int64_t[::1] counts = np.zeros(65536, dtype=np.int64)
    cdef int most = 4 if ukey_t is uint64_t else 2
    if order.shape[0] != n or scratch.shape[0] != n or kscratch.shape[0] != n:
        raise ValueError(f"order, scratch and kscratch need {n} slots")
    if passes < 1 or passes > most:
        raise ValueError(f"passes must be 1..{most} for these keys, got {passes}")
    if order_t is int32_t and n > 2147483647:
        raise ValueError("int32 order cannot hold more than 2**31 - 1 trace numbers")
    src = scratch
    dst = order
    if passes % 2 == 0:  # the last pass must land in ``order``
        src, dst = order, scratch
    with nogil:
        for i in range(n):
            src[i] = <order_t>i
        for p in range(passes):
            shift = 16 * p
            for i in range(65536):
                counts[i] = 0
            for i in range(n):
                counts[(<uint64_t>ksrc[i] >> shift) & 0xFFFF] += 1
            total = 0
            for i in range(65536):
                c = counts[i]
                counts[i] = total
                total += c
            for i in range(n):
                digit = (<uint64_t>ksrc[i] >> shift) & 0xFFFF
                slot = counts[digit]
                dst[slot] = src[i]
                kdst[slot] = ksrc[i]
                counts[digit] = slot + 1
            swap = src
            src = dst
            dst = swap
            kswap = ksrc
            ksrc = kdst
            kdst = kswap
    return passes % 2
