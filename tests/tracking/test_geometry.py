"""Homography helpers: normalised coordinates, regions."""

from __future__ import annotations

import numpy as np
from anysupport_client.tracking import from_normalised, project, to_normalised
from anysupport_client.tracking.geometry import clip_region, grow_region, normalised


def test_normalised_round_trip_between_sizes():
    h = np.array([[1.1, 0.05, 12.0], [-0.03, 0.95, -8.0], [1e-4, -2e-4, 1.0]])
    n = to_normalised(h, (640, 480), (1280, 720))
    back = from_normalised(n, (640, 480), (1280, 720))
    np.testing.assert_allclose(back, normalised(h), atol=1e-12)
    # a normalised point goes where the pixel point goes, in fractions of each frame
    p = np.array([[320.0, 200.0]])
    q = project(h, p)[0] / (1280, 720)
    np.testing.assert_allclose(project(n, p / (640, 480))[0], q, atol=1e-12)


def test_regions_are_clipped_and_grown():
    assert clip_region((-10, -10, 50, 50), 640, 480) == (0, 0, 40, 40)
    assert clip_region((630, 470, 50, 50), 640, 480, margin=5) == (630, 470, 5, 5)
    assert clip_region((700, 10, 5, 5), 640, 480) is None
    assert grow_region((100, 100, 10, 200), 5, 120) == (45.0, 95.0, 120, 210)
