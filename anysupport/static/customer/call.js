/* The customer's side of a support session in the browser: the same control messages, sealed frames
 * and key exchange as clients/anysupport_client/session/customer.py (docs/protocol.md), with
 * WebCodecs for H.264 / Opus and WebCrypto for the keys. The UI (app.js) listens to its events;
 * nothing here touches the DOM but the media elements it is given.
 *
 * Events (CustomEvent, detail): state {state, reason}, connection {status}, keys {sas, sas_display},
 * key_failed {code}, camera_state {...}, capabilities {...}, chat {from, text}, guide {direction},
 * annotation {}, recording {on}, agent_video {on}, survey {…}, survey_saved {}, error {…},
 * ended {reason}, lost {}, notice {key}. */

import {CustomerKeyExchange, FrameOpener, FrameSealer, KeyExchangeError, STREAM, nowUs} from "./e2e.js";
import {Adapter, LEVELS} from "./quality.js";
import {AnnotationScene, cropRect} from "./overlay.js";

export const CODEC = "avc1.42E01F";  // H.264 constrained baseline, level 3.1 (720p30)
export const KEYFRAME_INTERVAL_MS = 2000;
export const KEYFRAME_MIN_GAP_MS = 250;
export const RECONNECT_GRACE_MS = 30000;
export const REPORT_INTERVAL_MS = 1000;
export const SEND_BUFFER_LIMIT = 1 << 20;
const FINAL_CLOSE_CODES = [4001, 4002, 4003];
const LATE_BASE_WINDOW_US = 10e6;
const MIC_WORKLET = new URL("./mic-worklet.js", import.meta.url).href;

let sharedAudio = null;

/* The one AudioContext of the page (48 kHz), made and resumed inside a user gesture (the join
 * button) so that the agent's voice may play. */
export function unlockAudio() {
  try {
    if (!sharedAudio) sharedAudio = new AudioContext({sampleRate: 48000, latencyHint: "interactive"});
    if (sharedAudio.state === "suspended") sharedAudio.resume();
  } catch (e) {
    sharedAudio = null;
  }
  return sharedAudio;
}

/* What this browser can do, before anything is asked of the user. */
export async function detect() {
  const found = {
    secure: window.isSecureContext === true,
    camera: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    video_encode: false, video_decode: false, audio_encode: false, audio_decode: false,
    webcrypto: !!(window.crypto && crypto.subtle),
    track_processor: typeof window.MediaStreamTrackProcessor === "function",
    frame_callback: "requestVideoFrameCallback" in HTMLVideoElement.prototype,
  };
  try {
    if (typeof VideoEncoder === "function") {
      found.video_encode = (await VideoEncoder.isConfigSupported({codec: CODEC, width: 640, height: 480,
        bitrate: 800000, framerate: 30, latencyMode: "realtime", avc: {format: "annexb"}})).supported === true;
    }
    if (typeof VideoDecoder === "function") {
      found.video_decode = (await VideoDecoder.isConfigSupported({codec: CODEC})).supported === true;
    }
    if (typeof AudioEncoder === "function") {
      found.audio_encode = (await AudioEncoder.isConfigSupported({codec: "opus", sampleRate: 48000,
        numberOfChannels: 1, bitrate: 32000})).supported === true;
    }
    if (typeof AudioDecoder === "function") {
      found.audio_decode = (await AudioDecoder.isConfigSupported({codec: "opus", sampleRate: 48000,
        numberOfChannels: 1})).supported === true;
    }
  } catch (e) {
    // a browser that throws on the check cannot do it
  }
  if (found.webcrypto) {
    try {
      await crypto.subtle.generateKey({name: "X25519"}, false, ["deriveBits"]);
    } catch (e) {
      found.webcrypto = false;
    }
  }
  found.video = found.secure && found.camera && found.video_encode && found.webcrypto;
  found.voice = found.video && found.audio_encode && found.audio_decode;
  return found;
}

export function wsAddress(wsUrl, token) {
  const url = new URL(wsUrl, window.location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.searchParams.set("token", token);
  return url.toString();
}

/* Frames lost (sequence gaps) and lateness against the link's best, as media/receiver.py. */
class ReceiveStats {
  constructor() { this.expected = null; this.received = 0; this.lost = 0; this.base = []; this.samples = []; }
  see(sequence, captureUs, arrivalUs) {
    if (this.expected !== null && sequence > this.expected) this.lost += sequence - this.expected;
    if (this.expected === null || sequence >= this.expected) this.expected = sequence + 1;
    this.received += 1;
    const transit = arrivalUs - captureUs;
    while (this.base.length && this.base[this.base.length - 1][1] >= transit) this.base.pop();
    this.base.push([arrivalUs, transit]);
    while (this.base[0][0] < arrivalUs - LATE_BASE_WINDOW_US) this.base.shift();
    this.samples.push(Math.max(0, (transit - this.base[0][1]) / 1000));
  }
  take() {
    const sorted = this.samples.slice().sort((a, b) => a - b);
    let late = 0;
    if (sorted.length) {  // numpy's default (linear) 80th percentile
      const rank = 0.8 * (sorted.length - 1);
      const low = Math.floor(rank);
      const high = Math.min(sorted.length - 1, low + 1);
      late = sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
    const report = {received: this.received, lost: this.lost, late_ms: Math.round(Math.min(600000, late) * 10) / 10};
    this.received = 0;
    this.lost = 0;
    this.samples = [];
    return report;
  }
}

export class CustomerCall extends EventTarget {
  /* joined: {token, session_id, ws_url}; found: detect(); preview: the <video> showing the camera;
   * agentCanvas: where the agent's picture is drawn. */
  constructor(joined, found, preview, agentCanvas) {
    super();
    this.joined = joined;
    this.found = found;
    this.preview = preview;
    this.agentCanvas = agentCanvas;
    this.sessionId = joined.session_id;
    this.state = joined.state || "online";
    this.limits = {media_max_frame_bytes: 524288};
    this.ws = null;
    this.closing = false;
    this.goneSince = null;
    this.reconnects = 0;
    this.kx = new CustomerKeyExchange(this.sessionId);
    this.sealer = null;
    this.openers = [];  // the current key's opener first, then the previous one (§3.5)
    this.sas = null;
    this.scene = new AnnotationScene();
    this.chat = [];
    this.guide = null;
    this.recording = false;
    this.agentVideo = false;
    this.speakerphone = true;  // a phone's browser plays a call on the loudspeaker
    this.survey = null;
    this.endReason = null;
    // the camera
    this.stream = null;
    this.track = null;
    this.facing = "back";
    this.flash = false;
    this.cameras = ["back"];
    this.videoDevices = [];
    this.videoOn = true;     // the agent's (or the user's) video on/off
    this.hidden = document.visibilityState === "hidden";
    this.adapter = new Adapter("medium");
    this.encoder = null;
    this.encoderSize = null;
    this.scaler = null;
    this.pumpToken = 0;
    this.forceKey = true;
    this.lastKeyAt = 0;
    this.nextFrameAt = 0;
    this.sendChain = Promise.resolve();
    this.recvChain = Promise.resolve();
    this.keyChain = Promise.resolve();
    // the microphone and the agent's voice
    this.mic = null;
    this.audioEncoder = null;
    this.audioPump = 0;
    this.audioDecoder = null;
    this.playAt = 0;
    this.videoDecoder = null;
    this.decoderNeedsKey = true;
    this.agentStats = new ReceiveStats();
    this.reportTimer = null;
    this.stats = {
      video_sent: 0, video_bytes: 0, keyframes_sent: 0, video_dropped: 0, audio_sent: 0,
      frames_in: 0, refused: {}, agent_frames: 0, agent_size: null, audio_frames: 0, audio_rms: 0,
      audio_played: 0, reconnects: 0, encode_errors: 0, server_errors: [],
    };
  }

  emit(name, detail) { this.dispatchEvent(new CustomEvent(name, {detail: detail || {}})); }

  // -- the control socket ------------------------------------------------------------------------
  start() {
    this.open();
    this.reportTimer = window.setInterval(() => this.report(), REPORT_INTERVAL_MS);
    document.addEventListener("visibilitychange", this.onVisibility = () => this.setHidden(
      document.visibilityState === "hidden"));
  }

  open() {
    const ws = new WebSocket(wsAddress(this.joined.ws_url, this.joined.token));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (this.goneSince !== null) {
        this.reconnects += 1;
        this.stats.reconnects = this.reconnects;
        this.emit("connection", {status: "back"});
      }
      this.goneSince = null;
      this.backoff = 250;
      this.requestKeyframe();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        this.onMessage(message);
      } else {
        const bytes = new Uint8Array(event.data);
        // one at a time, in arrival order: decoders need frames in order, and WebCrypto's promises
        // need not resolve in the order they were made
        this.recvChain = this.recvChain.then(() => this.onFrame(bytes)).catch(() => {});
      }
    };
    ws.onclose = (event) => this.onClose(ws, event);
  }

  onClose(ws, event) {
    if (this.ws === ws) this.ws = null;
    if (this.closing) return;
    if (FINAL_CLOSE_CODES.indexOf(event.code) >= 0 || this.done()) {
      this.finish(event.code === 4003 ? "session_ended" : "closed_" + event.code);
      return;
    }
    const now = performance.now();
    if (this.goneSince === null) {
      this.goneSince = now;
      this.backoff = 250;
      this.emit("connection", {status: "reconnecting"});
    }
    if (now - this.goneSince > RECONNECT_GRACE_MS) {
      this.emit("lost", {});
      this.finish("lost");
      return;
    }
    window.setTimeout(() => { if (!this.closing) this.open(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 2000);
  }

  done() { return this.state === "expired" && (this.survey === null || this.surveyAnswered); }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  finish(reason) {
    this.closing = true;
    window.clearInterval(this.reportTimer);
    if (this.onVisibility) document.removeEventListener("visibilitychange", this.onVisibility);
    this.stopMedia();
    if (this.ws) this.ws.close();
    this.emit("ended", {reason: reason, state: this.state, expire_reason: this.endReason});
  }

  // -- what arrives --------------------------------------------------------------------------------
  onMessage(m) {
    const handler = this["on_" + m.type];
    if (handler) handler.call(this, m);
  }

  on_hello(m) {
    const session = m.session || {};
    if (m.limits) this.limits = m.limits;
    this.agentName = session.agent_name;
    this.enterState(session.state || this.state);
  }

  on_state(m) {
    if (m.state === "expired") this.endReason = m.reason || null;
    this.enterState(m.state, m.reason);
  }

  enterState(state, reason) {
    const previous = this.state;
    this.state = state;
    if (state === "connected") {
      this.send(this.capabilities());
      this.send(this.cameraState());
    }
    if (state === "expired") this.stopMedia();
    if (state !== previous || state === "connected") this.emit("state", {state: state, reason: reason});
  }

  on_peer(m) {
    if (m.peer === "agent" && m.status === "back" && this.state === "connected") {
      this.send(this.capabilities());
      this.send(this.cameraState());
      this.requestKeyframe();
    }
    this.emit("peer", m);
  }

  on_key_exchange(m) {
    this.keyChain = this.keyChain.then(() => this.keyExchange(m)).catch(() => {});
  }

  async keyExchange(m) {
    let result;
    try {
      result = await this.kx.receive(m);
    } catch (e) {
      const code = e instanceof KeyExchangeError ? e.code : "protocol";
      this.send({type: "key_exchange_failed", reason: code});
      this.emit("key_failed", {code: code});
      return;
    }
    for (const reply of result.replies) this.send(reply);
    if (result.keys) {
      const keys = result.keys;
      this.sealer = await FrameSealer.create(keys.send_key, "customer");
      const opener = await FrameOpener.create(keys.recv_key, "agent", this.limits.media_max_frame_bytes);
      this.openers = [opener].concat(this.openers.slice(0, 1));
      this.sas = keys.sas_display;
      this.decoderNeedsKey = true;
      this.requestKeyframe();
      this.emit("keys", {sas: keys.sas, sas_display: keys.sas_display, generation: keys.generation});
    }
  }

  on_key_exchange_failed(m) { this.emit("key_failed", {code: m.reason, by: "agent"}); }

  on_camera(m) {
    const done = () => this.sendCameraState();
    if (m.command === "flash") this.setFlash(m.on).then(done);
    else if (m.command === "focus") this.focus(m.x, m.y).then(done);
    else if (m.command === "switch") this.switchCamera(m.facing).then(done);
    else if (m.command === "quality") { this.setLevel(m.level); done(); }
    else if (m.command === "video") { this.setVideo(m.on); }
    this.emit("camera", m);
  }

  on_speakerphone(m) {
    // a browser cannot move the call between earpiece and loudspeaker: say where it plays
    this.emit("speakerphone", {on: m.on, possible: false});
    this.sendCameraState();
  }

  on_agent_video(m) {
    this.agentVideo = !!m.on;
    if (this.agentVideo) {
      this.decoderNeedsKey = true;
      this.send({type: "keyframe_request", stream: "agent_video"});
      this.startMicrophone();
    } else {
      this.stopMicrophone();
      this.playAt = 0;
    }
    this.emit("agent_video", {on: this.agentVideo});
  }

  on_recording(m) { this.recording = !!m.on; this.emit("recording", {on: this.recording}); }

  on_chat(m) {
    const line = {from: m.from || "agent", text: m.text, time: m.time};
    this.chat.push(line);
    this.emit("chat", line);
  }

  on_guide(m) { this.guide = m.direction; this.emit("guide", {direction: m.direction}); }

  on_annotation(m) { if (this.scene.apply(m)) this.emit("annotation", {items: this.scene.size}); }

  on_keyframe_request(m) {
    if ((m.stream || "customer_video") !== "customer_video") return;
    this.requestKeyframe();
    if (m.from === "server") this.trouble(m.reason || "relay_dropped");
  }

  on_media_report(m) {
    if (m.stream === "customer_video" && this.adapter.report(m.received || 0, m.lost || 0, m.late_ms || 0)) {
      this.qualityChanged();
    }
  }

  on_error(m) {
    if (this.stats.server_errors.length < 20) this.stats.server_errors.push(m.error + ":" + (m.field || m.ref || ""));
    if (m.error === "frame_dropped" && (m.field === "rate" || m.field === "too_large")) this.trouble("relay " + m.field);
    this.emit("error", m);
  }

  on_survey(m) { this.survey = m; this.emit("survey", m); }

  on_survey_saved(m) {
    this.surveyAnswered = true;
    this.emit("survey_saved", m);
  }

  on_kicked(m) { this.emit("kicked", m); }

  // -- what we tell the agent ----------------------------------------------------------------------
  capabilities() {
    const caps = this.track && this.track.getCapabilities ? this.track.getCapabilities() : {};
    const focusModes = caps.focusMode || [];
    const supported = navigator.mediaDevices && navigator.mediaDevices.getSupportedConstraints
      ? navigator.mediaDevices.getSupportedConstraints() : {};
    return {
      type: "capabilities",
      flash: caps.torch === true,
      focus: !!supported.pointsOfInterest || focusModes.indexOf("single-shot") >= 0,
      cameras: this.cameras.slice(),
      audio: this.found.voice === true && this.mic !== false,
      speakerphone: false,
      qualities: this.found.video ? Object.keys(LEVELS) : [],
      device: ("browser " + navigator.userAgent).slice(0, 200),
    };
  }

  cameraState() {
    const q = this.adapter.quality;
    return {type: "camera_state", flash: this.flash, facing: this.facing, quality: this.adapter.level,
            video: this.sending(), speakerphone: this.speakerphone, width: q.width, height: q.height};
  }

  sendCameraState() {
    const state = this.cameraState();
    if (this.state === "connected") this.send(state);
    this.emit("camera_state", state);
  }

  sending() { return this.videoOn && !this.hidden && !!this.track && this.found.video; }

  // -- the camera --------------------------------------------------------------------------------
  /* Ask for the camera (rear first) and the microphone. Resolves to null, or the refusal's name
   * (NotAllowedError, NotFoundError, …) for the UI to explain. */
  async openCamera() {
    let stream;
    const video = {facingMode: {ideal: "environment"}, width: {ideal: 1280}, height: {ideal: 720}};
    try {
      stream = await navigator.mediaDevices.getUserMedia({video: video, audio: this.found.voice});
    } catch (e) {
      if (!this.found.voice) return e.name || "Error";
      try {
        stream = await navigator.mediaDevices.getUserMedia({video: video});
        this.mic = false;  // camera yes, microphone no: video works, voice does not
      } catch (e2) {
        return e2.name || "Error";
      }
    }
    this.useStream(stream, "back");
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.videoDevices = devices.filter((d) => d.kind === "videoinput");
      this.cameras = this.videoDevices.length >= 2 ? ["back", "front"] : ["back"];
    } catch (e) {
      this.cameras = ["back"];
    }
    return null;
  }

  useStream(stream, facing) {
    const old = this.stream;
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    if (old) old.getVideoTracks().forEach((t) => t.stop());
    if (audioTrack) this.micTrack = audioTrack;
    this.stream = new MediaStream([videoTrack]);
    this.track = videoTrack;
    this.facing = facing;
    this.flash = false;
    this.preview.srcObject = this.stream;
    this.preview.play().catch(() => {});
    this.forceKey = true;
    this.startPump();
  }

  async setFlash(on) {
    const caps = this.track && this.track.getCapabilities ? this.track.getCapabilities() : {};
    if (caps.torch !== true) { this.flash = false; return false; }
    try {
      await this.track.applyConstraints({advanced: [{torch: !!on}]});
      this.flash = !!on;
      return true;
    } catch (e) {
      return false;
    }
  }

  async focus(x, y) {
    if (!this.track) return false;
    const caps = this.track.getCapabilities ? this.track.getCapabilities() : {};
    const advanced = {};
    if (navigator.mediaDevices.getSupportedConstraints().pointsOfInterest) advanced.pointsOfInterest = [{x: x, y: y}];
    if ((caps.focusMode || []).indexOf("single-shot") >= 0) advanced.focusMode = "single-shot";
    if (!Object.keys(advanced).length) return false;
    try { await this.track.applyConstraints({advanced: [advanced]}); return true; } catch (e) { return false; }
  }

  /* The other camera: by facingMode where the browser knows it (phones), else by the other device
   * (cameras that report no facing, like a laptop's or the tests' fake ones). */
  async switchCamera(facing) {
    const want = facing || (this.facing === "back" ? "front" : "back");
    if (want === this.facing || this.cameras.length < 2) return false;
    const size = {width: {ideal: 1280}, height: {ideal: 720}};
    const attempts = [{facingMode: {exact: want === "back" ? "environment" : "user"}, ...size}];
    const current = this.track && this.track.getSettings ? this.track.getSettings().deviceId : null;
    const other = this.videoDevices.find((d) => d.deviceId && d.deviceId !== current);
    if (other) attempts.push({deviceId: {exact: other.deviceId}, ...size});
    for (const video of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({video: video});
        this.useStream(stream, want);
        return true;
      } catch (e) {
        // not this way: try the next
      }
    }
    return false;
  }

  setLevel(level) {
    if (!LEVELS[level]) return;
    this.adapter.setLevel(level);
    this.forceKey = true;
  }

  setVideo(on) {
    this.videoOn = !!on;
    if (on) this.forceKey = true;
    this.sendCameraState();
  }

  setHidden(hidden) {
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    if (!hidden) this.forceKey = true;
    this.sendCameraState();
    this.emit("paused", {hidden: hidden});
  }

  trouble(reason) { if (this.adapter.trouble(reason)) this.qualityChanged(); }

  qualityChanged() {
    this.forceKey = true;
    this.sendCameraState();
  }

  requestKeyframe() { this.forceKey = true; }

  // -- sending video -------------------------------------------------------------------------------
  startPump() {
    const token = ++this.pumpToken;
    if (!this.found.video || !this.track) return;
    if (this.found.track_processor) {
      const processor = new MediaStreamTrackProcessor({track: this.track});
      const reader = processor.readable.getReader();
      const loop = async () => {
        while (token === this.pumpToken) {
          const result = await reader.read();
          if (result.done) return;
          this.onCameraFrame(result.value);
        }
        reader.cancel().catch(() => {});
      };
      loop();
    } else {
      const video = this.preview;
      const next = () => {
        if (token !== this.pumpToken) return;
        if (video.videoWidth) {
          try { this.onCameraFrame(new VideoFrame(video, {timestamp: nowUs()})); } catch (e) { /* not ready */ }
        }
        video.requestVideoFrameCallback(next);
      };
      video.requestVideoFrameCallback(next);
    }
  }

  onCameraFrame(frame) {
    const captureUs = nowUs();
    try {
      this.adapter.tick() && this.qualityChanged();
      const q = this.adapter.quality;
      const now = performance.now();
      if (!this.sealer || this.state !== "connected" || this.ending || !this.sending() || !this.ws) return;
      // the level's frame rate: a frame is due every 1000/fps ms; camera jitter of up to half an
      // interval does not drop one, and a late frame does not make the next ones burst
      const interval = 1000 / q.fps;
      if (now < this.nextFrameAt - interval / 2) return;
      if (this.ws.bufferedAmount > SEND_BUFFER_LIMIT) {
        this.stats.video_dropped += 1;
        this.trouble("socket_backlog");
        return;
      }
      const encoder = this.videoEncoder(q);
      if (encoder.encodeQueueSize > 2) { this.stats.video_dropped += 1; return; }
      this.nextFrameAt = Math.max(this.nextFrameAt + interval, now);
      if (!this.scaler || this.scaler.width !== q.width || this.scaler.height !== q.height) {
        this.scaler = new OffscreenCanvas(q.width, q.height);
        this.scalerCtx = this.scaler.getContext("2d", {alpha: false});
      }
      const crop = cropRect(frame.displayWidth, frame.displayHeight, q.width, q.height);
      this.scalerCtx.drawImage(frame, crop.x, crop.y, crop.w, crop.h, 0, 0, q.width, q.height);
      const scaled = new VideoFrame(this.scaler, {timestamp: captureUs});
      const key = this.forceKey && now - this.lastKeyAt >= KEYFRAME_MIN_GAP_MS || now - this.lastKeyAt >= KEYFRAME_INTERVAL_MS;
      if (key) { this.forceKey = false; this.lastKeyAt = now; }
      encoder.encode(scaled, {keyFrame: key});
      scaled.close();
    } finally {
      frame.close();
    }
  }

  videoEncoder(q) {
    const size = q.width + "x" + q.height + "@" + q.fps + "/" + q.bitrate;
    if (this.encoder && this.encoder.state !== "closed" && this.encoderSize === size) return this.encoder;
    if (!this.encoder || this.encoder.state === "closed") {
      this.encoder = new VideoEncoder({
        output: (chunk) => this.onEncoded(chunk),
        error: () => { this.stats.encode_errors += 1; this.encoder = null; },
      });
    }
    this.encoder.configure({codec: CODEC, width: q.width, height: q.height, bitrate: q.bitrate, framerate: q.fps,
                            latencyMode: "realtime", bitrateMode: "variable", avc: {format: "annexb"}});
    this.encoderSize = size;
    this.forceKey = true;
    this.lastKeyAt = 0;
    return this.encoder;
  }

  onEncoded(chunk) {
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const keyframe = chunk.type === "key";
    this.queueSend(STREAM.customer_video, payload, keyframe, chunk.timestamp, () => {
      this.stats.video_sent += 1;
      this.stats.video_bytes += payload.length;
      if (keyframe) this.stats.keyframes_sent += 1;
    });
  }

  /* Seal in order (the sealer's counters) and send each frame as one binary message. */
  queueSend(stream, payload, keyframe, timestampUs, counted) {
    const sealer = this.sealer;
    if (!sealer) return;
    this.sendChain = this.sendChain.then(async () => {
      if (sealer !== this.sealer) return;  // new keys since: the old sealer is done
      const frame = await sealer.seal(stream, payload, keyframe, timestampUs);
      if (frame.length > this.limits.media_max_frame_bytes) { this.trouble("too_large"); return; }
      if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "connected" && !this.ending) {
        this.ws.send(frame);
        counted();
      }
    }).catch(() => {});
  }

  // -- the voice call --------------------------------------------------------------------------------
  async startMicrophone() {
    if (!this.found.voice || !this.micTrack || this.audioEncoder) return;
    const context = unlockAudio();
    if (!context) return;
    const token = ++this.audioPump;
    if (!context.anysupportWorklet) context.anysupportWorklet = context.audioWorklet.addModule(MIC_WORKLET);
    try {
      await context.anysupportWorklet;
    } catch (e) {
      return;
    }
    if (token !== this.audioPump) return;  // the call ended (or the voice stopped) meanwhile
    this.audioEncoder = new AudioEncoder({
      output: (chunk) => {
        const payload = new Uint8Array(chunk.byteLength);
        chunk.copyTo(payload);
        this.queueSend(STREAM.customer_audio, payload, false, chunk.timestamp, () => { this.stats.audio_sent += 1; });
      },
      error: () => { this.audioEncoder = null; },
    });
    this.audioEncoder.configure({codec: "opus", sampleRate: 48000, numberOfChannels: 1, bitrate: 32000,
                                 opus: {frameDuration: 20000}});
    const source = context.createMediaStreamSource(new MediaStream([this.micTrack]));
    const tap = new AudioWorkletNode(context, "anysupport-microphone", {numberOfInputs: 1, numberOfOutputs: 1,
                                                                          channelCount: 1, channelCountMode: "explicit"});
    const silent = context.createGain();  // pulled by the destination, so the tap runs; nothing is heard
    silent.gain.value = 0;
    tap.connect(silent).connect(context.destination);
    tap.port.onmessage = (event) => {
      const encoder = this.audioEncoder;
      if (!encoder || !this.agentVideo || !this.sealer || this.state !== "connected") return;
      const samples = event.data;
      // the block's first sample was captured about its length ago
      const data = new AudioData({format: "f32", sampleRate: context.sampleRate, numberOfFrames: samples.length,
                                  numberOfChannels: 1, timestamp: nowUs() - 20000, data: samples});
      encoder.encode(data);
      data.close();
    };
    source.connect(tap);
    this.micGraph = {source: source, tap: tap, silent: silent};
  }

  stopMicrophone() {
    this.audioPump += 1;
    if (this.audioEncoder && this.audioEncoder.state !== "closed") this.audioEncoder.close();
    this.audioEncoder = null;
    if (this.micGraph) {
      this.micGraph.source.disconnect();
      this.micGraph.silent.disconnect();
      this.micGraph.tap.port.onmessage = null;
      this.micGraph = null;
    }
  }

  // -- receiving ----------------------------------------------------------------------------------
  async onFrame(bytes) {
    this.stats.frames_in += 1;
    const arrivalUs = nowUs();
    let opened = null;
    let refusal = "no_keys";
    for (const opener of this.openers) {
      try {
        opened = await opener.open(bytes);
        break;
      } catch (e) {
        refusal = e.code || "tampered";
      }
    }
    if (!opened) {
      this.stats.refused[refusal] = (this.stats.refused[refusal] || 0) + 1;
      this.emit("refused", {code: refusal});
      return;
    }
    const {header, payload} = opened;
    if (header.stream === STREAM.agent_video) this.onAgentVideo(header, payload, arrivalUs);
    else if (header.stream === STREAM.agent_audio) this.onAgentAudio(header, payload);
  }

  onAgentVideo(header, payload, arrivalUs) {
    this.agentStats.see(header.sequence, header.timestamp_us, arrivalUs);
    if (!this.agentVideo || !this.found.video_decode) return;
    if (this.decoderNeedsKey && !header.keyframe) return;
    if (!this.videoDecoder || this.videoDecoder.state === "closed") {
      this.videoDecoder = new VideoDecoder({
        output: (frame) => this.showAgentFrame(frame),
        error: () => { this.videoDecoder = null; this.decoderNeedsKey = true; this.askAgentKeyframe(); },
      });
      this.videoDecoder.configure({codec: CODEC, optimizeForLatency: true});
    }
    this.decoderNeedsKey = false;
    this.videoDecoder.decode(new EncodedVideoChunk({type: header.keyframe ? "key" : "delta",
                                                    timestamp: header.timestamp_us, data: payload}));
  }

  askAgentKeyframe() {
    const now = performance.now();
    if (now - (this.askedKeyAt || 0) < 500) return;
    this.askedKeyAt = now;
    this.send({type: "keyframe_request", stream: "agent_video"});
  }

  showAgentFrame(frame) {
    try {
      if (!this.agentVideo) return;
      const canvas = this.agentCanvas;
      if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
        canvas.width = frame.displayWidth;
        canvas.height = frame.displayHeight;
      }
      canvas.getContext("2d").drawImage(frame, 0, 0);
      this.stats.agent_frames += 1;
      this.stats.agent_size = [frame.displayWidth, frame.displayHeight];
      if (this.stats.agent_frames === 1) this.emit("agent_frame", {});
    } finally {
      frame.close();
    }
  }

  onAgentAudio(header, payload) {
    if (!this.agentVideo || !this.found.audio_decode) return;  // the voice call is on with agent_video only
    const context = unlockAudio();
    if (!context) return;
    if (!this.audioDecoder || this.audioDecoder.state === "closed") {
      this.audioDecoder = new AudioDecoder({output: (data) => this.play(data), error: () => { this.audioDecoder = null; }});
      this.audioDecoder.configure({codec: "opus", sampleRate: 48000, numberOfChannels: 1});
    }
    this.audioDecoder.decode(new EncodedAudioChunk({type: "key", timestamp: header.timestamp_us, data: payload}));
  }

  play(data) {
    try {
      const context = sharedAudio;
      const samples = new Float32Array(data.numberOfFrames);
      data.copyTo(samples, {planeIndex: 0, format: "f32-planar"});
      let sum = 0;
      for (const s of samples) sum += s * s;
      this.stats.audio_frames += 1;
      this.stats.audio_context = context.state;
      this.stats.audio_rms = Math.sqrt(sum / Math.max(1, samples.length));
      const buffer = context.createBuffer(1, samples.length, data.sampleRate);
      buffer.copyToChannel(samples, 0);
      const node = context.createBufferSource();
      node.buffer = buffer;
      node.connect(context.destination);
      const now = context.currentTime;
      if (this.playAt < now || this.playAt > now + 0.3) this.playAt = now + 0.04;  // a small jitter buffer
      node.start(this.playAt);
      node.onended = () => { this.stats.audio_played += 1; };
      this.playAt += buffer.duration;
    } finally {
      data.close();
    }
  }

  report() {
    if (this.state !== "connected" || !this.agentVideo) return;
    const r = this.agentStats.take();
    if (r.received || r.lost) this.send(Object.assign({type: "media_report", stream: "agent_video"}, r));
  }

  // -- what the user does --------------------------------------------------------------------------
  sendChat(text) {
    if (this.send({type: "chat", text: text})) {
      const line = {from: "customer", text: text, time: null};
      this.chat.push(line);
      this.emit("chat", line);
      return true;
    }
    return false;
  }

  /* Ending: no more media after the end message (the server would drop it as not_connected). */
  end() {
    this.ending = true;
    this.stopMicrophone();
    this.send({type: "end"});
  }

  answerSurvey(answer, feedback) {
    const message = {type: "survey", answer: answer};
    if (feedback) message.feedback = feedback;
    return this.send(message);
  }

  stopMedia() {
    this.pumpToken += 1;
    this.stopMicrophone();
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.micTrack) this.micTrack.stop();
    this.track = null;
    for (const codec of [this.encoder, this.videoDecoder, this.audioDecoder]) {
      if (codec && codec.state !== "closed") { try { codec.close(); } catch (e) { /* closed meanwhile */ } }
    }
    this.encoder = this.videoDecoder = this.audioDecoder = null;
  }

  close() {
    this.closing = true;
    this.finish("closed");
  }
}
