"""NumPy reference of the scaling kernels (``_scale.pyx``): same arguments and tap tables, same bytes.

Images are 2-D (rows, width * channels) arrays, as the kernels receive them; the arithmetic is exact
integer arithmetic, so the result does not depend on the order of the passes.
"""

import numpy as np


def _pixels(img, channels):
    return img.reshape(img.shape[0], -1, channels).astype(np.int64)


def halve(src, dst, channels):
    p = _pixels(src, channels)
    total = p[0::2, 0::2] + p[0::2, 1::2] + p[1::2, 0::2] + p[1::2, 1::2]
    dst[...] = ((total + 2) >> 2).reshape(dst.shape)


def bilinear(src, dst, channels, x0, x1, xq, y0, y1, yq):
    p = _pixels(src, channels)
    yq = yq.astype(np.int64)[:, None, None]
    xq = xq.astype(np.int64)[None, :, None]
    rows = p[y0] * (256 - yq) + p[y1] * yq
    total = rows[:, x0] * (256 - xq) + rows[:, x1] * xq
    dst[...] = ((total + 32768) >> 16).reshape(dst.shape)


def _weighted_sum(p, axis, start, count, weights):
    """sum_k weights[:, k] * p[start + k] along axis, taps past count weighted 0."""
    out = 0
    size = p.shape[axis]
    for k in range(weights.shape[1]):
        idx = np.minimum(start + k, size - 1)
        w = np.where(k < count, weights[:, k], 0).astype(np.int64)
        shape = [1, 1, 1]
        shape[axis] = -1
        out = out + np.take(p, idx, axis=axis) * w.reshape(shape)
    return out


def area(src, dst, channels, xs, xn, xw, ys, yn, yw):
    p = _pixels(src, channels)
    rows = _weighted_sum(p, 0, ys, yn, yw)
    total = _weighted_sum(rows, 1, xs, xn, xw)
    dst[...] = ((total + (1 << 23)) >> 24).reshape(dst.shape)
