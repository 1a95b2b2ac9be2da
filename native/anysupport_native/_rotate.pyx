# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
# distutils: include_dirs = native/anysupport_native
# distutils: depends = native/anysupport_native/_turn.h native/anysupport_native/_cpu.h
"""Rotation kernels: quarter turns clockwise of one 8-bit plane or of an RGB24 image.

Called only through ``anysupport_native.rotate``, which validates shapes (dst is src's shape with the
axes swapped for odd turns) and that src and dst do not overlap. Bit-exact with ``_rotate_reference``.
"""

from cython cimport view
from libc.stdint cimport uint8_t

from anysupport_native._pixel cimport as_transpose8x8


cdef extern from "_turn.h" nogil:
    void as_transpose16x8(const uint8_t *src, Py_ssize_t sstride, uint8_t *dst, Py_ssize_t dstride)
    Py_ssize_t as_quarter_blocks32(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds, Py_ssize_t h,
                                   Py_ssize_t w, Py_ssize_t h16, int clockwise)
    void as_reverse_row1(const uint8_t *src, uint8_t *dst, Py_ssize_t n)
    void as_reverse_row3(const uint8_t *src, uint8_t *dst, Py_ssize_t n)
    void as_rgb_quarter(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds, Py_ssize_t h, Py_ssize_t w,
                        int clockwise)


cdef void quarter_blocks(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds, Py_ssize_t h,
                         Py_ssize_t w, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0, Py_ssize_t c1,
                         bint clockwise, int block) noexcept nogil:
    # Source rows [r0, r1) (multiples of block) and columns [c0, c1) (multiples of 8) in block x 8
    # transposes (block is 16 or 8).
    # Column strips of 64 bytes keep one cache line per source row and the destination lines being
    # filled in L1 while the transposes walk down the rows.
    cdef Py_ssize_t s0, s1, r, c
    for s0 in range(c0, c1, 128):
        s1 = min(s0 + 128, c1)
        r = r0
        while r < r1:
            c = s0
            while c < s1:
                if block == 16:
                    if clockwise:
                        as_transpose16x8(src + (r + 15) * ss + c, -ss, dst + c * ds + (h - 16 - r), ds)
                    else:
                        as_transpose16x8(src + r * ss + c, ss, dst + (w - 1 - c) * ds + r, -ds)
                elif clockwise:
                    as_transpose8x8(src + (r + 7) * ss + c, -ss, dst + c * ds + (h - 8 - r), ds)
                else:
                    as_transpose8x8(src + r * ss + c, ss, dst + (w - 1 - c) * ds + r, -ds)
                c += 8
            r += block


cdef void plane_quarter(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds,
                        Py_ssize_t h, Py_ssize_t w, bint clockwise) noexcept nogil:
    # Clockwise: dst[c, h-1-r] = src[r, c]; counter-clockwise: dst[w-1-c, r] = src[r, c].
    cdef Py_ssize_t h16 = h - h % 16, h8 = h - h % 8, w8 = w - w % 8
    cdef Py_ssize_t r, c
    # AVX2: 16x32 blocks first; the 16x8 blocks take the columns they leave
    cdef Py_ssize_t w32 = as_quarter_blocks32(src, ss, dst, ds, h, w, h16, clockwise)
    quarter_blocks(src, ss, dst, ds, h, w, 0, h16, w32, w8, clockwise, 16)
    # 8 rows may be left by the 16-row blocks.
    quarter_blocks(src, ss, dst, ds, h, w, h16, h8, 0, w8, clockwise, 8)
    # The rows and columns left over by the 8x8 blocks.
    for r in range(h):
        for c in range(w8 if r < h8 else 0, w):
            if clockwise:
                dst[c * ds + h - 1 - r] = src[r * ss + c]
            else:
                dst[(w - 1 - c) * ds + r] = src[r * ss + c]


def rotate_plane(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst,
                 int quarter_turns):
    """Rotate an (h, w) plane by quarter_turns (1, 2 or 3) x 90 degrees clockwise into dst."""
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], r
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    with nogil:
        if quarter_turns == 2:
            for r in range(h):
                as_reverse_row1(s + r * ss, d + (h - 1 - r) * ds, w)
        else:
            plane_quarter(s, ss, d, ds, h, w, quarter_turns == 1)


def rotate_i420(const uint8_t[:, ::view.contiguous] y, const uint8_t[:, ::view.contiguous] u,
                const uint8_t[:, ::view.contiguous] v, uint8_t[:, ::view.contiguous] oy,
                uint8_t[:, ::view.contiguous] ou, uint8_t[:, ::view.contiguous] ov, int quarter_turns):
    """Rotate the three planes of an I420 frame by quarter_turns (1, 2 or 3) x 90 degrees clockwise."""
    cdef const uint8_t *src[3]
    cdef uint8_t *dst[3]
    cdef Py_ssize_t ss[3]
    cdef Py_ssize_t ds[3]
    cdef Py_ssize_t hs[3]
    cdef Py_ssize_t ws[3]
    cdef int k
    cdef Py_ssize_t r
    src[0], src[1], src[2] = &y[0, 0], &u[0, 0], &v[0, 0]
    dst[0], dst[1], dst[2] = &oy[0, 0], &ou[0, 0], &ov[0, 0]
    ss[0], ss[1], ss[2] = y.strides[0], u.strides[0], v.strides[0]
    ds[0], ds[1], ds[2] = oy.strides[0], ou.strides[0], ov.strides[0]
    hs[0], hs[1], hs[2] = y.shape[0], u.shape[0], v.shape[0]
    ws[0], ws[1], ws[2] = y.shape[1], u.shape[1], v.shape[1]
    with nogil:
        for k in range(3):
            if quarter_turns == 2:
                for r in range(hs[k]):
                    as_reverse_row1(src[k] + r * ss[k], dst[k] + (hs[k] - 1 - r) * ds[k], ws[k])
            else:
                plane_quarter(src[k], ss[k], dst[k], ds[k], hs[k], ws[k], quarter_turns == 1)


def rotate_rgb(const uint8_t[:, :, ::view.contiguous] src, uint8_t[:, :, ::view.contiguous] dst,
               int quarter_turns):
    """Rotate an (h, w, 3) image with packed pixels by quarter_turns x 90 degrees clockwise."""
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], r
    cdef const uint8_t *s = &src[0, 0, 0]
    cdef uint8_t *d = &dst[0, 0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    with nogil:
        if quarter_turns == 2:
            for r in range(h):
                as_reverse_row3(s + r * ss, d + (h - 1 - r) * ds, w)
        else:
            as_rgb_quarter(s, ss, d, ds, h, w, quarter_turns == 1)
