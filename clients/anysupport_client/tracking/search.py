"""Finding a lost surface again: ORB features of the start frame matched in a new frame.

The start frame's features (inside the tracked region) are computed once; a new frame's features
over the whole picture are matched to them (Hamming distance, Lowe's ratio test), and a RANSAC
homography from the matches is a *candidate* only: the tracker accepts it after aligning the start
frame's region to the new frame with optical flow and passing the stricter checks (``Limits.stricter``).
ORB (Rublee et al., 2011) is rotation-invariant and multi-scale, and is free, as SIFT is now too, but
ORB is several times cheaper, which matters on a console decoding video.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .checks import condition_problem


@dataclass(frozen=True)
class SearchParams:
    reference_features: int = 300
    frame_features: int = 500
    ratio: float = 0.8  # Lowe's ratio test
    min_matches: int = 12
    min_inliers: int = 10
    ransac_threshold: float = 4.0  # px
    max_scale_change: float = 4.0


DEFAULT_SEARCH = SearchParams()


class SurfaceSearch:
    """Candidate homographies (start frame → a new frame) from features of the start frame's region."""

    def __init__(self, reference: np.ndarray, region, params: SearchParams = DEFAULT_SEARCH):
        self.params = params
        self.region = region
        x, y, w, h = (int(round(v)) for v in region)
        mask = np.zeros(reference.shape[:2], np.uint8)
        mask[max(0, y):y + h, max(0, x):x + w] = 255
        orb = cv2.ORB_create(nfeatures=params.reference_features, scaleFactor=1.2, nlevels=6, edgeThreshold=15,
                             patchSize=31, fastThreshold=10)
        keypoints, self.descriptors = orb.detectAndCompute(reference, mask)
        self.points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
        self.detector = cv2.ORB_create(nfeatures=params.frame_features, scaleFactor=1.2, nlevels=6,
                                       edgeThreshold=15, patchSize=31, fastThreshold=10)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    @property
    def usable(self) -> bool:
        return self.descriptors is not None and len(self.points) >= self.params.min_matches

    def candidate(self, grey: np.ndarray) -> np.ndarray | None:
        """A homography start frame → ``grey`` worth verifying, or None."""
        if not self.usable:
            return None
        keypoints, descriptors = self.detector.detectAndCompute(grey, None)
        if descriptors is None or len(keypoints) < self.params.min_matches:
            return None
        pairs = self.matcher.knnMatch(self.descriptors, descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < self.params.ratio * p[1].distance]
        if len(good) < self.params.min_matches:
            return None
        src = self.points[[m.queryIdx for m in good]]
        dst = np.array([keypoints[m.trainIdx].pt for m in good], np.float32)
        h, mask = cv2.findHomography(src, dst, cv2.RANSAC, self.params.ransac_threshold, maxIters=1000,
                                     confidence=0.995)
        if h is None or mask is None or int(mask.sum()) < self.params.min_inliers:
            return None
        if condition_problem(h, self.region, self.params.max_scale_change) is not None:
            return None
        return h
