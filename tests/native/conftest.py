"""Shared pieces of the frame-kernel tests (composite, scale, rotate).

Every test compares the public API (the Cython kernels, or the NumPy reference when
``ANYSUPPORT_NATIVE=reference`` is set) with ``<module>.reference``, the NumPy reference behind the
same argument checks. CI runs this directory both ways.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from anysupport_native.planes import I420, chroma_size
from hypothesis import settings

# Modest example counts: the whole kernel suite must stay well under a minute on two cores.
settings.register_profile("kernels", max_examples=60, deadline=None)

# Sizes from 1x1 to 1920x1080, most of them small and odd-friendly so the edge paths get exercised.
SMALL = (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65)


def random_image(rng, shape):
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def i420(rng, width, height, lo=0, hi=256):
    """A random I420 frame of width x height (values in [lo, hi))."""
    cw, ch = chroma_size(width, height)
    return I420(rng.integers(lo, hi, (height, width), dtype=np.uint8), rng.integers(lo, hi, (ch, cw), dtype=np.uint8),
                rng.integers(lo, hi, (ch, cw), dtype=np.uint8))


def run_threaded(fn, jobs, workers=4):
    """Run fn(*job) for every job on a thread pool (the kernels release the GIL); results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: fn(*job), jobs))


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)
