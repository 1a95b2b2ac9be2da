# Inline pixel helpers shared by the frame kernels (_composite, _scale, _rotate).
#
# Every formula here has a twin in the NumPy references (_composite_reference and friends), and the
# two must stay identical: the tests compare them bit for bit.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t


cdef extern from "_simd.h" nogil:
    int as_alpha_class8(const uint8_t *rgba)
    int as_alpha_any(const uint8_t *rgba, Py_ssize_t n)
    void as_transpose8x8(const uint8_t *src, Py_ssize_t sstride, uint8_t *dst, Py_ssize_t dstride)
    void as_halve_row1(const uint8_t *a, const uint8_t *b, uint8_t *dst, Py_ssize_t n)
    void as_blend_rgb_run(uint8_t *f, const uint8_t *o, Py_ssize_t n)
    void as_blend_i420_blocks(uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v,
                              const uint8_t *o0, const uint8_t *o1, Py_ssize_t n)


cdef inline uint8_t blend_u8(uint32_t under, uint32_t over, uint32_t alpha) noexcept nogil:
    # round((under * (255 - alpha) + over * alpha) / 255), exactly, for 8-bit inputs (Blinn's
    # divide-by-255); the sum plus 128 stays below 2**16.
    cdef uint32_t t = under * (255 - alpha) + over * alpha + 128
    return <uint8_t>((t + (t >> 8)) >> 8)


# BT.601 limited range ("studio swing") from full-range RGB, the 8-bit integer form used by libyuv
# and most encoders. Right shifts of negative ints are arithmetic (floor), as in NumPy.
cdef inline int32_t rgb_to_y(int32_t r, int32_t g, int32_t b) noexcept nogil:
    return ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16


cdef inline int32_t rgb_to_u(int32_t r, int32_t g, int32_t b) noexcept nogil:
    return ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128


cdef inline int32_t rgb_to_v(int32_t r, int32_t g, int32_t b) noexcept nogil:
    return ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128


cdef inline Py_ssize_t clamp_index(int64_t v, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    if v < lo:
        return lo
    if v > hi:
        return hi
    return <Py_ssize_t>v


cdef inline void mark_tile_band(const int64_t *rects, Py_ssize_t nrects, int64_t x, int64_t y,
                                Py_ssize_t vx0, Py_ssize_t vx1, Py_ssize_t band0, Py_ssize_t band1,
                                Py_ssize_t tile, uint8_t *marks) noexcept nogil:
    # Mark the tiles of one band of frame rows [band0, band1) that any rect (x, y, w, h in overlay
    # coordinates, shifted by the overlay offset) touches. Tiles sit on a grid anchored at the frame's
    # origin; tile is even, so the runs cut from a band never split a 2x2 chroma block.
    cdef Py_ssize_t i, t, t0, t1, rx0, rx1
    cdef int64_t ry0, ry1
    cdef const int64_t *rect
    for i in range(nrects):
        rect = rects + 4 * i
        ry0 = rect[1] + y
        ry1 = ry0 + rect[3]
        if ry1 <= band0 or ry0 >= band1 or rect[2] <= 0:
            continue
        rx0 = clamp_index(rect[0] + x, vx0, vx1)
        rx1 = clamp_index(rect[0] + x + rect[2], vx0, vx1)
        if rx1 <= rx0:
            continue
        t0 = rx0 // tile
        t1 = (rx1 - 1) // tile
        for t in range(t0, t1 + 1):
            marks[t] = 1
