# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
# distutils: include_dirs = native/anysupport_native
# distutils: depends = native/anysupport_native/_resample.h native/anysupport_native/_cpu.h native/anysupport_native/_simd.h
"""Scaling kernels: separable bilinear and area resampling of 8-bit images with 1 or 3 channels.

Called only through ``anysupport_native.scale``, which validates the arrays and builds the tap tables
(the same tables drive ``_scale_reference``, so the two agree bit for bit). Images arrive as 2-D
(rows, width * channels) views. The horizontal pass runs first, once per needed source row, gathering
its taps with byte shuffles from tables built here once per (source, destination, channels) and
cached; the vertical pass then blends whole rows of its results (see ``_resample.h``).
"""

from cython cimport view
from libc.stdint cimport int16_t, int32_t, uint8_t
from libc.stdlib cimport free, malloc

cdef extern from "_resample.h" nogil:
    ctypedef struct as_lerp_table:
        pass
    ctypedef struct as_box_table:
        pass
    int as_cpu_level()
    as_lerp_table *as_lerp_table_new(const int32_t *x0, const int32_t *x1, const int32_t *xq, Py_ssize_t npix,
                                     int channels, Py_ssize_t src_bytes)
    int as_lerp_table_matches(const as_lerp_table *t, const int32_t *x0, const int32_t *x1, const int32_t *xq,
                              Py_ssize_t npix, int channels, Py_ssize_t src_bytes)
    void as_lerp_table_free(as_lerp_table *t)
    void as_lerp_h(const uint8_t *src, int16_t *dst, const as_lerp_table *t)
    void as_lerp_v(const int16_t *a, const int16_t *b, uint8_t *dst, int32_t q, Py_ssize_t n)
    as_box_table *as_box_table_new(const int32_t *xs, const int32_t *xn, const int32_t *xw, Py_ssize_t taps,
                                   Py_ssize_t npix, int channels, Py_ssize_t src_bytes)
    int as_box_table_matches(const as_box_table *t, const int32_t *xs, const int32_t *xn, const int32_t *xw,
                             Py_ssize_t taps, Py_ssize_t npix, int channels, Py_ssize_t src_bytes)
    void as_box_table_free(as_box_table *t)
    void as_box_h(const uint8_t *src, int32_t *dst, const as_box_table *t)
    void as_box_v(const int32_t **rows, const int32_t *w, int count, uint8_t *dst, Py_ssize_t n)
    void as_halve_rgb(const uint8_t *a, const uint8_t *b, uint8_t *dst, Py_ssize_t nout)
    void as_halve_plane(const uint8_t *a, const uint8_t *b, uint8_t *dst, Py_ssize_t n)


def simd_level():
    """The vector path the kernels take: "avx2", "ssse3" or "scalar" (``ANYSUPPORT_NATIVE_SIMD`` caps it)."""
    return ("scalar", "ssse3", "avx2")[as_cpu_level()]


# Shuffle tables of the horizontal passes, keyed by (kind, channels, source row bytes, output pixels)
# and checked against the tap tables they were built from. Read and replaced under the GIL; a table
# in use stays alive through the caller's reference.
cdef dict _tables = {}
cdef enum:
    MAX_TABLES = 32


cdef class _LerpTable:
    cdef as_lerp_table *t

    def __dealloc__(self):
        if self.t != NULL:
            as_lerp_table_free(self.t)


cdef class _BoxTable:
    cdef as_box_table *t

    def __dealloc__(self):
        if self.t != NULL:
            as_box_table_free(self.t)


cdef void _remember(tuple key, object table):
    if len(_tables) >= MAX_TABLES:
        _tables.clear()
    _tables[key] = table


cdef _LerpTable _lerp_table(const int32_t[::1] x0, const int32_t[::1] x1, const int32_t[::1] xq, int channels,
                            Py_ssize_t src_bytes):
    cdef Py_ssize_t npix = x0.shape[0]
    key = ("bilinear", channels, src_bytes, npix)
    cdef _LerpTable table = _tables.get(key)
    if table is not None and as_lerp_table_matches(table.t, &x0[0], &x1[0], &xq[0], npix, channels, src_bytes):
        return table
    table = _LerpTable()
    table.t = as_lerp_table_new(&x0[0], &x1[0], &xq[0], npix, channels, src_bytes)
    if table.t == NULL:
        raise MemoryError()
    _remember(key, table)
    return table


cdef _BoxTable _box_table(const int32_t[::1] xs, const int32_t[::1] xn, const int32_t[:, ::1] xw, int channels,
                          Py_ssize_t src_bytes):
    cdef Py_ssize_t npix = xs.shape[0], taps = xw.shape[1]
    key = ("area", channels, src_bytes, npix)
    cdef _BoxTable table = _tables.get(key)
    if table is not None and as_box_table_matches(table.t, &xs[0], &xn[0], &xw[0, 0], taps, npix, channels,
                                                  src_bytes):
        return table
    table = _BoxTable()
    table.t = as_box_table_new(&xs[0], &xn[0], &xw[0, 0], taps, npix, channels, src_bytes)
    if table.t == NULL:
        raise MemoryError()
    _remember(key, table)
    return table


def halve(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels):
    """Exact 2x2 box average, (2h, 2w) to (h, w): (a + b + c + d + 2) >> 2."""
    cdef Py_ssize_t r, h = dst.shape[0], n = dst.shape[1] // channels
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    with nogil:
        for r in range(h):
            if channels == 1:
                as_halve_plane(s + 2 * r * ss, s + (2 * r + 1) * ss, d + r * ds, n)
            else:
                as_halve_rgb(s + 2 * r * ss, s + (2 * r + 1) * ss, d + r * ds, 3 * n)


def bilinear(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels,
             const int32_t[::1] x0, const int32_t[::1] x1, const int32_t[::1] xq,
             const int32_t[::1] y0, const int32_t[::1] y1, const int32_t[::1] yq):
    """Bilinear with 8-bit fractions: round_half_up(sum(w_y w_x p) / 65536), exact."""
    cdef Py_ssize_t r, h = dst.shape[0], n = dst.shape[1]
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    cdef _LerpTable table = _lerp_table(x0, x1, xq, channels, src.shape[1])
    cdef const as_lerp_table *t = table.t
    # Two rows of horizontal results, each tagged with the source row it holds; consecutive output
    # rows share their source rows when zooming in, so each source row goes through the horizontal
    # pass once.
    cdef int16_t *rows = <int16_t *>malloc(2 * n * sizeof(int16_t))
    cdef int16_t *slot[2]
    cdef Py_ssize_t tag[2]
    cdef Py_ssize_t a, b, ia, ib
    if rows == NULL:
        raise MemoryError()
    slot[0] = rows
    slot[1] = rows + n
    tag[0] = tag[1] = -1
    with nogil:
        for r in range(h):
            a = y0[r]
            b = y1[r] if yq[r] != 0 else a
            if tag[0] == a:
                ia = 0
            elif tag[1] == a:
                ia = 1
            else:
                ia = 1 if tag[0] == b else 0
                as_lerp_h(s + a * ss, slot[ia], t)
                tag[ia] = a
            if b == a:
                ib = ia
            elif tag[1 - ia] == b:
                ib = 1 - ia
            else:
                ib = 1 - ia
                as_lerp_h(s + b * ss, slot[ib], t)
                tag[ib] = b
            as_lerp_v(slot[ia], slot[ib], d + r * ds, yq[r], n)
    free(rows)


def area(const uint8_t[:, ::view.contiguous] src, uint8_t[:, ::view.contiguous] dst, int channels,
         const int32_t[::1] xs, const int32_t[::1] xn, const int32_t[:, ::1] xw,
         const int32_t[::1] ys, const int32_t[::1] yn, const int32_t[:, ::1] yw):
    """Area (box) resampling with 12-bit weights per axis: round_half_up(sum(w_y w_x p) / 2**24)."""
    cdef Py_ssize_t r, k, row, h = dst.shape[0], n = dst.shape[1], taps = yw.shape[1]
    cdef const uint8_t *s = &src[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    cdef _BoxTable table = _box_table(xs, xn, xw, channels, src.shape[1])
    cdef const as_box_table *t = table.t
    # A ring of horizontal results, one slot per vertical tap: source row j lives in slot j % taps,
    # so the rows of one output row (consecutive, at most taps of them) never collide.
    cdef int32_t *buf = <int32_t *>malloc(taps * n * sizeof(int32_t))
    cdef Py_ssize_t *tag = <Py_ssize_t *>malloc(taps * sizeof(Py_ssize_t))
    cdef const int32_t **rows = <const int32_t **>malloc(taps * sizeof(int32_t *))
    if buf == NULL or tag == NULL or rows == NULL:
        free(buf)
        free(tag)
        free(rows)
        raise MemoryError()
    with nogil:
        for k in range(taps):
            tag[k] = -1
        for r in range(h):
            for k in range(yn[r]):
                row = ys[r] + k
                if tag[row % taps] != row:
                    as_box_h(s + row * ss, buf + (row % taps) * n, t)
                    tag[row % taps] = row
                rows[k] = buf + (row % taps) * n
            as_box_v(rows, &yw[r, 0], yn[r], d + r * ds, n)
    free(buf)
    free(tag)
    free(rows)
