"""NumPy reference of the rotation kernels (``_rotate.pyx``): same arguments, same bytes."""

import numpy as np


def rotate_plane(src, dst, quarter_turns):
    np.copyto(dst, np.rot90(src, -quarter_turns))


def rotate_rgb(src, dst, quarter_turns):
    np.copyto(dst, np.rot90(src, -quarter_turns, axes=(0, 1)))
