/* Separable resampling passes of the scaling kernels (_scale.pyx), horizontal pass first.
 *
 * Both methods are exact integer sums, so the order of the passes does not change a byte. The
 * horizontal pass reads each needed source row once and gathers its taps with byte shuffles (SSSE3
 * pshufb, 16 or 32 bytes at a time) driven by tables built once per (source, destination, channels)
 * and cached by _scale.pyx; the vertical pass blends whole rows of the horizontal results. Every
 * function has a scalar path with the same results (as_cpu_level() picks the path).
 *
 * Bilinear: h = L * (256 - q) + R * q (at most 65280) is stored biased, h - 32768, in an int16 so
 * that the vertical pass can use the signed 16-bit multiply-add: with the vertical weights
 * (256 - q', q'), h0' * (256 - q') + h1' * q' = sum - 2**23, and the result is
 * (sum + 2**15) >> 16.
 *
 * Area: h = sum_k w_k p_k (weights summing to 4096, so at most 255 * 4096) in an int32; the vertical
 * pass sums w'_k h_k (at most 255 * 2**24, below 2**32) and rounds with (sum + 2**23) >> 24.
 */
#ifndef ANYSUPPORT_RESAMPLE_H
#define ANYSUPPORT_RESAMPLE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include "_cpu.h"
#include "_simd.h"

/* ---- bilinear ------------------------------------------------------------------------------ */

/* Shuffle tables of one horizontal bilinear pass. The output row of n bytes (pixels * channels) is
 * cut into groups of 16 bytes, each made of two halves of 8 gathered from one window of the source
 * row: 16 bytes (one pshufb) when the half's taps span at most 16 bytes, otherwise 32 bytes (two
 * pshufb of adjacent 16-byte loads, OR-ed), which covers downscales to about 1/3 for planes and RGB
 * alike (the viewer fits a 1280x720 frame turned upright into ~350x620: 0.48). mask holds, per half,
 * the window offsets of the (left, right) taps of its 8 outputs (32 bytes per group; a wide group
 * has a second 32 for the upper 16 bytes of its windows, the bytes of the other load set to 0x80);
 * weights holds the (256 - q, q) pairs ordered [0-3, 8-11, 4-7, 12-15] within the group, which is
 * the order the AVX2 unpacks produce (the SSSE3 path reads the same table). A group whose taps do
 * not fit 32 bytes is done by the scalar loop, as is the tail of n % 16 bytes. */
enum { AS_GROUP_SCALAR = 0, AS_GROUP_NARROW = 1, AS_GROUP_WIDE = 2 };

typedef struct {
    ptrdiff_t npix, n, groups, src_bytes;
    int channels;
    int32_t *x0, *x1, *xq;   /* copies of the tap tables, to recognise them (npix each) */
    int32_t *left, *right;   /* per output byte: source byte of each tap */
    int16_t *pair;           /* per output byte: 256 - q, q */
    int32_t *start;          /* per group, the two windows' starts */
    uint8_t *kind;           /* per group, AS_GROUP_* */
    uint8_t *mask;           /* 64 per group: low windows (and the whole window of a narrow group), high windows */
    int16_t *weights;        /* 32 per group */
} as_lerp_table;

static void as_lerp_table_free(as_lerp_table *t) { free(t); }

static void *as_carve(char **p, size_t bytes) {
    void *r = *p;
    *p += (bytes + 31) & ~(size_t)31;
    return r;
}

/* Build the tables for output pixel d sampling source pixels x0[d], x1[d] with weight xq[d] / 256 on
 * x1, in rows of src_bytes bytes. NULL when out of memory. */
static as_lerp_table *as_lerp_table_new(const int32_t *x0, const int32_t *x1, const int32_t *xq, ptrdiff_t npix,
                                        int channels, ptrdiff_t src_bytes) {
    ptrdiff_t n = npix * channels, groups = n / 16;
    size_t bytes = ((sizeof(as_lerp_table) + 31) & ~(size_t)31) + 3 * (((size_t)npix * 4 + 31) & ~(size_t)31) +
                   2 * (((size_t)n * 4 + 31) & ~(size_t)31) + (((size_t)n * 4 + 31) & ~(size_t)31) +
                   (((size_t)groups * 8 + 31) & ~(size_t)31) + (((size_t)groups + 31) & ~(size_t)31) +
                   (size_t)groups * 64 + (size_t)groups * 64 + 32;
    char *base = (char *)malloc(bytes);
    if (base == NULL) return NULL;
    char *p = base;
    as_lerp_table *t = (as_lerp_table *)as_carve(&p, sizeof(as_lerp_table));
    t->npix = npix;
    t->n = n;
    t->groups = groups;
    t->src_bytes = src_bytes;
    t->channels = channels;
    t->x0 = (int32_t *)as_carve(&p, (size_t)npix * 4);
    t->x1 = (int32_t *)as_carve(&p, (size_t)npix * 4);
    t->xq = (int32_t *)as_carve(&p, (size_t)npix * 4);
    t->left = (int32_t *)as_carve(&p, (size_t)n * 4);
    t->right = (int32_t *)as_carve(&p, (size_t)n * 4);
    t->pair = (int16_t *)as_carve(&p, (size_t)n * 4);
    t->start = (int32_t *)as_carve(&p, (size_t)groups * 8);
    t->kind = (uint8_t *)as_carve(&p, (size_t)groups);
    t->mask = (uint8_t *)as_carve(&p, (size_t)groups * 64);
    t->weights = (int16_t *)as_carve(&p, (size_t)groups * 64);
    memcpy(t->x0, x0, (size_t)npix * 4);
    memcpy(t->x1, x1, (size_t)npix * 4);
    memcpy(t->xq, xq, (size_t)npix * 4);
    for (ptrdiff_t j = 0; j < n; j++) {
        ptrdiff_t d = j / channels, c = j % channels;
        t->left[j] = (int32_t)(x0[d] * channels + c);
        t->right[j] = (int32_t)(x1[d] * channels + c);
        t->pair[2 * j] = (int16_t)(256 - xq[d]);
        t->pair[2 * j + 1] = (int16_t)xq[d];
    }
    static const int order[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
    for (ptrdiff_t g = 0; g < groups; g++) {
        /* The span of each half's taps decides the group's kind: narrow if both fit 16 bytes, wide if
         * both fit 32 (and the row has 32 bytes to load), scalar otherwise. */
        ptrdiff_t lo[2], hi[2];
        for (int half = 0; half < 2; half++) {
            ptrdiff_t j0 = 16 * g + 8 * half;
            lo[half] = hi[half] = t->left[j0];
            for (ptrdiff_t j = j0; j < j0 + 8; j++) {
                if (t->left[j] < lo[half]) lo[half] = t->left[j];
                if (t->left[j] > hi[half]) hi[half] = t->left[j];
                if (t->pair[2 * j + 1] != 0) {
                    if (t->right[j] < lo[half]) lo[half] = t->right[j];
                    if (t->right[j] > hi[half]) hi[half] = t->right[j];
                }
            }
        }
        int kind = AS_GROUP_SCALAR;
        for (int width = 16; width <= 32 && kind == AS_GROUP_SCALAR; width += 16) {
            int fits = src_bytes >= width;
            for (int half = 0; half < 2 && fits; half++) {
                ptrdiff_t s = lo[half] > src_bytes - width ? src_bytes - width : lo[half];
                fits = s >= 0 && hi[half] - s < width;
                t->start[2 * g + half] = (int32_t)s;
            }
            if (fits) kind = width == 16 ? AS_GROUP_NARROW : AS_GROUP_WIDE;
        }
        t->kind[g] = (uint8_t)kind;
        if (kind != AS_GROUP_SCALAR) {
            for (int half = 0; half < 2; half++) {
                ptrdiff_t s = t->start[2 * g + half];
                for (int k = 0; k < 16; k++) {
                    ptrdiff_t j = 16 * g + 8 * half + k / 2;
                    int used = k % 2 == 0 || t->pair[2 * j + 1] != 0;
                    ptrdiff_t o = (k % 2 == 0 ? t->left[j] : t->right[j]) - s;
                    t->mask[64 * g + 16 * half + k] = used && o < 16 ? (uint8_t)o : (uint8_t)0x80;
                    t->mask[64 * g + 32 + 16 * half + k] = used && o >= 16 ? (uint8_t)(o - 16) : (uint8_t)0x80;
                }
            }
        }
        for (int k = 0; k < 16; k++) {
            ptrdiff_t j = 16 * g + order[k];
            t->weights[32 * g + 2 * k] = t->pair[2 * j];
            t->weights[32 * g + 2 * k + 1] = t->pair[2 * j + 1];
        }
    }
    return t;
}

/* True when t was built from these tap tables for rows of src_bytes. */
static int as_lerp_table_matches(const as_lerp_table *t, const int32_t *x0, const int32_t *x1, const int32_t *xq,
                                 ptrdiff_t npix, int channels, ptrdiff_t src_bytes) {
    return t->npix == npix && t->channels == channels && t->src_bytes == src_bytes &&
           memcmp(t->x0, x0, (size_t)npix * 4) == 0 && memcmp(t->x1, x1, (size_t)npix * 4) == 0 &&
           memcmp(t->xq, xq, (size_t)npix * 4) == 0;
}

static inline void as_lerp_h_scalar(const uint8_t *src, int16_t *dst, const as_lerp_table *t, ptrdiff_t j0,
                                    ptrdiff_t j1) {
    for (ptrdiff_t j = j0; j < j1; j++)
        dst[j] = (int16_t)(src[t->left[j]] * t->pair[2 * j] + src[t->right[j]] * t->pair[2 * j + 1] - 32768);
}

#if AS_X86_DISPATCH
AS_TARGET_SSSE3
static void as_lerp_h_ssse3(const uint8_t *src, int16_t *dst, const as_lerp_table *t) {
    const __m128i zero = _mm_setzero_si128(), bias = _mm_set1_epi32(32768);
    for (ptrdiff_t g = 0; g < t->groups; g++) {
        int kind = t->kind[g];
        if (kind == AS_GROUP_SCALAR) {
            as_lerp_h_scalar(src, dst, t, 16 * g, 16 * g + 16);
            continue;
        }
        const int16_t *w = t->weights + 32 * g;
        const uint8_t *m = t->mask + 64 * g;
        for (int half = 0; half < 2; half++) {
            const uint8_t *at = src + t->start[2 * g + half];
            __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)at),
                                         _mm_loadu_si128((const __m128i *)(m + 16 * half)));
            if (kind == AS_GROUP_WIDE)
                b = _mm_or_si128(b, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(at + 16)),
                                                     _mm_loadu_si128((const __m128i *)(m + 32 + 16 * half))));
            __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi8(b, zero), _mm_loadu_si128((const __m128i *)(w + 8 * half)));
            __m128i hi =
                _mm_madd_epi16(_mm_unpackhi_epi8(b, zero), _mm_loadu_si128((const __m128i *)(w + 16 + 8 * half)));
            _mm_storeu_si128((__m128i *)(dst + 16 * g + 8 * half),
                             _mm_packs_epi32(_mm_sub_epi32(lo, bias), _mm_sub_epi32(hi, bias)));
        }
    }
    as_lerp_h_scalar(src, dst, t, 16 * t->groups, t->n);
}

AS_TARGET_AVX2
static void as_lerp_h_avx2(const uint8_t *src, int16_t *dst, const as_lerp_table *t) {
    const __m256i zero = _mm256_setzero_si256(), bias = _mm256_set1_epi32(32768);
    for (ptrdiff_t g = 0; g < t->groups; g++) {
        int kind = t->kind[g];
        if (kind == AS_GROUP_SCALAR) {
            as_lerp_h_scalar(src, dst, t, 16 * g, 16 * g + 16);
            continue;
        }
        const int16_t *w = t->weights + 32 * g;
        const uint8_t *m = t->mask + 64 * g;
        const uint8_t *a0 = src + t->start[2 * g], *a1 = src + t->start[2 * g + 1];
        __m256i win = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a0)),
                                              _mm_loadu_si128((const __m128i *)a1), 1);
        __m256i b = _mm256_shuffle_epi8(win, _mm256_loadu_si256((const __m256i *)m));
        if (kind == AS_GROUP_WIDE) {
            __m256i up = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a0 + 16))),
                _mm_loadu_si128((const __m128i *)(a1 + 16)), 1);
            b = _mm256_or_si256(b, _mm256_shuffle_epi8(up, _mm256_loadu_si256((const __m256i *)(m + 32))));
        }
        __m256i lo = _mm256_madd_epi16(_mm256_unpacklo_epi8(b, zero), _mm256_loadu_si256((const __m256i *)w));
        __m256i hi = _mm256_madd_epi16(_mm256_unpackhi_epi8(b, zero), _mm256_loadu_si256((const __m256i *)(w + 16)));
        _mm256_storeu_si256((__m256i *)(dst + 16 * g),
                            _mm256_packs_epi32(_mm256_sub_epi32(lo, bias), _mm256_sub_epi32(hi, bias)));
    }
    as_lerp_h_scalar(src, dst, t, 16 * t->groups, t->n);
}
#endif

/* One source row through the horizontal bilinear pass: dst[j] = h_j - 32768 for the table's n bytes. */
static void as_lerp_h(const uint8_t *src, int16_t *dst, const as_lerp_table *t) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_lerp_h_avx2(src, dst, t);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_lerp_h_ssse3(src, dst, t);
        return;
    }
#endif
    as_lerp_h_scalar(src, dst, t, 0, t->n);
}

static inline void as_lerp_v_scalar(const int16_t *a, const int16_t *b, uint8_t *dst, int32_t q, ptrdiff_t i,
                                    ptrdiff_t n) {
    for (; i < n; i++) dst[i] = (uint8_t)((a[i] * (256 - q) + b[i] * q + (1 << 23) + (1 << 15)) >> 16);
}

#if AS_X86_DISPATCH
AS_TARGET_AVX2
static void as_lerp_v_avx2(const int16_t *a, const int16_t *b, uint8_t *dst, int32_t q, ptrdiff_t n) {
    const __m256i w = _mm256_set1_epi32((int32_t)(((uint32_t)q << 16) | (uint32_t)(256 - q)));
    const __m256i round = _mm256_set1_epi32((1 << 23) + (1 << 15));
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + i)), a1 = _mm256_loadu_si256((const __m256i *)(a + i + 16));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i)), b1 = _mm256_loadu_si256((const __m256i *)(b + i + 16));
        __m256i l0 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(a0, b0), w), round), 16);
        __m256i h0 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(a0, b0), w), round), 16);
        __m256i l1 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(a1, b1), w), round), 16);
        __m256i h1 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(a1, b1), w), round), 16);
        __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(l0, h0), _mm256_packs_epi32(l1, h1));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)));
    }
    as_lerp_v_scalar(a, b, dst, q, i, n);
}

static void as_lerp_v_sse2(const int16_t *a, const int16_t *b, uint8_t *dst, int32_t q, ptrdiff_t n) {
    const __m128i w = _mm_set1_epi32((int32_t)(((uint32_t)q << 16) | (uint32_t)(256 - q)));
    const __m128i round = _mm_set1_epi32((1 << 23) + (1 << 15));
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i *)(a + i)), a1 = _mm_loadu_si128((const __m128i *)(a + i + 8));
        __m128i b0 = _mm_loadu_si128((const __m128i *)(b + i)), b1 = _mm_loadu_si128((const __m128i *)(b + i + 8));
        __m128i l0 = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(a0, b0), w), round), 16);
        __m128i h0 = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(a0, b0), w), round), 16);
        __m128i l1 = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(a1, b1), w), round), 16);
        __m128i h1 = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(a1, b1), w), round), 16);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi16(_mm_packs_epi32(l0, h0), _mm_packs_epi32(l1, h1)));
    }
    as_lerp_v_scalar(a, b, dst, q, i, n);
}
#endif

/* Vertical bilinear pass over two horizontal results: dst[i] = (sum + 2**15) >> 16. */
static void as_lerp_v(const int16_t *a, const int16_t *b, uint8_t *dst, int32_t q, ptrdiff_t n) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_lerp_v_avx2(a, b, dst, q, n);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_lerp_v_sse2(a, b, dst, q, n);
        return;
    }
#endif
    as_lerp_v_scalar(a, b, dst, q, 0, n);
}

/* ---- area ---------------------------------------------------------------------------------- */

/* Shuffle tables of one horizontal area pass with at most 4 taps per output: groups of 8 output
 * bytes, each two halves of 4 outputs gathered (4 taps each, unused ones zeroed) from one 16-byte
 * window. weights holds the tap weights as int16: the low 8 gathered bytes of half 0, of half 1,
 * then the high 8 of half 0 and of half 1 (the order of the AVX2 unpacks, as for bilinear). With
 * more than 4 taps every output is done by the scalar loop. */
typedef struct {
    ptrdiff_t npix, n, groups, src_bytes, taps;
    int channels;
    int32_t *xs, *xn, *xw;   /* copies of the tap tables (npix, npix, npix * taps) */
    int32_t *first;          /* per output byte: source byte of its first tap */
    int32_t *start;          /* per group, two window starts; start[2g] < 0: the group is scalar */
    uint8_t *mask;           /* 32 per group */
    int16_t *weights;        /* 32 per group */
} as_box_table;

static void as_box_table_free(as_box_table *t) { free(t); }

static as_box_table *as_box_table_new(const int32_t *xs, const int32_t *xn, const int32_t *xw, ptrdiff_t taps,
                                      ptrdiff_t npix, int channels, ptrdiff_t src_bytes) {
    ptrdiff_t n = npix * channels, groups = taps <= 4 ? n / 8 : 0;
    size_t bytes = ((sizeof(as_box_table) + 31) & ~(size_t)31) + 2 * (((size_t)npix * 4 + 31) & ~(size_t)31) +
                   (((size_t)npix * taps * 4 + 31) & ~(size_t)31) + (((size_t)n * 4 + 31) & ~(size_t)31) +
                   (((size_t)groups * 8 + 31) & ~(size_t)31) + (size_t)groups * 32 + (size_t)groups * 64 + 32;
    char *base = (char *)malloc(bytes);
    if (base == NULL) return NULL;
    char *p = base;
    as_box_table *t = (as_box_table *)as_carve(&p, sizeof(as_box_table));
    t->npix = npix;
    t->n = n;
    t->groups = groups;
    t->src_bytes = src_bytes;
    t->taps = taps;
    t->channels = channels;
    t->xs = (int32_t *)as_carve(&p, (size_t)npix * 4);
    t->xn = (int32_t *)as_carve(&p, (size_t)npix * 4);
    t->xw = (int32_t *)as_carve(&p, (size_t)npix * taps * 4);
    t->first = (int32_t *)as_carve(&p, (size_t)n * 4);
    t->start = (int32_t *)as_carve(&p, (size_t)groups * 8);
    t->mask = (uint8_t *)as_carve(&p, (size_t)groups * 32);
    t->weights = (int16_t *)as_carve(&p, (size_t)groups * 64);
    memcpy(t->xs, xs, (size_t)npix * 4);
    memcpy(t->xn, xn, (size_t)npix * 4);
    memcpy(t->xw, xw, (size_t)npix * taps * 4);
    for (ptrdiff_t j = 0; j < n; j++) t->first[j] = (int32_t)(xs[j / channels] * channels + j % channels);
    for (ptrdiff_t g = 0; g < groups; g++) {
        int ok = 1;
        for (int half = 0; half < 2 && ok; half++) {
            ptrdiff_t j0 = 8 * g + 4 * half, lo = t->first[j0], hi = t->first[j0];
            for (ptrdiff_t j = j0; j < j0 + 4; j++) {
                ptrdiff_t d = j / channels;
                if (t->first[j] < lo) lo = t->first[j];
                for (ptrdiff_t k = 0; k < xn[d]; k++)
                    if (t->first[j] + k * channels > hi) hi = t->first[j] + k * channels;
            }
            ptrdiff_t s = lo;
            if (s > src_bytes - 16) s = src_bytes - 16;
            if (s < 0 || hi - s > 15) {
                ok = 0;
                break;
            }
            t->start[2 * g + half] = (int32_t)s;
            for (int m = 0; m < 4; m++) {
                ptrdiff_t j = j0 + m, d = j / channels;
                for (int k = 0; k < 4; k++) {
                    int used = k < xn[d];
                    t->mask[32 * g + 16 * half + 4 * m + k] =
                        used ? (uint8_t)(t->first[j] + k * channels - s) : (uint8_t)0x80;
                    int b = 4 * m + k; /* byte of the half; weights in the bilinear table's order */
                    t->weights[32 * g + 16 * (b / 8) + 8 * half + b % 8] = used ? (int16_t)xw[d * taps + k] : 0;
                }
            }
        }
        if (!ok) t->start[2 * g] = -1;
    }
    return t;
}

static int as_box_table_matches(const as_box_table *t, const int32_t *xs, const int32_t *xn, const int32_t *xw,
                                ptrdiff_t taps, ptrdiff_t npix, int channels, ptrdiff_t src_bytes) {
    return t->npix == npix && t->taps == taps && t->channels == channels && t->src_bytes == src_bytes &&
           memcmp(t->xs, xs, (size_t)npix * 4) == 0 && memcmp(t->xn, xn, (size_t)npix * 4) == 0 &&
           memcmp(t->xw, xw, (size_t)npix * taps * 4) == 0;
}

static inline void as_box_h_scalar(const uint8_t *src, int32_t *dst, const as_box_table *t, ptrdiff_t j0,
                                   ptrdiff_t j1) {
    int channels = t->channels;
    for (ptrdiff_t j = j0; j < j1; j++) {
        ptrdiff_t d = j / channels;
        const uint8_t *p = src + t->first[j];
        const int32_t *w = t->xw + d * t->taps;
        int32_t s = 0;
        for (int32_t k = 0; k < t->xn[d]; k++) s += p[k * channels] * w[k];
        dst[j] = s;
    }
}

#if AS_X86_DISPATCH
AS_TARGET_SSSE3
static void as_box_h_ssse3(const uint8_t *src, int32_t *dst, const as_box_table *t) {
    const __m128i zero = _mm_setzero_si128();
    for (ptrdiff_t g = 0; g < t->groups; g++) {
        if (t->start[2 * g] < 0) {
            as_box_h_scalar(src, dst, t, 8 * g, 8 * g + 8);
            continue;
        }
        const int16_t *w = t->weights + 32 * g;
        for (int half = 0; half < 2; half++) {
            __m128i win = _mm_loadu_si128((const __m128i *)(src + t->start[2 * g + half]));
            __m128i b = _mm_shuffle_epi8(win, _mm_loadu_si128((const __m128i *)(t->mask + 32 * g + 16 * half)));
            __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi8(b, zero), _mm_loadu_si128((const __m128i *)(w + 8 * half)));
            __m128i hi =
                _mm_madd_epi16(_mm_unpackhi_epi8(b, zero), _mm_loadu_si128((const __m128i *)(w + 16 + 8 * half)));
            _mm_storeu_si128((__m128i *)(dst + 8 * g + 4 * half), _mm_hadd_epi32(lo, hi));
        }
    }
    as_box_h_scalar(src, dst, t, 8 * t->groups, t->n);
}

AS_TARGET_AVX2
static void as_box_h_avx2(const uint8_t *src, int32_t *dst, const as_box_table *t) {
    const __m256i zero = _mm256_setzero_si256();
    for (ptrdiff_t g = 0; g < t->groups; g++) {
        if (t->start[2 * g] < 0) {
            as_box_h_scalar(src, dst, t, 8 * g, 8 * g + 8);
            continue;
        }
        const int16_t *w = t->weights + 32 * g;
        __m256i win = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(src + t->start[2 * g]))),
            _mm_loadu_si128((const __m128i *)(src + t->start[2 * g + 1])), 1);
        __m256i b = _mm256_shuffle_epi8(win, _mm256_loadu_si256((const __m256i *)(t->mask + 32 * g)));
        __m256i lo = _mm256_madd_epi16(_mm256_unpacklo_epi8(b, zero), _mm256_loadu_si256((const __m256i *)w));
        __m256i hi = _mm256_madd_epi16(_mm256_unpackhi_epi8(b, zero), _mm256_loadu_si256((const __m256i *)(w + 16)));
        _mm256_storeu_si256((__m256i *)(dst + 8 * g), _mm256_hadd_epi32(lo, hi));
    }
    as_box_h_scalar(src, dst, t, 8 * t->groups, t->n);
}
#endif

/* One source row through the horizontal area pass: dst[j] = sum_k w_k p_k for the table's n bytes. */
static void as_box_h(const uint8_t *src, int32_t *dst, const as_box_table *t) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_box_h_avx2(src, dst, t);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_box_h_ssse3(src, dst, t);
        return;
    }
#endif
    as_box_h_scalar(src, dst, t, 0, t->n);
}

static inline void as_box_v_scalar(const int32_t *const *rows, const int32_t *w, int count, uint8_t *dst,
                                   ptrdiff_t i, ptrdiff_t n) {
    for (; i < n; i++) {
        uint32_t s = 1u << 23;
        for (int k = 0; k < count; k++) s += (uint32_t)rows[k][i] * (uint32_t)w[k];
        dst[i] = (uint8_t)(s >> 24);
    }
}

#if AS_X86_DISPATCH
AS_TARGET_AVX2
static void as_box_v_avx2(const int32_t *const *rows, const int32_t *w, int count, uint8_t *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i s[4];
        for (int m = 0; m < 4; m++) s[m] = _mm256_set1_epi32(1 << 23);
        for (int k = 0; k < count; k++) {
            __m256i wk = _mm256_set1_epi32(w[k]);
            for (int m = 0; m < 4; m++)
                s[m] = _mm256_add_epi32(
                    s[m], _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(rows[k] + i + 8 * m)), wk));
        }
        for (int m = 0; m < 4; m++) s[m] = _mm256_srli_epi32(s[m], 24);
        __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(s[0], s[1]), _mm256_packs_epi32(s[2], s[3]));
        /* The packs work within 128-bit lanes: the 4-byte runs come out as 0 8 16 24 | 4 12 20 28. */
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(dst + i), p);
    }
    as_box_v_scalar(rows, w, count, dst, i, n);
}
#endif

/* Vertical area pass: dst[i] = (sum_k w[k] rows[k][i] + 2**23) >> 24. */
static void as_box_v(const int32_t *const *rows, const int32_t *w, int count, uint8_t *dst, ptrdiff_t n) {
#if AS_X86_DISPATCH
    if (as_cpu_level() >= AS_LEVEL_AVX2) {
        as_box_v_avx2(rows, w, count, dst, n);
        return;
    }
#endif
    as_box_v_scalar(rows, w, count, dst, 0, n);
}

/* ---- exact 2:1 of packed RGB ---------------------------------------------------------------- */

static inline void as_halve_rgb_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t o,
                                       ptrdiff_t nout) {
    for (; o < nout; o++) {
        ptrdiff_t i = 2 * o - o % 3; /* first byte of the pair of pixels, same channel */
        dst[o] = (uint8_t)((a[i] + a[i + 3] + b[i] + b[i + 3] + 2) >> 2);
    }
}

#if AS_X86_DISPATCH
/* 12 source bytes (two pixel pairs) from a 16-byte load: the bytes of each sum side by side, for
 * pmaddubsw with weights 1; the last 4 bytes are zeroed. */
#define AS_PAIR_MASK 0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11, -128, -128, -128, -128
#define AS_PACK12_MASK 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, -128, -128, -128, -128

AS_TARGET_SSSE3
static void as_halve_rgb_ssse3(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t nout) {
    const __m128i pairs = _mm_setr_epi8(AS_PAIR_MASK), pack = _mm_setr_epi8(AS_PACK12_MASK);
    const __m128i ones = _mm_set1_epi8(1), two = _mm_set1_epi16(2);
    ptrdiff_t o = 0;
    for (; o + 16 <= nout; o += 12) {
        const uint8_t *pa = a + 2 * o, *pb = b + 2 * o;
        __m128i s0 = _mm_add_epi16(
            _mm_maddubs_epi16(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)pa), pairs), ones),
            _mm_maddubs_epi16(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)pb), pairs), ones));
        __m128i s1 = _mm_add_epi16(
            _mm_maddubs_epi16(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 12)), pairs), ones),
            _mm_maddubs_epi16(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 12)), pairs), ones));
        s0 = _mm_srli_epi16(_mm_add_epi16(s0, two), 2);
        s1 = _mm_srli_epi16(_mm_add_epi16(s1, two), 2);
        _mm_storeu_si128((__m128i *)(dst + o), _mm_shuffle_epi8(_mm_packus_epi16(s0, s1), pack));
    }
    as_halve_rgb_scalar(a, b, dst, o, nout);
}

AS_TARGET_AVX2
static void as_halve_rgb_avx2(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t nout) {
    const __m256i pairs = _mm256_setr_epi8(AS_PAIR_MASK, AS_PAIR_MASK);
    const __m256i pack = _mm256_setr_epi8(AS_PACK12_MASK, AS_PACK12_MASK);
    const __m256i ones = _mm256_set1_epi8(1), two = _mm256_set1_epi16(2);
    const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
#define AS_LOAD2(p, off) \
    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)((p) + (off)))), \
                            _mm_loadu_si128((const __m128i *)((p) + (off) + 24)), 1)
#define AS_PAIRSUM(p, off) _mm256_maddubs_epi16(_mm256_shuffle_epi8(AS_LOAD2(p, off), pairs), ones)
    ptrdiff_t o = 0;
    for (; o + 32 <= nout; o += 24) {
        const uint8_t *pa = a + 2 * o, *pb = b + 2 * o;
        __m256i s0 = _mm256_add_epi16(AS_PAIRSUM(pa, 0), AS_PAIRSUM(pb, 0));
        __m256i s1 = _mm256_add_epi16(AS_PAIRSUM(pa, 12), AS_PAIRSUM(pb, 12));
        s0 = _mm256_srli_epi16(_mm256_add_epi16(s0, two), 2);
        s1 = _mm256_srli_epi16(_mm256_add_epi16(s1, two), 2);
        __m256i p = _mm256_shuffle_epi8(_mm256_packus_epi16(s0, s1), pack);
        _mm256_storeu_si256((__m256i *)(dst + o), _mm256_permutevar8x32_epi32(p, join));
    }
#undef AS_PAIRSUM
#undef AS_LOAD2
    as_halve_rgb_scalar(a, b, dst, o, nout);
}
#endif

/* Exact 2x2 box average of one output row of packed RGB, nout output bytes (pixels * 3):
 * (a + b + c + d + 2) >> 2 per channel. */
static void as_halve_rgb(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t nout) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_halve_rgb_avx2(a, b, dst, nout);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_halve_rgb_ssse3(a, b, dst, nout);
        return;
    }
#endif
    as_halve_rgb_scalar(a, b, dst, 0, nout);
}

/* ---- exact 2:1 of a plane ------------------------------------------------------------------ */

#if AS_X86_DISPATCH
AS_TARGET_AVX2
static void as_halve_plane_avx2(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t n) {
    const __m256i lo = _mm256_set1_epi16(0x00FF), two = _mm256_set1_epi16(2);
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + 2 * i));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + 2 * i + 32));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + 2 * i));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 2 * i + 32));
        __m256i s0 = _mm256_add_epi16(_mm256_add_epi16(_mm256_and_si256(a0, lo), _mm256_srli_epi16(a0, 8)),
                                      _mm256_add_epi16(_mm256_and_si256(b0, lo), _mm256_srli_epi16(b0, 8)));
        __m256i s1 = _mm256_add_epi16(_mm256_add_epi16(_mm256_and_si256(a1, lo), _mm256_srli_epi16(a1, 8)),
                                      _mm256_add_epi16(_mm256_and_si256(b1, lo), _mm256_srli_epi16(b1, 8)));
        s0 = _mm256_srli_epi16(_mm256_add_epi16(s0, two), 2);
        s1 = _mm256_srli_epi16(_mm256_add_epi16(s1, two), 2);
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm256_permute4x64_epi64(_mm256_packus_epi16(s0, s1), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    for (; i < n; i++) dst[i] = (uint8_t)((a[2 * i] + a[2 * i + 1] + b[2 * i] + b[2 * i + 1] + 2) >> 2);
}
#endif

/* Exact 2x2 box average of one output row of a plane, n outputs (as_halve_row1 of _simd.h, which
 * is the SSE2 and scalar path). */
static void as_halve_plane(const uint8_t *a, const uint8_t *b, uint8_t *dst, ptrdiff_t n) {
#if AS_X86_DISPATCH
    if (as_cpu_level() >= AS_LEVEL_AVX2) {
        as_halve_plane_avx2(a, b, dst, n);
        return;
    }
#endif
    as_halve_row1(a, b, dst, n);
}

#endif /* ANYSUPPORT_RESAMPLE_H */
