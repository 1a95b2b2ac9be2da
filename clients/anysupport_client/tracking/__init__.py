"""Keeping drawings on the object: the surface under each drawing, followed frame by frame.

``PlaneTracker`` (the console's side, one per drawing; ``DrawingAnchors`` holds them by drawing id)
gives the homography from the frame a drawing was made on to each new frame, or None while the
surface is lost. ``FrameHistory`` and ``LateAnchor`` (the customer's side) compose such a
homography, which arrives late, with the customer's own flow from that frame to the newest one.
No Qt; OpenCV does the image work. See ``docs/tracking.md``.
"""

from .anchors import DrawingAnchors, bounding_box
from .checks import DEFAULT_LIMITS, Evidence, Limits, Verdict, check_homography
from .geometry import from_normalised, project, to_normalised
from .late import FrameHistory, LateAnchor
from .plane import PlaneTracker

__all__ = [
    "DEFAULT_LIMITS",
    "DrawingAnchors",
    "Evidence",
    "FrameHistory",
    "LateAnchor",
    "Limits",
    "PlaneTracker",
    "Verdict",
    "bounding_box",
    "check_homography",
    "from_normalised",
    "project",
    "to_normalised",
]
