"""Pyramidal Lucas-Kanade with a forward-backward test, and a RANSAC homography from its matches.

``forward_backward`` tracks points from one picture to another and back (OpenCV's
``calcOpticalFlowPyrLK`` both ways); a point is kept only when both passes converge and the way back
ends within ``max_fb_error`` pixels of its start (Kalal et al., "Forward-Backward Error", 2010): the
cheapest reliable sign that a match is wrong (occluded, on a moving hand, blurred away).
``fit_homography`` is OpenCV's RANSAC with its final least-squares refinement on the inliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .checks import Evidence
from .geometry import project


@dataclass(frozen=True)
class FlowParams:
    window: int = 15
    levels: int = 3
    iterations: int = 10
    epsilon: float = 0.05

    @property
    def criteria(self):
        return (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, self.iterations, self.epsilon)


DEFAULT_FLOW = FlowParams()


def forward_backward(a: np.ndarray, b: np.ndarray, points: np.ndarray, params: FlowParams, max_fb_error: float,
                     guess: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Track ``points`` (n, 2) from picture ``a`` to ``b``: (positions in ``b`` (n, 2), kept mask (n,))."""
    p0 = np.ascontiguousarray(points, np.float32).reshape(-1, 1, 2)
    if len(p0) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    win = (params.window, params.window)
    flags = 0
    p1 = None
    if guess is not None:
        p1 = np.ascontiguousarray(guess, np.float32).reshape(-1, 1, 2).copy()
        flags = cv2.OPTFLOW_USE_INITIAL_FLOW
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, p0, p1, winSize=win, maxLevel=params.levels,
                                          criteria=params.criteria, flags=flags)
    back = p0.copy()
    p2, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, p1, back, winSize=win, maxLevel=params.levels,
                                          criteria=params.criteria, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
    fb = np.linalg.norm((p2 - p0).reshape(-1, 2), axis=1)
    kept = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb <= max_fb_error)
    return p1.reshape(-1, 2), kept


def fit_homography(source: np.ndarray, target: np.ndarray, expected: int, threshold: float
                   ) -> tuple[np.ndarray | None, Evidence]:
    """RANSAC homography ``source`` → ``target`` (matches that passed the forward-backward test)."""
    n = len(source)
    empty = Evidence(expected, n, np.zeros((0, 2)), np.zeros(0))
    if n < 4:
        return None, empty
    h, mask = cv2.findHomography(source.astype(np.float32), target.astype(np.float32), cv2.RANSAC, threshold,
                                 maxIters=500, confidence=0.995)
    if h is None or mask is None:
        return None, empty
    inl = mask.ravel().astype(bool)
    src = np.asarray(source, np.float64)[inl]
    residuals = np.linalg.norm(project(h, src) - np.asarray(target, np.float64)[inl], axis=1)
    return h, Evidence(expected, n, src, residuals)
