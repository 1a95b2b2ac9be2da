/* Homography arithmetic for the page's tracking (clients/anysupport_client/tracking/geometry.py):
 * homographies are 9 numbers row-major (Float64Array or arrays), points [x, y], regions [x, y, w, h]. */

export function multiply(a, b) {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  }
  return out;
}

export function invert(h) {
  const [a, b, c, d, e, f, g, k, m] = h;
  const A = e * m - f * k, B = -(d * m - f * g), C = d * k - e * g;
  const det = a * A + b * B + c * C;
  if (!det) return null;
  const out = new Float64Array([A, -(b * m - c * k), b * f - c * e, B, a * m - c * g, -(a * f - c * d), C,
    -(a * k - b * g), a * e - b * d]);
  for (let i = 0; i < 9; i++) out[i] /= det;
  return out;
}

export function normalised(h) {
  let d = h[8];
  if (Math.abs(d) <= 1e-12) d = Math.max(...Array.from(h, Math.abs));
  return Float64Array.from(h, (v) => v / d);
}

export function scaleMatrix(sx, sy) { return new Float64Array([sx, 0, 0, 0, sy, 0, 0, 0, 1]); }

/* One point through h: [x, y], or [Infinity, Infinity] at or behind the horizon. */
export function projectPoint(h, x, y) {
  const w = h[6] * x + h[7] * y + h[8];
  if (!(w > 1e-12)) return [Infinity, Infinity];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

export function corners(region) {
  const [x, y, w, h] = region;
  return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]];
}

export function polygonArea(pts) {
  let s = 0;
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i], b = pts[(i + 1) % pts.length];
    s += a[0] * b[1] - a[1] * b[0];
  }
  return 0.5 * s;
}

export function clipRegion(region, width, height, margin) {
  const [x, y, w, h] = region;
  const x0 = Math.max(margin, x), y0 = Math.max(margin, y);
  const x1 = Math.min(width - margin, x + w), y1 = Math.min(height - margin, y + h);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return [x0, y0, x1 - x0, y1 - y0];
}

export function growRegion(region, pad, minSide) {
  let [x, y, w, h] = region;
  x -= pad; y -= pad; w += 2 * pad; h += 2 * pad;
  if (w < minSide) { x -= (minSide - w) / 2; w = minSide; }
  if (h < minSide) { y -= (minSide - h) / 2; h = minSide; }
  return [x, y, w, h];
}

export function convexHullArea(xs, ys, n) {
  if (n < 3) return 0;
  const idx = Array.from({length: n}, (_, i) => i).sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b]);
  const cross = (o, a, b) => (xs[a] - xs[o]) * (ys[b] - ys[o]) - (ys[a] - ys[o]) * (xs[b] - xs[o]);
  const lower = [], upper = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], i) <= 0) lower.pop();
    lower.push(i);
  }
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], i) <= 0) upper.pop();
    upper.push(i);
  }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  return Math.abs(polygonArea(hull.map((i) => [xs[i], ys[i]])));
}
