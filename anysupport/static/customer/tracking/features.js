/* Shi-Tomasi corners, as OpenCV's goodFeaturesToTrack (late.py's corners of a drawing's surface). */

/* Up to maxCorners corners of the grey picture inside the rectangle [x0, x1) x [y0, y1), at least
 * minDistance apart, each with a smallest eigenvalue of at least quality times the best one. */
export function goodFeatures(picture, rect, maxCorners, quality, minDistance, blockSize = 5) {
  const {width: w, height: h, data} = picture;
  const [rx0, ry0, rx1, ry1] = rect;
  const r = blockSize >> 1;
  // the eigenvalues over the rectangle and a ring of one pixel (the 3x3 maximum looks there), which
  // need the derivatives r pixels further, which need the picture one pixel further (edges reflected)
  const ex0 = Math.max(0, rx0 - 1), ey0 = Math.max(0, ry0 - 1), ex1 = Math.min(w, rx1 + 1), ey1 = Math.min(h, ry1 + 1);
  const ew = ex1 - ex0, eh = ey1 - ey0;
  const m = r + 1, sw = ew + 2 * m, sh = eh + 2 * m;
  const src = new Float32Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    const row = reflect(ey0 - m + y, h) * w;
    for (let x = 0; x < sw; x++) src[y * sw + x] = data[row + reflect(ex0 - m + x, w)];
  }
  // Sobel products on the (ew + 2r) x (eh + 2r) area
  const dw = ew + 2 * r, dh = eh + 2 * r;
  const xx = new Float32Array(dw * dh), xy = new Float32Array(dw * dh), yy = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const c = (y + 1) * sw + x + 1;
      const dx = src[c - sw + 1] - src[c - sw - 1] + 2 * (src[c + 1] - src[c - 1]) + src[c + sw + 1] - src[c + sw - 1];
      const dy = src[c + sw - 1] - src[c - sw - 1] + 2 * (src[c + sw] - src[c - sw]) + src[c + sw + 1] - src[c - sw + 1];
      const k = y * dw + x;
      xx[k] = dx * dx; xy[k] = dx * dy; yy[k] = dy * dy;
    }
  }
  // box sums over blockSize x blockSize: rows, then columns
  const hx = new Float32Array(ew * dh), hxy = new Float32Array(ew * dh), hy = new Float32Array(ew * dh);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < ew; x++) {
      let a = 0, b = 0, c = 0;
      for (let u = 0; u < blockSize; u++) { const k = y * dw + x + u; a += xx[k]; b += xy[k]; c += yy[k]; }
      hx[y * ew + x] = a; hxy[y * ew + x] = b; hy[y * ew + x] = c;
    }
  }
  const eig = new Float32Array(ew * eh);
  let best = 0;
  for (let y = 0; y < eh; y++) {
    for (let x = 0; x < ew; x++) {
      let a = 0, b = 0, c = 0;
      for (let v = 0; v < blockSize; v++) { const k = (y + v) * ew + x; a += hx[k]; b += hxy[k]; c += hy[k]; }
      a *= 0.5; c *= 0.5;
      const e = a + c - Math.sqrt((a - c) * (a - c) + b * b);
      eig[y * ew + x] = e;
      const X = ex0 + x, Y = ey0 + y;
      if (e > best && X >= rx0 && X < rx1 && Y >= ry0 && Y < ry1) best = e;
    }
  }
  const threshold = best * quality;
  const found = [];
  for (let y = Math.max(1, ry0); y < Math.min(h - 1, ry1); y++) {
    for (let x = Math.max(1, rx0); x < Math.min(w - 1, rx1); x++) {
      const e = eig[(y - ey0) * ew + x - ex0];
      if (e < threshold || e <= 0) continue;
      let peak = true;  // a 3x3 local maximum (cv.dilate of the thresholded eigenvalues)
      for (let v = -1; v <= 1 && peak; v++) {
        for (let u = -1; u <= 1; u++) {
          const o = eig[(y + v - ey0) * ew + x + u - ex0];
          if (o >= threshold && o > e) { peak = false; break; }
        }
      }
      if (peak) found.push([e, x, y]);
    }
  }
  found.sort((p, q) => q[0] - p[0] || p[2] - q[2] || p[1] - q[1]);
  const chosen = [];
  const d2 = minDistance * minDistance;
  for (const [, x, y] of found) {
    if (chosen.length >= maxCorners) break;
    let good = true;
    for (const c of chosen) {
      if ((c[0] - x) * (c[0] - x) + (c[1] - y) * (c[1] - y) < d2) { good = false; break; }
    }
    if (good) chosen.push([x, y]);
  }
  return chosen;
}

function reflect(v, size) { return v < 0 ? -v : v >= size ? 2 * size - 2 - v : v; }
