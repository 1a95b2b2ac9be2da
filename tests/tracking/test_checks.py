"""check_homography: every rule that keeps a wrong homography from being used, one at a time."""

from __future__ import annotations

import numpy as np
import pytest
from anysupport_client.tracking import Evidence, Limits, check_homography, project

REGION = (100.0, 100.0, 200.0, 150.0)
SHIFT = np.array([[1.0, 0, 12], [0, 1, -7], [0, 0, 1]])


def evidence(n=40, *, expected=None, valid=None, spread=1.0, residual=0.2, seed=0):
    rng = np.random.default_rng(seed)
    x, y, w, h = REGION
    src = np.c_[x + w / 2 + (rng.random(n) - 0.5) * w * spread, y + h / 2 + (rng.random(n) - 0.5) * h * spread]
    return Evidence(expected if expected is not None else n, valid if valid is not None else n, src,
                    np.full(n, residual))


def test_a_good_homography_passes():
    verdict = check_homography(SHIFT, evidence(), REGION)
    assert verdict and verdict.reason == "ok"


@pytest.mark.parametrize(
    "ev, reason",
    [
        (evidence(6), "few_inliers"),
        (evidence(20, valid=50), "inlier_ratio"),
        (evidence(20, expected=200), "support"),
        (evidence(residual=1.5), "residual"),
        (evidence(spread=0.15), "spread"),
    ],
)
def test_weak_evidence_is_refused(ev, reason):
    verdict = check_homography(SHIFT, ev, REGION)
    assert not verdict and verdict.reason == reason


def test_no_estimate_is_refused():
    assert check_homography(None, evidence(), REGION).reason == "no_estimate"


def _through(dst):
    import cv2

    x, y, w, h = REGION
    src = np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    return cv2.getPerspectiveTransform(src, np.float32(dst)).astype(np.float64)


@pytest.mark.parametrize(
    "h, reason",
    [
        (np.array([[1.0, 0, 0], [0, 1, 0], [0, -0.01, 1]]), "behind_camera"),  # the horizon crosses the region
        (np.array([[-1.0, 0, 500], [0, 1, 0], [0, 0, 1]]), "flipped"),  # a mirror image
        (_through([[100, 100], [300, 100], [160, 160], [100, 250]]), "behind_camera"),  # folded: the same
        (np.diag([0.1, 0.1, 1.0]), "area_change"),
        (np.diag([8.0, 0.5, 1.0]), "side_change"),
        (np.full((3, 3), np.nan), "not_finite"),
    ],
)
def test_ill_conditioned_homographies_are_refused(h, reason):
    verdict = check_homography(h, evidence(), REGION)
    assert not verdict and verdict.reason == reason


def test_a_jump_from_the_previous_homography_is_refused():
    jumped = SHIFT.copy()
    jumped[0, 2] += 100
    assert check_homography(jumped, evidence(), REGION, previous=SHIFT).reason == "jump"
    # the same move over three frames is plausible
    assert check_homography(jumped, evidence(), REGION, previous=SHIFT, frames_since=3)


def test_limits_are_adjustable_and_stricter_for_a_surface_found_again():
    ev = evidence(12)
    assert check_homography(SHIFT, ev, REGION)
    strict = Limits().stricter()
    assert strict.min_inliers >= 15 and check_homography(SHIFT, ev, REGION, strict).reason == "few_inliers"
    assert check_homography(SHIFT, evidence(8), REGION, Limits(min_inliers=6))


def test_project_sends_points_behind_the_camera_to_infinity():
    h = np.array([[1.0, 0, 0], [0, 1, 0], [0, -0.01, 1]])
    out = project(h, [(0, 0), (0, 200)])
    assert np.allclose(out[0], (0, 0)) and np.all(np.isinf(out[1]))
