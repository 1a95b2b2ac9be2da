"""NumPy reference of the compositing kernels (``_composite.pyx``): same arguments, same bytes.

The test oracle, and the implementation ``anysupport_native.composite`` falls back to when the
extension is not built or ``ANYSUPPORT_NATIVE=reference`` is set. Written for clarity: it blends the
whole visible overlay and ignores the dirty rectangles, which only let the kernel skip work (outside
them the caller promises the overlay is fully transparent, so the result is the same).
"""

import numpy as np


def _visible(frame_h, frame_w, overlay, x, y):
    """The frame box (x0, y0, x1, y1) the overlay covers and the overlay slice that lands there."""
    oh, ow = overlay.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + ow, frame_w), min(y + oh, frame_h)
    if x1 <= x0 or y1 <= y0:
        return None, None
    return (x0, y0, x1, y1), overlay[y0 - y : y1 - y, x0 - x : x1 - x]


def blend(under, over, alpha):
    """round((under * (255 - alpha) + over * alpha) / 255) in exact integer arithmetic."""
    under = under.astype(np.int32)
    return ((under * (255 - alpha) + over.astype(np.int32) * alpha + 127) // 255).astype(np.uint8)


def rgb_to_yuv(rgb):
    """BT.601 limited-range Y, U, V (int32) of full-range RGB, libyuv's 8-bit integer form."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    return y, u, v


def composite_rgb(frame, overlay, x, y, rects):
    box, ov = _visible(frame.shape[0], frame.shape[1], overlay, x, y)
    if box is None:
        return
    x0, y0, x1, y1 = box
    alpha = ov[..., 3:4].astype(np.int32)
    region = frame[y0:y1, x0:x1]
    region[...] = blend(region, ov[..., :3], alpha)


def _block_sum(a, h, w):
    """Sum over the 2x2 blocks of an (h, w) array, odd edges padded with zeros."""
    padded = np.zeros((h + h % 2, w + w % 2), dtype=np.int64)
    padded[:h, :w] = a
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).sum(axis=(1, 3))


def composite_i420(y_plane, u_plane, v_plane, overlay, x, y, rects):
    h, w = y_plane.shape
    box, ov = _visible(h, w, overlay, x, y)
    if box is None:
        return
    x0, y0, x1, y1 = box
    alpha = np.zeros((h, w), dtype=np.int64)
    alpha[y0:y1, x0:x1] = ov[..., 3]
    oy, ou, ov_ = rgb_to_yuv(ov)
    luma = y_plane[y0:y1, x0:x1]
    luma[...] = blend(luma, oy, alpha[y0:y1, x0:x1])
    # Chroma: the alpha-weighted mean over each 2x2 block of blending every pixel on its own,
    # (C * (255 n - A) + sum(a_i C_i)) / (255 n), rounded half up; n = frame pixels in the block.
    total_alpha = _block_sum(alpha, h, w)
    ones = _block_sum(np.ones((h, w), dtype=np.int64), h, w)
    den = 255 * ones
    for plane, chroma in ((u_plane, ou), (v_plane, ov_)):
        weighted = np.zeros((h, w), dtype=np.int64)
        weighted[y0:y1, x0:x1] = alpha[y0:y1, x0:x1] * chroma
        num = plane.astype(np.int64) * (den - total_alpha) + _block_sum(weighted, h, w)
        plane[...] = (num + den // 2) // den
