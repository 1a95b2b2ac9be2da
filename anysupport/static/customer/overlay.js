/* The agents' drawings over the customer's preview, as clients/anysupport_client/media/annotation.py
 * keeps and draws them: add (same id replaces), remove, undo, clear; points are fractions of the
 * picture being sent, width and size are pixels of that picture, scaled with it to the screen.
 *
 * Every participant with full rights may draw (the session's agent, an invited expert: issue 21). Each
 * drawing is its sender's (`from_index` of the sealed message; a version-1 message is the session's
 * agent's, index 1), and a sender's undo and clear take only its own drawings, as its console shows
 * only its own: the expert's undo never takes the agent's last line. */

export const SESSION_AGENT = 1;

export const SHAPES = ["stroke", "line", "arrow", "rect", "ellipse", "text"];

/* Who sent an annotation or anchor message: its `from_index`, or the session's agent (version 1). */
export function senderOf(message) {
  return Number.isInteger(message.from_index) ? message.from_index : SESSION_AGENT;
}

export class AnnotationScene {
  constructor() { this.items = new Map(); this.order = []; this.owners = new Map(); this.version = 0; }
  apply(message) {
    const op = message.op;
    const by = senderOf(message);
    if (op === "add") {
      const item = message.item;
      if (!item || SHAPES.indexOf(item.shape) < 0) return false;
      if (this.items.has(item.id)) this.order.splice(this.order.indexOf(item.id), 1);
      this.items.set(item.id, item);
      this.owners.set(item.id, by);
      this.order.push(item.id);
    } else if (op === "remove") {
      if (!this.items.has(message.id)) return false;
      this.take([message.id]);
    } else if (op === "undo") {
      const mine = this.order.filter((id) => this.owners.get(id) === by);
      if (!mine.length) return false;
      this.take(mine.slice(-1));
    } else if (op === "clear") {
      const mine = this.order.filter((id) => this.owners.get(id) === by);
      if (!mine.length) return false;
      this.take(mine);
    } else {
      return false;
    }
    this.version += 1;
    return true;
  }
  take(ids) {
    for (const id of ids) {
      this.items.delete(id);
      this.owners.delete(id);
      this.order.splice(this.order.indexOf(id), 1);
    }
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

/* A drawing's points through its anchor's homography h (normalised, 9 numbers): a rectangle becomes
 * its four corners and an ellipse a polygon, since a homography keeps neither shape. */
export function placedPoints(item, h) {
  const map = (p) => {
    const w = h[6] * p[0] + h[7] * p[1] + h[8];
    return [(h[0] * p[0] + h[1] * p[1] + h[2]) / w, (h[3] * p[0] + h[4] * p[1] + h[5]) / w];
  };
  const [a, b] = [item.points[0], item.points[item.points.length - 1]];
  if (item.shape === "rect") return [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]].map(map);
  if (item.shape === "ellipse") {
    const cx = (a[0] + b[0]) / 2, cy = (a[1] + b[1]) / 2, rx = Math.abs(b[0] - a[0]) / 2, ry = Math.abs(b[1] - a[1]) / 2;
    const out = [];
    for (let k = 0; k <= 48; k++) out.push(map([cx + rx * Math.cos(k * Math.PI / 24), cy + ry * Math.sin(k * Math.PI / 24)]));
    return out;
  }
  return item.points.map(map);
}

/* Draw the scene on a 2D context: rect = where the picture is, sentWidth = its width in sent pixels,
 * placement(id) = undefined (not anchored: where it was drawn), null (anchored and lost: hidden) or
 * the homography that brings it to the picture shown (docs/tracking.md). Returns what was drawn:
 * [{id, points (fractions of the picture)}], for the tests. */
export function drawScene(ctx, scene, rect, sentWidth, placement = () => undefined) {
  const unit = rect.w / sentWidth;  // screen pixels per sent pixel
  const at = (p) => [rect.x + p[0] * rect.w, rect.y + p[1] * rect.h];
  const drawn = [];
  for (const item of scene.ordered()) {
    const h = placement(item.id);
    if (h === null) continue;
    const placed = h ? placedPoints(item, h) : item.points;
    if (!placed.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) continue;
    drawn.push({id: item.id, points: placed});
    const color = cssColor(item.color);
    const lineWidth = Math.max(1, item.width * unit);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const pts = placed.map(at);
    if (h && (item.shape === "rect" || item.shape === "ellipse")) {
      ctx.beginPath();
      ctx.moveTo(pts[0][0], pts[0][1]);
      for (const p of pts.slice(1)) ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    } else if (item.shape === "stroke") {
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
  return drawn;
}
