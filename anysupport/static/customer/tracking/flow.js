/* Pyramidal Lucas-Kanade forward and back, as OpenCV's calcOpticalFlowPyrLK
 * (clients/anysupport_client/tracking/flow.py): Gaussian pyramids with padded levels, Scharr
 * gradients, the window's iterations and the minimum-eigenvalue rule. */

/* 5-tap Gaussian ([1 4 6 4 1] / 16 both ways) then every second pixel, as cv.pyrDown (edges replicated). */
function pyrDown(src, w, h) {
  const dw = (w + 1) >> 1, dh = (h + 1) >> 1;
  const tmp = new Float32Array(dw * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < dw; x++) {
      const c = 2 * x;
      const xm2 = c - 2 < 0 ? 0 : c - 2, xm1 = c - 1 < 0 ? 0 : c - 1;
      const xp1 = c + 1 >= w ? w - 1 : c + 1, xp2 = c + 2 >= w ? w - 1 : c + 2;
      tmp[y * dw + x] = src[row + xm2] + 4 * src[row + xm1] + 6 * src[row + c] + 4 * src[row + xp1] + src[row + xp2];
    }
  }
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const c = 2 * y;
    const r0 = (c - 2 < 0 ? 0 : c - 2) * dw, r1 = (c - 1 < 0 ? 0 : c - 1) * dw, r2 = c * dw;
    const r3 = (c + 1 >= h ? h - 1 : c + 1) * dw, r4 = (c + 2 >= h ? h - 1 : c + 2) * dw;
    for (let x = 0; x < dw; x++) {
      out[y * dw + x] = (tmp[r0 + x] + 4 * tmp[r1 + x] + 6 * tmp[r2 + x] + 4 * tmp[r3 + x] + tmp[r4 + x]) / 256;
    }
  }
  return {data: out, width: dw, height: dh};
}

/* A level with a border of BORDER pixels (edges replicated; derivatives zero there, as OpenCV pads
 * them), so that no window of the flow needs a bounds check: stride = width + 2 * BORDER. */
function padded(level, border, pool) {
  const {data, width: w, height: h} = level;
  const stride = w + 2 * border, rows = h + 2 * border;
  const out = pool.take(stride * rows);
  for (let y = 0; y < rows; y++) {
    const src = clamp(y - border, h) * w, row = y * stride;
    out.set(data.subarray(src, src + w), row + border);
    out.fill(data[src], row, row + border);
    out.fill(data[src + w - 1], row + border + w, row + stride);
  }
  return {data: out, width: w, height: h, stride: stride, origin: border * stride + border, dx: null, dy: null,
          pool: pool};
}

/* Scharr derivatives in grey levels per pixel (OpenCV's LK uses Scharr too), on the padded level. */
function scharr(level) {
  const {data, width: w, height: h, stride, origin} = level;
  const dx = level.pool.take(data.length).fill(0), dy = level.pool.take(data.length).fill(0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = origin + y * stride + x;
      const l = x > 0 ? -1 : 0, r = x < w - 1 ? 1 : 0, u = y > 0 ? -stride : 0, d = y < h - 1 ? stride : 0;
      dx[c] = (3 * (data[c + u + r] - data[c + u + l]) + 10 * (data[c + r] - data[c + l])
        + 3 * (data[c + d + r] - data[c + d + l])) / 32;
      dy[c] = (3 * (data[c + d + l] - data[c + u + l]) + 10 * (data[c + d] - data[c + u])
        + 3 * (data[c + d + r] - data[c + u + r])) / 32;
    }
  }
  level.dx = dx;
  level.dy = dy;
}

/* The pyramid of a picture, as OpenCV builds it: levels until the next one would be no wider or
 * taller than the window. Derivatives are made when the level is first the "from" picture. */
export function pyramid(picture, flow, pool) {
  const border = flow.window + 2;
  let level = {data: Float32Array.from(picture.data), width: picture.width, height: picture.height};
  const levels = [padded(level, border, pool)];
  for (let k = 1; k <= flow.levels; k++) {
    const nw = (level.width + 1) >> 1, nh = (level.height + 1) >> 1;
    if (nw <= flow.window || nh <= flow.window) break;
    level = pyrDown(level.data, level.width, level.height);
    levels.push(padded(level, border, pool));
  }
  return levels;
}

const MIN_EIG = 1e-4;

/* Track n points (xs, ys) from pyramid a to pyramid b; guess: starting positions in b (or null).
 * Writes outX/outY and status (1 tracked, 0 lost), as cv.calcOpticalFlowPyrLK. */
function lucasKanade(a, b, xs, ys, n, guessX, guessY, flow, outX, outY, status) {
  const win = flow.window, half = (win - 1) / 2, area = win * win;
  const eps2 = flow.epsilon * flow.epsilon;
  const tpl = new Float64Array(3 * area);  // the window in a: pixel, x and y gradient, interleaved
  const top = Math.min(a.length, b.length) - 1;
  for (let level = top; level >= 0; level--) {
    const A = a[level], B = b[level];
    if (!A.dx) scharr(A);
    const scale = 1 / (1 << level);
    const aw = A.width, ah = A.height, bw = B.width, bh = B.height, as = A.stride, bs = B.stride;
    const ad = A.data, adx = A.dx, ady = A.dy, bd = B.data;
    for (let i = 0; i < n; i++) {
      if (level === top) {
        status[i] = 1;
        outX[i] = (guessX ? guessX[i] : xs[i]) * scale;
        outY[i] = (guessY ? guessY[i] : ys[i]) * scale;
      } else {
        outX[i] *= 2;
        outY[i] *= 2;
      }
      if (!status[i]) continue;
      const px = xs[i] * scale - half, py = ys[i] * scale - half;
      const ix = Math.floor(px), iy = Math.floor(py);
      if (ix < -win || ix >= aw || iy < -win || iy >= ah) {
        if (level === 0) status[i] = 0;
        continue;
      }
      let fx = px - ix, fy = py - iy;
      let w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      let a11 = 0, a12 = 0, a22 = 0, k = 0;
      for (let y = 0; y < win; y++) {
        let p = A.origin + (iy + y) * as + ix;
        for (let x = 0; x < win; x++, k += 3, p++) {
          tpl[k] = w00 * ad[p] + w01 * ad[p + 1] + w10 * ad[p + as] + w11 * ad[p + as + 1];
          const gx = w00 * adx[p] + w01 * adx[p + 1] + w10 * adx[p + as] + w11 * adx[p + as + 1];
          const gy = w00 * ady[p] + w01 * ady[p + 1] + w10 * ady[p + as] + w11 * ady[p + as + 1];
          tpl[k + 1] = gx; tpl[k + 2] = gy;
          a11 += gx * gx; a12 += gx * gy; a22 += gy * gy;
        }
      }
      // OpenCV's scale: Scharr x32 squared over 2^20, divided by the window's area
      const minEig = (a22 + a11 - Math.sqrt((a11 - a22) * (a11 - a22) + 4 * a12 * a12)) / (2 * area) / 1024;
      let det = a11 * a22 - a12 * a12;
      if (minEig < MIN_EIG || det < 1.1920929e-7 * 1024 * 1024) {
        if (level === 0) status[i] = 0;
        continue;
      }
      det = 1 / det;
      let nx = outX[i] - half, ny = outY[i] - half, prevDx = 0, prevDy = 0;
      for (let it = 0; it < flow.iterations; it++) {
        const jx = Math.floor(nx), jy = Math.floor(ny);
        if (jx < -win || jx >= bw || jy < -win || jy >= bh) {
          if (level === 0) status[i] = 0;
          break;
        }
        fx = nx - jx; fy = ny - jy;
        w00 = (1 - fx) * (1 - fy); w01 = fx * (1 - fy); w10 = (1 - fx) * fy; w11 = fx * fy;
        let b1 = 0, b2 = 0;
        k = 0;
        for (let y = 0; y < win; y++) {
          let p = B.origin + (jy + y) * bs + jx;
          for (let x = 0; x < win; x++, k += 3, p++) {
            const diff = w00 * bd[p] + w01 * bd[p + 1] + w10 * bd[p + bs] + w11 * bd[p + bs + 1] - tpl[k];
            b1 += diff * tpl[k + 1];
            b2 += diff * tpl[k + 2];
          }
        }
        const dx = (a12 * b2 - a22 * b1) * det, dy = (a12 * b1 - a11 * b2) * det;
        nx += dx; ny += dy;
        if (dx * dx + dy * dy <= eps2) break;
        if (it > 0 && Math.abs(dx + prevDx) < 0.01 && Math.abs(dy + prevDy) < 0.01) {
          nx -= dx * 0.5; ny -= dy * 0.5;
          break;
        }
        prevDx = dx; prevDy = dy;
      }
      outX[i] = nx + half;
      outY[i] = ny + half;
    }
  }
}

function clamp(v, size) { return v < 0 ? 0 : v >= size ? size - 1 : v; }

/* Track the points from a to b and back: {x, y, kept} (kept: both ways converged and the way back
 * ends within maxFbError of the start). */
export function forwardBackward(a, b, xs, ys, flow, maxFbError, guessX, guessY) {
  const n = xs.length;
  const fx = new Float64Array(n), fy = new Float64Array(n), st1 = new Uint8Array(n);
  const bx = new Float64Array(n), by = new Float64Array(n), st2 = new Uint8Array(n);
  lucasKanade(a, b, xs, ys, n, guessX, guessY, flow, fx, fy, st1);
  lucasKanade(b, a, fx, fy, n, xs, ys, flow, bx, by, st2);
  const kept = new Uint8Array(n);
  for (let i = 0; i < n; i++) kept[i] = st1[i] && st2[i] && Math.hypot(bx[i] - xs[i], by[i] - ys[i]) <= maxFbError ? 1 : 0;
  return {x: fx, y: fy, kept: kept};
}

/* Arrays of the pyramids of frames no longer held, for the next frames' (less for the collector to do). */
export class ArrayPool {
  constructor() { this.free = new Map(); }
  take(length) {
    const list = this.free.get(length);
    return list && list.length ? list.pop() : new Float32Array(length);
  }
  give(levels) {
    for (const level of levels) {
      for (const array of [level.data, level.dx, level.dy]) {
        if (!array) continue;
        if (!this.free.has(array.length)) this.free.set(array.length, []);
        const list = this.free.get(array.length);
        if (list.length < 8) list.push(array);
      }
    }
  }
}
