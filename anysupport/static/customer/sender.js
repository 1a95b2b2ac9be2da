/* Sending video, as media/sender.py's VideoSender: camera frames → due at the level's frame rate? →
 * cropped and scaled to the adapter's size → H.264 (codec.js) → send(stream, payload, keyframe,
 * timestampUs, counted), which seals and sends (call.js). Frames come from
 * MediaStreamTrackProcessor where the browser has it, else from the preview element with
 * requestVideoFrameCallback. A frame is dropped, not queued, when the encoder has more than two
 * waiting or the socket is not draining (which also counts as trouble for the adapter). The ack
 * clock (AckClock, as sender.py's): media_report's last_us acknowledges what the agent received; while
 * more than about a round trip of the bitrate is unacknowledged, frames are held (and that is
 * trouble). The page cannot see the kernel's buffer (bufferedAmount misses it: docs/netlab.md),
 * so this is what keeps seconds of video out of it. */

import {H264Encoder} from "./codec.js";
import {STREAM, nowUs} from "./e2e.js";
import {cropRect} from "./overlay.js";
import {Adapter, LEVELS} from "./quality.js";

export const KEYFRAME_INTERVAL_MS = 2000;
export const KEYFRAME_MIN_GAP_MS = 250;
export const SEND_BUFFER_LIMIT = 1 << 20;
export const ACK_MARGIN_S = 0.2;
export const ACK_MIN_WINDOW = 12000;
export const DEFAULT_RTT_MS = 200;
export const HOLD_TROUBLE_S = 0.5;  // holding this long (or two round trips, if longer) is trouble: not an RTO stall

/* Video bytes sent and not yet acknowledged by the receiver's reports, in capture order. */
export class AckClock {
  constructor(clock, staleAfter) {
    this.clock = clock || (() => performance.now() / 1000);
    this.staleAfter = staleAfter || 2.0;
    this.frames = [];  // [captureUs, bytes]
    this.head = 0;
    this.inFlight = 0;
    this.spacing = 0.25;
    this.lastAck = null;
    this.acks = 0;
    this.held = 0;
    this.holdingSince = null;  // when the current run of held frames began
  }
  sent(captureUs, size) { this.frames.push([captureUs, size]); this.inFlight += size; }
  acked(lastUs) {
    const now = this.clock();
    if (this.lastAck !== null) this.spacing = Math.min(1.0, Math.max(0.05, now - this.lastAck));
    this.lastAck = now;
    this.acks += 1;
    while (this.head < this.frames.length && this.frames[this.head][0] <= lastUs) {
      this.inFlight -= this.frames[this.head][1];
      this.head += 1;
    }
    if (this.head > 256) { this.frames = this.frames.slice(this.head); this.head = 0; }
  }
  reset() { this.frames = []; this.head = 0; this.inFlight = 0; }
  window(bitrate, rttMs) {
    const rtt = (rttMs !== null && rttMs !== undefined ? rttMs : DEFAULT_RTT_MS) / 1000;
    return Math.max(ACK_MIN_WINDOW, Math.trunc(bitrate / 8 * (rtt + this.spacing + ACK_MARGIN_S)));
  }
  holding(bitrate, rttMs) {
    const now = this.clock();
    let largest = 0;  // a keyframe in flight is a burst the window must not count against the link
    for (let k = this.head; k < this.frames.length; k++) largest = Math.max(largest, this.frames[k][1]);
    // the reports' spacing is known from the second on; stale ones pace nothing
    if (this.acks < 2 || now - this.lastAck > Math.max(this.staleAfter, 4 * (rttMs || 0) / 1000)
        || this.inFlight - largest <= this.window(bitrate, rttMs)) {
      this.holdingSince = null;
      return false;
    }
    this.held += 1;
    if (this.holdingSince === null) this.holdingSince = now;
    return true;
  }
  /* Seconds the current run of held frames has lasted (0 when not holding). */
  heldFor() { return this.holdingSince === null ? 0 : this.clock() - this.holdingSince; }
}

export class VideoSender {
  /* options: possible (this browser can send video: support.js), preview (the <video>, for
   * browsers without a track processor), trackProcessor (the browser has one), send (as above), ready() (keys, state and socket allow sending),
   * bufferedAmount() (bytes the socket has not sent yet), onQuality() (the size or rate changed),
   * stats (callStats), onFrame(frame, captureUs, crop) (every camera frame while sending, under the
   * timestamp its media frame would carry: the anchored drawings' history, anchoring.js) */
  constructor(options) {
    this.possible = options.possible;
    this.preview = options.preview;
    this.trackProcessor = options.trackProcessor;
    this.send = options.send;
    this.ready = options.ready;
    this.bufferedAmount = options.bufferedAmount;
    this.onQuality = options.onQuality;
    this.onFrame = options.onFrame || null;
    this.stats = options.stats;
    this.adapter = new Adapter("medium");
    this.acks = new AckClock();
    this.ownDrops = 0;  // frames dropped as stale that the agent's reports have not counted yet
    this.encoder = new H264Encoder((payload, keyframe, timestampUs) => this.encoded(payload, keyframe, timestampUs),
                                   () => { this.stats.encode_errors += 1; });
    this.track = null;
    this.enabled = true;   // the agent's or the user's video on/off
    this.hidden = document.visibilityState === "hidden";
    this.pumpToken = 0;
    this.forceKey = true;
    this.lastKeyAt = 0;
    this.nextFrameAt = 0;
    this.scaler = null;
    this.scalerCtx = null;
    this.askedSize = null;  // "WxH" last asked of the camera track
  }

  get quality() { return this.adapter.quality; }
  get level() { return this.adapter.level; }

  /* Frames are sent: on, the page shown and a camera. */
  get sending() { return this.enabled && !this.hidden && !!this.track && this.possible; }

  // -- control -------------------------------------------------------------------------------------
  setLevel(level) {
    if (!LEVELS[level]) return;
    this.adapter.setLevel(level);
    this.forceKey = true;
  }

  setEnabled(on) {
    this.enabled = !!on;
    if (on) this.forceKey = true;  // resume with a picture the receiver can start from
  }

  /* The page hidden (phone locked, another app in front) or shown again; true when it changed. */
  setHidden(hidden) {
    if (hidden === this.hidden) return false;
    this.hidden = hidden;
    if (!hidden) this.forceKey = true;
    return true;
  }

  requestKeyframe() { this.forceKey = true; }

  trouble(reason) { if (this.adapter.trouble(reason)) this.qualityChanged(); }

  /* `count` sealed frames went stale in the socket's queue: the next is a keyframe, and the agent's
   * reports will count them as lost, which is not the link's loss. */
  droppedHere(count) {
    this.ownDrops += count;
    this.forceKey = true;
  }

  /* A media_report for our video (bytes and lastUs: its `bytes` and `last_us`, when it says). */
  report(received, lost, lateMs, bytes, lastUs) {
    if (lastUs !== undefined && lastUs !== null) this.acks.acked(lastUs);
    const ours = Math.min(lost, this.ownDrops);  // gaps we made ourselves
    this.ownDrops -= ours;
    lost -= ours;
    if (this.adapter.report(received, lost, lateMs, bytes)) this.qualityChanged();
  }

  /* The measured round trip: the ack clock's window, the adapter's thresholds and its start. */
  roundTrip(rttMs) { if (this.adapter.roundTrip(rttMs)) this.qualityChanged(); }

  /* A new socket: what was in flight on the old one is gone. */
  reconnected() { this.acks.reset(); this.forceKey = true; }

  qualityChanged() {
    this.forceKey = true;
    this.onQuality();
  }

  // -- the pump ------------------------------------------------------------------------------------
  /* A new camera track: frames from it from now on. */
  use(track) {
    this.track = track;
    this.forceKey = true;
    this.askedSize = null;
    this.askSize(this.adapter.quality);
    this.start();
  }

  /* Ask the camera for the level's size (an ideal, kept with the track's other constraints, such as
   * the torch): a frame that comes at that size goes to the encoder without the canvas, which costs
   * WebKitGTK about 100 ms a 1280 × 720 frame (docs/pages.md). A camera that cannot is still
   * cropped and scaled. */
  askSize(q) {
    const track = this.track;
    const size = q.width + "x" + q.height;
    if (!track || !track.applyConstraints || size === this.askedSize) return;
    this.askedSize = size;
    const current = track.getConstraints ? track.getConstraints() : {};
    track.applyConstraints({...current, width: {ideal: q.width}, height: {ideal: q.height}}).catch(() => {});
  }

  start() {
    const token = ++this.pumpToken;
    if (!this.possible || !this.track) return;
    if (this.trackProcessor) {
      const processor = new MediaStreamTrackProcessor({track: this.track});
      const reader = processor.readable.getReader();
      const loop = async () => {
        while (token === this.pumpToken) {
          const result = await reader.read();
          if (result.done) return;
          this.process(result.value);
        }
        reader.cancel().catch(() => {});
      };
      loop();
    } else {
      const video = this.preview;
      const next = () => {
        if (token !== this.pumpToken) return;
        if (video.videoWidth) {
          try { this.process(new VideoFrame(video, {timestamp: nowUs()})); } catch (e) { /* not ready */ }
        }
        video.requestVideoFrameCallback(next);
      };
      video.requestVideoFrameCallback(next);
    }
  }

  /* One camera frame: encode it if it is due and may be sent. Closes the frame. */
  process(frame) {
    const captureUs = nowUs();
    try {
      if (this.adapter.tick()) this.qualityChanged();
      const q = this.adapter.quality;
      const now = performance.now();
      this.askSize(q);
      if (!this.sending || !this.ready()) return;
      if (this.onFrame) this.onFrame(frame, captureUs, cropRect(frame.displayWidth, frame.displayHeight, q.width, q.height));
      // the level's frame rate: a frame is due every 1000/fps ms; camera jitter of up to half an
      // interval does not drop one, and a late frame does not make the next ones burst
      const interval = 1000 / q.fps;
      if (now < this.nextFrameAt - interval / 2) return;
      if (this.bufferedAmount() > SEND_BUFFER_LIMIT) {
        this.stats.video_dropped += 1;
        this.adapter.sent(Math.trunc(q.bitrate / 8 / q.fps));
        this.trouble("socket_backlog");
        return;
      }
      if (this.acks.holding(q.bitrate, this.adapter.rttMs)) {
        this.stats.video_held += 1;
        this.adapter.sent(Math.trunc(q.bitrate / 8 / q.fps));  // offered: held, the link's goodput is all it gets
        this.nextFrameAt = Math.max(this.nextFrameAt + interval, now);  // held at the level's rate, not the camera's
        if (this.acks.heldFor() >= Math.max(HOLD_TROUBLE_S, 2 * (this.adapter.rttMs || 0) / 1000)) {
          this.trouble("unacknowledged " + Math.trunc(this.acks.inFlight / 1000) + " kB");  // pacing that lasts
        } else if (this.adapter.paced()) {
          this.qualityChanged();
        }
        return;
      }
      if (this.encoder.configure(q)) {
        this.forceKey = true;
        this.lastKeyAt = 0;
      }
      if (this.encoder.queueSize > 2) { this.stats.video_dropped += 1; return; }
      this.nextFrameAt = Math.max(this.nextFrameAt + interval, now);
      const scaled = this.shape(frame, q, captureUs);
      const key = this.forceKey && now - this.lastKeyAt >= KEYFRAME_MIN_GAP_MS || now - this.lastKeyAt >= KEYFRAME_INTERVAL_MS;
      if (key) { this.forceKey = false; this.lastKeyAt = now; }
      this.encoder.encode(scaled, key);
      scaled.close();
    } finally {
      frame.close();
    }
  }

  /* The centre crop of the level's aspect ratio, scaled to its size (the Python FrameShaper); a frame
   * from the track processor, already at the size and in memory the encoder reads (a pixel format:
   * Chromium's GPU-backed frames, format null, fail its encoder) goes as it is, under the capture
   * timestamp. A frame of the <video> element always takes the canvas: WebKitGTK 2.50's encoder fails
   * on those (EncodingError), and there the camera at the level's size makes the canvas 2.5 × cheaper. */
  shape(frame, q, captureUs) {
    const visible = frame.visibleRect;
    if (this.trackProcessor && frame.format && frame.displayWidth === q.width && frame.displayHeight === q.height
        && (!visible || (visible.width === q.width && visible.height === q.height))) {
      this.stats.video_direct += 1;  // handed to the encoder as the camera gave it (no canvas)
      return new VideoFrame(frame, {timestamp: captureUs});
    }
    if (!this.scaler || this.scaler.width !== q.width || this.scaler.height !== q.height) {
      this.scaler = new OffscreenCanvas(q.width, q.height);
      this.scalerCtx = this.scaler.getContext("2d", {alpha: false});
    }
    const crop = cropRect(frame.displayWidth, frame.displayHeight, q.width, q.height);
    this.scalerCtx.drawImage(frame, crop.x, crop.y, crop.w, crop.h, 0, 0, q.width, q.height);
    return new VideoFrame(this.scaler, {timestamp: captureUs});
  }

  /* An encoded frame out; none once the video is off (either side's stop, the page hidden): a frame the
   * encoder was still working on when the stop came is dropped, and the video resumes with a keyframe. */
  encoded(payload, keyframe, timestampUs) {
    if (!this.sending) { this.forceKey = true; return; }
    this.send(STREAM.customer_video, payload, keyframe, timestampUs, () => {
      this.acks.sent(timestampUs, payload.length);
      this.adapter.sent(payload.length);
      this.stats.video_sent += 1;
      this.stats.video_bytes += payload.length;
      if (keyframe) this.stats.keyframes_sent += 1;
    });
  }

  stop() {
    this.pumpToken += 1;
    this.track = null;
    this.encoder.close();
  }
}
