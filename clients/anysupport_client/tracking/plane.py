"""``PlaneTracker``: follows the surface under a drawing from the frame it was drawn on.

Every frame is aligned to the *start frame* itself, never to the previous frame only, so there is no
drift to accumulate: the new frame is warped back into the start frame's view with the predicted
homography (the last one, extrapolated at constant velocity), the start frame's corners inside the
region are tracked into that warped picture with pyramidal Lucas-Kanade and back (forward-backward
test), and a RANSAC homography from the surviving matches corrects the prediction. Matches can only
come from texture that looks like the start frame's, so a hand passing in front gives none: it
hides part of the surface, it can never carry the drawing away. The homography is then checked
(``checks.check_homography``) and used only when it passes; otherwise the surface counts as lost,
``update`` returns None (the drawing is hidden), and the following frames try to find it again:
first where it was last seen (a hand that moved away, a short blur), then anywhere in the picture
with ORB features of the start frame (``search.SurfaceSearch``), every ``search_every`` frames, each
candidate verified by the same alignment under stricter limits.

Frames larger than ``work_width`` are tracked at that width (a 1280x720 frame at 640x360), the
homographies returned are in the frames' own pixels. A frame of another size than the previous one
(a quality change) is accepted: the surface is then searched for in it, as after a loss.
"""

from __future__ import annotations

import cv2
import numpy as np

from .checks import DEFAULT_LIMITS, Limits, Verdict, check_homography
from .flow import DEFAULT_FLOW, FlowParams, fit_homography, forward_backward
from .geometry import clip_region, corners, grow_region, normalised, project, scale_matrix, translation
from .picture import as_grey
from .search import DEFAULT_SEARCH, SearchParams, SurfaceSearch


class PlaneTracker:
    """Qt-free tracker of one planar surface (see ``docs/tracking.md``); one per drawing."""

    MIN_POINTS = 12  # corners the region needs to be trackable at all
    MAX_POINTS = 64
    RANSAC_THRESHOLD = 2.0  # px, at the working size
    REACQUIRE_FRAMES = 90  # how long after a loss the last position is tried first

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS, flow: FlowParams = DEFAULT_FLOW,
                 search: SearchParams = DEFAULT_SEARCH, work_width: int = 640, search_every: int = 3,
                 min_side: int = 120):
        self.limits = limits
        self.flow = flow
        self.search_params = search
        self.work_width = int(work_width)
        self.search_every = max(1, int(search_every))
        self.min_side = min_side
        self._started = False
        self.reason = "not_started"  # why the last update gave None ("ok" when it gave a homography)

    # -- the contract ------------------------------------------------------------------------------------------
    def start(self, frame, region=None) -> None:
        """Begin on ``frame`` (the one the drawing was made on); ``region`` = (x, y, w, h) of the drawing."""
        grey = as_grey(frame)
        height, width = grey.shape
        if region is None:
            region = (0.0, 0.0, float(width), float(height))
        else:
            try:
                region = tuple(float(v) for v in region)
            except (TypeError, ValueError):
                raise ValueError(f"region must be (x, y, width, height), got {region!r}") from None
            if len(region) != 4 or not all(np.isfinite(region)) or region[2] <= 0 or region[3] <= 0:
                raise ValueError(f"region must be (x, y, width, height) with a positive size, got {region!r}")
            if clip_region(region, width, height) is None:
                raise ValueError(f"region {region!r} is outside the {width}x{height} frame")
        self.start_size = (width, height)
        self.start_scale = self._work_scale(width)
        ref = self._to_work(grey, self.start_scale)
        rh, rw = ref.shape
        s = self.start_scale
        drawn = (region[0] * s, region[1] * s, region[2] * s, region[3] * s)
        # Track the surface around the drawing: a stroke's box may be a thin line; grow it until it
        # holds enough corners (or is the whole picture).
        margin = self.flow.window / 2 + 2
        area = grow_region(drawn, 0.3 * max(drawn[2], drawn[3]) + 8, self.min_side)
        while True:
            tracked = clip_region(area, rw, rh, margin)
            points = self._corners(ref, tracked) if tracked is not None else np.zeros((0, 2), np.float32)
            full = tracked is None or (tracked[2] >= rw - 2 * margin - 1 and tracked[3] >= rh - 2 * margin - 1)
            if len(points) >= 2 * self.MIN_POINTS or full:
                break
            area = grow_region(area, 0.25 * max(area[2], area[3]), 0)
        self.region = tracked  # the tracked region, start frame at the working size
        self.points = points
        self.trackable = tracked is not None and len(points) >= self.MIN_POINTS
        # the start frame's crop the flow works on: the region plus room for the flow windows
        x, y, w, h = tracked if tracked is not None else (0, 0, rw, rh)
        x0, y0 = int(max(0, np.floor(x - margin))), int(max(0, np.floor(y - margin)))
        x1, y1 = int(min(rw, np.ceil(x + w + margin))), int(min(rh, np.ceil(y + h + margin)))
        self.crop = (x0, y0, x1 - x0, y1 - y0)
        self.reference = np.ascontiguousarray(ref[y0:y1, x0:x1])
        self.crop_points = (self.points - np.array([x0, y0], np.float32)).astype(np.float32)
        self._lighting = (1.0, 0.0)  # gain, offset: this frame's surface → the start frame's
        self._search_source = ref
        self._search: SurfaceSearch | None = None
        self._size = (width, height)
        self._scale = s
        self.homography = np.eye(3)  # at the working sizes, start → last frame (valid while tracking)
        self._previous: np.ndarray | None = None  # the one before, when it was the frame just before
        self.tracking = self.trackable
        self.lost_frames = 0
        self._since_accepted = 0
        self._started = True
        self.reason = "ok" if self.trackable else "untrackable"

    def update(self, frame) -> np.ndarray | None:
        """The homography from the start frame to ``frame`` (their pixels), or None while the surface is lost."""
        if not self._started:
            raise RuntimeError("PlaneTracker.update() before start()")
        grey = as_grey(frame)
        height, width = grey.shape
        if (width, height) != self._size:
            self._size = (width, height)
            self._scale = self._work_scale(width)
            self._lose("size_change", forget=True)
        cur = self._to_work(grey, self._scale)
        if not self.trackable:
            self.reason = "untrackable"
            return None
        self._since_accepted += 1
        h = None
        if self.tracking:
            h = self._follow(cur)
        else:
            h = self._find(cur)
        if h is None:
            return None
        return self._to_pixels(h)

    # -- inside ------------------------------------------------------------------------------------------------
    def _work_scale(self, width: int) -> float:
        return min(1.0, self.work_width / width)

    @staticmethod
    def _to_work(grey: np.ndarray, s: float) -> np.ndarray:
        if s >= 1.0:
            return grey
        h, w = grey.shape
        return cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)

    def _to_pixels(self, h: np.ndarray) -> np.ndarray:
        return normalised(scale_matrix(1 / self._scale) @ h @ scale_matrix(self.start_scale))

    def _corners(self, ref: np.ndarray, region) -> np.ndarray:
        x, y, w, h = (int(round(v)) for v in region)
        mask = np.zeros(ref.shape, np.uint8)
        mask[y:y + h, x:x + w] = 255
        spacing = max(5.0, np.sqrt(w * h / (2.5 * self.MAX_POINTS)))
        found = cv2.goodFeaturesToTrack(ref, self.MAX_POINTS, 0.01, spacing, mask=mask, blockSize=5)
        if found is None:
            return np.zeros((0, 2), np.float32)
        return found.reshape(-1, 2).astype(np.float32)

    def _lose(self, reason: str, *, forget: bool = False) -> None:
        self.tracking = False
        self.lost_frames = 0
        self._previous = None
        self.reason = reason
        if forget:
            self._since_accepted = self.REACQUIRE_FRAMES + 1  # the last position means nothing any more

    def _accept(self, h: np.ndarray) -> np.ndarray:
        self._previous = self.homography if self.tracking and self._since_accepted == 1 else None
        self.homography = h
        self.tracking = True
        self.lost_frames = 0
        self._since_accepted = 0
        self.reason = "ok"
        return h

    def _predict(self) -> np.ndarray:
        if self._previous is None:
            return self.homography
        step = self.homography @ np.linalg.inv(self._previous)
        predicted = normalised(step @ self.homography)
        jump = np.linalg.norm(project(predicted, corners(self.region)) - project(self.homography, corners(self.region)),
                              axis=1)
        return predicted if np.all(np.isfinite(jump)) and jump.max() < self.limits.max_jump else self.homography

    def _follow(self, cur: np.ndarray) -> np.ndarray | None:
        h, verdict = self.align(cur, self._predict(), self.limits, previous=self.homography, frames_since=1)
        if verdict:
            return self._accept(h)
        self._lose(verdict.reason)
        return None

    def _find(self, cur: np.ndarray) -> np.ndarray | None:
        self.lost_frames += 1
        strict = self.limits.stricter()
        if self._since_accepted <= self.REACQUIRE_FRAMES:
            # where it was last seen: as safe as following it (the same evidence, checked the same way)
            h, verdict = self.align(cur, self.homography, self.limits, previous=self.homography,
                                    frames_since=self._since_accepted)
            if verdict:
                return self._accept(h)
        if self.lost_frames % self.search_every == 1 or self.search_every == 1:
            if self._search is None:
                self._search = SurfaceSearch(self._search_source, self.region, self.search_params)
            guess = self._search.candidate(cur)
            if guess is not None:
                h, verdict = self.align(cur, guess, strict)
                if verdict:
                    return self._accept(h)
                self.reason = f"search_{verdict.reason}"
                return None
            self.reason = "searching"
        return None

    def align(self, cur: np.ndarray, guess: np.ndarray, limits: Limits, *, previous: np.ndarray | None = None,
              frames_since: int = 1) -> tuple[np.ndarray | None, Verdict]:
        """Align the start frame's region to ``cur`` (working size) from the homography ``guess``."""
        ch, cw = cur.shape
        x0, y0, w, h = self.crop
        # cur(guess(p)) for p in the crop: the new frame seen from the start frame's viewpoint
        to_cur = guess @ translation(x0, y0)
        warped = cv2.warpPerspective(cur, to_cur, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE)
        # only points whose flow window lies inside the new frame can be matched
        predicted = project(guess, self.points)
        r = self.flow.window / 2 + 1
        inside = ((predicted[:, 0] >= r) & (predicted[:, 0] < cw - r) & (predicted[:, 1] >= r)
                  & (predicted[:, 1] < ch - r))
        expected = int(inside.sum())
        if expected < limits.min_inliers:
            return None, Verdict(False, "out_of_view")
        raw, warped = warped, self._relight(warped)
        src = self.crop_points[inside]
        found, kept = forward_backward(self.reference, warped, src, self.flow, limits.max_fb_error)
        src_pts = self.points[inside][kept]
        # where the kept points are in the new frame: through the guess from where they were found
        dst_pts = project(to_cur, found[kept])
        h, evidence = fit_homography(src_pts, dst_pts, expected, self.RANSAC_THRESHOLD)
        verdict = check_homography(h, evidence, self.region, limits, previous=previous, frames_since=frames_since)
        if not verdict:
            return None, verdict
        self._measure_lighting(raw, evidence.source - np.array([x0, y0]))
        return normalised(h), verdict

    def _relight(self, warped: np.ndarray) -> np.ndarray:
        """``warped`` under the start frame's lighting, as last measured on the surface (a change biases the flow)."""
        gain, offset = self._lighting
        if abs(gain - 1) < 0.03 and abs(offset) < 3:
            return warped
        lut = np.clip(np.arange(256) * gain + offset + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(warped, lut)

    def _measure_lighting(self, warped: np.ndarray, inliers: np.ndarray) -> None:
        """Gain and offset taking the new frame's surface to the start frame's, from patches at the inliers.

        Measured on the matched surface only (a hand in front does not count), applied to the next frame.
        """
        mask = np.zeros(warped.shape, np.uint8)
        r = self.flow.window // 2
        for x, y in np.round(inliers).astype(int):
            mask[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = 255
        mean, std = cv2.meanStdDev(warped, mask=mask)
        ref_mean, ref_std = cv2.meanStdDev(self.reference, mask=mask)
        gain = float(ref_std[0, 0]) / max(1.0, float(std[0, 0]))
        if 0.25 <= gain <= 4:
            self._lighting = (gain, float(ref_mean[0, 0]) - gain * float(mean[0, 0]))
