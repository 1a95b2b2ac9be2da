"""NumPy reference of the rotation kernels (``_rotate.pyx``): same arguments, same bytes."""

import numpy as np


def rotate_plane(src, dst, quarter_turns):
    np.copyto(dst, np.rot90(src, -quarter_turns))


def rotate_rgb(src, dst, quarter_turns):
    np.copyto(dst, np.rot90(src, -quarter_turns, axes=(0, 1)))


def rotate_i420(y, u, v, oy, ou, ov, quarter_turns):
    for src, dst in ((y, oy), (u, ou), (v, ov)):
        rotate_plane(src, dst, quarter_turns)
