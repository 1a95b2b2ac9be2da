/* Receiving the agent's picture and voice (while its video is on), as media/receiver.py: opened
 * frames → H.264 / Opus (codec.js; Opus from opus-wasm.js where WebCodecs has none) → the agent's
 * canvas and the loudspeaker. The picture starts at a keyframe; a decoder error asks for one (at most
 * every KEYFRAME_REQUEST_GAP_MS); every frame is counted for media_report (stats.js). The voice is
 * scheduled back to back with a small jitter buffer. */

import {audioContext, unlockAudio} from "./audio.js";
import {H264Decoder, OpusDecoder} from "./codec.js";
import {WasmOpusDecoder} from "./opus-wasm.js";
import {ReceiveStats} from "./stats.js";

export const KEYFRAME_REQUEST_GAP_MS = 500;
export const JITTER_BUFFER_S = 0.04;
export const MAX_AHEAD_S = 0.3;  // scheduled further ahead than this: start again at the buffer's depth

export class VideoReceiver {
  /* options: canvas (where the picture is drawn), possible (this browser decodes H.264),
   * askKeyframe() (sends keyframe_request), onFirstFrame(), stats (callStats) */
  constructor(options) {
    this.canvas = options.canvas;
    this.possible = options.possible;
    this.askKeyframe = options.askKeyframe;
    this.onFirstFrame = options.onFirstFrame;
    this.stats = options.stats;
    this.arrivals = new ReceiveStats();
    this.on = false;
    this.decoder = null;
    this.needsKey = true;
    this.askedKeyAt = 0;
  }

  /* The agent's video on or off. */
  setOn(on) {
    this.on = on;
    if (on) this.needsKey = true;
  }

  /* New keys restart the agent's sequences: wait for its next keyframe. */
  newKey() { this.needsKey = true; }

  receive(header, payload, arrivalUs) {
    this.arrivals.see(header.sequence, header.timestamp_us, arrivalUs, payload.length);
    if (!this.on || !this.possible) return;
    if (this.needsKey && !header.keyframe) return;
    if (!this.decoder || !this.decoder.usable) {
      this.decoder = new H264Decoder((frame) => this.show(frame),
                                     () => { this.decoder = null; this.needsKey = true; this.askAgain(); });
    }
    this.needsKey = false;
    this.decoder.decode(payload, header.keyframe, header.timestamp_us);
  }

  askAgain() {
    const now = performance.now();
    if (now - this.askedKeyAt < KEYFRAME_REQUEST_GAP_MS) return;
    this.askedKeyAt = now;
    this.askKeyframe();
  }

  show(frame) {
    try {
      if (!this.on) return;
      const canvas = this.canvas;
      if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
        canvas.width = frame.displayWidth;
        canvas.height = frame.displayHeight;
      }
      canvas.getContext("2d").drawImage(frame, 0, 0);
      this.stats.agent_frames += 1;
      this.stats.agent_size = [frame.displayWidth, frame.displayHeight];
      if (this.stats.agent_frames === 1) this.onFirstFrame();
    } finally {
      frame.close();
    }
  }

  /* {received, lost, late_ms, bytes, last_us} since the last report. */
  report() { return this.arrivals.take(); }

  close() {
    if (this.decoder) this.decoder.close();
    this.decoder = null;
  }
}

export class AudioReceiver {
  /* options: possible (this browser decodes Opus), wasm (in WebAssembly, not WebCodecs), stats (callStats) */
  constructor(options) {
    this.possible = options.possible;
    this.wasm = options.wasm === true;
    this.stats = options.stats;
    this.on = false;
    this.decoder = null;
    this.playAt = 0;
  }

  /* The voice call on or off (with the agent's video); off, nothing stale is kept for the next. */
  setOn(on) {
    this.on = on;
    if (!on) this.playAt = 0;
  }

  receive(header, payload) {
    if (!this.on || !this.possible) return;
    if (!unlockAudio()) return;
    if (!this.decoder || !this.decoder.usable) {
      const lost = () => { this.decoder = null; };
      this.decoder = this.wasm ? new WasmOpusDecoder((samples, rate) => this.play(samples, rate), lost)
        : new OpusDecoder((data) => this.playAudioData(data), lost);
    }
    this.decoder.decode(payload, header.timestamp_us);
  }

  /* WebCodecs' decoded voice: its samples, then it is closed. */
  playAudioData(data) {
    const rate = data.sampleRate;
    let samples;
    try {
      samples = new Float32Array(data.numberOfFrames);
      data.copyTo(samples, {planeIndex: 0, format: "f32-planar"});
    } finally {
      data.close();
    }
    this.play(samples, rate);
  }

  /* Mono Float32 samples at sampleRate, scheduled right after the previous block. */
  play(samples, sampleRate) {
    const context = audioContext();
    let sum = 0;
    for (const s of samples) sum += s * s;
    this.stats.audio_frames += 1;
    this.stats.audio_context = context.state;
    this.stats.audio_rms = Math.sqrt(sum / Math.max(1, samples.length));
    const buffer = context.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const node = context.createBufferSource();
    node.buffer = buffer;
    node.connect(context.destination);
    const now = context.currentTime;
    if (this.playAt < now || this.playAt > now + MAX_AHEAD_S) this.playAt = now + JITTER_BUFFER_S;
    node.start(this.playAt);
    node.onended = () => { this.stats.audio_played += 1; };
    this.playAt += buffer.duration;
  }

  close() {
    if (this.decoder) this.decoder.close();
    this.decoder = null;
  }
}
