"""Synthetic camera sequences of a textured plane, with their ground truth (the tracking tests).

A ``Scene`` is a flat, richly textured surface (a made-up circuit board: parts, pads, traces,
labels) filmed by a hand-held camera that moves along a smooth path (pan, roll, zoom, tilt and
tremor) at a chosen peak speed, with what real phone pictures add: sensor noise, motion blur, a
lighting change, a hand passing in front of the drawing, a glance away and back, and the
artefacts of the project's own H.264 encoder at a quality level. Everything is generated
deterministically from the scene's parameters, so no picture is stored in the repository; the
H.264 access units are cached in the temporary directory (``anysupport-scenes/``) because the
encoder is the slow part.

Geometry. The camera's "sensor" is described in reference pixels, 640x480 (4:3). A quality level's
frame is that sensor scaled to its width and, for 16:9 levels (1280x720), cropped to its centre
rows, as a phone camera does. ``camera(i)`` maps texture pixels to the reference sensor at frame
``i``; ``truth(s, i, size)`` is the homography from frame ``s`` to frame ``i`` (at the given frame
size(s)), which is what a tracker started on frame ``s`` must return.

The drawing. ``region`` is the bounding box of a drawing made on frame ``start`` (reference
pixels) and ``stroke`` points along it; the stroke error of a homography is the largest distance,
over those points, between where it puts them and where they really are.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np
from anysupport_client.media.codec import VideoDecoder, VideoEncoder
from anysupport_client.media.quality import LEVELS
from anysupport_native import convert

REF_SIZE = (640, 480)
TEXTURE_SIZE = (3600, 2200)
TEXTURE_SCALE = 0.6  # sensor pixels per texture pixel at the path's nominal distance
CACHE_DIR = Path(tempfile.gettempdir()) / "anysupport-scenes"
CACHE_VERSION = 1


# -- geometry ----------------------------------------------------------------------------------------------
def level_matrix(width: int, height: int) -> np.ndarray:
    """Reference-sensor pixels (640x480) to the pixels of a width x height frame (scaled, centre-cropped)."""
    f = width / REF_SIZE[0]
    return np.array([[f, 0, 0], [0, f, -(REF_SIZE[1] * f - height) / 2], [0, 0, 1]], np.float64)


def project(h: np.ndarray, points) -> np.ndarray:
    """Points (n, 2) through a homography."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    q = np.c_[pts, np.ones(len(pts))] @ np.asarray(h, np.float64).T
    return q[:, :2] / q[:, 2:3]


def stroke_error(h: np.ndarray, truth: np.ndarray, points) -> float:
    """Largest distance, over ``points``, between ``h`` and the true homography ``truth``."""
    return float(np.max(np.linalg.norm(project(h, points) - project(truth, points), axis=1)))


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


# -- the surface -------------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def texture(seed: int = 7) -> np.ndarray:
    """A board-like RGB texture, TEXTURE_SIZE, deterministic in ``seed`` (read-only)."""
    rng = np.random.default_rng(seed)
    w, h = TEXTURE_SIZE
    # a green board with slow shading, so flat parts are not perfectly flat
    low = cv2.resize(rng.normal(0, 1, (h // 200 + 2, w // 200 + 2)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    base = np.array([40, 110, 70], np.float32)
    img = np.clip(base[None, None, :] * (1 + 0.18 * low[:, :, None]), 0, 255).astype(np.uint8)
    for _ in range(800):  # traces
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        pts = [(x, y)]
        for _ in range(int(rng.integers(2, 5))):
            dx, dy = (int(v) for v in rng.integers(-160, 160, 2))
            if rng.random() < 0.5:
                dx = 0 if rng.random() < 0.5 else dx
                dy = dy if dx == 0 else 0
            x, y = x + dx, y + dy
            pts.append((x, y))
        cv2.polylines(img, [np.array(pts, np.int32)], False, (170, 160, 60), int(rng.integers(2, 6)), cv2.LINE_AA)
    for _ in range(600):  # parts
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        pw, ph = int(rng.integers(14, 110)), int(rng.integers(10, 70))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (cx, cy), (cx + pw, cy + ph), color, -1, cv2.LINE_AA)
        cv2.rectangle(img, (cx, cy), (cx + pw, cy + ph), (20, 20, 20), 2, cv2.LINE_AA)
        if rng.random() < 0.5:  # pins
            for k in range(int(rng.integers(2, 9))):
                px = cx + 4 + k * max(6, pw // 8)
                if px < cx + pw - 3:
                    cv2.rectangle(img, (px, cy + ph), (px + 3, cy + ph + 8), (200, 200, 200), -1)
    for _ in range(450):  # screws and pads
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        r = int(rng.integers(4, 22))
        cv2.circle(img, c, r, (190, 190, 185), -1, cv2.LINE_AA)
        cv2.circle(img, c, max(2, r // 3), (50, 50, 50), -1, cv2.LINE_AA)
        if rng.random() < 0.6:
            cv2.line(img, (c[0] - r // 2, c[1]), (c[0] + r // 2, c[1]), (40, 40, 40), 2, cv2.LINE_AA)
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789-"
    for _ in range(350):  # labels
        text = "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), int(rng.integers(2, 7))))
        org = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.5, 1.6)), (235, 235, 225),
                    int(rng.integers(1, 4)), cv2.LINE_AA)
    # the camera sees it at ~0.6 sensor pixels per texture pixel: a little blur against aliasing
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    img.setflags(write=False)
    return img


# -- the hand ----------------------------------------------------------------------------------------------
def _hand_mask(center, angle_deg: float, size: float, width: int, height: int, f: float) -> np.ndarray:
    """A float mask (height, width) of a hand: palm, four fingers and a thumb, soft-edged."""
    mask = np.zeros((height, width), np.uint8)
    cx, cy = center
    a = np.deg2rad(angle_deg)
    ux, uy = np.cos(a), np.sin(a)  # along the fingers
    vx, vy = -uy, ux

    def at(along, across):
        return (int(round((cx + along * ux + across * vx) * f * 16)), int(round((cy + along * uy + across * vy) * f * 16)))

    s = size
    cv2.ellipse(mask, at(0, 0), (int(0.55 * s * f * 16), int(0.45 * s * f * 16)), angle_deg, 0, 360, 255, -1,
                cv2.LINE_AA, 4)
    for k, length in enumerate((0.95, 1.05, 1.0, 0.8)):
        across = (-0.33 + 0.22 * k) * s
        cv2.line(mask, at(0.3 * s, across), at((0.3 + length) * s, across), 255, max(2, int(0.2 * s * f)),
                 cv2.LINE_AA, 4)
    cv2.line(mask, at(0.0, 0.35 * s), at(0.45 * s, 0.85 * s), 255, max(2, int(0.22 * s * f)), cv2.LINE_AA, 4)
    # the arm, off the palm's far side
    cv2.line(mask, at(-0.2 * s, 0), at(-3.0 * s, 0), 255, max(2, int(0.75 * s * f)), cv2.LINE_AA, 4)
    return cv2.GaussianBlur(mask, (0, 0), 1.2 * f).astype(np.float32) / 255.0


# -- a scene -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scene:
    """A planar scene and a camera path; every field changes the pictures (and the cache key)."""

    name: str = "scene"
    seconds: float = 4.0
    fps: int = 30
    speed: float = 150.0  # peak speed of the drawing's centre on the 640x480 sensor, px/s
    roll_deg: float = 6.0  # roll amplitude
    zoom: float = 0.12  # relative zoom amplitude
    tilt: float = 0.0004  # perspective amplitude (per reference pixel)
    tremor: float = 0.6  # hand tremor amplitude, reference px
    noise: float = 2.0  # sensor noise sigma, grey levels
    exposure: float = 1 / 60  # motion blur: the distance moved during this many seconds
    lighting: tuple[float, float, float] | None = None  # (start s, end s, gain at the end)
    hand: tuple[float, float] | None = None  # (start s, seconds in front of the drawing)
    away: tuple[float, float] | None = None  # (start s, seconds away); the camera pans off and back
    away_ramp: float = 0.35  # seconds the pan off (and back) takes
    start: int = 0  # the frame the drawing is made on
    region: tuple[int, int, int, int] = (250, 180, 150, 120)  # the drawing's box on frame ``start``
    seed: int = 1
    texture_seed: int = 7
    stroke: tuple[tuple[float, float], ...] = field(default=(
        (262.0, 285.0), (300.0, 250.0), (340.0, 222.0), (385.0, 195.0), (370.0, 192.0), (385.0, 195.0),
        (382.0, 210.0),
    ))

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))

    def key(self) -> str:
        blob = json.dumps({"v": CACHE_VERSION, **asdict(self)}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]

    def with_(self, **changes) -> Scene:
        return replace(self, **changes)

    # -- the path ------------------------------------------------------------------------------------------
    def _raw_pose(self, t: float, k: float) -> tuple[float, float, float, float, float, float]:
        """(cx, cy, roll, zoom, gx, gy) at time t for motion amplitude k (before the glance away)."""
        p = np.random.default_rng(self.seed).uniform(0, 2 * np.pi, 8)
        w1, w2, w3 = 2 * np.pi * 0.31, 2 * np.pi * 0.53, 2 * np.pi * 0.23
        cx = k * (130 * np.sin(w1 * t + p[0]) + 45 * np.sin(w2 * 1.7 * t + p[1]))
        cy = k * (95 * np.sin(w2 * t + p[2]) + 35 * np.sin(w1 * 2.3 * t + p[3]))
        roll = np.deg2rad(self.roll_deg) * min(1.0, k) * np.sin(w3 * t + p[4])
        zoom = 1 + self.zoom * min(1.0, k) * np.sin(0.8 * w3 * t + p[5])
        gx = self.tilt * min(1.0, k) * np.sin(0.7 * w1 * t + p[6])
        gy = self.tilt * min(1.0, k) * np.sin(0.9 * w2 * t + p[7])
        # tremor: a few pixels at 6-9 Hz
        cx += self.tremor * (np.sin(2 * np.pi * 6.3 * t + p[1]) + 0.5 * np.sin(2 * np.pi * 8.9 * t + p[3]))
        cy += self.tremor * (np.sin(2 * np.pi * 7.1 * t + p[2]) + 0.5 * np.sin(2 * np.pi * 9.4 * t + p[0]))
        return cx, cy, roll, zoom, gx, gy

    def _camera_at(self, t: float, k: float) -> np.ndarray:
        cx, cy, roll, zoom, gx, gy = self._raw_pose(t, k)
        if self.away is not None:
            t0, dur = self.away
            # out over away_ramp seconds and back: far enough that the drawing's surface leaves the picture
            amount = _smoothstep((t - t0) / self.away_ramp) - _smoothstep((t - t0 - dur) / self.away_ramp)
            cx += 1150 * TEXTURE_SCALE * amount
            cy += 260 * TEXTURE_SCALE * amount
        # sensor = centre . perspective . roll/zoom . move; texture pixels at TEXTURE_SCALE
        w, h = REF_SIZE
        tw, th = TEXTURE_SIZE
        s = TEXTURE_SCALE * zoom
        c, si = np.cos(roll), np.sin(roll)
        to_centre = np.array([[1, 0, -tw / 2], [0, 1, -th / 2], [0, 0, 1]], np.float64)
        rs = np.array([[s * c, -s * si, -cx], [s * si, s * c, -cy], [0, 0, 1]], np.float64)
        persp = np.array([[1, 0, 0], [0, 1, 0], [gx, gy, 1]], np.float64)
        centre = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]], np.float64)
        return centre @ persp @ rs @ to_centre

    @property
    def _amplitude(self) -> float:
        return _amplitude_for(self)

    def camera(self, i: int) -> np.ndarray:
        """Texture pixels → reference sensor pixels (640x480) at frame i."""
        return self._camera_at(i / self.fps, self._amplitude)

    def truth(self, s: int, i: int, size=REF_SIZE, start_size=None) -> np.ndarray:
        """The homography from frame s (of ``start_size``, default ``size``) to frame i (of ``size``)."""
        a = level_matrix(*(start_size or size))
        b = level_matrix(*size)
        return b @ self.camera(i) @ np.linalg.inv(self.camera(s)) @ np.linalg.inv(a)

    def speed_at(self, i: int) -> float:
        """Speed of the drawing's centre on the reference sensor at frame i, px/s."""
        c = _region_centre(self.region)
        dt = 0.25 / self.fps
        t = i / self.fps
        k = self._amplitude
        base = np.linalg.inv(self._camera_at(self.start / self.fps, k))
        p0 = project(self._camera_at(t - dt, k) @ base, [c])[0]
        p1 = project(self._camera_at(t + dt, k) @ base, [c])[0]
        return float(np.linalg.norm(p1 - p0) / (2 * dt))

    # -- what covers the drawing -------------------------------------------------------------------------
    def hand_pose(self, i: int):
        """(centre, angle, size) of the hand on the reference sensor at frame i, or None."""
        if self.hand is None:
            return None
        t0, dur = self.hand
        t = i / self.fps
        cx, cy = _region_centre(self.region)
        # enters from the lower right, crosses the drawing, leaves to the upper left; it covers the
        # drawing for about ``dur`` seconds of its 3 * dur on screen
        u = (t - t0) / dur  # 0 .. 1 while over the drawing
        if u < -1.2 or u > 2.2:
            return None
        d = np.array([-0.8, -0.6])
        pos = np.array([cx, cy]) + d * (u - 0.5) * 360
        return (float(pos[0]), float(pos[1])), 215.0, 120.0

    def hand_mask(self, i: int, size=REF_SIZE) -> np.ndarray | None:
        pose = self.hand_pose(i)
        if pose is None:
            return None
        centre, angle, hsize = pose
        f = size[0] / REF_SIZE[0]
        oy = (REF_SIZE[1] * f - size[1]) / 2 / f
        return _hand_mask((centre[0], centre[1] - oy), angle, hsize, size[0], size[1], f)

    def visible_fraction(self, i: int, size=REF_SIZE, start_size=None, region=None) -> float:
        """The share of the drawing's region (on frame ``start``) that is in frame i and not behind the hand."""
        x, y, w, h = region or self.region
        gx, gy = np.meshgrid(np.linspace(x, x + w, 13), np.linspace(y, y + h, 13))
        pts = np.c_[gx.ravel(), gy.ravel()]
        if start_size is not None and tuple(start_size) != REF_SIZE:
            pts = project(level_matrix(*start_size), pts)
        q = project(self.truth(self.start, i, size, start_size), pts)
        inside = (q[:, 0] >= 0) & (q[:, 0] < size[0]) & (q[:, 1] >= 0) & (q[:, 1] < size[1])
        mask = self.hand_mask(i, size)
        if mask is not None:
            xi = np.clip(q[:, 0].astype(int), 0, size[0] - 1)
            yi = np.clip(q[:, 1].astype(int), 0, size[1] - 1)
            inside &= mask[yi, xi] < 0.5
        return float(inside.mean())

    def stroke_points(self, size=REF_SIZE) -> np.ndarray:
        """Points along the stroke (every ~4 reference px), in the start frame's pixels at ``size``."""
        pts = np.asarray(self.stroke, np.float64)
        dense = [pts[0]]
        for a, b in zip(pts[:-1], pts[1:], strict=False):
            n = max(1, int(np.linalg.norm(b - a) / 4))
            dense.extend(a + (b - a) * (k / n) for k in range(1, n + 1))
        return project(level_matrix(*size), np.array(dense))

    def region_at(self, size=REF_SIZE) -> tuple[int, int, int, int]:
        x, y, w, h = self.region
        m = level_matrix(*size)
        (x0, y0), (x1, y1) = project(m, [(x, y), (x + w, y + h)])
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))

    # -- pictures -----------------------------------------------------------------------------------------
    def render(self, i: int, size=REF_SIZE) -> np.ndarray:
        """Frame i as the camera delivers it: RGB uint8 (size[1], size[0], 3)."""
        width, height = size
        tex = texture(self.texture_seed)
        k = level_matrix(width, height) @ self.camera(i)
        img = cv2.warpPerspective(tex, k, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        f = width / REF_SIZE[0]
        # motion blur along the drawing's motion during the exposure
        length = self.speed_at(i) * self.exposure * f
        if length > 1.0:
            c = _region_centre(self.region)
            base = np.linalg.inv(self.camera(self.start))
            d = project(self.camera(i + 1) @ base, [c])[0] - project(self.camera(i) @ base, [c])[0]
            img = cv2.filter2D(img, -1, _line_kernel(length, float(np.arctan2(d[1], d[0]))))
        rgb = img.astype(np.float32)
        mask = self.hand_mask(i, size)
        if mask is not None:
            shade = 0.85 + 0.15 * np.outer(np.cos(np.arange(height, dtype=np.float32) / (53 * f)),
                                           np.sin(np.arange(width, dtype=np.float32) / (37 * f)))
            skin = np.stack([224 * shade, 172 * shade, 140 * shade], axis=2)
            rgb = rgb * (1 - mask[:, :, None]) + skin * mask[:, :, None]
        if self.lighting is not None:
            t0, t1, gain = self.lighting
            u = float(_smoothstep((i / self.fps - t0) / max(1e-6, t1 - t0)))
            xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
            yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
            g = 1 + u * ((gain - 1) + 0.25 * xx * (1 - gain) - 0.15 * yy * (1 - gain))
            rgb = rgb * g[:, :, None]
        if self.noise > 0:
            rng = np.random.default_rng((self.seed, i))
            rgb += self.noise * rng.standard_normal(rgb.shape, dtype=np.float32)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)

    def frames_rgb(self, size=REF_SIZE) -> Iterator[np.ndarray]:
        for i in range(self.frames):
            yield self.render(i, size)

    def encoded(self, level: str = "medium") -> list[bytes]:
        """The scene through the project's H.264 encoder at ``level``: one access unit per frame (cached)."""
        return _encoded(self, level)

    def decoded(self, level: str = "medium", *, form: str = "rgb") -> Iterator[np.ndarray]:
        """The scene after H.264 at ``level``, frame by frame: RGB (h, w, 3) or the luma plane (``form="grey"``)."""
        decoder = VideoDecoder()
        for payload in self.encoded(level):
            frames = decoder.decode(payload)
            if len(frames) != 1:
                raise RuntimeError(f"the decoder gave {len(frames)} frames for one access unit")
            yield _picture(frames[0], form)

    def size_of(self, level: str) -> tuple[int, int]:
        q = LEVELS[level].quality
        return q.width, q.height

    def write_y4m(self, path, size=REF_SIZE) -> Path:
        """The scene as a Y4M file (I420, the page's fake camera and the Python client's file source)."""
        path = Path(path)
        width, height = size
        with open(path, "wb") as f:
            f.write(f"YUV4MPEG2 W{width} H{height} F{self.fps}:1 Ip A1:1 C420jpeg\n".encode())
            for i in range(self.frames):
                frame = av.VideoFrame.from_ndarray(self.render(i, size), format="rgb24").reformat(format="yuv420p")
                f.write(b"FRAME\n")
                for plane in convert.planes_of(frame):
                    f.write(np.ascontiguousarray(plane).tobytes())
        return path


def read_y4m(path) -> Iterator[np.ndarray]:
    """The frames of a Y4M file written by ``Scene.write_y4m``, as RGB arrays (for the round-trip test)."""
    with open(path, "rb") as f:
        header = f.readline().split()
        if header[0] != b"YUV4MPEG2":
            raise ValueError("not a Y4M file")
        fields = {h[:1]: h[1:] for h in header[1:]}
        width, height = int(fields[b"W"]), int(fields[b"H"])
        cw, ch = (width + 1) // 2, (height + 1) // 2
        while True:
            line = f.readline()
            if not line:
                return
            if not line.startswith(b"FRAME"):
                raise ValueError("bad Y4M frame header")
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane, (w, h) in zip(convert.planes_of(frame), ((width, height), (cw, ch), (cw, ch)), strict=True):
                plane[:] = np.frombuffer(f.read(w * h), np.uint8).reshape(h, w)
            yield frame.to_ndarray(format="rgb24")


def _picture(frame: av.VideoFrame, form: str) -> np.ndarray:
    if form == "grey":
        return np.ascontiguousarray(convert.planes_of(frame).y)
    if form == "rgb":
        return frame.to_ndarray(format="rgb24")
    raise ValueError(f"form must be 'rgb' or 'grey', got {form!r}")


def _region_centre(region) -> tuple[float, float]:
    x, y, w, h = region
    return x + w / 2, y + h / 2


def _line_kernel(length: float, angle: float) -> np.ndarray:
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(angle), np.sin(angle)
    for s in np.linspace(-length / 2, length / 2, 4 * n):
        x, y = c + s * dx, c + s * dy
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for xx, yy, wgt in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)), (x0, y0 + 1, (1 - fx) * fy),
                            (x0 + 1, y0 + 1, fx * fy)):
            if 0 <= xx < n and 0 <= yy < n:
                k[yy, xx] += wgt
    return k / k.sum()


@lru_cache(maxsize=64)
def _amplitude_for(scene: Scene) -> float:
    """The motion amplitude whose peak speed (of the drawing's centre, glance away excepted) is ``speed``."""
    if scene.speed <= 0:
        return 0.0
    plain = replace(scene, away=None)
    c = _region_centre(scene.region)
    ts = np.arange(0, scene.seconds, 0.25 / scene.fps)

    def peak(k: float) -> float:
        base = np.linalg.inv(plain._camera_at(0, k))
        pts = np.array([project(plain._camera_at(t, k) @ base, [c])[0] for t in ts])
        return float(np.max(np.linalg.norm(np.diff(pts, axis=0), axis=1)) / (ts[1] - ts[0]))

    if peak(0.0) >= scene.speed:  # the tremor alone is that fast
        return 0.0
    lo, hi = 0.0, 1.0
    while peak(hi) < scene.speed and hi < 64:
        hi *= 2
    for _ in range(24):
        mid = (lo + hi) / 2
        if peak(mid) < scene.speed:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _encoded(scene: Scene, level: str) -> list[bytes]:
    path = CACHE_DIR / f"{scene.key()}-{level}.h264au"
    if path.exists():
        return _read_units(path.read_bytes())
    size = scene.size_of(level)
    encoder = VideoEncoder(LEVELS[level].quality)
    units = []
    for i in range(scene.frames):
        frame = av.VideoFrame.from_ndarray(scene.render(i, size), format="rgb24").reformat(format="yuv420p")
        frame.pts = i * 90000 // scene.fps
        out = encoder.encode(frame, keyframe=i == 0)
        if len(out) != 1:
            raise RuntimeError(f"the encoder gave {len(out)} access units for one frame")
        units.append(out[0][0])
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(b"".join(len(u).to_bytes(4, "big") + u for u in units))
    os.replace(tmp, path)
    return units


def _read_units(blob: bytes) -> list[bytes]:
    units, i = [], 0
    while i < len(blob):
        n = int.from_bytes(blob[i:i + 4], "big")
        units.append(blob[i + 4:i + 4 + n])
        i += 4 + n
    return units


# -- the scenes the tests and the benchmark use --------------------------------------------------------------
def moving(speed: float, **kw) -> Scene:
    return Scene(name=f"moving-{int(speed)}", speed=speed, **kw)


HAND = Scene(name="hand", seconds=4.0, speed=60.0, hand=(1.3, 1.0))
LIGHTING = Scene(name="lighting", seconds=4.0, speed=80.0, lighting=(1.0, 2.5, 0.5))
AWAY = Scene(name="away", seconds=5.0, speed=60.0, away=(1.2, 1.5))
