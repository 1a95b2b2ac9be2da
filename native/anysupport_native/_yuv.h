/* I420 to packed RGB24, BT.601 limited range, exact integer arithmetic (_convert.pyx).
 *
 * For luma Y and chroma U, V (each chroma sample covers a 2x2 block of pixels, taken as is):
 *
 *   yt = (max(Y, 16) * 257 * 19003) >> 16             (1.164 * 64 * Y, to within half a unit)
 *   R = clamp((yt + 102 * (V - 128) - 1160) >> 6)
 *   G = clamp((yt - 25 * (U - 128) - 52 * (V - 128) - 1160) >> 6)
 *   B = clamp((yt + 129 * (U - 128) - 1160) >> 6)
 *
 * (coefficients of BT.601 in 1/64: 1.164, 1.596, 0.392, 0.813, 2.017; -1160 = -16 * 1.164 * 64 + 32,
 * the offset of the limited range plus the rounding). Y = 16 gives 0 and Y = 235 gives 255 exactly;
 * luma below 16 (outside the limited range, as encoders' ringing can give) counts as 16, as in
 * OpenCV's cvtColor, so the two agree within 1 LSB over every input.
 * Every sum fits a signed 16-bit lane except B's, which can pass 32767 only when its result is above
 * 255 anyway: the vector paths add with signed saturation and get the same bytes as the scalar path
 * and the NumPy reference (``_convert_reference.py``). yt is one pmulhuw of Y * 257 (Y unpacked with
 * itself), the chroma terms are computed once per two rows and per two pixels, and the three channel
 * vectors are interleaved into RGB24 with pshufb.
 */
#ifndef ANYSUPPORT_YUV_H
#define ANYSUPPORT_YUV_H

#include <stdint.h>
#include <stddef.h>

#include "_cpu.h"

#define AS_YG 19003
#define AS_VR 102
#define AS_UG 25
#define AS_VG 52
#define AS_UB 129
#define AS_YOFF (-1160)

static inline uint8_t as_clamp255(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Pixels [x0, w) of one row: y the luma row, u and v the chroma rows of its pair of rows. */
static inline void as_yuv_row_scalar(const uint8_t *y, const uint8_t *u, const uint8_t *v, uint8_t *rgb,
                                     ptrdiff_t x0, ptrdiff_t w) {
    for (ptrdiff_t x = x0; x < w; x++) {
        uint32_t luma = y[x] < 16 ? 16u : y[x];
        int32_t yt = (int32_t)((luma * 257u * AS_YG) >> 16);
        int32_t d = (int32_t)u[x >> 1] - 128, e = (int32_t)v[x >> 1] - 128;
        rgb[3 * x] = as_clamp255((yt + AS_VR * e + AS_YOFF) >> 6);
        rgb[3 * x + 1] = as_clamp255((yt - AS_UG * d - AS_VG * e + AS_YOFF) >> 6);
        rgb[3 * x + 2] = as_clamp255((yt + AS_UB * d + AS_YOFF) >> 6);
    }
}

#if AS_X86_DISPATCH
/* pshufb masks taking 16 R, 16 G and 16 B bytes to the three 16-byte blocks of their 48 RGB bytes:
 * block k byte i is byte 16k + i of the row, pixel (16k + i) / 3 of channel (16k + i) % 3. */
#define AS_M(k, c, i) (((16 * (k) + (i)) % 3 == (c)) ? (16 * (k) + (i)) / 3 : -128)
#define AS_MASK(k, c)                                                                                             \
    AS_M(k, c, 0), AS_M(k, c, 1), AS_M(k, c, 2), AS_M(k, c, 3), AS_M(k, c, 4), AS_M(k, c, 5), AS_M(k, c, 6),       \
        AS_M(k, c, 7), AS_M(k, c, 8), AS_M(k, c, 9), AS_M(k, c, 10), AS_M(k, c, 11), AS_M(k, c, 12),             \
        AS_M(k, c, 13), AS_M(k, c, 14), AS_M(k, c, 15)

AS_TARGET_SSSE3
static void as_yuv_rows_ssse3(const uint8_t *y0, const uint8_t *y1, const uint8_t *u, const uint8_t *v,
                              uint8_t *rgb0, uint8_t *rgb1, ptrdiff_t w) {
    const __m128i zero = _mm_setzero_si128(), c128 = _mm_set1_epi16(128), yg = _mm_set1_epi16(AS_YG);
    const __m128i y16 = _mm_set1_epi8(16);
    const __m128i vr = _mm_set1_epi16(AS_VR), ug = _mm_set1_epi16(AS_UG), vg = _mm_set1_epi16(AS_VG);
    const __m128i ub = _mm_set1_epi16(AS_UB), off = _mm_set1_epi16(AS_YOFF);
    const __m128i m0r = _mm_setr_epi8(AS_MASK(0, 0)), m0g = _mm_setr_epi8(AS_MASK(0, 1)), m0b = _mm_setr_epi8(AS_MASK(0, 2));
    const __m128i m1r = _mm_setr_epi8(AS_MASK(1, 0)), m1g = _mm_setr_epi8(AS_MASK(1, 1)), m1b = _mm_setr_epi8(AS_MASK(1, 2));
    const __m128i m2r = _mm_setr_epi8(AS_MASK(2, 0)), m2g = _mm_setr_epi8(AS_MASK(2, 1)), m2b = _mm_setr_epi8(AS_MASK(2, 2));
    ptrdiff_t x = 0;
    for (; x + 16 <= w; x += 16) {
        /* 8 chroma samples for 16 pixels */
        __m128i d = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(u + x / 2)), zero), c128);
        __m128i e = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(v + x / 2)), zero), c128);
        __m128i tr = _mm_add_epi16(_mm_mullo_epi16(e, vr), off);
        __m128i tg = _mm_sub_epi16(off, _mm_add_epi16(_mm_mullo_epi16(d, ug), _mm_mullo_epi16(e, vg)));
        __m128i tb = _mm_add_epi16(_mm_mullo_epi16(d, ub), off);
        __m128i r_lo = _mm_unpacklo_epi16(tr, tr), r_hi = _mm_unpackhi_epi16(tr, tr);
        __m128i g_lo = _mm_unpacklo_epi16(tg, tg), g_hi = _mm_unpackhi_epi16(tg, tg);
        __m128i b_lo = _mm_unpacklo_epi16(tb, tb), b_hi = _mm_unpackhi_epi16(tb, tb);
        for (int row = 0; row < 2; row++) {
            const uint8_t *yr = row ? y1 : y0;
            uint8_t *out = row ? rgb1 : rgb0;
            if (yr == NULL) break;
            __m128i yy = _mm_max_epu8(_mm_loadu_si128((const __m128i *)(yr + x)), y16);
            __m128i ylo = _mm_mulhi_epu16(_mm_unpacklo_epi8(yy, yy), yg);
            __m128i yhi = _mm_mulhi_epu16(_mm_unpackhi_epi8(yy, yy), yg);
            __m128i r = _mm_packus_epi16(_mm_srai_epi16(_mm_adds_epi16(ylo, r_lo), 6),
                                         _mm_srai_epi16(_mm_adds_epi16(yhi, r_hi), 6));
            __m128i g = _mm_packus_epi16(_mm_srai_epi16(_mm_adds_epi16(ylo, g_lo), 6),
                                         _mm_srai_epi16(_mm_adds_epi16(yhi, g_hi), 6));
            __m128i b = _mm_packus_epi16(_mm_srai_epi16(_mm_adds_epi16(ylo, b_lo), 6),
                                         _mm_srai_epi16(_mm_adds_epi16(yhi, b_hi), 6));
            uint8_t *o = out + 3 * x;
            _mm_storeu_si128((__m128i *)o, _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(r, m0r), _mm_shuffle_epi8(g, m0g)),
                                                        _mm_shuffle_epi8(b, m0b)));
            _mm_storeu_si128((__m128i *)(o + 16), _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(r, m1r), _mm_shuffle_epi8(g, m1g)),
                                                               _mm_shuffle_epi8(b, m1b)));
            _mm_storeu_si128((__m128i *)(o + 32), _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(r, m2r), _mm_shuffle_epi8(g, m2g)),
                                                               _mm_shuffle_epi8(b, m2b)));
        }
    }
    as_yuv_row_scalar(y0, u, v, rgb0, x, w);
    if (y1 != NULL) as_yuv_row_scalar(y1, u, v, rgb1, x, w);
}

AS_TARGET_AVX2
static void as_yuv_rows_avx2(const uint8_t *y0, const uint8_t *y1, const uint8_t *u, const uint8_t *v,
                             uint8_t *rgb0, uint8_t *rgb1, ptrdiff_t w) {
    const __m256i c128 = _mm256_set1_epi16(128), yg = _mm256_set1_epi16(AS_YG), y16 = _mm256_set1_epi8(16);
    const __m256i vr = _mm256_set1_epi16(AS_VR), ug = _mm256_set1_epi16(AS_UG), vg = _mm256_set1_epi16(AS_VG);
    const __m256i ub = _mm256_set1_epi16(AS_UB), off = _mm256_set1_epi16(AS_YOFF);
    const __m256i m0r = _mm256_setr_epi8(AS_MASK(0, 0), AS_MASK(0, 0)), m0g = _mm256_setr_epi8(AS_MASK(0, 1), AS_MASK(0, 1));
    const __m256i m0b = _mm256_setr_epi8(AS_MASK(0, 2), AS_MASK(0, 2)), m1r = _mm256_setr_epi8(AS_MASK(1, 0), AS_MASK(1, 0));
    const __m256i m1g = _mm256_setr_epi8(AS_MASK(1, 1), AS_MASK(1, 1)), m1b = _mm256_setr_epi8(AS_MASK(1, 2), AS_MASK(1, 2));
    const __m256i m2r = _mm256_setr_epi8(AS_MASK(2, 0), AS_MASK(2, 0)), m2g = _mm256_setr_epi8(AS_MASK(2, 1), AS_MASK(2, 1));
    const __m256i m2b = _mm256_setr_epi8(AS_MASK(2, 2), AS_MASK(2, 2));
    ptrdiff_t x = 0;
    for (; x + 32 <= w; x += 32) {
        /* 16 chroma samples for 32 pixels: lane 0 holds samples 0-7 (pixels 0-15), lane 1 samples 8-15.
         * Duplicated by the 16-bit unpacks, lane 0 of *_lo is pixels 0-7, of *_hi pixels 8-15; lane 1
         * pixels 16-23 and 24-31: the order the luma unpacks give, so the packs come out in order. */
        __m256i d = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(u + x / 2))), c128);
        __m256i e = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(v + x / 2))), c128);
        __m256i tr = _mm256_add_epi16(_mm256_mullo_epi16(e, vr), off);
        __m256i tg = _mm256_sub_epi16(off, _mm256_add_epi16(_mm256_mullo_epi16(d, ug), _mm256_mullo_epi16(e, vg)));
        __m256i tb = _mm256_add_epi16(_mm256_mullo_epi16(d, ub), off);
        __m256i r_lo = _mm256_unpacklo_epi16(tr, tr), r_hi = _mm256_unpackhi_epi16(tr, tr);
        __m256i g_lo = _mm256_unpacklo_epi16(tg, tg), g_hi = _mm256_unpackhi_epi16(tg, tg);
        __m256i b_lo = _mm256_unpacklo_epi16(tb, tb), b_hi = _mm256_unpackhi_epi16(tb, tb);
        for (int row = 0; row < 2; row++) {
            const uint8_t *yr = row ? y1 : y0;
            uint8_t *out = row ? rgb1 : rgb0;
            if (yr == NULL) break;
            __m256i yy = _mm256_max_epu8(_mm256_loadu_si256((const __m256i *)(yr + x)), y16);
            __m256i ylo = _mm256_mulhi_epu16(_mm256_unpacklo_epi8(yy, yy), yg);
            __m256i yhi = _mm256_mulhi_epu16(_mm256_unpackhi_epi8(yy, yy), yg);
            __m256i r = _mm256_packus_epi16(_mm256_srai_epi16(_mm256_adds_epi16(ylo, r_lo), 6),
                                            _mm256_srai_epi16(_mm256_adds_epi16(yhi, r_hi), 6));
            __m256i g = _mm256_packus_epi16(_mm256_srai_epi16(_mm256_adds_epi16(ylo, g_lo), 6),
                                            _mm256_srai_epi16(_mm256_adds_epi16(yhi, g_hi), 6));
            __m256i b = _mm256_packus_epi16(_mm256_srai_epi16(_mm256_adds_epi16(ylo, b_lo), 6),
                                            _mm256_srai_epi16(_mm256_adds_epi16(yhi, b_hi), 6));
            /* lane 0: pixels 0-15, lane 1: pixels 16-31; each lane gives 48 bytes in three blocks */
            __m256i o0 = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(r, m0r), _mm256_shuffle_epi8(g, m0g)),
                                         _mm256_shuffle_epi8(b, m0b));
            __m256i o1 = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(r, m1r), _mm256_shuffle_epi8(g, m1g)),
                                         _mm256_shuffle_epi8(b, m1b));
            __m256i o2 = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(r, m2r), _mm256_shuffle_epi8(g, m2g)),
                                         _mm256_shuffle_epi8(b, m2b));
            uint8_t *o = out + 3 * x;
            _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(o0, o1, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 32), _mm256_permute2x128_si256(o2, o0, 0x30));
            _mm256_storeu_si256((__m256i *)(o + 64), _mm256_permute2x128_si256(o1, o2, 0x31));
        }
    }
    as_yuv_rows_ssse3(y0 + x, y1 ? y1 + x : NULL, u + x / 2, v + x / 2, rgb0 + 3 * x, rgb1 ? rgb1 + 3 * x : NULL,
                      w - x);
}
#undef AS_MASK
#undef AS_M
#endif

/* One or two rows sharing a chroma row (y1 NULL: a single last row of an odd height). */
static void as_yuv_rows(const uint8_t *y0, const uint8_t *y1, const uint8_t *u, const uint8_t *v, uint8_t *rgb0,
                        uint8_t *rgb1, ptrdiff_t w) {
#if AS_X86_DISPATCH
    int level = as_cpu_level();
    if (level >= AS_LEVEL_AVX2) {
        as_yuv_rows_avx2(y0, y1, u, v, rgb0, rgb1, w);
        return;
    }
    if (level >= AS_LEVEL_SSSE3) {
        as_yuv_rows_ssse3(y0, y1, u, v, rgb0, rgb1, w);
        return;
    }
#endif
    as_yuv_row_scalar(y0, u, v, rgb0, 0, w);
    if (y1 != NULL) as_yuv_row_scalar(y1, u, v, rgb1, 0, w);
}

#endif /* ANYSUPPORT_YUV_H */
