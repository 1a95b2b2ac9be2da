# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3
"""Compositing kernels: a straight-alpha RGBA overlay over an RGB24 or I420 frame, in place.

Called only through ``anysupport_native.composite``, which validates every argument; the formulas
are those of ``_composite_reference`` and must stay bit-identical to it.
"""

from cython cimport view
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.stdlib cimport calloc, free

from anysupport_native._pixel cimport (
    as_alpha_any,
    as_alpha_class8,
    as_blend_i420_blocks,
    as_blend_rgb_run,
    blend_u8,
    mark_tile_band,
    rgb_to_u,
    rgb_to_v,
    rgb_to_y,
)

# Granularity of the dirty-rectangle runs. Even, so a run never splits a 2x2 chroma block.
cdef enum:
    TILE = 16


cdef struct Target:
    uint8_t *p0
    uint8_t *p1
    uint8_t *p2
    Py_ssize_t s0
    Py_ssize_t s1
    Py_ssize_t s2
    Py_ssize_t width
    Py_ssize_t height
    const uint8_t *ov
    Py_ssize_t os
    int64_t x
    int64_t y


ctypedef void (*box_fn)(const Target *t, Py_ssize_t bx0, Py_ssize_t by0,
                        Py_ssize_t bx1, Py_ssize_t by1) noexcept nogil


cdef inline void blend_row_rgb(uint8_t *f, const uint8_t *o, Py_ssize_t n) noexcept nogil:
    # Groups of eight pixels: all-transparent groups cost four loads and are skipped; runs of the
    # others go to the vectorised blend in one call.
    cdef Py_ssize_t i = 0, start = -1
    while i + 8 <= n:
        if as_alpha_class8(o + 4 * i) == 0:
            if start >= 0:
                as_blend_rgb_run(f + 3 * start, o + 4 * start, i - start)
                start = -1
        elif start < 0:
            start = i
        i += 8
    if start < 0:
        start = i
    if start < n:
        as_blend_rgb_run(f + 3 * start, o + 4 * start, n - start)


cdef void rgb_box(const Target *t, Py_ssize_t bx0, Py_ssize_t by0,
                  Py_ssize_t bx1, Py_ssize_t by1) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(by0, by1):
        blend_row_rgb(t.p0 + r * t.s0 + bx0 * 3, t.ov + (r - t.y) * t.os + (bx0 - t.x) * 4, bx1 - bx0)


cdef void i420_block(const Target *t, Py_ssize_t cx, Py_ssize_t cy, Py_ssize_t r0, Py_ssize_t r1,
                     Py_ssize_t bx0, Py_ssize_t bx1) noexcept nogil:
    # One chroma block cut by the edge of the box or of the frame. Luma is blended per pixel; the
    # chroma sample becomes (C * (255 n - A) + sum(a_i C_i)) / (255 n), n = frame pixels in the block,
    # A = sum(a_i): the mean of blending every pixel of the block on its own.
    cdef Py_ssize_t r, c
    cdef Py_ssize_t c0 = max(2 * cx, bx0)
    cdef Py_ssize_t c1 = min(2 * cx + 1, bx1 - 1)
    cdef const uint8_t *px
    cdef uint8_t *yrow
    cdef uint32_t a, A = 0, den
    cdef int64_t su = 0, sv = 0
    cdef int R, G, B
    for r in range(r0, r1 + 1):
        yrow = t.p0 + r * t.s0
        for c in range(c0, c1 + 1):
            px = t.ov + (r - t.y) * t.os + (c - t.x) * 4
            a = px[3]
            if a:
                R = px[0]
                G = px[1]
                B = px[2]
                yrow[c] = blend_u8(yrow[c], rgb_to_y(R, G, B), a)
                A += a
                su += a * rgb_to_u(R, G, B)
                sv += a * rgb_to_v(R, G, B)
    if A:
        den = 255 * (min(2 * cy + 1, t.height - 1) - 2 * cy + 1) * (min(2 * cx + 1, t.width - 1) - 2 * cx + 1)
        r = cy * t.s1 + cx
        t.p1[r] = <uint8_t>((t.p1[r] * <int64_t>(den - A) + su + den // 2) // den)
        r = cy * t.s2 + cx
        t.p2[r] = <uint8_t>((t.p2[r] * <int64_t>(den - A) + sv + den // 2) // den)


cdef inline bint rows_transparent(const Target *t, Py_ssize_t r0, Py_ssize_t r1,
                                  Py_ssize_t lx0, Py_ssize_t lx1) noexcept nogil:
    if as_alpha_any(t.ov + (r0 - t.y) * t.os + (lx0 - t.x) * 4, lx1 - lx0):
        return False
    return r1 == r0 or not as_alpha_any(t.ov + (r1 - t.y) * t.os + (lx0 - t.x) * 4, lx1 - lx0)


cdef inline void i420_run(const Target *t, Py_ssize_t cy, Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    as_blend_i420_blocks(
        t.p0 + 2 * cy * t.s0 + 2 * k0,
        t.p0 + (2 * cy + 1) * t.s0 + 2 * k0,
        t.p1 + cy * t.s1 + k0,
        t.p2 + cy * t.s2 + k0,
        t.ov + (2 * cy - t.y) * t.os + (2 * k0 - t.x) * 4,
        t.ov + (2 * cy + 1 - t.y) * t.os + (2 * k0 - t.x) * 4,
        k1 - k0,
    )


cdef void i420_box(const Target *t, Py_ssize_t bx0, Py_ssize_t by0,
                   Py_ssize_t bx1, Py_ssize_t by1) noexcept nogil:
    # Whole 2x2 blocks go to the vectorised kernel in runs of non-transparent 16-pixel groups; blocks
    # cut by the box or the frame edge (odd offsets and sizes) take the per-block path.
    cdef Py_ssize_t cy, cx, r0, r1, fa, fb, k, start
    for cy in range(by0 // 2, (by1 - 1) // 2 + 1):
        r0 = max(2 * cy, by0)
        r1 = min(2 * cy + 1, by1 - 1)
        if r0 != 2 * cy or r1 != 2 * cy + 1:
            for cx in range(bx0 // 2, (bx1 - 1) // 2 + 1, 8):
                if rows_transparent(t, r0, r1, max(2 * cx, bx0), min(2 * cx + 16, bx1)):
                    continue
                for k in range(cx, min(cx + 8, (bx1 - 1) // 2 + 1)):
                    i420_block(t, k, cy, r0, r1, bx0, bx1)
            continue
        fa = (bx0 + 1) // 2
        fb = bx1 // 2
        if bx0 & 1:
            i420_block(t, bx0 // 2, cy, r0, r1, bx0, bx1)
        if bx1 & 1:
            i420_block(t, bx1 // 2, cy, r0, r1, bx0, bx1)
        k = fa
        start = -1
        while k < fb:
            if rows_transparent(t, r0, r1, 2 * k, 2 * min(k + 8, fb)):
                if start >= 0:
                    i420_run(t, cy, start, k)
                    start = -1
            elif start < 0:
                start = k
            k += 8
        if start >= 0:
            i420_run(t, cy, start, fb)


cdef int run_boxes(const Target *t, box_fn fn, const int64_t[:, ::1] rects, Py_ssize_t vx0,
                   Py_ssize_t vy0, Py_ssize_t vx1, Py_ssize_t vy1) noexcept nogil:
    # Composite only the tiles the dirty rectangles touch, as disjoint runs of tiles per band of rows,
    # so overlapping rectangles never composite a pixel twice. Returns -1 when out of memory.
    cdef Py_ssize_t ntiles = (vx1 - 1) // TILE + 1
    cdef Py_ssize_t band, b0, b1, k, start
    cdef uint8_t *marks = <uint8_t *>calloc(ntiles + 1, 1)
    if marks == NULL:
        return -1
    for band in range(vy0 // TILE, (vy1 - 1) // TILE + 1):
        b0 = max(band * TILE, vy0)
        b1 = min(band * TILE + TILE, vy1)
        for k in range(ntiles + 1):
            marks[k] = 0
        mark_tile_band(&rects[0, 0], rects.shape[0], t.x, t.y, vx0, vx1, b0, b1, TILE, marks)
        k = 0
        while k < ntiles:
            if not marks[k]:
                k += 1
                continue
            start = k
            while marks[k]:
                k += 1
            fn(t, max(start * TILE, vx0), b0, min(k * TILE, vx1), b1)
    free(marks)
    return 0


cdef int composite(Target *t, box_fn fn, Py_ssize_t ow, Py_ssize_t oh,
                   const int64_t[:, ::1] rects) noexcept nogil:
    cdef Py_ssize_t vx0 = <Py_ssize_t>max(t.x, 0)
    cdef Py_ssize_t vy0 = <Py_ssize_t>max(t.y, 0)
    cdef Py_ssize_t vx1 = <Py_ssize_t>min(t.x + ow, <int64_t>t.width)
    cdef Py_ssize_t vy1 = <Py_ssize_t>min(t.y + oh, <int64_t>t.height)
    if vx1 <= vx0 or vy1 <= vy0:
        return 0
    if rects is None:
        fn(t, vx0, vy0, vx1, vy1)
        return 0
    return run_boxes(t, fn, rects, vx0, vy0, vx1, vy1)


def composite_rgb(uint8_t[:, :, ::view.contiguous] frame,
                  const uint8_t[:, :, ::view.contiguous] overlay,
                  int64_t x, int64_t y, const int64_t[:, ::1] rects):
    """Blend ``overlay`` (h, w, 4) onto ``frame`` (H, W, 3) at (x, y); pixels packed within rows."""
    cdef Target t
    cdef int rc
    t.p0 = &frame[0, 0, 0]
    t.s0 = frame.strides[0]
    t.width = frame.shape[1]
    t.height = frame.shape[0]
    t.ov = &overlay[0, 0, 0]
    t.os = overlay.strides[0]
    t.x = x
    t.y = y
    with nogil:
        rc = composite(&t, rgb_box, overlay.shape[1], overlay.shape[0], rects)
    if rc:
        raise MemoryError()


def composite_i420(uint8_t[:, ::view.contiguous] y_plane,
                   uint8_t[:, ::view.contiguous] u_plane,
                   uint8_t[:, ::view.contiguous] v_plane,
                   const uint8_t[:, :, ::view.contiguous] overlay,
                   int64_t x, int64_t y, const int64_t[:, ::1] rects):
    """Blend ``overlay`` onto an I420 frame's planes (H, W), (ceil(H/2), ceil(W/2)) x 2 at (x, y)."""
    cdef Target t
    cdef int rc
    t.p0 = &y_plane[0, 0]
    t.p1 = &u_plane[0, 0]
    t.p2 = &v_plane[0, 0]
    t.s0 = y_plane.strides[0]
    t.s1 = u_plane.strides[0]
    t.s2 = v_plane.strides[0]
    t.width = y_plane.shape[1]
    t.height = y_plane.shape[0]
    t.ov = &overlay[0, 0, 0]
    t.os = overlay.strides[0]
    t.x = x
    t.y = y
    with nogil:
        rc = composite(&t, i420_box, overlay.shape[1], overlay.shape[0], rects)
    if rc:
        raise MemoryError()
