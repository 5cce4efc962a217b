/* The codec's hot sample loops, compiled once per instruction set and chosen at run time.
 *
 * Every loop here is written once, as an always-inlined body; each "level" is a small
 * wrapper compiled with its own target attribute (x86-64 baseline SSE2, AVX2, AVX-512),
 * so the compiler vectorises the same C source for each. The best level this CPU
 * supports is chosen when the module loads (`__builtin_cpu_supports`); `sck_select`
 * forces a lower one (tests run every level on one machine; SEGYCORE_SIMD=portable in
 * the environment does it for a whole process). Never `-march=native`: the build runs on
 * any x86-64, and other architectures (arm64 ...) compile only the portable level (as
 * does any build with -DSCK_NO_DISPATCH).
 *
 * The bodies do the branch-free fast paths only: they return a non-zero "special" flag
 * when some sample needs the exact per-sample fix-up that _convert.pyx then applies.
 * Callers check every size and bound before calling; nothing here allocates.
 */
#ifndef SEGYCORE_SIMD_KERNELS_H
#define SEGYCORE_SIMD_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define SCK_INLINE static __forceinline
#define SCK_BSWAP16(x) _byteswap_ushort(x)
#define SCK_BSWAP32(x) _byteswap_ulong(x)
#define SCK_BSWAP64(x) _byteswap_uint64(x)
#else
#define SCK_INLINE static inline __attribute__((always_inline))
#define SCK_BSWAP16(x) __builtin_bswap16(x)
#define SCK_BSWAP32(x) __builtin_bswap32(x)
#define SCK_BSWAP64(x) __builtin_bswap64(x)
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SCK_NO_DISPATCH)
#define SCK_X86_DISPATCH 1
#define SCK_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)  /* clang has no prefer-vector-width target attribute */
#define SCK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#else                   /* GCC: 512-bit vectors, not its default 256 for AVX-512 tuning */
#define SCK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,prefer-vector-width=512")))
#endif
#else
#define SCK_X86_DISPATCH 0
#endif

/* Levels, lowest first; names for Python in sck_level_names. */
enum { SCK_PORTABLE = 0, SCK_LEVEL_AVX2 = 1, SCK_LEVEL_AVX512 = 2, SCK_N_LEVELS = 3 };
static const char *const sck_level_names[SCK_N_LEVELS] = {"portable", "avx2", "avx512"};

SCK_INLINE uint16_t sck_get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
SCK_INLINE uint32_t sck_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
SCK_INLINE uint64_t sck_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
SCK_INLINE void sck_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
SCK_INLINE void sck_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
SCK_INLINE uint32_t sck_fbits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* ------------------------------------------------------------------ loop bodies */

/* IBM words (native order after the optional swap) -> float32 bits, exact whenever the
 * result is a normal float32 or zero; the return value flags samples that are not. */
SCK_INLINE uint32_t sck_decode_ibm_body(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                        int swap) {
    uint32_t special = 0;
    for (ptrdiff_t j = 0; j < n; j++) {
        uint32_t u = sck_get32(s + 4 * j);
        if (swap) u = SCK_BSWAP32(u);
        uint32_t frac = u & 0x00FFFFFFu;
        /* int -> float is exact for 24 bits and normalises frac; then add 4*(e-64)-24 to
           its exponent field. Right whenever the new exponent field lies in [1, 254]. */
        uint32_t fbits = sck_fbits((float)(int32_t)frac);
        int32_t shift = 4 * (int32_t)((u >> 24) & 0x7Fu) - 280;
        uint32_t nonzero = 0u - (uint32_t)(frac != 0);
        special |= nonzero & (uint32_t)((uint32_t)((int32_t)(fbits >> 23) + shift - 1) > 253u);
        sck_put32(d + 4 * j, (u & 0x80000000u) | ((fbits + ((uint32_t)shift << 23)) & nonzero));
    }
    return special;
}

/* float32 bits -> IBM words (swapped when asked), exact for normal inputs and zeros. */
SCK_INLINE uint32_t sck_encode_ibm_body(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                        int swap) {
    uint32_t special = 0;
    for (ptrdiff_t j = 0; j < n; j++) {
        uint32_t u = sck_get32(s + 4 * j);
        uint32_t e8 = (u >> 23) & 0xFFu;
        uint32_t nonzero = 0u - (uint32_t)((u & 0x7FFFFFFFu) != 0);
        special |= nonzero & (uint32_t)(e8 - 1u > 253u);
        /* m = 1.mantissa * 2**23, frac = m / 2**t rounded, t = (2 - e8) mod 4;
           w = m * 2**(3 - t) puts the t dropped bits at the bottom of 3. */
        uint32_t t = (2u - e8) & 3u;
        uint32_t w = ((u & 0x007FFFFFu) | 0x00800000u) * ((2u - (t & 1u)) * (4u - 3u * (t >> 1)));
        uint32_t frac = (w + 3u + ((w >> 3) & 1u)) >> 3; /* nearest, ties to even; no carry */
        uint32_t r = (((e8 + t + 130u) >> 2) << 24) | frac;
        r = (u & 0x80000000u) | (r & nonzero);
        sck_put32(d + 4 * j, swap ? SCK_BSWAP32(r) : r);
    }
    return special;
}

SCK_INLINE void sck_bswap32_body(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) sck_put32(d + 4 * j, SCK_BSWAP32(sck_get32(s + 4 * j)));
}

SCK_INLINE void sck_bswap64_body(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) sck_put64(d + 8 * j, SCK_BSWAP64(sck_get64(s + 8 * j)));
}

/* 16-bit integers (format 3 signed, 11 unsigned) -> float32 bits. */
SCK_INLINE void sck_decode_16_body(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                   int swap, int is_signed) {
    for (ptrdiff_t j = 0; j < n; j++) {
        uint16_t v = sck_get16(s + 2 * j);
        if (swap) v = SCK_BSWAP16(v);
        float f = is_signed ? (float)(int16_t)v : (float)v;
        sck_put32(d + 4 * j, sck_fbits(f));
    }
}

/* ------------------------------------------------------------------ the portable level
 * SSE2 (every x86-64) has no byte shuffle, and compilers do not vectorise bswap without
 * SSSE3, so on x86-64 the baseline swaps 16 bytes per step by hand, in a pass of its own. */
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define SCK_SSE2_SWAP 1
SCK_INLINE __m128i sck_swap_halves(__m128i v) {
    return _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
}
#else
#define SCK_SSE2_SWAP 0
#endif

static void sck_bswap32_portable(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    ptrdiff_t i = 0;
#if SCK_SSE2_SWAP
    for (; i + 4 <= n; i += 4) {
        __m128i v = sck_swap_halves(_mm_loadu_si128((const __m128i *)(s + 4 * i)));
        v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0xB1), 0xB1);
        _mm_storeu_si128((__m128i *)(d + 4 * i), v);
    }
#endif
    sck_bswap32_body(s + 4 * i, d + 4 * i, n - i);
}

static void sck_bswap64_portable(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    ptrdiff_t i = 0;
#if SCK_SSE2_SWAP
    for (; i + 2 <= n; i += 2) {
        __m128i v = sck_swap_halves(_mm_loadu_si128((const __m128i *)(s + 8 * i)));
        v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0x1B), 0x1B);
        _mm_storeu_si128((__m128i *)(d + 8 * i), v);
    }
#endif
    sck_bswap64_body(s + 8 * i, d + 8 * i, n - i);
}

static uint32_t sck_decode_ibm_portable(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                        int swap) {
    if (!swap) return sck_decode_ibm_body(s, d, n, 0);
#if SCK_SSE2_SWAP
    sck_bswap32_portable(s, d, n); /* native words into d, then convert in place */
    return sck_decode_ibm_body(d, d, n, 0);
#else
    return sck_decode_ibm_body(s, d, n, 1);
#endif
}

static uint32_t sck_encode_ibm_portable(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                        int swap) {
    if (!swap) return sck_encode_ibm_body(s, d, n, 0);
#if SCK_SSE2_SWAP
    uint32_t special = sck_encode_ibm_body(s, d, n, 0);
    sck_bswap32_portable(d, d, n);
    return special;
#else
    return sck_encode_ibm_body(s, d, n, 1);
#endif
}

static void sck_decode_16_portable(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                   int swap, int is_signed) {
    if (is_signed) {
        if (swap) sck_decode_16_body(s, d, n, 1, 1); else sck_decode_16_body(s, d, n, 0, 1);
    } else {
        if (swap) sck_decode_16_body(s, d, n, 1, 0); else sck_decode_16_body(s, d, n, 0, 0);
    }
}

/* ------------------------------------------------------------------ x86-64 levels
 * With SSSE3 and up the compiler vectorises the byte swaps itself (pshufb), so these
 * fuse the swap into the conversion: one pass over the samples. */
#define SCK_DEFINE_LEVEL(NAME, ATTR)                                                        \
    ATTR static uint32_t sck_decode_ibm_##NAME(const unsigned char *s, unsigned char *d,    \
                                               ptrdiff_t n, int swap) {                     \
        return swap ? sck_decode_ibm_body(s, d, n, 1) : sck_decode_ibm_body(s, d, n, 0);    \
    }                                                                                       \
    ATTR static uint32_t sck_encode_ibm_##NAME(const unsigned char *s, unsigned char *d,    \
                                               ptrdiff_t n, int swap) {                     \
        return swap ? sck_encode_ibm_body(s, d, n, 1) : sck_encode_ibm_body(s, d, n, 0);    \
    }                                                                                       \
    ATTR static void sck_bswap32_##NAME(const unsigned char *s, unsigned char *d,           \
                                        ptrdiff_t n) {                                      \
        sck_bswap32_body(s, d, n);                                                          \
    }                                                                                       \
    ATTR static void sck_bswap64_##NAME(const unsigned char *s, unsigned char *d,           \
                                        ptrdiff_t n) {                                      \
        sck_bswap64_body(s, d, n);                                                          \
    }                                                                                       \
    ATTR static void sck_decode_16_##NAME(const unsigned char *s, unsigned char *d,         \
                                          ptrdiff_t n, int swap, int is_signed) {           \
        if (is_signed) {                                                                    \
            if (swap) sck_decode_16_body(s, d, n, 1, 1); else sck_decode_16_body(s, d, n, 0, 1); \
        } else {                                                                            \
            if (swap) sck_decode_16_body(s, d, n, 1, 0); else sck_decode_16_body(s, d, n, 0, 0); \
        }                                                                                   \
    }

#if SCK_X86_DISPATCH
SCK_DEFINE_LEVEL(avx2, SCK_AVX2)
SCK_DEFINE_LEVEL(avx512, SCK_AVX512)
#endif

/* ------------------------------------------------------------------ dispatch */

typedef uint32_t (*sck_ibm_fn)(const unsigned char *, unsigned char *, ptrdiff_t, int);
typedef void (*sck_swap_fn)(const unsigned char *, unsigned char *, ptrdiff_t);
typedef void (*sck_16_fn)(const unsigned char *, unsigned char *, ptrdiff_t, int, int);

typedef struct {
    sck_ibm_fn decode_ibm, encode_ibm;
    sck_swap_fn bswap32, bswap64;
    sck_16_fn decode_16;
} sck_table;

static const sck_table sck_tables[SCK_N_LEVELS] = {
    {sck_decode_ibm_portable, sck_encode_ibm_portable, sck_bswap32_portable,
     sck_bswap64_portable, sck_decode_16_portable},
#if SCK_X86_DISPATCH
    {sck_decode_ibm_avx2, sck_encode_ibm_avx2, sck_bswap32_avx2, sck_bswap64_avx2,
     sck_decode_16_avx2},
    {sck_decode_ibm_avx512, sck_encode_ibm_avx512, sck_bswap32_avx512, sck_bswap64_avx512,
     sck_decode_16_avx512},
#endif
};

/* The level in use; read by every call, written only by sck_select (import, tests). */
static int sck_level = SCK_PORTABLE;

/* The best level this CPU (and this build) supports. */
static int sck_best_level(void) {
#if SCK_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return SCK_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SCK_LEVEL_AVX2;
#endif
    return SCK_PORTABLE;
}

/* Use `level` (clamped to what the CPU supports); returns the level now in use. */
static int sck_select(int level) {
    int best = sck_best_level();
    if (level < 0 || level > best) level = best;
    sck_level = level;
    return level;
}

SCK_INLINE uint32_t sck_decode_ibm(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                   int swap) {
    return sck_tables[sck_level].decode_ibm(s, d, n, swap);
}
SCK_INLINE uint32_t sck_encode_ibm(const unsigned char *s, unsigned char *d, ptrdiff_t n,
                                   int swap) {
    return sck_tables[sck_level].encode_ibm(s, d, n, swap);
}
SCK_INLINE void sck_bswap32(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    sck_tables[sck_level].bswap32(s, d, n);
}
SCK_INLINE void sck_bswap64(const unsigned char *s, unsigned char *d, ptrdiff_t n) {
    sck_tables[sck_level].bswap64(s, d, n);
}
SCK_INLINE void sck_decode_16(const unsigned char *s, unsigned char *d, ptrdiff_t n, int swap,
                              int is_signed) {
    sck_tables[sck_level].decode_16(s, d, n, swap, is_signed);
}

#endif /* SEGYCORE_SIMD_KERNELS_H */
