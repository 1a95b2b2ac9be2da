/* A camera frame made small and grey for the tracking Worker (tracker-worker.js): the part that is
 * sent (the crop), SMALL_WIDTH pixels wide, as clients/anysupport_client/tracking/late.py's
 * FrameHistory keeps its frames. A YUV frame gives its luma plane (what the console tracks on too), an
 * RGB frame its grey (cv.COLOR_RGB2GRAY's weights), both averaged over boxes as cv.resize's INTER_AREA
 * (boxes of 8 pixels a side or more, from 1280 wide, read on every step-th row and column: a quarter
 * of the reads or fewer, still a low-pass). Frames whose pixels cannot be read (no format) are drawn
 * on a canvas. */

import {SMALL_WIDTH} from "./tracking/late.js";

const YUV = /^(I420|I420A|I422|I444|NV12)$/;
const RGB = {RGBA: [0, 1, 2], RGBX: [0, 1, 2], BGRA: [2, 1, 0], BGRX: [2, 1, 0]};  // byte of R, G, B
let canvas = null, context = null;

/* {picture: {width, height, data}, readMs: time waiting for the browser to copy the pixels}. */
export async function smallGrey(frame, crop, width = SMALL_WIDTH) {
  const height = Math.max(2, Math.round(width * crop.h / crop.w));
  const format = frame.format || "";
  if (YUV.test(format) || RGB[format]) {
    const even = YUV.test(format) ? ~1 : ~0;  // chroma planes: the rectangle on even pixels
    const rect = {x: crop.x & even, y: crop.y & even, width: crop.w & even, height: crop.h & even};
    const buffer = new Uint8Array(frame.allocationSize({rect: rect}));
    const asked = performance.now();
    const layout = await frame.copyTo(buffer, {rect: rect});
    const readMs = performance.now() - asked;
    const plane = {data: buffer, offset: layout[0].offset, stride: layout[0].stride, channels: RGB[format] || null};
    return {picture: shrink(plane, rect.width, rect.height, width, height), readMs: readMs};
  }
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
    context = canvas.getContext("2d", {willReadFrequently: true, alpha: false});
    context.imageSmoothingQuality = "high";
  }
  context.drawImage(frame, crop.x, crop.y, crop.w, crop.h, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < data.length; i++, j += 4) {
    data[i] = (rgba[j] * 4899 + rgba[j + 1] * 9617 + rgba[j + 2] * 1868 + 8192) >> 14;
  }
  return {picture: {width: width, height: height, data: data}, readMs: 0};
}

/* The mean of each output pixel's box of the plane (width x height; channels: null for one byte a
 * pixel, else the bytes of R, G and B in four), over every step-th row and column of the box. */
export function shrink(plane, width, height, outWidth, outHeight) {
  const {data: src, offset, stride, channels} = plane;
  const data = new Uint8Array(outWidth * outHeight);
  const step = Math.max(1, Math.floor(Math.min(width / outWidth, height / outHeight) / 4));
  const columns = [], starts = new Int32Array(outWidth + 1);
  for (let ox = 0; ox < outWidth; ox++) {
    starts[ox] = columns.length;
    for (let x = Math.round(ox * width / outWidth); x < Math.round((ox + 1) * width / outWidth); x += step) {
      columns.push(channels ? 4 * x : x);
    }
  }
  starts[outWidth] = columns.length;
  const cols = Int32Array.from(columns);
  const [r, g, b] = channels || [0, 0, 0];
  const unit = channels ? 16384 : 1;  // the grey weights' scale
  const sums = new Float64Array(outWidth);
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = Math.round(oy * height / outHeight), y1 = Math.round((oy + 1) * height / outHeight);
    sums.fill(0);
    let rows = 0;
    for (let y = y0; y < y1; y += step, rows++) {
      const row = offset + y * stride;
      for (let ox = 0; ox < outWidth; ox++) {
        let s = 0;
        if (channels) {
          for (let k = starts[ox]; k < starts[ox + 1]; k++) {
            const q = row + cols[k];
            s += src[q + r] * 4899 + src[q + g] * 9617 + src[q + b] * 1868;
          }
        } else {
          for (let k = starts[ox]; k < starts[ox + 1]; k++) s += src[row + cols[k]];
        }
        sums[ox] += s;
      }
    }
    for (let ox = 0; ox < outWidth; ox++) {
      data[oy * outWidth + ox] = Math.round(sums[ox] / (unit * (starts[ox + 1] - starts[ox]) * rows));
    }
  }
  return {width: outWidth, height: outHeight, data: data};
}
