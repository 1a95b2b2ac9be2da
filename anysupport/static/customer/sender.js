/* Sending video, as media/sender.py's VideoSender: camera frames → due at the level's frame rate? →
 * cropped and scaled to the adapter's size → H.264 (codec.js) → send(stream, payload, keyframe,
 * timestampUs, counted), which seals and sends (call.js). Frames come from
 * MediaStreamTrackProcessor where the browser has it, else from the preview element with
 * requestVideoFrameCallback. A frame is dropped, not queued, when the encoder has more than two
 * waiting or the socket is not draining (which also counts as trouble for the adapter). */

import {H264Encoder} from "./codec.js";
import {STREAM, nowUs} from "./e2e.js";
import {cropRect} from "./overlay.js";
import {Adapter, LEVELS} from "./quality.js";

export const KEYFRAME_INTERVAL_MS = 2000;
export const KEYFRAME_MIN_GAP_MS = 250;
export const SEND_BUFFER_LIMIT = 1 << 20;

export class VideoSender {
  /* options: possible (this browser can send video: support.js), preview (the <video>, for
   * browsers without a track processor), trackProcessor (the browser has one), send (as above), ready() (keys, state and socket allow sending),
   * bufferedAmount() (bytes the socket has not sent yet), onQuality() (the size or rate changed),
   * stats (callStats) */
  constructor(options) {
    this.possible = options.possible;
    this.preview = options.preview;
    this.trackProcessor = options.trackProcessor;
    this.send = options.send;
    this.ready = options.ready;
    this.bufferedAmount = options.bufferedAmount;
    this.onQuality = options.onQuality;
    this.stats = options.stats;
    this.adapter = new Adapter("medium");
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

  report(received, lost, lateMs) { if (this.adapter.report(received, lost, lateMs)) this.qualityChanged(); }

  qualityChanged() {
    this.forceKey = true;
    this.onQuality();
  }

  // -- the pump ------------------------------------------------------------------------------------
  /* A new camera track: frames from it from now on. */
  use(track) {
    this.track = track;
    this.forceKey = true;
    this.start();
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
      if (!this.sending || !this.ready()) return;
      // the level's frame rate: a frame is due every 1000/fps ms; camera jitter of up to half an
      // interval does not drop one, and a late frame does not make the next ones burst
      const interval = 1000 / q.fps;
      if (now < this.nextFrameAt - interval / 2) return;
      if (this.bufferedAmount() > SEND_BUFFER_LIMIT) {
        this.stats.video_dropped += 1;
        this.trouble("socket_backlog");
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

  /* The centre crop of the level's aspect ratio, scaled to its size (the Python FrameShaper). */
  shape(frame, q, captureUs) {
    if (!this.scaler || this.scaler.width !== q.width || this.scaler.height !== q.height) {
      this.scaler = new OffscreenCanvas(q.width, q.height);
      this.scalerCtx = this.scaler.getContext("2d", {alpha: false});
    }
    const crop = cropRect(frame.displayWidth, frame.displayHeight, q.width, q.height);
    this.scalerCtx.drawImage(frame, crop.x, crop.y, crop.w, crop.h, 0, 0, q.width, q.height);
    return new VideoFrame(this.scaler, {timestamp: captureUs});
  }

  encoded(payload, keyframe, timestampUs) {
    this.send(STREAM.customer_video, payload, keyframe, timestampUs, () => {
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
