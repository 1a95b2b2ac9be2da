"""DrawingAnchors: the console's trackers by drawing id, answering in normalised coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from anysupport_client.tracking import DrawingAnchors, bounding_box, from_normalised

from tests.support.scenes import REF_SIZE, moving, stroke_error


def _points(scene):
    return [(x / REF_SIZE[0], y / REF_SIZE[1]) for x, y in scene.stroke]


def test_each_drawing_follows_its_surface_in_normalised_coordinates():
    scene = moving(150, seconds=1.0)
    anchors = DrawingAnchors()
    assert anchors.add("a1", scene.render(0), _points(scene))
    assert anchors.add("r2", scene.render(0), [(0.1, 0.1), (0.3, 0.25)])
    assert len(anchors) == 2
    for i in range(1, 12):
        out = anchors.update(scene.render(i))
        assert set(out) == {"a1", "r2"}
    h = from_normalised(out["a1"], REF_SIZE, REF_SIZE)
    assert stroke_error(h, scene.truth(0, 11), scene.stroke_points()) < 1.0
    anchors.remove("r2")
    assert set(anchors.update(scene.render(12))) == {"a1"}
    anchors.clear()
    assert anchors.update(scene.render(13)) == {}


def test_a_drawing_on_a_flat_surface_is_reported_untrackable():
    anchors = DrawingAnchors()
    assert anchors.add("t1", np.full((480, 640), 120, np.uint8), [(0.5, 0.5)]) is False
    assert len(anchors) == 0


def test_bounding_box_of_normalised_points():
    assert bounding_box([(0.25, 0.5), (0.5, 0.75)], 640, 480) == (160.0, 240.0, 160.0, 120.0)
    assert bounding_box([(0.5, 0.5)], 640, 480) == (320.0, 240.0, 1.0, 1.0)  # a text's single point
    with pytest.raises(ValueError, match="point"):
        bounding_box([], 640, 480)
