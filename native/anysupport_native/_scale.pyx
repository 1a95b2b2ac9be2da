# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
"""Scaling kernels: separable bilinear and area resampling of 8-bit images with 1 or 3 channels.

Called only through ``anysupport_native.scale``, which validates the arrays and builds the tap tables
(the same tables drive ``_scale_reference``, so the two agree bit for bit). Images arrive as 2-D
(rows, width * channels) views; the vertical pass runs first, on whole rows, where it vectorises.
"""

from cython cimport view
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from anysupport_native._pixel cimport (
    as_accumulate_row,
    as_area_columns,
    as_halve_row1,
    as_halve_row3,
    as_lerp_columns,
    as_lerp_rows,
)


def halve(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels):
    """Exact 2x2 box average, (2h, 2w) to (h, w): (a + b + c + d + 2) >> 2."""
    cdef Py_ssize_t r, h = dst.shape[0], n = dst.shape[1] // channels
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    with nogil:
        for r in range(h):
            if channels == 1:
                as_halve_row1(s + 2 * r * ss, s + (2 * r + 1) * ss, d + r * ds, n)
            else:
                as_halve_row3(s + 2 * r * ss, s + (2 * r + 1) * ss, d + r * ds, n)


def bilinear(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels,
             const int32_t[::1] x0, const int32_t[::1] x1, const int32_t[::1] xq,
             const int32_t[::1] y0, const int32_t[::1] y1, const int32_t[::1] yq):
    """Bilinear with 8-bit fractions: round_half_up(sum(w_y w_x p) / 65536), exact."""
    cdef Py_ssize_t r, width = src.shape[1], h = dst.shape[0], n = dst.shape[1] // channels
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    cdef Py_ssize_t i
    # The row is padded by one pixel so the right tap always exists (weight 0 at the edge), and each
    # column's tap and fraction are packed into one word.
    cdef uint16_t *row = <uint16_t *>malloc((width + 3) * sizeof(uint16_t))
    cdef uint32_t *tab = <uint32_t *>malloc(n * sizeof(uint32_t))
    if row == NULL or tab == NULL:
        free(row)
        free(tab)
        raise MemoryError()
    with nogil:
        row[width] = row[width + 1] = row[width + 2] = 0
        for i in range(n):
            tab[i] = (<uint32_t>(x0[i] * channels) << 8) | <uint32_t>xq[i]
        for r in range(h):
            # Consecutive output rows between the same two source rows at the same fraction (integer
            # upscales) reuse the vertical pass.
            if r == 0 or y0[r] != y0[r - 1] or y1[r] != y1[r - 1] or yq[r] != yq[r - 1]:
                as_lerp_rows(s + y0[r] * ss, s + y1[r] * ss, row, <uint16_t>yq[r], width)
            as_lerp_columns(row, d + r * ds, tab, n, channels)
    free(row)
    free(tab)


def area(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels,
         const int32_t[::1] xs, const int32_t[::1] xn, const int32_t[:, ::1] xw,
         const int32_t[::1] ys, const int32_t[::1] yn, const int32_t[:, ::1] yw):
    """Area (box) resampling with 12-bit weights per axis: round_half_up(sum(w_y w_x p) / 2**24)."""
    cdef Py_ssize_t r, k, width = src.shape[1], h = dst.shape[0], n = dst.shape[1] // channels
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    cdef uint32_t *acc = <uint32_t *>malloc(width * sizeof(uint32_t))
    if acc == NULL:
        raise MemoryError()
    with nogil:
        for r in range(h):
            memset(acc, 0, width * sizeof(uint32_t))
            for k in range(yn[r]):
                as_accumulate_row(s + (ys[r] + k) * ss, acc, <uint32_t>yw[r, k], width)
            as_area_columns(acc, d + r * ds, &xs[0], &xn[0], &xw[0, 0], xw.shape[1], n, channels)
    free(acc)
