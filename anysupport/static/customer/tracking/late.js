/* The customer's side of anchored drawings, as clients/anysupport_client/tracking/late.py (FrameHistory,
 * LateAnchor), in plain JS for the tracking Worker (tracker-worker.js); its parts are the modules
 * beside it, as the Python package's. The console sends, for its frame of timestamp t, each drawing's
 * homography from the drawing's frame to frame t; the page's preview is 100-200 ms further on, so each
 * drawing composes it with the page's own motion from frame t to its newest frame:
 * H_now = F(t → now) · H_late. F: Shi-Tomasi corners of the drawing's surface in frame t, pyramidal
 * Lucas-Kanade straight from frame t to the newest frame (the previous answer as the starting guess)
 * and back (forward-backward test), a RANSAC homography (normalised DLT, refined on the inliers), and
 * the same check_homography as the console with the limits of the 160-pixel frames (SMALL_LIMITS). A
 * failed check, a frame t no longer held or a null from the console hides the drawing.
 *
 * Homographies are 9 numbers row-major (Float64Array or arrays); pictures are {width, height, data:
 * Uint8Array grey}. Normalised coordinates are fractions of the picture's width and height (the
 * drawings' own), so the two sides need not agree on sizes. docs/tracking.md. */

import {checkHomography} from "./checks.js";
import {goodFeatures} from "./features.js";
import {ArrayPool, forwardBackward, pyramid} from "./flow.js";
import {clipRegion, corners, growRegion, invert, multiply, normalised, projectPoint, scaleMatrix} from "./geometry.js";
import {fitHomography} from "./homography.js";

export const SMALL_WIDTH = 160;
export const SMALL_LIMITS = Object.freeze({
  minInliers: 8, minInlierRatio: 0.5, minSupport: 0.15, maxResidual: 0.5, minSpread: 0.08,
  maxScaleChange: 3.0, maxJump: 15.0, maxFbError: 0.35,
});
export const SMALL_FLOW = Object.freeze({window: 11, levels: 3, iterations: 10, epsilon: 0.03});
const MAX_POINTS = 48;

/* About `seconds` of the page's own frames, small (SMALL_WIDTH wide, grey), by capture timestamp. */
export class FrameHistory {
  constructor(seconds = 1.0, fps = 30, flow = SMALL_FLOW) {
    this.limit = Math.max(2, Math.round(seconds * fps) + 1);
    this.flow = flow;
    this.frames = [];
    this.pool = new ArrayPool();
  }

  /* Keep a grey picture {width, height, data} under its timestamp (timestamps must increase). */
  push(timestampUs, picture) {
    const last = this.newest;
    if (last && timestampUs <= last.timestampUs) {
      throw new RangeError("timestamps must increase: " + timestampUs + " after " + last.timestampUs);
    }
    if (picture.data.length !== picture.width * picture.height) throw new RangeError("picture size does not match its data");
    const item = {timestampUs: timestampUs, picture: picture, width: picture.width, height: picture.height, pyramid: null};
    if (last && (last.width !== item.width || last.height !== item.height)) this.frames = [];  // another aspect ratio
    this.frames.push(item);
    if (this.frames.length > this.limit) this.recycle(this.frames.shift());
    return item;
  }

  get newest() { return this.frames.length ? this.frames[this.frames.length - 1] : null; }

  find(timestampUs) {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const item = this.frames[i];
      if (item.timestampUs === timestampUs) return item;
      if (item.timestampUs < timestampUs) return null;
    }
    return null;
  }

  pyramidOf(item) {
    if (!item.pyramid) item.pyramid = pyramid(item.picture, this.flow, this.pool);
    return item.pyramid;
  }

  /* A frame no longer held: its pyramid's arrays serve the next frames (no anchor uses it: an anchor
   * whose base is gone answers frame_not_held before looking at any picture). */
  recycle(item) {
    if (item.pyramid) this.pool.give(item.pyramid);
    item.pyramid = null;
  }

  clear() { this.frames = []; }
}

const toPixels = (item) => scaleMatrix(item.width, item.height);

/* One drawing: region = [x, y, w, h] of the drawing in its own frame, normalised. */
export class LateAnchor {
  constructor(history, region = [0, 0, 1, 1], limits = SMALL_LIMITS, flow = SMALL_FLOW) {
    if (!Array.isArray(region) || region.length !== 4 || !region.every(Number.isFinite) || region[2] <= 0 || region[3] <= 0) {
      throw new RangeError("region must be [x, y, width, height] with a positive size");
    }
    this.history = history;
    this.region = region.slice();
    this.limits = limits;
    this.flow = flow;
    this.reason = "no_homography";
    this.base = null;
    this.late = null;
    this.xs = new Float64Array(0);
    this.ys = new Float64Array(0);
    this.tracked = null;
    this.cache = null;  // [newest timestamp, answer]
    this.guess = null;  // [timestamp, F base → that frame] of the last success
  }

  /* The console's homography (drawing's frame → frame timestampUs, normalised, 9 numbers) or null when lost. */
  receive(timestampUs, homography) {
    this.cache = null;
    this.guess = null;
    if (homography === null || homography === undefined) {
      this.late = null;
      this.reason = "lost_on_console";
      return;
    }
    if (homography.length !== 9 || !Array.from(homography).every(Number.isFinite)) {
      throw new RangeError("homography must be 9 finite numbers");
    }
    const base = this.history.find(timestampUs);
    if (!base) {
      this.late = null;
      this.reason = "frame_not_held";
      return;
    }
    this.late = normalised(Float64Array.from(homography));
    this.base = base;
    const toBase = multiply(toPixels(base), this.late);
    const quad = corners(this.region).map(([x, y]) => projectPoint(toBase, x, y));
    if (!quad.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) {
      this.late = null;
      this.reason = "behind_camera";
      return;
    }
    const x0 = Math.min(...quad.map((p) => p[0])), x1 = Math.max(...quad.map((p) => p[0]));
    const y0 = Math.min(...quad.map((p) => p[1])), y1 = Math.max(...quad.map((p) => p[1]));
    const grown = growRegion([x0, y0, x1 - x0, y1 - y0], 0.3 * Math.max(x1 - x0, y1 - y0) + 2, 0.25 * base.width);
    const tracked = clipRegion(grown, base.width, base.height, this.flow.window / 2 + 1);
    this.tracked = tracked;
    this.xs = new Float64Array(0);
    this.ys = new Float64Array(0);
    if (tracked) {
      const [x, y, tw, th] = tracked.map((v) => pyRound(v));
      const spacing = Math.max(3.0, Math.sqrt(tw * th / (2.5 * MAX_POINTS)));
      const found = goodFeatures(base.picture, [x, y, x + tw, y + th], MAX_POINTS, 0.01, spacing);
      this.xs = Float64Array.from(found, (p) => p[0]);
      this.ys = Float64Array.from(found, (p) => p[1]);
    }
    this.reason = "ok";
  }

  /* The drawing's frame → the newest frame (normalised, Float64Array(9)), or null to hide the drawing. */
  current() {
    const newest = this.history.newest;
    if (!this.late || !newest) return null;
    if (this.cache && this.cache[0] === newest.timestampUs) return this.cache[1];
    const answer = this.compose(newest);
    this.cache = [newest.timestampUs, answer];
    return answer;
  }

  compose(newest) {
    const base = this.base;
    if (newest.timestampUs === base.timestampUs) return this.late;
    if (!this.history.find(base.timestampUs)) { this.reason = "frame_not_held"; return null; }
    if (newest.width !== base.width || newest.height !== base.height) { this.reason = "size_change"; return null; }
    const n = this.xs.length;
    if (n < this.limits.minInliers) { this.reason = "few_points"; return null; }
    let gx = null, gy = null;
    if (this.guess) {
      gx = new Float64Array(n); gy = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const p = projectPoint(this.guess[1], this.xs[i], this.ys[i]);
        gx[i] = p[0]; gy[i] = p[1];
      }
      if (!gx.every(Number.isFinite) || !gy.every(Number.isFinite)) { gx = null; gy = null; }
    }
    const flow = forwardBackward(this.history.pyramidOf(base), this.history.pyramidOf(newest), this.xs, this.ys,
                                 this.flow, this.limits.maxFbError, gx, gy);
    const r = this.flow.window / 2;
    let inside = 0;
    const sx = [], sy = [], dx = [], dy = [];
    for (let i = 0; i < n; i++) {
      const x = flow.x[i], y = flow.y[i];
      if (!(x >= r && x < newest.width - r && y >= r && y < newest.height - r)) continue;
      inside += 1;
      if (!flow.kept[i]) continue;
      sx.push(this.xs[i]); sy.push(this.ys[i]); dx.push(x); dy.push(y);
    }
    const {h: f, evidence} = fitHomography(sx, sy, dx, dy, Math.max(inside, 1), 1.0);
    const previous = this.guess ? this.guess[1] : new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const since = this.guess ? this.guess[0] : base.timestampUs;
    const framesSince = this.history.frames.filter((item) => item.timestampUs > since).length;
    const verdict = checkHomography(f, evidence, this.tracked, this.limits, previous, framesSince);
    if (verdict !== "ok") {
      this.reason = verdict;
      this.guess = null;
      return null;
    }
    this.guess = [newest.timestampUs, f];
    this.reason = "ok";
    return normalised(multiply(multiply(multiply(invert(toPixels(newest)), f), toPixels(base)), this.late));
  }
}

/* Python's round(): halves to even, as late.py rounds the tracked region. */
function pyRound(v) {
  const f = Math.floor(v), d = v - f;
  if (Math.abs(d - 0.5) < 1e-9) return f % 2 === 0 ? f : f + 1;
  return Math.round(v);
}
