"""The check every homography passes before it is used: the feature, not a detail.

Plain chained optical flow once accepted a wrong homography and kept a drawing 530 px off for three
seconds. Here a homography estimated from point matches is used only when all of these hold
(``Limits`` holds the numbers; the tracker and the customer-side composition both call
``check_homography``, so the rule is written once):

- **enough evidence**: at least ``min_inliers`` RANSAC inliers, which are at least ``min_inlier_ratio``
  of the matches that survived the forward-backward test, and at least ``min_support`` of the points
  that should be visible (so a hand covering most of the surface hides the drawing rather than
  letting a corner of it decide);
- **a good fit**: the median reprojection error of the inliers is at most ``max_residual`` pixels;
- **spread**: the inliers' convex hull covers at least ``min_spread`` of the tracked region, since a
  homography fitted to a cluster extrapolates badly to the rest of the drawing;
- **conditioning**: the region's corners stay in front of the camera (the horizon line does not cross
  the region, so its image stays a convex quadrilateral), keep their orientation (not mirrored), and
  no side or the area changes by more than ``max_scale_change`` (an exploding or collapsing
  quadrilateral is a wrong model, whatever the inliers say);
- **plausibility**: compared with the previous accepted homography (``previous``), no corner of the
  region moved more than ``max_jump`` pixels per frame since then.

The forward-backward test itself (a match is kept only if tracking it back lands within
``max_fb_error`` of where it started) happens where the matches are made; its limit lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import corners, polygon_area, project


@dataclass(frozen=True)
class Limits:
    min_inliers: int = 10
    min_inlier_ratio: float = 0.5
    min_support: float = 0.15
    max_residual: float = 1.0  # px, median over the inliers
    min_spread: float = 0.08  # of the region's area
    max_scale_change: float = 6.0  # per side, and squared for the area
    max_jump: float = 60.0  # px per frame, at the region's corners
    max_fb_error: float = 0.75  # px

    def stricter(self) -> Limits:
        """The limits for a surface found again (no previous homography to compare with)."""
        return Limits(
            min_inliers=max(self.min_inliers, 15),
            min_inlier_ratio=max(self.min_inlier_ratio, 0.6),
            min_support=max(self.min_support, 0.35),
            max_residual=min(self.max_residual, 0.8),
            min_spread=max(self.min_spread, 0.15),
            max_scale_change=self.max_scale_change,
            max_jump=self.max_jump,
            max_fb_error=self.max_fb_error,
        )


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Evidence:
    """What a homography was estimated from (points in the start frame and where they were found)."""

    expected: int  # points that should be visible in this frame
    valid: int  # of those, matches that survived the forward-backward test
    source: np.ndarray  # (inliers, 2): the inliers in the start frame's pixels
    residuals: np.ndarray  # (inliers,): their reprojection errors, px


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "ok" or the first check that failed

    def __bool__(self) -> bool:
        return self.ok


def condition_problem(h: np.ndarray, region, max_scale_change: float) -> str | None:
    """Why ``h`` is not a sane mapping of ``region`` (a reason), or None when it is."""
    if h is None or not np.all(np.isfinite(h)):
        return "not_finite"
    src = corners(region)
    w = src @ h[2, :2] + h[2, 2]
    if np.any(w <= 1e-9 * np.abs(h).max()):
        return "behind_camera"
    dst = project(h, src)
    area_src, area_dst = polygon_area(src), polygon_area(dst)
    if area_dst <= 0:
        return "flipped"
    ratio = area_dst / area_src
    if not (1 / max_scale_change**2 <= ratio <= max_scale_change**2):
        return "area_change"
    sides_src = np.linalg.norm(np.roll(src, -1, axis=0) - src, axis=1)
    sides_dst = np.linalg.norm(np.roll(dst, -1, axis=0) - dst, axis=1)
    side_ratio = sides_dst / sides_src
    if np.any(side_ratio < 1 / max_scale_change) or np.any(side_ratio > max_scale_change):
        return "side_change"
    return None


def check_homography(h: np.ndarray | None, evidence: Evidence, region, limits: Limits = DEFAULT_LIMITS, *,
                     previous: np.ndarray | None = None, frames_since: int = 1) -> Verdict:
    """Whether ``h`` (start frame → this frame) may be used; see the module's docstring for the rule."""
    if h is None:
        return Verdict(False, "no_estimate")
    inliers = len(evidence.source)
    if inliers < limits.min_inliers:
        return Verdict(False, "few_inliers")
    if evidence.valid <= 0 or inliers < limits.min_inlier_ratio * evidence.valid:
        return Verdict(False, "inlier_ratio")
    if evidence.expected <= 0 or inliers < limits.min_support * evidence.expected:
        return Verdict(False, "support")
    if float(np.median(evidence.residuals)) > limits.max_residual:
        return Verdict(False, "residual")
    hull = cv2.convexHull(evidence.source.astype(np.float32))
    if cv2.contourArea(hull) < limits.min_spread * region[2] * region[3]:
        return Verdict(False, "spread")
    problem = condition_problem(h, region, limits.max_scale_change)
    if problem is not None:
        return Verdict(False, problem)
    if previous is not None:
        jump = np.linalg.norm(project(h, corners(region)) - project(previous, corners(region)), axis=1)
        if not np.all(np.isfinite(jump)) or float(jump.max()) > limits.max_jump * max(1, frames_since):
            return Verdict(False, "jump")
    return Verdict(True, "ok")
