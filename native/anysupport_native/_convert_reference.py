"""NumPy reference of the colour conversion kernel (``_convert.pyx``): same arguments, same bytes."""

import numpy as np

YG, VR, UG, VG, UB, YOFF = 19003, 102, 25, 52, 129, -1160


def i420_to_rgb(y, u, v, dst):
    h, w = y.shape
    yt = (np.maximum(y, 16).astype(np.int64) * 257 * YG) >> 16
    d = np.repeat(np.repeat(u.astype(np.int64) - 128, 2, 0), 2, 1)[:h, :w]
    e = np.repeat(np.repeat(v.astype(np.int64) - 128, 2, 0), 2, 1)[:h, :w]
    rgb = np.stack([yt + VR * e + YOFF, yt - UG * d - VG * e + YOFF, yt + UB * d + YOFF], axis=2) >> 6
    dst[...] = np.clip(rgb, 0, 255).astype(np.uint8).reshape(dst.shape)
