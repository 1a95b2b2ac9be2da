/* Drawings that stay on the object, the page's side (docs/tracking.md, docs/protocol.md `anchor`),
 * as the Python client's CustomerAnchors: every camera frame the sender takes goes, small, to the
 * tracking Worker (tracker-worker.js) under the capture timestamp its media frame carries; each
 * `anchor` message goes there too, with each drawing's region; the Worker answers after every frame
 * with each anchored drawing's homography to that frame (or null: hide it), which overlay.js draws
 * through. A camera switch clears it all and hides every anchored drawing until an `anchor` about a
 * frame of the new camera names it again (one still on its way about the old camera's is ignored). A quality change that changes the part of the camera picture that is sent (the high level's
 * 16:9 crop of a 4:3 camera) hides them from the first frame of the new crop until the Worker answers
 * for a frame of it: an answer is in fractions of its own frame's crop, and the overlay draws it on
 * the crop being sent now.
 *
 * Each agent who draws (the session's agent, an invited expert) sends `anchor` messages that list its own
 * drawings only: a drawing not listed by ITS sender is no longer anchored, another sender's message leaves
 * it as it is (else the agent's anchors would set the expert's drawings loose, drawn where they were drawn
 * rather than on the object).
 *
 * placement(id): undefined (not anchored: drawn where it was drawn), null (hidden) or the homography. */

import {senderOf} from "./overlay.js";

const MAX_IN_FLIGHT = 2;  // camera frames handed to the Worker and not answered yet
const RECENT = 240;  // answers kept for the tests and the browser's console

/* A drawing's region in its own frame (normalised): its points' bounding box (a text is one point). */
export function regionOf(item) {
  const xs = item.points.map((p) => p[0]), ys = item.points.map((p) => p[1]);
  const x0 = Math.min(...xs), y0 = Math.min(...ys);
  return [x0, y0, Math.max(1e-3, Math.max(...xs) - x0), Math.max(1e-3, Math.max(...ys) - y0)];
}

export class PageAnchors {
  /* onChange(): the placements changed (redraw); makeWorker(): the Worker (null when the browser has none). */
  constructor(onChange, makeWorker = defaultWorker) {
    this.onChange = onChange;
    this.makeWorker = makeWorker;
    this.worker = null;
    this.failed = false;
    this.inFlight = 0;
    this.placements = new Map();  // id → homography or null, as the Worker last answered
    this.hidden = new Set();  // anchored before a camera switch: hidden until an anchor names it again
    this.named = new Set();  // the drawings the last anchor message of each sender named
    this.namedBy = new Map();  // sender's index → the drawings its last anchor message named
    this.recent = [];  // [{timestamp_us, anchors, reasons, ms}]
    this.skipped = 0;  // camera frames not handed over (the Worker busy)
    this.answers = 0;  // the Worker's answers so far
    this.lastFrameUs = 0;
    this.lateMs = [];  // how far behind the newest camera frame each anchor message was (the last RECENT)
    this.crop = null;  // the crop of the newest frame handed over ("x,y,w,h")
    this.answeredCrop = null;  // the crop of the frame the Worker last answered for
    this.crops = new Map();  // timestamp_us → crop, of the frames handed over and not answered yet
    this.newestUs = 0;  // the newest camera frame's capture time, handed over or not
    this.switchedUs = -1;  // the newest frame of the camera before the last switch
  }

  placement(id) {
    if (this.hidden.has(id)) return null;
    const h = this.placements.get(id);
    if (h && this.answeredCrop !== this.crop) return null;  // for another crop than the one sent now
    return h;
  }

  start() {
    if (this.worker || this.failed) return this.worker;
    try {
      this.worker = this.makeWorker();
    } catch (e) {
      this.worker = null;
    }
    if (!this.worker) { this.failed = true; return null; }
    this.worker.onmessage = (event) => this.answered(event.data);
    this.worker.onerror = () => {
      this.failed = true;
      this.close();
      for (const id of this.placements.keys()) this.placements.set(id, null);
      this.onChange();
    };
    return this.worker;
  }

  /* A camera frame (not closed here) under its capture timestamp; crop: the part that is sent. */
  frame(frame, timestampUs, crop) {
    this.newestUs = Math.max(this.newestUs, timestampUs);
    if (!this.start()) return;
    const key = crop ? [crop.x, crop.y, crop.w, crop.h].join(",") : null;
    if (key !== this.crop) {
      const shown = Array.from(this.placements.values()).some((h) => h);
      this.crop = key;
      if (shown && this.answeredCrop !== key) this.onChange();  // hidden until an answer for this crop
    }
    if (this.inFlight >= MAX_IN_FLIGHT) { this.skipped += 1; return; }
    let copy;
    try { copy = frame.clone(); } catch (e) { return; }
    this.inFlight += 1;
    this.lastFrameUs = timestampUs;
    this.crops.set(timestampUs, key);
    this.worker.postMessage({type: "frame", timestamp_us: timestampUs, frame: copy, crop: crop}, [copy]);
  }

  /* An `anchor` message; scene: the AnnotationScene (the drawings' regions). */
  receive(message, scene) {
    // about a frame of the camera before a switch (it was on its way when the switch came): the drawings
    // it names stay hidden, as if it had come before the switch
    if (message.timestamp_us <= this.switchedUs) return;
    if (this.lastFrameUs) {
      this.lateMs.push((this.lastFrameUs - message.timestamp_us) / 1000);
      if (this.lateMs.length > RECENT) this.lateMs.shift();
    }
    const listed = {};
    for (const [id, h] of Object.entries(message.anchors || {})) {
      const item = scene.items.get(id);
      if (!item || !item.points || !item.points.length) continue;
      listed[id] = {h: h, region: regionOf(item)};
      if (h) this.hidden.delete(id);
      if (h === null || !this.placements.has(id)) this.placements.set(id, null);  // hidden until the Worker places it
    }
    const sender = senderOf(message);
    for (const id of this.namedBy.get(sender) || []) if (!(id in listed)) this.placements.delete(id);
    this.namedBy.set(sender, new Set(Object.keys(listed)));
    this.named = new Set([...this.namedBy.values()].flatMap((ids) => [...ids]));
    for (const id of Array.from(this.placements.keys())) if (!this.named.has(id)) this.placements.delete(id);
    // the others' anchored drawings stay anchored in the Worker (`keep`)
    const keep = [...this.named].filter((id) => !(id in listed));
    if (this.start()) this.worker.postMessage({type: "anchor", timestamp_us: message.timestamp_us, anchors: listed, keep: keep});
    else for (const id of Object.keys(listed)) this.placements.set(id, null);  // no Worker: never in a wrong place
    this.onChange();
  }

  answered(m) {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const before = this.placements.size;
    const placements = new Map();
    for (const id of this.named) placements.set(id, null);  // named, and the Worker has not answered for it yet
    for (const [id, h] of Object.entries(m.anchors)) placements.set(id, h);
    this.placements = placements;
    this.answeredCrop = this.crops.has(m.timestamp_us) ? this.crops.get(m.timestamp_us) : null;
    this.crops.delete(m.timestamp_us);
    this.answers += 1;
    this.recent.push(m);
    if (this.recent.length > RECENT) this.recent.shift();
    if (before || placements.size) this.onChange();
  }

  /* A drawing replaced (an add with its id): the old one's anchoring does not fit the new one. */
  drop(id) {
    this.placements.delete(id);
    this.named.delete(id);
    for (const ids of this.namedBy.values()) ids.delete(id);
    this.hidden.delete(id);
  }

  /* An annotation remove, undo or clear ends the anchoring of what it took away. */
  forget(scene) {
    for (const id of Array.from(this.placements.keys())) if (!scene.items.has(id)) this.placements.delete(id);
    for (const id of Array.from(this.named)) if (!scene.items.has(id)) this.named.delete(id);
    for (const ids of this.namedBy.values()) for (const id of Array.from(ids)) if (!scene.items.has(id)) ids.delete(id);
    for (const id of Array.from(this.hidden)) if (!scene.items.has(id)) this.hidden.delete(id);
  }

  /* Another camera: the frames held mean nothing now; every anchored drawing hides. */
  cameraChanged() {
    this.switchedUs = this.newestUs;
    for (const id of this.placements.keys()) this.hidden.add(id);
    this.placements.clear();
    this.named.clear();
    this.namedBy.clear();
    if (this.worker) this.worker.postMessage({type: "clear"});
    this.onChange();
  }

  close() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.inFlight = 0;
    this.crops.clear();
  }
}

function defaultWorker() {
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined") return null;
  return new Worker(new URL("./tracker-worker.js", import.meta.url), {type: "module"});
}
