/* The agent's drawings over the customer's preview, as clients/anysupport_client/media/annotation.py
 * keeps and draws them: add (same id replaces), remove, undo, clear; points are fractions of the
 * picture being sent, width and size are pixels of that picture, scaled with it to the screen. */

export const SHAPES = ["stroke", "line", "arrow", "rect", "ellipse", "text"];

export class AnnotationScene {
  constructor() { this.items = new Map(); this.order = []; this.version = 0; }
  apply(message) {
    const op = message.op;
    if (op === "add") {
      const item = message.item;
      if (!item || SHAPES.indexOf(item.shape) < 0) return false;
      if (this.items.has(item.id)) this.order.splice(this.order.indexOf(item.id), 1);
      this.items.set(item.id, item);
      this.order.push(item.id);
    } else if (op === "remove") {
      if (!this.items.has(message.id)) return false;
      this.items.delete(message.id);
      this.order.splice(this.order.indexOf(message.id), 1);
    } else if (op === "undo") {
      if (!this.order.length) return false;
      this.items.delete(this.order.pop());
    } else if (op === "clear") {
      if (!this.order.length) return false;
      this.items.clear();
      this.order = [];
    } else {
      return false;
    }
    this.version += 1;
    return true;
  }
  get size() { return this.order.length; }
  ordered() { return this.order.map((id) => this.items.get(id)); }
}

/* "#rrggbb" or "#rrggbbaa" → a CSS colour */
export function cssColor(text) {
  const h = text.replace("#", "");
  const r = parseInt(h.slice(0, 2), 16), g = parseInt(h.slice(2, 4), 16), b = parseInt(h.slice(4, 6), 16);
  const a = h.length === 8 ? parseInt(h.slice(6, 8), 16) / 255 : 1;
  return "rgba(" + r + "," + g + "," + b + "," + a.toFixed(3) + ")";
}

/* The part of the camera picture that is sent: the centre crop with the level's aspect ratio, as the
 * Python sender's FrameShaper makes it (media/codec.py), in camera pixels. */
export function cropRect(cameraWidth, cameraHeight, sentWidth, sentHeight) {
  if (cameraWidth * sentHeight > sentWidth * cameraHeight) {
    const w = Math.round(cameraHeight * sentWidth / sentHeight);
    return {x: Math.round((cameraWidth - w) / 2), y: 0, w: w, h: cameraHeight};
  }
  const h = Math.round(cameraWidth * sentHeight / sentWidth);
  return {x: 0, y: Math.round((cameraHeight - h) / 2), w: cameraWidth, h: h};
}

/* Where the sent picture lies on the canvas: the preview shows the whole camera picture (object-fit:
 * contain), and the sent picture is its centre crop, so a drawing sits on the same spot of the scene
 * as on the agent's screen and is never cut off. */
export function pictureRect(canvasWidth, canvasHeight, cameraWidth, cameraHeight, sentWidth, sentHeight) {
  const scale = Math.min(canvasWidth / cameraWidth, canvasHeight / cameraHeight);
  const left = (canvasWidth - cameraWidth * scale) / 2, top = (canvasHeight - cameraHeight * scale) / 2;
  const crop = cropRect(cameraWidth, cameraHeight, sentWidth || cameraWidth, sentHeight || cameraHeight);
  return {x: left + crop.x * scale, y: top + crop.y * scale, w: crop.w * scale, h: crop.h * scale,
          camera: {x: left, y: top, w: cameraWidth * scale, h: cameraHeight * scale}};
}

/* Dim what the camera sees but does not send (outside the crop). */
export function dimOutside(ctx, rect) {
  const c = rect.camera;
  ctx.save();
  ctx.fillStyle = "rgba(0,0,0,0.45)";
  ctx.fillRect(c.x, c.y, c.w, rect.y - c.y);
  ctx.fillRect(c.x, rect.y + rect.h, c.w, c.y + c.h - rect.y - rect.h);
  ctx.fillRect(c.x, rect.y, rect.x - c.x, rect.h);
  ctx.fillRect(rect.x + rect.w, rect.y, c.x + c.w - rect.x - rect.w, rect.h);
  ctx.restore();
}

/* Draw the scene on a 2D context: rect = where the picture is, sentWidth = its width in sent pixels. */
export function drawScene(ctx, scene, rect, sentWidth) {
  const unit = rect.w / sentWidth;  // screen pixels per sent pixel
  const at = (p) => [rect.x + p[0] * rect.w, rect.y + p[1] * rect.h];
  for (const item of scene.ordered()) {
    const color = cssColor(item.color);
    const lineWidth = Math.max(1, item.width * unit);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const pts = item.points.map(at);
    if (item.shape === "stroke") {
      ctx.beginPath();
      if (pts.length === 1) {
        ctx.arc(pts[0][0], pts[0][1], lineWidth / 2, 0, 2 * Math.PI);
        ctx.fill();
      } else {
        ctx.moveTo(pts[0][0], pts[0][1]);
        for (const p of pts.slice(1)) ctx.lineTo(p[0], p[1]);
        ctx.stroke();
      }
    } else if (item.shape === "line" || item.shape === "arrow") {
      const [a, b] = [pts[0], pts[pts.length - 1]];
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      if (item.shape === "arrow") {
        const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
        const head = Math.min(Math.max(10 * unit, lineWidth * 4), length * 0.6);
        const angle = Math.atan2(a[1] - b[1], a[0] - b[0]);
        for (const turn of [-28 * Math.PI / 180, 28 * Math.PI / 180]) {
          ctx.moveTo(b[0], b[1]);
          ctx.lineTo(b[0] + head * Math.cos(angle + turn), b[1] + head * Math.sin(angle + turn));
        }
      }
      ctx.stroke();
    } else if (item.shape === "rect") {
      const [a, b] = [pts[0], pts[pts.length - 1]];
      ctx.strokeRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
    } else if (item.shape === "ellipse") {
      const [a, b] = [pts[0], pts[pts.length - 1]];
      ctx.beginPath();
      ctx.ellipse((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, Math.abs(b[0] - a[0]) / 2, Math.abs(b[1] - a[1]) / 2,
        0, 0, 2 * Math.PI);
      ctx.stroke();
    } else if (item.shape === "text") {
      const size = (item.size || 24) * unit;
      ctx.font = Math.round(size) + "px 'NanumGothic', 'Noto Sans KR', sans-serif";
      ctx.textBaseline = "top";
      ctx.lineWidth = Math.max(2, size / 8);
      ctx.strokeStyle = "rgba(0,0,0,0.6)";
      ctx.strokeText(item.text, pts[0][0], pts[0][1]);
      ctx.fillText(item.text, pts[0][0], pts[0][1]);
    }
    ctx.restore();
  }
}
