"""The synthetic scenes themselves: their truth matches their pictures, and their files read back.

The tracking tests are only as good as this helper (``tests/support/scenes.py``), so it is tested too.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.support import scenes
from tests.support.scenes import REF_SIZE, moving


def _ncc(a, b):
    a, b = a.astype(np.float64) - a.mean(), b.astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize("size", [REF_SIZE, (1280, 720)])
def test_the_truth_maps_the_drawing_frame_onto_later_frames(size):
    scene = moving(200, seconds=2.0, noise=0.0, exposure=0.0)
    first, later = scene.render(0, size), scene.render(40, size)
    warped = cv2.warpPerspective(first, scene.truth(0, 40, size), size)
    rx, ry, rw, rh = scene.region_at(size)
    x, y = (int(v) for v in scenes.project(scene.truth(0, 40, size), [(rx, ry)])[0])
    crop = np.s_[max(0, y):y + rh, max(0, x):x + rw]
    assert _ncc(warped[crop], later[crop]) > 0.9
    # and not by accident: the untouched first frame does not match
    assert _ncc(first[crop], later[crop]) < 0.6


def test_peak_speed_is_the_one_asked_for():
    scene = moving(200)
    peak = max(scene.speed_at(i) for i in range(scene.frames))
    assert 180 <= peak <= 205


def test_visible_fraction_follows_the_hand_and_the_glance_away():
    hand = scenes.HAND
    assert hand.visible_fraction(0) == 1.0
    assert min(hand.visible_fraction(i) for i in range(hand.frames)) < 0.4
    away = scenes.AWAY
    assert min(away.visible_fraction(i) for i in range(away.frames)) == 0.0
    assert away.visible_fraction(away.frames - 1) == 1.0


def test_h264_units_are_cached_and_decode_to_the_level_size(tmp_path, monkeypatch):
    monkeypatch.setattr(scenes, "CACHE_DIR", tmp_path)
    scene = moving(100, seconds=0.3)
    units = scene.encoded("low")
    assert len(units) == scene.frames and list(tmp_path.iterdir())
    assert scene.encoded("low") == units  # read back from the cache
    frames = list(scene.decoded("low", form="grey"))
    assert frames[0].shape == (240, 320)
    rgb = next(scene.decoded("low"))
    assert rgb.shape == (240, 320, 3)
    with pytest.raises(ValueError, match="form"):
        next(scene.decoded("low", form="yuv"))


def test_y4m_round_trip(tmp_path):
    scene = moving(100, seconds=0.2)
    path = scene.write_y4m(tmp_path / "scene.y4m")
    assert path.read_bytes().startswith(b"YUV4MPEG2 W640 H480 F30:1")
    frames = list(scenes.read_y4m(path))
    assert len(frames) == scene.frames
    # I420 keeps the picture within chroma subsampling and rounding
    assert np.abs(frames[2].astype(int) - scene.render(2).astype(int)).mean() < 4
