/* A RANSAC homography from point matches (clients/anysupport_client/tracking/flow.py's
 * fit_homography, OpenCV's findHomography): normalised DLT on 4 points, then on all inliers, then
 * Gauss-Newton on the reprojection error. */

import {invert, multiply, normalised, projectPoint} from "./geometry.js";

/* Solve the n x n system m x = v in place (Gaussian elimination with partial pivoting); null when singular. */
function solve(m, v, n) {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (Math.abs(m[p * n + c]) < 1e-12) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) { const t = m[c * n + k]; m[c * n + k] = m[p * n + k]; m[p * n + k] = t; }
      const t = v[c]; v[c] = v[p]; v[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (!f) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      v[r] -= f * v[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = v[c];
    for (let k = c + 1; k < n; k++) s -= m[c * n + k] * v[k];
    v[c] = s / m[c * n + c];
  }
  return v;
}

/* The similarity moving points to their centroid with mean distance sqrt(2) (Hartley's normalisation). */
function normaliser(xs, ys, idx) {
  let cx = 0, cy = 0;
  for (const i of idx) { cx += xs[i]; cy += ys[i]; }
  cx /= idx.length; cy /= idx.length;
  let d = 0;
  for (const i of idx) d += Math.hypot(xs[i] - cx, ys[i] - cy);
  d /= idx.length;
  const s = d > 1e-12 ? Math.SQRT2 / d : 1;
  return new Float64Array([s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1]);
}

/* The homography src → dst from the points idx (4 or more): least squares with h22 = 1 on normalised points. */
function dlt(sx, sy, dx, dy, idx) {
  const ns = normaliser(sx, sy, idx), nd = normaliser(dx, dy, idx);
  const m = new Float64Array(64), v = new Float64Array(8), row = new Float64Array(8);
  const add = (t) => {
    for (let a = 0; a < 8; a++) {
      const ra = row[a];
      if (!ra) continue;
      for (let b = 0; b < 8; b++) m[a * 8 + b] += ra * row[b];
      v[a] += ra * t;
    }
  };
  for (const i of idx) {
    const x = ns[0] * sx[i] + ns[2], y = ns[4] * sy[i] + ns[5];
    const u = nd[0] * dx[i] + nd[2], w = nd[4] * dy[i] + nd[5];
    row[0] = x; row[1] = y; row[2] = 1; row[3] = 0; row[4] = 0; row[5] = 0; row[6] = -u * x; row[7] = -u * y;
    add(u);
    row[0] = 0; row[1] = 0; row[2] = 0; row[3] = x; row[4] = y; row[5] = 1; row[6] = -w * x; row[7] = -w * y;
    add(w);
  }
  const h = solve(m, v, 8);
  if (!h) return null;
  const hn = new Float64Array([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1]);
  const back = invert(nd);
  return back ? normalised(multiply(multiply(back, hn), ns)) : null;
}

/* Gauss-Newton on the reprojection error of the inliers (h22 = 1), as OpenCV's refinement after RANSAC. */
function refine(h, sx, sy, dx, dy, idx, iterations = 10) {
  let best = h, bestErr = reprojection(h, sx, sy, dx, dy, idx);
  const ju = new Float64Array(8), jv = new Float64Array(8);
  for (let it = 0; it < iterations; it++) {
    const m = new Float64Array(64), v = new Float64Array(8);
    for (const i of idx) {
      const x = sx[i], y = sy[i];
      const w = best[6] * x + best[7] * y + 1;
      const u = (best[0] * x + best[1] * y + best[2]) / w, vv = (best[3] * x + best[4] * y + best[5]) / w;
      ju[0] = x / w; ju[1] = y / w; ju[2] = 1 / w; ju[3] = 0; ju[4] = 0; ju[5] = 0; ju[6] = -u * x / w; ju[7] = -u * y / w;
      jv[0] = 0; jv[1] = 0; jv[2] = 0; jv[3] = x / w; jv[4] = y / w; jv[5] = 1 / w; jv[6] = -vv * x / w; jv[7] = -vv * y / w;
      const ru = u - dx[i], rv = vv - dy[i];
      for (let a = 0; a < 8; a++) {
        for (let b = 0; b < 8; b++) m[a * 8 + b] += ju[a] * ju[b] + jv[a] * jv[b];
        v[a] -= ju[a] * ru + jv[a] * rv;
      }
    }
    const step = solve(m, v, 8);
    if (!step) break;
    const next = Float64Array.from(best);
    for (let k = 0; k < 8; k++) next[k] += step[k];
    const err = reprojection(next, sx, sy, dx, dy, idx);
    if (!(err < bestErr)) break;
    const done = bestErr - err < 1e-10 * bestErr;
    best = next; bestErr = err;
    if (done) break;
  }
  return best;
}

function reprojection(h, sx, sy, dx, dy, idx) {
  let s = 0;
  for (const i of idx) {
    const p = projectPoint(h, sx[i], sy[i]);
    s += (p[0] - dx[i]) ** 2 + (p[1] - dy[i]) ** 2;
  }
  return s;
}

/* A small deterministic generator, so a run can be repeated. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/* Whether the 4 points keep their orientation from src to dst (OpenCV's check of a RANSAC sample). */
function goodSample(sx, sy, dx, dy, s) {
  const sign = (xs, ys, a, b, c) => Math.sign((xs[b] - xs[a]) * (ys[c] - ys[a]) - (ys[b] - ys[a]) * (xs[c] - xs[a]));
  for (const [a, b, c] of [[0, 1, 2], [1, 2, 3], [0, 1, 3], [0, 2, 3]]) {
    const p = sign(sx, sy, s[a], s[b], s[c]), q = sign(dx, dy, s[a], s[b], s[c]);
    if (!p || p !== q) return false;
  }
  return true;
}

/* RANSAC homography src → dst (n matches that passed the forward-backward test): {h, evidence}; h null
 * when there is no model. threshold: pixels. */
export function fitHomography(sx, sy, dx, dy, expected, threshold, maxIters = 500, confidence = 0.995) {
  const n = sx.length;
  const empty = {expected: expected, valid: n, xs: [], ys: [], residuals: []};
  if (n < 4) return {h: null, evidence: empty};
  const rand = random(0x5eed + n);
  const t2 = threshold * threshold;
  let bestCount = 0, bestMask = null, iters = maxIters;
  const mask = new Uint8Array(n);
  const all = Array.from({length: n}, (_, i) => i);
  for (let it = 0; it < iters; it++) {
    let sample = null;
    for (let tries = 0; tries < 100 && !sample; tries++) {
      const s = [];
      while (s.length < 4) {
        const k = Math.floor(rand() * n);
        if (s.indexOf(k) < 0) s.push(k);
      }
      if (goodSample(sx, sy, dx, dy, s)) sample = s;
    }
    if (!sample) break;
    const h = n === 4 ? dlt(sx, sy, dx, dy, all) : dlt(sx, sy, dx, dy, sample);
    if (!h) continue;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const x = sx[i], y = sy[i], w = h[6] * x + h[7] * y + h[8];
      const eu = (h[0] * x + h[1] * y + h[2]) / w - dx[i], ev = (h[3] * x + h[4] * y + h[5]) / w - dy[i];
      mask[i] = w > 1e-12 && eu * eu + ev * ev <= t2 ? 1 : 0;
      count += mask[i];
    }
    if (count > bestCount) {
      bestCount = count;
      bestMask = Uint8Array.from(mask);
      const outliers = 1 - count / n;
      const num = Math.log(1 - confidence), den = Math.log(1 - (1 - outliers) ** 4);
      if (den < 0 && num / den < iters) iters = Math.max(1, Math.round(num / den));
      if (count === n) break;
    }
  }
  if (bestCount < 4) return {h: null, evidence: empty};
  const inliers = all.filter((i) => bestMask[i]);
  const start = dlt(sx, sy, dx, dy, inliers);
  if (!start) return {h: null, evidence: empty};
  const h = normalised(refine(start, sx, sy, dx, dy, inliers));
  const residuals = inliers.map((i) => {
    const p = projectPoint(h, sx[i], sy[i]);
    return Math.hypot(p[0] - dx[i], p[1] - dy[i]);
  });
  return {h: h, evidence: {expected: expected, valid: n, xs: inliers.map((i) => sx[i]), ys: inliers.map((i) => sy[i]),
                           residuals: residuals}};
}
