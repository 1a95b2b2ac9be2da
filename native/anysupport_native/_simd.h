/* Vector building blocks for the frame kernels, each with a scalar twin.
 *
 * SSE2 is baseline on x86_64, so the SSE2 paths are always taken there; the scalar paths keep the
 * kernels building (and bit-identical) on other CPUs. Loops whose data is interleaved (RGB against
 * RGBA) need byte shuffles that SSE2 lacks, so they are plain C that GCC vectorises, compiled twice
 * (AVX2 and baseline) and picked at load time by the dynamic loader (target_clones, glibc ifunc).
 * Every function computes exactly the same bytes on every path: the tests compare against a NumPy
 * reference and must not depend on the CPU. The scaling and rotation passes built on pshufb (SSSE3)
 * and AVX2 intrinsics, picked at run time, are in _resample.h and _turn.h (dispatch in _cpu.h).
 */
#ifndef ANYSUPPORT_SIMD_H
#define ANYSUPPORT_SIMD_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 6 && defined(__x86_64__) && \
    defined(__linux__) && defined(__GLIBC__)
#define AS_MULTIVERSION __attribute__((target_clones("avx2", "default"), unused))
#elif defined(__GNUC__)
#define AS_MULTIVERSION __attribute__((unused))
#else
#define AS_MULTIVERSION
#endif

/* Alpha bytes of two little-endian RGBA pixels packed in one 64-bit word. */
static inline uint64_t as_load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define AS_ALPHA_MASK64 0x000000FF000000FFULL
#else
#define AS_ALPHA_MASK64 0xFF000000FF000000ULL
#endif

/* Classify the alpha of 8 RGBA pixels: 0 all transparent, 2 all opaque, 1 anything else. */
static inline int as_alpha_class8(const uint8_t *rgba) {
    uint64_t w0 = as_load64(rgba), w1 = as_load64(rgba + 8);
    uint64_t w2 = as_load64(rgba + 16), w3 = as_load64(rgba + 24);
    uint64_t any = (w0 | w1 | w2 | w3) & AS_ALPHA_MASK64;
    uint64_t all = (w0 & w1 & w2 & w3) & AS_ALPHA_MASK64;
    if (any == 0) return 0;
    return all == AS_ALPHA_MASK64 ? 2 : 1;
}

/* True when any of the n RGBA pixels has a non-zero alpha. */
static inline int as_alpha_any(const uint8_t *rgba, ptrdiff_t n) {
    ptrdiff_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8) {
        acc |= as_load64(rgba + 4 * i) | as_load64(rgba + 4 * i + 8) | as_load64(rgba + 4 * i + 16) |
               as_load64(rgba + 4 * i + 24);
        if (acc & AS_ALPHA_MASK64) return 1;
    }
    for (; i < n; i++) {
        if (rgba[4 * i + 3]) return 1;
    }
    return 0;
}

/* Transpose an 8x8 block of bytes. Row r of the source starts at src + r * sstride and row c of the
 * destination at dst + c * dstride; either stride may be negative, which is how the rotations get
 * their mirrored variants from the same transpose. */
static inline void as_transpose8x8(const uint8_t *src, ptrdiff_t sstride, uint8_t *dst, ptrdiff_t dstride) {
#ifdef __SSE2__
    __m128i r0 = _mm_loadl_epi64((const __m128i *)(src + 0 * sstride));
    __m128i r1 = _mm_loadl_epi64((const __m128i *)(src + 1 * sstride));
    __m128i r2 = _mm_loadl_epi64((const __m128i *)(src + 2 * sstride));
    __m128i r3 = _mm_loadl_epi64((const __m128i *)(src + 3 * sstride));
    __m128i r4 = _mm_loadl_epi64((const __m128i *)(src + 4 * sstride));
    __m128i r5 = _mm_loadl_epi64((const __m128i *)(src + 5 * sstride));
    __m128i r6 = _mm_loadl_epi64((const __m128i *)(src + 6 * sstride));
    __m128i r7 = _mm_loadl_epi64((const __m128i *)(src + 7 * sstride));
    __m128i a0 = _mm_unpacklo_epi8(r0, r1);
    __m128i a1 = _mm_unpacklo_epi8(r2, r3);
    __m128i a2 = _mm_unpacklo_epi8(r4, r5);
    __m128i a3 = _mm_unpacklo_epi8(r6, r7);
    __m128i b0 = _mm_unpacklo_epi16(a0, a1);
    __m128i b1 = _mm_unpackhi_epi16(a0, a1);
    __m128i b2 = _mm_unpacklo_epi16(a2, a3);
    __m128i b3 = _mm_unpackhi_epi16(a2, a3);
    __m128i c0 = _mm_unpacklo_epi32(b0, b2);
    __m128i c1 = _mm_unpackhi_epi32(b0, b2);
    __m128i c2 = _mm_unpacklo_epi32(b1, b3);
    __m128i c3 = _mm_unpackhi_epi32(b1, b3);
    _mm_storel_epi64((__m128i *)(dst + 0 * dstride), c0);
    _mm_storel_epi64((__m128i *)(dst + 1 * dstride), _mm_srli_si128(c0, 8));
    _mm_storel_epi64((__m128i *)(dst + 2 * dstride), c1);
    _mm_storel_epi64((__m128i *)(dst + 3 * dstride), _mm_srli_si128(c1, 8));
    _mm_storel_epi64((__m128i *)(dst + 4 * dstride), c2);
    _mm_storel_epi64((__m128i *)(dst + 5 * dstride), _mm_srli_si128(c2, 8));
    _mm_storel_epi64((__m128i *)(dst + 6 * dstride), c3);
    _mm_storel_epi64((__m128i *)(dst + 7 * dstride), _mm_srli_si128(c3, 8));
#else
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++) dst[c * dstride + r] = src[r * sstride + c];
#endif
}

/* Exact 2x2 box average of one output row of a single-channel plane:
 * dst[i] = (a[2i] + a[2i+1] + b[2i] + b[2i+1] + 2) >> 2 for i < n. */
static inline void as_halve_row1(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
#ifdef __SSE2__
    const __m128i lo = _mm_set1_epi16(0x00FF);
    const __m128i two = _mm_set1_epi16(2);
    for (; i + 16 <= n; i += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i *)(a + 2 * i));
        __m128i a1 = _mm_loadu_si128((const __m128i *)(a + 2 * i + 16));
        __m128i b0 = _mm_loadu_si128((const __m128i *)(b + 2 * i));
        __m128i b1 = _mm_loadu_si128((const __m128i *)(b + 2 * i + 16));
        __m128i s0 = _mm_add_epi16(_mm_add_epi16(_mm_and_si128(a0, lo), _mm_srli_epi16(a0, 8)),
                                   _mm_add_epi16(_mm_and_si128(b0, lo), _mm_srli_epi16(b0, 8)));
        __m128i s1 = _mm_add_epi16(_mm_add_epi16(_mm_and_si128(a1, lo), _mm_srli_epi16(a1, 8)),
                                   _mm_add_epi16(_mm_and_si128(b1, lo), _mm_srli_epi16(b1, 8)));
        s0 = _mm_srli_epi16(_mm_add_epi16(s0, two), 2);
        s1 = _mm_srli_epi16(_mm_add_epi16(s1, two), 2);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi16(s0, s1));
    }
#endif
    for (; i < n; i++)
        dst[i] = (uint8_t)((a[2 * i] + a[2 * i + 1] + b[2 * i] + b[2 * i + 1] + 2) >> 2);
}

/* Straight-alpha RGBA over RGB for n pixels: f = round((f * (255 - a) + o * a) / 255), exactly
 * (Blinn's divide-by-255; every intermediate fits 16 bits). */
AS_MULTIVERSION
static void as_blend_rgb_run(uint8_t *restrict f, const uint8_t *restrict o, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) {
        uint16_t a = o[4 * j + 3], na = (uint16_t)(255 - a);
        for (int c = 0; c < 3; c++) {
            uint16_t t = (uint16_t)(f[3 * j + c] * na + o[4 * j + c] * a + 128);
            f[3 * j + c] = (uint8_t)((t + (t >> 8)) >> 8);
        }
    }
}

/* One overlay pixel into one luma sample, accumulating its chroma for the block (BT.601 limited
 * range, libyuv's 8-bit integer form; >> of a negative int is arithmetic, as in NumPy). */
#define AS_I420_PIXEL(yp, op)                                                  \
    do {                                                                       \
        int32_t r_ = (op)[0], g_ = (op)[1], b_ = (op)[2], a_ = (op)[3];        \
        int32_t y_ = ((66 * r_ + 129 * g_ + 25 * b_ + 128) >> 8) + 16;         \
        int32_t u_ = ((-38 * r_ - 74 * g_ + 112 * b_ + 128) >> 8) + 128;       \
        int32_t v_ = ((112 * r_ - 94 * g_ - 18 * b_ + 128) >> 8) + 128;        \
        int32_t t_ = (yp) * (255 - a_) + y_ * a_ + 128;                        \
        (yp) = (uint8_t)((t_ + (t_ >> 8)) >> 8);                               \
        sa += a_;                                                              \
        su += a_ * u_;                                                         \
        sv += a_ * v_;                                                         \
    } while (0)

/* n whole 2x2 blocks of an I420 frame: luma rows y0, y1, chroma u, v, overlay rows o0, o1. Chroma is
 * the alpha-weighted mean of blending each of the four pixels on its own:
 * C = round_half_up((C * (1020 - A) + sum(a_i C_i)) / 1020), A = sum(a_i). */
AS_MULTIVERSION
static void as_blend_i420_blocks(uint8_t *restrict y0, uint8_t *restrict y1, uint8_t *restrict u,
                                 uint8_t *restrict v, const uint8_t *restrict o0,
                                 const uint8_t *restrict o1, ptrdiff_t n) {
    for (ptrdiff_t k = 0; k < n; k++) {
        int32_t sa = 0, su = 0, sv = 0;
        AS_I420_PIXEL(y0[2 * k], o0 + 8 * k);
        AS_I420_PIXEL(y0[2 * k + 1], o0 + 8 * k + 4);
        AS_I420_PIXEL(y1[2 * k], o1 + 8 * k);
        AS_I420_PIXEL(y1[2 * k + 1], o1 + 8 * k + 4);
        u[k] = (uint8_t)((u[k] * (1020 - sa) + su + 510) / 1020);
        v[k] = (uint8_t)((v[k] * (1020 - sa) + sv + 510) / 1020);
    }
}

#endif /* ANYSUPPORT_SIMD_H */
