/* The customer's side of a support session in the browser: the same control messages, sealed frames
 * and key exchange as clients/anysupport_client/session/customer.py (docs/protocol.md). This module
 * keeps the call's state and answers each message (the on_<type> handlers, customer.py's
 * _on_<type>); the pipeline is in its own modules, named as the Python client's:
 *   socket.js      the WebSocket and the reconnection rule
 *   keys.js        the key negotiation (e2e.js: the frames and keys themselves)
 *   camera.js      the camera and microphone tracks, flash, focus, switch
 *   sender.js      camera frames → H.264 (the adaptation in quality.js)
 *   microphone.js  microphone → Opus
 *   receiver.js    the agent's picture and voice
 *   codec.js       WebCodecs; stats.js the counters and media_report; vocabulary.js states and close codes
 * The UI (app.js) listens to its events; nothing here touches the DOM but the media elements it is given.
 *
 * Events (CustomEvent, detail): state {state, reason}, connection {status}, keys {sas, sas_display},
 * key_failed {code}, camera_state {...}, chat {from, text}, guide {direction}, annotation {},
 * recording {on}, agent_video {on}, agent_frame {}, survey {…}, survey_saved {}, error {…},
 * ended {reason}, lost {}, moved {ws_url}, ws_url {ws_url}, peer {…}, camera {…}, speakerphone {…},
 * paused {hidden}, refused {code}, kicked {…}. */

import {Camera} from "./camera.js";
import {STREAM, nowUs} from "./e2e.js";
import {KeyNegotiation} from "./keys.js";
import {AudioSender} from "./microphone.js";
import {AnnotationScene} from "./overlay.js";
import {LEVELS} from "./quality.js";
import {AudioReceiver, VideoReceiver} from "./receiver.js";
import {VideoSender} from "./sender.js";
import {ReconnectingSocket} from "./socket.js";
import {callStats} from "./stats.js";
import {STATE} from "./vocabulary.js";

export const REPORT_INTERVAL_MS = 1000;

/* Who may turn the camera back on: the customer's stop wins. The agent may stop the video and start
 * it again; once the customer stopped it, the agent's start is only a request the page shows. The
 * Python client follows the same table (anysupport_client/session/privacy.py). */
export function videoAfter(pausedBy, wanted, by) {
  if (by === "agent" && pausedBy === "customer") return {on: false, pausedBy: "customer", requested: wanted};
  if (wanted) return {on: true, pausedBy: null, requested: false};
  return {on: false, pausedBy: by, requested: false};
}

export class CustomerCall extends EventTarget {
  /* joined: {token, session_id, ws_url}; found: detect() (support.js); preview: the <video> showing
   * the camera; agentCanvas: where the agent's picture is drawn. */
  constructor(joined, found, preview, agentCanvas) {
    super();
    this.joined = joined;
    this.found = found;
    this.sessionId = joined.session_id;
    this.state = joined.state || STATE.online;
    this.limits = {media_max_frame_bytes: 524288};
    this.ending = false;
    this.agentName = null;
    this.scene = new AnnotationScene();
    this.chat = [];
    this.guide = null;
    this.recording = false;
    this.agentVideo = false;
    this.agentVoice = false;  // the agent sends its voice too (agent_video.voice)
    this.speakerphone = true;  // a phone's browser plays a call on the loudspeaker
    this.videoPausedBy = null;  // "customer" or "agent" while the camera is stopped (videoAfter)
    this.focusAnswer = null;  // {x, y, applied}: sent once, in the camera_state after a focus command
    this.survey = null;
    this.surveyAnswered = false;
    this.endReason = null;
    this.stats = callStats();
    this.reportTimer = null;
    this.onVisibility = null;
    this.sendChain = Promise.resolve();
    this.recvChain = Promise.resolve();
    this.socket = new ReconnectingSocket(joined.ws_url, joined.token, {
      message: (m) => this.onMessage(m),
      // one at a time, in arrival order: decoders need frames in order, and WebCrypto's promises
      // need not resolve in the order they were made
      frame: (bytes) => { this.recvChain = this.recvChain.then(() => this.onFrame(bytes)).catch(() => {}); },
      opened: (how) => this.onOpened(how.back),
      reconnecting: () => this.emit("connection", {status: "reconnecting"}),
      ended: (reason) => {
        if (reason === "lost") this.emit("lost", {});
        this.finish(reason);
      },
      isDone: () => this.done(),
    });
    this.keys = new KeyNegotiation(this.sessionId, {
      send: (m) => this.send(m),
      maxFrameBytes: () => this.limits.media_max_frame_bytes,
      stats: this.stats,
      onKeys: (keys) => this.onKeys(keys),
      onFailed: (failure) => this.emit("key_failed", failure),
    });
    const send = (stream, payload, keyframe, timestampUs, counted) => this.sendMedia(stream, payload, keyframe,
                                                                                      timestampUs, counted);
    this.sender = new VideoSender({
      possible: found.video, preview: preview, trackProcessor: found.track_processor, send: send,
      ready: () => this.keys.ready && this.state === STATE.connected && !this.ending && this.socket.connected,
      bufferedAmount: () => this.socket.bufferedAmount,
      onQuality: () => this.sendCameraState(),
      stats: this.stats,
    });
    this.camera = new Camera(preview, found.voice, (track) => this.sender.use(track));
    this.microphone = new AudioSender({
      possible: found.voice, send: send, stats: this.stats,
      ready: () => this.agentVideo && this.keys.ready && this.state === STATE.connected,
    });
    this.receivers = new Map([
      [STREAM.agent_video, new VideoReceiver({
        canvas: agentCanvas, possible: found.video_decode, stats: this.stats,
        askKeyframe: () => this.send({type: "keyframe_request", stream: "agent_video"}),
        onFirstFrame: () => this.emit("agent_frame", {}),
      })],
      [STREAM.agent_audio, new AudioReceiver({possible: found.audio_decode, stats: this.stats})],
    ]);
  }

  emit(name, detail) { this.dispatchEvent(new CustomEvent(name, {detail: detail || {}})); }

  /* The agent's security code as shown ("692 352"), or null before the first keys. */
  get sas() { return this.keys.sas; }

  // -- the connection ------------------------------------------------------------------------------
  start() {
    this.socket.open();
    this.reportTimer = window.setInterval(() => this.report(), REPORT_INTERVAL_MS);
    document.addEventListener("visibilitychange", this.onVisibility = () => this.setHidden(
      document.visibilityState === "hidden"));
  }

  onOpened(back) {
    if (back) {
      this.stats.reconnects = this.socket.reconnects;
      this.emit("connection", {status: "back"});
    }
    this.requestKeyframe();
  }

  /* Over: expired, and the survey answered or never asked. */
  done() { return this.state === STATE.expired && (this.survey === null || this.surveyAnswered); }

  send(message) { return this.socket.send(message); }

  finish(reason) {
    window.clearInterval(this.reportTimer);
    if (this.onVisibility) document.removeEventListener("visibilitychange", this.onVisibility);
    this.stopMedia();
    this.socket.close();
    this.emit("ended", {reason: reason, state: this.state, expire_reason: this.endReason});
  }

  close() { this.finish("closed"); }

  setWsUrl(wsUrl) {
    if (wsUrl === this.joined.ws_url) return;
    this.joined.ws_url = wsUrl;
    this.socket.url = wsUrl;
    this.emit("ws_url", {ws_url: wsUrl});
  }

  // -- media out and in ----------------------------------------------------------------------------
  /* Seal in order (the sealer's counters) and send each frame as one binary message; counted() once
   * it went. The senders call it. */
  sendMedia(stream, payload, keyframe, timestampUs, counted) {
    const sealer = this.keys.sealer;
    if (!sealer) return;
    this.sendChain = this.sendChain.then(async () => {
      if (sealer !== this.keys.sealer) return;  // new keys since: the old sealer is done
      const frame = await sealer.seal(stream, payload, keyframe, timestampUs);
      if (frame.length > this.limits.media_max_frame_bytes) { this.sender.trouble("too_large"); return; }
      if (this.state === STATE.connected && !this.ending && this.socket.sendFrame(frame)) counted();
    }).catch(() => {});
  }

  async onFrame(bytes) {
    this.stats.frames_in += 1;
    const arrivalUs = nowUs();
    const opened = await this.keys.open(bytes);
    if (opened.refused) {
      this.stats.refused[opened.refused] = (this.stats.refused[opened.refused] || 0) + 1;
      this.emit("refused", {code: opened.refused});
      return;
    }
    const receiver = this.receivers.get(opened.header.stream);
    if (receiver) receiver.receive(opened.header, opened.payload, arrivalUs);
  }

  onKeys(keys) {
    this.receivers.get(STREAM.agent_video).newKey();
    this.requestKeyframe();
    this.emit("keys", keys);
  }

  report() {
    if (this.state !== STATE.connected || !this.agentVideo) return;
    const r = this.receivers.get(STREAM.agent_video).report();
    if (r.received || r.lost) this.send(Object.assign({type: "media_report", stream: "agent_video"}, r));
  }

  requestKeyframe() { this.sender.requestKeyframe(); }

  // -- what arrives --------------------------------------------------------------------------------
  onMessage(m) {
    const handler = HANDLERS.get(m.type);
    if (handler) handler.call(this, m);
  }

  on_hello(m) {
    const session = m.session || {};
    if (m.limits) this.limits = m.limits;
    this.agentName = session.agent_name;
    if (m.ws_url) this.setWsUrl(m.ws_url);  // several nodes: the one holding the session, for the next connection
    this.enterState(session.state || this.state);
    this.askKeys();
  }

  /* The session lives on another node: the socket closes (4004) and the call reconnects there. */
  on_moved(m) {
    this.setWsUrl(m.ws_url);
    this.socket.moveTo(m.ws_url);
    this.stats.moves += 1;
    this.emit("moved", {ws_url: m.ws_url});
  }

  on_state(m) {
    if (m.state === STATE.expired) this.endReason = m.reason || null;
    this.enterState(m.state, m.reason);
  }

  enterState(state, reason) {
    const previous = this.state;
    this.state = state;
    if (state === STATE.connected) {
      this.send(this.capabilities());
      this.send(this.cameraState());
    }
    if (state === STATE.expired) this.stopMedia();
    if (state !== previous || state === STATE.connected) this.emit("state", {state: state, reason: reason});
  }

  /* Connected without media keys (this page was reloaded mid-call): ask the agent for them. */
  askKeys() {
    if (this.state === STATE.connected) this.keys.ask();
  }

  on_peer(m) {
    if (m.peer === "agent" && m.status === "back" && this.state === STATE.connected) {
      this.send(this.capabilities());
      this.send(this.cameraState());
      this.requestKeyframe();
      this.askKeys();
    }
    this.emit("peer", m);
  }

  on_key_exchange(m) { this.keys.receive(m); }

  on_key_exchange_failed(m) { this.keys.failed(m); }

  on_camera(m) {
    if (m.command === "flash") this.setFlash(m.on);
    else if (m.command === "focus") this.focus(m.x, m.y);
    else if (m.command === "switch") this.switchCamera(m.facing);
    else if (m.command === "quality") { this.sender.setLevel(m.level); this.sendCameraState(); }
    else if (m.command === "video") {
      if (this.setVideo(m.on, "agent").requested) this.emit("video_request", {});
    }
    this.emit("camera", m);
  }

  on_speakerphone(m) {
    // a browser cannot move the call between earpiece and loudspeaker: say where it plays
    this.emit("speakerphone", {on: m.on, possible: false});
    this.sendCameraState();
  }

  /* The agent's video, and with it the voice call, on or off. */
  on_agent_video(m) {
    this.agentVideo = !!m.on;
    // the agent's voice comes with it unless the agent said it has none (no microphone opened)
    this.agentVoice = this.agentVideo && m.voice !== false;
    for (const receiver of this.receivers.values()) receiver.setOn(this.agentVideo);
    if (this.agentVideo) {
      this.send({type: "keyframe_request", stream: "agent_video"});
      this.microphone.start(this.camera.micTrack);
    } else {
      this.microphone.stop();
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
    if (m.from === "server") this.sender.trouble(m.reason || "relay_dropped");
  }

  on_media_report(m) {
    if (m.stream === "customer_video") this.sender.report(m.received || 0, m.lost || 0, m.late_ms || 0);
  }

  on_error(m) {
    if (this.stats.server_errors.length < 20) this.stats.server_errors.push(m.error + ":" + (m.field || m.ref || ""));
    if (m.error === "frame_dropped" && (m.field === "rate" || m.field === "too_large")) this.sender.trouble("relay " + m.field);
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
    return {
      type: "capabilities",
      ...this.camera.capabilities(),
      audio: this.found.voice === true && this.camera.mic !== false,
      speakerphone: false,
      qualities: this.found.video ? Object.keys(LEVELS) : [],
      device: ("browser " + navigator.userAgent).slice(0, 200),
    };
  }

  cameraState() {
    const q = this.sender.quality;
    return {type: "camera_state", flash: this.camera.flash, facing: this.camera.facing, quality: this.sender.level,
            video: this.sender.sending, speakerphone: this.speakerphone, width: q.width, height: q.height,
            ...(this.videoPausedBy ? {video_paused_by: this.videoPausedBy} : {}),
            ...(this.focusAnswer ? {focus: this.focusAnswer} : {})};
  }

  sendCameraState() {
    const state = this.cameraState();
    if (this.state === STATE.connected) this.send(state);
    this.emit("camera_state", state);
  }

  // -- what the user (or the agent's camera command) does ------------------------------------------
  /* Ask for the camera and the microphone: null, or the refusal's name for the page to explain. */
  openCamera() { return this.camera.open(); }

  setFlash(on) { return this.camera.setFlash(on).then(() => this.sendCameraState()); }

  /* Focus on a point of the picture; camera_state says whether the camera took it, and the page shows the
   * point for a moment either way (issue 17 #13). */
  focus(x, y) {
    return this.camera.setFocus(x, y).then((applied) => {
      this.focusAnswer = {x: x, y: y, applied: applied === true};
      this.emit("focus", this.focusAnswer);
      this.sendCameraState();
      this.focusAnswer = null;
    });
  }

  switchCamera(facing) { return this.camera.switch(facing).then(() => this.sendCameraState()); }

  /* Start or stop sending the camera, asked by "customer" or "agent"; the customer's stop wins (videoAfter). */
  setVideo(on, by = "customer") {
    const decision = videoAfter(this.videoPausedBy, on, by);
    this.sender.setEnabled(decision.on);
    this.videoPausedBy = decision.pausedBy;
    this.sendCameraState();
    return decision;
  }

  setHidden(hidden) {
    if (!this.sender.setHidden(hidden)) return;
    this.sendCameraState();
    this.emit("paused", {hidden: hidden});
  }

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
    this.microphone.stop();
    this.send({type: "end"});
  }

  answerSurvey(answer, feedback) {
    const message = {type: "survey", answer: answer};
    if (feedback) message.feedback = feedback;
    return this.send(message);
  }

  stopMedia() {
    this.sender.stop();
    this.microphone.stop();
    this.camera.stop();
    for (const receiver of this.receivers.values()) receiver.close();
  }
}

/* The dispatch table: each message type to its on_<type> method. */
const HANDLERS = new Map(Object.getOwnPropertyNames(CustomerCall.prototype)
  .filter((name) => name.startsWith("on_"))
  .map((name) => [name.slice(3), CustomerCall.prototype[name]]));
