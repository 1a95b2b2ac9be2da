# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
# distutils: include_dirs = native/anysupport_native
# distutils: depends = native/anysupport_native/_yuv.h native/anysupport_native/_cpu.h
"""Colour conversion kernel: I420 (BT.601 limited range) to packed RGB24, exact integers (``_yuv.h``).

Called only through ``anysupport_native.convert``, which validates the planes and the output.
Bit-exact with ``_convert_reference``.
"""

from cython cimport view
from libc.stdint cimport uint8_t


cdef extern from "_yuv.h" nogil:
    void as_yuv_rows(const uint8_t *y0, const uint8_t *y1, const uint8_t *u, const uint8_t *v, uint8_t *rgb0,
                     uint8_t *rgb1, Py_ssize_t w)


def i420_to_rgb(const uint8_t[:, ::view.contiguous] y, const uint8_t[:, ::view.contiguous] u,
                const uint8_t[:, ::view.contiguous] v, uint8_t[:, ::view.contiguous] dst):
    """dst (h, w * 3) = the RGB24 pixels of the I420 frame (y, u, v)."""
    cdef Py_ssize_t h = y.shape[0], w = y.shape[1], r
    cdef const uint8_t *ys = &y[0, 0]
    cdef const uint8_t *us = &u[0, 0]
    cdef const uint8_t *vs = &v[0, 0]
    cdef uint8_t *d = &dst[0, 0]
    cdef Py_ssize_t sy = y.strides[0], su = u.strides[0], sv = v.strides[0], sd = dst.strides[0]
    with nogil:
        for r in range(0, h - 1, 2):
            as_yuv_rows(ys + r * sy, ys + (r + 1) * sy, us + (r // 2) * su, vs + (r // 2) * sv, d + r * sd,
                        d + (r + 1) * sd, w)
        if h % 2:
            as_yuv_rows(ys + (h - 1) * sy, NULL, us + (h // 2) * su, vs + (h // 2) * sv, d + (h - 1) * sd, NULL, w)
