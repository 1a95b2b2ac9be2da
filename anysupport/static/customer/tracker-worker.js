/* The tracking Worker: the page's own camera frames, small and grey, and the drawings anchored on them
 * (tracking/late.js, the port of clients/anysupport_client/tracking/late.py), off the page's main thread.
 *
 * In (postMessage):
 *   {type: "frame", timestamp_us, frame: VideoFrame (transferred; closed here), crop: {x, y, w, h}}
 *       a camera frame under the capture timestamp its media frame carries; the crop is the part that
 *       is sent (overlay.js cropRect), kept SMALL_WIDTH wide and grey
 *   {type: "grey", timestamp_us, width, height, data: Uint8Array}  the same, already small and grey
 *   {type: "anchor", timestamp_us, anchors: {id: {h: [9 numbers] | null, region: [x, y, w, h]}}}
 *       the console's anchor message with each drawing's region (normalised, in its own frame); a
 *       drawing not listed, and not in `keep` (the other agents' anchored drawings: each agent's message
 *       lists its own), is no longer anchored
 *   {type: "clear"}  a camera switch: no frames, no anchors
 * Out, one answer per frame message (also for a frame not kept): {type: "composed", timestamp_us,
 *   anchors: {id: [9 numbers] | null}, reasons: {id: why}, bases: {id: the timestamp of the frame its
 *   late homography is for}, ms (this frame's work), grey_ms (of which making it small and grey),
 *   read_ms (waiting for its pixels), anchor_ms (the anchor messages' work since the last frame),
 *   unreadable (frames so far whose pixels could not be read: on those, every anchored drawing is
 *   null, reason "frame_unreadable")}. */

import {smallGrey} from "./small-frames.js";
import {FrameHistory, LateAnchor} from "./tracking/late.js";

const history = new FrameHistory();
const anchors = new Map();  // id → LateAnchor
let anchorMs = 0;
let readMs = 0;  // waiting for the browser to copy a frame's pixels (not this Worker's work)
let unreadable = 0;  // frames whose pixels could not be read (or out of order): every drawing hidden on them

async function greyOf(frame, crop) {
  const got = await smallGrey(frame, crop);
  readMs = got.readMs;
  return got.picture;
}

function onFrame(timestampUs, picture, started, greyMs = 0) {
  const newest = history.newest;
  const kept = picture !== null && !(newest && timestampUs <= newest.timestampUs);
  if (kept) history.push(timestampUs, picture);
  else unreadable += 1;
  const out = {}, reasons = {}, bases = {};
  for (const [id, anchor] of anchors) {
    // a frame not kept has no answer of its own: the newest one's would be drawn over another picture
    const h = kept ? anchor.current() : null;
    out[id] = h ? Array.from(h) : null;
    reasons[id] = kept ? anchor.reason : "frame_unreadable";
    bases[id] = anchor.base ? anchor.base.timestampUs : null;
  }
  self.postMessage({type: "composed", timestamp_us: timestampUs, anchors: out, reasons: reasons, bases: bases,
                    ms: performance.now() - started - readMs, grey_ms: greyMs, read_ms: readMs, anchor_ms: anchorMs,
                    unreadable: unreadable});
  anchorMs = 0;
  readMs = 0;
}

function onAnchor(message) {
  const started = performance.now();
  const listed = message.anchors || {};
  const keep = new Set(message.keep || []);
  for (const id of Array.from(anchors.keys())) if (!(id in listed) && !keep.has(id)) anchors.delete(id);
  for (const [id, entry] of Object.entries(listed)) {
    let anchor = anchors.get(id);
    try {
      if (!anchor || String(anchor.region) !== String(entry.region)) {
        anchor = new LateAnchor(history, entry.region);
        anchors.set(id, anchor);
      }
      anchor.receive(message.timestamp_us, entry.h);
    } catch (e) {
      anchors.delete(id);  // a malformed entry: that drawing is not anchored
    }
  }
  anchorMs += performance.now() - started;
}

async function handle(m) {
  if (m.type === "frame") {
    const started = performance.now();
    let picture = null;
    try { picture = await greyOf(m.frame, m.crop); } catch (e) { /* not readable: answered without it */ }
    m.frame.close();
    onFrame(m.timestamp_us, picture, started, performance.now() - started - readMs);
  } else if (m.type === "grey") {
    onFrame(m.timestamp_us, {width: m.width, height: m.height, data: m.data}, performance.now());
  } else if (m.type === "anchor") {
    onAnchor(m);
  } else if (m.type === "clear") {
    anchors.clear();
    history.clear();
  }
}

// one message at a time, in order (reading a frame's pixels is asynchronous)
let queue = Promise.resolve();
self.onmessage = (event) => { queue = queue.then(() => handle(event.data)).catch(() => {}); };
