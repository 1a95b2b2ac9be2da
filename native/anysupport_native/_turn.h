/* Building blocks of the rotation kernels (_rotate.pyx): byte and RGB-pixel transposes and row
 * reversals, each with a scalar twin that moves the same bytes.
 *
 * Planes transpose 16x8 blocks with SSE2 (x86_64 baseline). Packed RGB pixels are 3 bytes, which
 * only byte shuffles can regroup: the RGB paths and the faster reversals use SSSE3 pshufb or AVX2,
 * compiled with target attributes and picked at run time (as_cpu_level()).
 */
#ifndef ANYSUPPORT_TURN_H
#define ANYSUPPORT_TURN_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>

#include "_cpu.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Transpose 16 rows of 8 bytes: dst[c * dstride + r] = src[r * sstride + c] for r < 16, c < 8; either
 * stride may be negative, which gives the mirrored variants of the quarter turns. Rows are paired
 * byte by byte, then the 8x8 matrix of byte pairs is transposed as 16-bit words, so each destination
 * row is one 16-byte store. */
static inline void as_transpose16x8(const uint8_t *src, ptrdiff_t sstride, uint8_t *dst, ptrdiff_t dstride) {
#ifdef __SSE2__
    __m128i x[8];
    for (int i = 0; i < 8; i++)
        x[i] = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(src + 2 * i * sstride)),
                                 _mm_loadl_epi64((const __m128i *)(src + (2 * i + 1) * sstride)));
    __m128i a0 = _mm_unpacklo_epi16(x[0], x[1]), a1 = _mm_unpackhi_epi16(x[0], x[1]);
    __m128i a2 = _mm_unpacklo_epi16(x[2], x[3]), a3 = _mm_unpackhi_epi16(x[2], x[3]);
    __m128i a4 = _mm_unpacklo_epi16(x[4], x[5]), a5 = _mm_unpackhi_epi16(x[4], x[5]);
    __m128i a6 = _mm_unpacklo_epi16(x[6], x[7]), a7 = _mm_unpackhi_epi16(x[6], x[7]);
    __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
    __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
    __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
    __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
    _mm_storeu_si128((__m128i *)(dst + 0 * dstride), _mm_unpacklo_epi64(b0, b4));
    _mm_storeu_si128((__m128i *)(dst + 1 * dstride), _mm_unpackhi_epi64(b0, b4));
    _mm_storeu_si128((__m128i *)(dst + 2 * dstride), _mm_unpacklo_epi64(b1, b5));
    _mm_storeu_si128((__m128i *)(dst + 3 * dstride), _mm_unpackhi_epi64(b1, b5));
    _mm_storeu_si128((__m128i *)(dst + 4 * dstride), _mm_unpacklo_epi64(b2, b6));
    _mm_storeu_si128((__m128i *)(dst + 5 * dstride), _mm_unpackhi_epi64(b2, b6));
    _mm_storeu_si128((__m128i *)(dst + 6 * dstride), _mm_unpacklo_epi64(b3, b7));
    _mm_storeu_si128((__m128i *)(dst + 7 * dstride), _mm_unpackhi_epi64(b3, b7));
#else
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++) dst[c * dstride + r] = src[r * sstride + c];
#endif
}

#if AS_X86_DISPATCH
/* Transpose 16 rows of 32 bytes: dst[c * dstride + r] = src[r * sstride + c] for r < 16, c < 32 (either
 * stride may be negative). Each 128-bit lane transposes its own 16x16 block (columns 0-15 and 16-31)
 * in four rounds of unpacks (bytes, words, dwords, qwords), so a source row is one 32-byte load and a
 * destination row one 16-byte store: half the loads and half the shuffles per byte of the 16x8 SSE2
 * block. */
AS_TARGET_AVX2
static void as_transpose16x32_avx2(const uint8_t *src, ptrdiff_t sstride, uint8_t *dst, ptrdiff_t dstride) {
    __m256i x[16], t[16], u[16];
    for (int i = 0; i < 16; i++) x[i] = _mm256_loadu_si256((const __m256i *)(src + i * sstride));
    for (int k = 0; k < 8; k++) { /* columns 0-7 / 8-15 of rows 2k, 2k+1 */
        t[k] = _mm256_unpacklo_epi8(x[2 * k], x[2 * k + 1]);
        t[k + 8] = _mm256_unpackhi_epi8(x[2 * k], x[2 * k + 1]);
    }
    for (int half = 0; half < 2; half++) /* u[4g + k]: columns 4g..4g+3 of rows 4k..4k+3 */
        for (int k = 0; k < 4; k++) {
            u[8 * half + k] = _mm256_unpacklo_epi16(t[8 * half + 2 * k], t[8 * half + 2 * k + 1]);
            u[8 * half + k + 4] = _mm256_unpackhi_epi16(t[8 * half + 2 * k], t[8 * half + 2 * k + 1]);
        }
    for (int g = 0; g < 4; g++) {
        __m256i w0 = _mm256_unpacklo_epi32(u[4 * g], u[4 * g + 1]); /* columns 4g, 4g+1 of rows 0-7 */
        __m256i w1 = _mm256_unpackhi_epi32(u[4 * g], u[4 * g + 1]); /* 4g+2, 4g+3 of rows 0-7 */
        __m256i w2 = _mm256_unpacklo_epi32(u[4 * g + 2], u[4 * g + 3]); /* 4g, 4g+1 of rows 8-15 */
        __m256i w3 = _mm256_unpackhi_epi32(u[4 * g + 2], u[4 * g + 3]);
        __m256i col[4] = {_mm256_unpacklo_epi64(w0, w2), _mm256_unpackhi_epi64(w0, w2),
                          _mm256_unpacklo_epi64(w1, w3), _mm256_unpackhi_epi64(w1, w3)};
        for (int j = 0; j < 4; j++) {
            int c = 4 * g + j;
            _mm_storeu_si128((__m128i *)(dst + c * dstride), _mm256_castsi256_si128(col[j]));
            _mm_storeu_si128((__m128i *)(dst + (c + 16) * dstride), _mm256_extracti128_si256(col[j], 1));
        }
    }
}

/* The blocks of a plane's quarter turn that 16x32 transposes cover: source rows [0, h16), columns
 * [0, w32); clockwise dst[c, h-1-r] = src[r, c], counter-clockwise dst[w-1-c, r] = src[r, c]. Strips
 * of 128 source columns are walked down the rows, so the destination rows being filled (128 of them,
 * one cache line each) stay in L1 while each source line is read once. */
AS_TARGET_AVX2
static void as_quarter_blocks32_avx2(const uint8_t *src, ptrdiff_t ss, uint8_t *dst, ptrdiff_t ds, ptrdiff_t h,
                                     ptrdiff_t w, ptrdiff_t h16, ptrdiff_t w32, int clockwise) {
    for (ptrdiff_t s0 = 0; s0 < w32; s0 += 128) {
        ptrdiff_t s1 = s0 + 128 < w32 ? s0 + 128 : w32;
        for (ptrdiff_t r = 0; r < h16; r += 16)
            for (ptrdiff_t c = s0; c < s1; c += 32) {
                if (clockwise)
                    as_transpose16x32_avx2(src + (r + 15) * ss + c, -ss, dst + c * ds + (h - 16 - r), ds);
                else
                    as_transpose16x32_avx2(src + r * ss + c, ss, dst + (w - 1 - c) * ds + r, -ds);
            }
    }
}
#endif

/* How many columns (a multiple of 32) of the first h16 rows as_quarter_blocks32 did; 0 without AVX2. */
static ptrdiff_t as_quarter_blocks32(const uint8_t *src, ptrdiff_t ss, uint8_t *dst, ptrdiff_t ds, ptrdiff_t h,
                                     ptrdiff_t w, ptrdiff_t h16, int clockwise) {
#if AS_X86_DISPATCH
    if (as_cpu_level() >= AS_LEVEL_AVX2) {
        ptrdiff_t w32 = w - w % 32;
        as_quarter_blocks32_avx2(src, ss, dst, ds, h, w, h16, w32, clockwise);
        return w32;
    }
#endif
    (void)src, (void)ss, (void)dst, (void)ds, (void)h, (void)w, (void)h16, (void)clockwise;
    return 0;
}

static inline void as_transpose_rgb8x8_scalar(const uint8_t *src, ptrdiff_t sstride, uint8_t *dst,
                                              ptrdiff_t dstride) {
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++) memcpy(dst + c * dstride + 3 * r, src + r * sstride + 3 * c, 3);
}

#if AS_X86_DISPATCH
/* Transpose an 8x8 block of packed RGB pixels: dst pixel (c, r) = src pixel (r, c). Each row of 8
 * pixels is widened to two vectors of 4 pixels in 32-bit lanes, the four 4x4 blocks are transposed
 * as 32-bit words and the rows narrowed back to 24 bytes. */
AS_TARGET_SSSE3
static void as_transpose_rgb8x8_ssse3(const uint8_t *src, ptrdiff_t sstride, uint8_t *dst, ptrdiff_t dstride) {
    const __m128i widen_lo = _mm_setr_epi8(0, 1, 2, -128, 3, 4, 5, -128, 6, 7, 8, -128, 9, 10, 11, -128);
    const __m128i widen_hi = _mm_setr_epi8(4, 5, 6, -128, 7, 8, 9, -128, 10, 11, 12, -128, 13, 14, 15, -128);
    const __m128i narrow = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -128, -128, -128, -128);
    __m128i lo[8], hi[8];
    for (int i = 0; i < 8; i++) {
        lo[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(src + i * sstride)), widen_lo);
        hi[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(src + i * sstride + 8)), widen_hi);
    }
    /* out[j] (j < 4) = source column j of rows 0-3 then 4-7, from lo; out[4 + j] from hi. */
    __m128i q[4][4]; /* q[b][j]: 4x4 block b (lo 0-3, lo 4-7, hi 0-3, hi 4-7), transposed row j */
    const __m128i *blocks[4] = {lo, lo + 4, hi, hi + 4};
    for (int b = 0; b < 4; b++) {
        const __m128i *m = blocks[b];
        __m128i t0 = _mm_unpacklo_epi32(m[0], m[1]), t1 = _mm_unpacklo_epi32(m[2], m[3]);
        __m128i t2 = _mm_unpackhi_epi32(m[0], m[1]), t3 = _mm_unpackhi_epi32(m[2], m[3]);
        q[b][0] = _mm_unpacklo_epi64(t0, t1);
        q[b][1] = _mm_unpackhi_epi64(t0, t1);
        q[b][2] = _mm_unpacklo_epi64(t2, t3);
        q[b][3] = _mm_unpackhi_epi64(t2, t3);
    }
    for (int j = 0; j < 8; j++) {
        int b = j < 4 ? 0 : 2;
        __m128i x = _mm_shuffle_epi8(q[b][j & 3], narrow);     /* pixels 0-3 of the output row */
        __m128i y = _mm_shuffle_epi8(q[b + 1][j & 3], narrow); /* pixels 4-7 */
        uint8_t *d = dst + j * dstride;
        _mm_storeu_si128((__m128i *)d, _mm_or_si128(x, _mm_slli_si128(y, 12)));
        _mm_storel_epi64((__m128i *)(d + 16), _mm_srli_si128(y, 4));
    }
}
#endif

/* dst[i] = src[n - 1 - i] for n bytes (no overlap). */
static inline void as_reverse_bytes_scalar(const uint8_t *src, uint8_t *dst, ptrdiff_t i, ptrdiff_t n) {
    for (; i < n; i++) dst[i] = src[n - 1 - i];
}

#if AS_X86_DISPATCH
AS_TARGET_SSSE3
static void as_reverse_bytes_ssse3(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
    const __m128i rev = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(src + n - 16 - i)), rev));
    as_reverse_bytes_scalar(src, dst, i, n);
}

AS_TARGET_AVX2
static void as_reverse_bytes_avx2(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
    const __m256i rev = _mm256_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11,
                                         10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + n - 32 - i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + n - 64 - i));
        a = _mm256_shuffle_epi8(_mm256_permute4x64_epi64(a, _MM_SHUFFLE(1, 0, 3, 2)), rev);
        b = _mm256_shuffle_epi8(_mm256_permute4x64_epi64(b, _MM_SHUFFLE(1, 0, 3, 2)), rev);
        _mm256_storeu_si256((__m256i *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(dst + i + 32), b);
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + n - 32 - i));
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm256_shuffle_epi8(_mm256_permute4x64_epi64(a, _MM_SHUFFLE(1, 0, 3, 2)), rev));
    }
    as_reverse_bytes_scalar(src, dst, i, n);
}
#endif

/* One row of a 180 degree turn of a plane. */
static void as_reverse_row1(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_reverse_bytes_avx2(src, dst, n);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_reverse_bytes_ssse3(src, dst, n);
        return;
    }
#endif
    as_reverse_bytes_scalar(src, dst, 0, n);
}

/* dst pixel i = src pixel n - 1 - i for packed RGB pixels i in [i0, n). */
static inline void as_reverse_rgb_scalar(const uint8_t *src, uint8_t *dst, ptrdiff_t i, ptrdiff_t n) {
    for (; i < n; i++) memcpy(dst + 3 * i, src + 3 * (n - 1 - i), 3);
}

#if AS_X86_DISPATCH
/* Blocks of 16 pixels (three vectors) reversed: output vector v takes its bytes from input vectors
 * u through mask v,u (-128 clears); the two pairs not listed contribute nothing. */
#define AS_RGB_REV_M01 -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 14
#define AS_RGB_REV_M02 13, 14, 15, 10, 11, 12, 7, 8, 9, 4, 5, 6, 1, 2, 3, -128
#define AS_RGB_REV_M10 -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 15, -128
#define AS_RGB_REV_M11 15, -128, 11, 12, 13, 8, 9, 10, 5, 6, 7, 2, 3, 4, -128, 0
#define AS_RGB_REV_M12 -128, 0, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128
#define AS_RGB_REV_M20 -128, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1, 2
#define AS_RGB_REV_M21 1, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128

AS_TARGET_SSSE3
static void as_reverse_rgb_ssse3(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
    const __m128i m01 = _mm_setr_epi8(AS_RGB_REV_M01), m02 = _mm_setr_epi8(AS_RGB_REV_M02);
    const __m128i m10 = _mm_setr_epi8(AS_RGB_REV_M10), m11 = _mm_setr_epi8(AS_RGB_REV_M11);
    const __m128i m12 = _mm_setr_epi8(AS_RGB_REV_M12), m20 = _mm_setr_epi8(AS_RGB_REV_M20);
    const __m128i m21 = _mm_setr_epi8(AS_RGB_REV_M21);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint8_t *s = src + 3 * (n - 16 - i);
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
        uint8_t *d = dst + 3 * i;
        _mm_storeu_si128((__m128i *)d, _mm_or_si128(_mm_shuffle_epi8(b, m01), _mm_shuffle_epi8(c, m02)));
        _mm_storeu_si128((__m128i *)(d + 16),
                         _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, m10), _mm_shuffle_epi8(b, m11)),
                                      _mm_shuffle_epi8(c, m12)));
        _mm_storeu_si128((__m128i *)(d + 32), _mm_or_si128(_mm_shuffle_epi8(a, m20), _mm_shuffle_epi8(b, m21)));
    }
    as_reverse_rgb_scalar(src, dst, i, n);
}

/* The same with two blocks side by side, one per 128-bit lane. */
AS_TARGET_AVX2
static void as_reverse_rgb_avx2(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
    const __m256i m01 = _mm256_setr_epi8(AS_RGB_REV_M01, AS_RGB_REV_M01);
    const __m256i m02 = _mm256_setr_epi8(AS_RGB_REV_M02, AS_RGB_REV_M02);
    const __m256i m10 = _mm256_setr_epi8(AS_RGB_REV_M10, AS_RGB_REV_M10);
    const __m256i m11 = _mm256_setr_epi8(AS_RGB_REV_M11, AS_RGB_REV_M11);
    const __m256i m12 = _mm256_setr_epi8(AS_RGB_REV_M12, AS_RGB_REV_M12);
    const __m256i m20 = _mm256_setr_epi8(AS_RGB_REV_M20, AS_RGB_REV_M20);
    const __m256i m21 = _mm256_setr_epi8(AS_RGB_REV_M21, AS_RGB_REV_M21);
#define AS_LOAD_LANES(p, q) \
    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p))), \
                            _mm_loadu_si128((const __m128i *)(q)), 1)
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const uint8_t *s0 = src + 3 * (n - 16 - i), *s1 = src + 3 * (n - 32 - i);
        __m256i a = AS_LOAD_LANES(s0, s1), b = AS_LOAD_LANES(s0 + 16, s1 + 16), c = AS_LOAD_LANES(s0 + 32, s1 + 32);
        __m256i o0 = _mm256_or_si256(_mm256_shuffle_epi8(b, m01), _mm256_shuffle_epi8(c, m02));
        __m256i o1 = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(a, m10), _mm256_shuffle_epi8(b, m11)),
                                     _mm256_shuffle_epi8(c, m12));
        __m256i o2 = _mm256_or_si256(_mm256_shuffle_epi8(a, m20), _mm256_shuffle_epi8(b, m21));
        uint8_t *d = dst + 3 * i;
        _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(o0, o1, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 32), _mm256_permute2x128_si256(o2, o0, 0x30));
        _mm256_storeu_si256((__m256i *)(d + 64), _mm256_permute2x128_si256(o1, o2, 0x31));
    }
#undef AS_LOAD_LANES
    as_reverse_rgb_scalar(src, dst, i, n);
}
#endif

/* One row of a 180 degree turn of packed RGB, n pixels. */
static void as_reverse_row3(const uint8_t *src, uint8_t *dst, ptrdiff_t n) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_reverse_rgb_avx2(src, dst, n);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_reverse_rgb_ssse3(src, dst, n);
        return;
    }
#endif
    as_reverse_rgb_scalar(src, dst, 0, n);
}

/* Quarter turn of packed RGB: clockwise dst[c, h-1-r] = src[r, c], counter-clockwise
 * dst[w-1-c, r] = src[r, c] (strides in bytes). */
static void as_rgb_quarter(const uint8_t *src, ptrdiff_t ss, uint8_t *dst, ptrdiff_t ds, ptrdiff_t h, ptrdiff_t w,
                           int clockwise) {
    ptrdiff_t hb = h - h % 8, wb = w - w % 8;
#if AS_X86_DISPATCH
    int vector = as_cpu_level() >= AS_LEVEL_SSSE3;
#else
    int vector = 0;
#endif
    /* Strips of 16 source pixels (48 bytes of each source row) walked down in 8-row blocks: the 16
     * destination rows being filled stay in cache. */
    for (ptrdiff_t s0 = 0; s0 < wb; s0 += 16) {
        ptrdiff_t s1 = s0 + 16 < wb ? s0 + 16 : wb;
        for (ptrdiff_t r = 0; r < hb; r += 8) {
            for (ptrdiff_t c = s0; c < s1; c += 8) {
                const uint8_t *sp;
                uint8_t *dp;
                ptrdiff_t sstride, dstride;
                if (clockwise) {
                    sp = src + (r + 7) * ss + 3 * c;
                    sstride = -ss;
                    dp = dst + c * ds + 3 * (h - 8 - r);
                    dstride = ds;
                } else {
                    sp = src + r * ss + 3 * c;
                    sstride = ss;
                    dp = dst + (w - 1 - c) * ds + 3 * r;
                    dstride = -ds;
                }
#if AS_X86_DISPATCH
                if (vector) {
                    as_transpose_rgb8x8_ssse3(sp, sstride, dp, dstride);
                    continue;
                }
#endif
                as_transpose_rgb8x8_scalar(sp, sstride, dp, dstride);
            }
        }
    }
    (void)vector;
    /* The rows and columns left over by the 8x8 blocks. */
    for (ptrdiff_t r = 0; r < h; r++) {
        for (ptrdiff_t c = r < hb ? wb : 0; c < w; c++) {
            uint8_t *d = clockwise ? dst + c * ds + 3 * (h - 1 - r) : dst + (w - 1 - c) * ds + 3 * r;
            memcpy(d, src + r * ss + 3 * c, 3);
        }
    }
}

#endif /* ANYSUPPORT_TURN_H */
