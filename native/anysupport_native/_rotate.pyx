# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
"""Rotation kernels: quarter turns clockwise of one 8-bit plane or of an RGB24 image.

Called only through ``anysupport_native.rotate``, which validates shapes (dst is src's shape with the
axes swapped for odd turns) and that src and dst do not overlap. Bit-exact with ``_rotate_reference``.
"""

from cython cimport view
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

from anysupport_native._pixel cimport as_reverse_bytes, as_reverse_rgb, as_transpose8x8

cdef void plane_quarter(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds,
                        Py_ssize_t h, Py_ssize_t w, bint clockwise) noexcept nogil:
    # Clockwise: dst[c, h-1-r] = src[r, c]; counter-clockwise: dst[w-1-c, r] = src[r, c].
    cdef Py_ssize_t hb = h - h % 8, wb = w - w % 8
    cdef Py_ssize_t s0, r, c
    # Column strips of 64 bytes keep one cache line per source row and the destination lines being
    # filled in L1 while the 8x8 transposes walk down the rows.
    for s0 in range(0, wb, 64):
        for r in range(0, hb, 8):
            for c in range(s0, min(s0 + 64, wb), 8):
                if clockwise:
                    as_transpose8x8(src + (r + 7) * ss + c, -ss, dst + c * ds + (h - 8 - r), ds)
                else:
                    as_transpose8x8(src + r * ss + c, ss, dst + (w - 1 - c) * ds + r, -ds)
    # The rows and columns left over by the 8x8 blocks.
    for r in range(h):
        for c in range(wb if r < hb else 0, w):
            if clockwise:
                dst[c * ds + h - 1 - r] = src[r * ss + c]
            else:
                dst[(w - 1 - c) * ds + r] = src[r * ss + c]


cdef void rgb_quarter(const uint8_t *src, Py_ssize_t ss, uint8_t *dst, Py_ssize_t ds,
                      Py_ssize_t h, Py_ssize_t w, bint clockwise) noexcept nogil:
    cdef Py_ssize_t s0, r, c
    cdef uint8_t *d
    for s0 in range(0, w, 16):
        for r in range(h):
            for c in range(s0, min(s0 + 16, w)):
                if clockwise:
                    d = dst + c * ds + (h - 1 - r) * 3
                else:
                    d = dst + (w - 1 - c) * ds + r * 3
                memcpy(d, src + r * ss + c * 3, 3)


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
                as_reverse_bytes(s + r * ss, d + (h - 1 - r) * ds, w)
        else:
            plane_quarter(s, ss, d, ds, h, w, quarter_turns == 1)


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
                as_reverse_rgb(s + r * ss, d + (h - 1 - r) * ds, w)
        else:
            rgb_quarter(s, ss, d, ds, h, w, quarter_turns == 1)
