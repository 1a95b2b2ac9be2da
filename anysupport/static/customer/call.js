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
 * key_failed {code}, camera_state {...}, chat {from, text}, guide {direction}, annotation {}, anchors {},
 * recording {on}, agent_video {on}, agent_frame {}, picture {from}, survey {…}, survey_saved {}, error {…},
 * participants {participants, joined, left, version}, pair_keys {peer, sas, sas_display, name},
 * ended {reason}, lost {}, moved {ws_url}, ws_url {ws_url}, peer {…}, camera {…}, speakerphone {…},
 * paused {hidden}, refused {code}, kicked {…}. */

import {PageAnchors} from "./anchoring.js";
import {Camera} from "./camera.js";
import {STREAM, nowUs} from "./e2e.js";
import {GroupNegotiation, KeyNegotiation, SEALED_TYPES} from "./keys.js";
import {AudioSender} from "./microphone.js";
import {AnnotationScene} from "./overlay.js";
import {LEVELS} from "./quality.js";
import {AudioReceiver, VideoReceiver} from "./receiver.js";
import {VideoSender} from "./sender.js";
import {ReconnectingSocket} from "./socket.js";
import {callStats} from "./stats.js";
import {PEER_HANDED_OVER, STATE} from "./vocabulary.js";

export const REPORT_INTERVAL_MS = 250;  // media_report while the agent's video arrives: the agent's ack clock
export const PING_INTERVAL_MS = 5000;
export const GUEST_PICTURE_IDLE_MS = 2000;  // an invited agent's picture shown: gone this long, it is not
export const START_PINGS = 3;  // back to back when the socket opens, before the first report  // the round trip: the adaptation's thresholds and the ack clock's window

/* Who may turn the camera back on: the customer's stop wins. The agent may stop the video and start
 * it again; once the customer stopped it, the agent's start is only a request the page shows. The
 * Python client follows the same table (anysupport_client/session/privacy.py). */
export function videoAfter(pausedBy, wanted, by) {
  if (by === "agent" && pausedBy === "customer") return {on: false, pausedBy: "customer", requested: wanted};
  if (wanted) return {on: true, pausedBy: null, requested: false};
  return {on: false, pausedBy: by, requested: false};
}

/* The media-frame versions this page announces: [1, 2], or [1] only with the switch `?versions=1` in the
 * page's address (a call that must stay a two-party version-1 call: no guest can be invited). */
export function pageVersions(search) {
  return new URLSearchParams(search).get("versions") === "1" ? [1] : [1, 2];
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
    this.anchors = new PageAnchors(() => this.emit("anchors", {}));
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
    this.pingTimer = null;
    this.pingSent = null;  // [id, performance.now()] of the ping awaiting its pong
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
    // version 2 (issue 21): who is present, and the keys of a session of more than two (keys.js)
    this.versions = pageVersions(window.location.search);
    this.agentVersions = [];  // what the agent's client said at connect (the session's agent_versions)
    this.participants = [];
    this.group = new GroupNegotiation(this.sessionId, {
      send: (m) => this.send(m),
      onPair: (pair) => this.emit("pair_keys", pair),
      onEpoch: () => this.requestKeyframe(),  // each new epoch starts with a keyframe (a newcomer decodes at once)
      onRefused: (r) => { this.stats.refused["v2_" + r.code] = (this.stats.refused["v2_" + r.code] || 0) + 1; },
      onOpened: (inner) => this.onMessage(inner),  // a sealed message that waited for its sender's key (on_sealed)
    });
    this.socket.onVideoDropped = (count) => {  // stale video: the agent lost a reference picture
      this.stats.video_stale = this.socket.videoDropped;
      this.sender.droppedHere(count);  // not trouble: a retransmission stall makes frames stale too
    };
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
      ready: () => this.mediaReady() && this.state === STATE.connected && !this.ending && this.socket.connected,
      bufferedAmount: () => this.socket.bufferedAmount,
      onQuality: () => this.sendCameraState(),
      onFrame: (frame, captureUs, crop) => this.anchors.frame(frame, captureUs, crop),
      stats: this.stats,
    });
    this.camera = new Camera(preview, found.voice, (track) => {
      this.anchors.cameraChanged();  // another camera (a switch): the drawings anchored on the old one hide
      this.sender.use(track);
    });
    this.microphone = new AudioSender({
      possible: found.voice, wasm: found.audio_encoder === "wasm", send: send, stats: this.stats,
      ready: () => this.agentVideo && this.mediaReady() && this.state === STATE.connected,
    });
    this.receivers = new Map([
      [STREAM.agent_video, new VideoReceiver({
        canvas: agentCanvas, possible: found.video_decode, stats: this.stats,
        askKeyframe: () => this.send({type: "keyframe_request", stream: "agent_video"}),
        onFirstFrame: () => this.emit("agent_frame", {}),
      })],
      [STREAM.agent_audio, new AudioReceiver({possible: found.audio_decode, wasm: found.audio_decoder === "wasm",
                                                   stats: this.stats})],
    ]);
    this.guestVoices = new Map();  // version 2: each invited agent's voice, by index (every voice is played)
    // version 2: the picture of an invited agent with full rights (an expert showing something), drawn
    // while the session's agent shows none: one picture on a phone, the session's agent's first
    this.agentCanvas = agentCanvas;
    this.guestPicture = null;  // {sender, receiver, at (performance.now() of its last frame)}
  }

  /* Whose picture the page shows: `agentIndex` (the session's agent's, while its video is on), an invited agent's
   * index, or null. */
  get pictureFrom() {
    if (this.agentVideo) return this.agentIndex;
    return this.guestPicture ? this.guestPicture.sender : null;
  }

  /* Media keys: the group's once the session speaks version 2 (never version 1 again), else the pair's; a
   * call sealed from the start sends nothing under its version-1 keys (their code is never shown). */
  mediaReady() {
    if (this.group.active) return this.group.ready;
    return !this.sealedFromStart && this.keys.ready;
  }

  /* This page and the agent's client both speak version 2: the server switches the call to it at the
   * page's first `capabilities` (docs/protocol.md, "Sealed from the start"), so the version-1 pair the agent
   * may still agree is not the call's, and its code is not shown (it would be "changed" a moment later). */
  get sealedFromStart() { return this.versions.includes(2) && this.agentVersions.includes(2); }

  emit(name, detail) { this.dispatchEvent(new CustomEvent(name, {detail: detail || {}})); }

  /* The agent's security code as shown ("692 352"), or null before the first keys: with version 2, the
   * code of this page's pair with the session's agent. */
  get sas() { return this.pairCode(this.agentIndex); }

  /* The session's agent's index: 1, or the one a hand-over in version 2 gave the new agent (the server's
   * list says who has the role "agent"). */
  get agentIndex() {
    const agent = this.participants.find((p) => p.role === "agent");
    return agent ? agent.index : 1;
  }

  /* Who is present, for the page to show: the server's list, or before any (a two-party session that
   * never had a guest) the customer and the session's agent once it is connected. */
  get people() {
    if (this.participants.length) return this.participants;
    if (this.state !== STATE.connected || !this.agentName) return [];
    return [{index: 0, role: "customer", name: "", rights: "full", present: true},
            {index: 1, role: "agent", name: this.agentName, rights: "full", present: true}];
  }

  /* This page's index in the session (0, the customer's). */
  get participantIndex() { return this.group.me === null ? 0 : this.group.me; }

  /* The security code this page shares with participant `index` (version 2), or the version-1 code for
   * the session's agent; null where there is none (yet). */
  pairCode(index) {
    if (this.group.active) return this.group.sas.get(index) || null;
    return index === this.agentIndex && !this.sealedFromStart ? this.keys.sas : null;
  }

  // -- the connection ------------------------------------------------------------------------------
  start() {
    // shown or hidden as the page is now: it may have changed while the camera was being asked for, before
    // this listener was there
    this.sender.setHidden(document.visibilityState === "hidden");
    this.socket.open();
    this.reportTimer = window.setInterval(() => this.report(), REPORT_INTERVAL_MS);
    this.pingTimer = window.setInterval(() => this.ping(), PING_INTERVAL_MS);
    document.addEventListener("visibilitychange", this.onVisibility = () => this.setHidden(
      document.visibilityState === "hidden"));
  }

  onOpened(back) {
    this.startPings = 0;
    this.ping();  // the round trip before the first picture: a slow link starts the video low
    if (back) {
      this.sender.reconnected();
      this.stats.reconnects = this.socket.reconnects;
      this.emit("connection", {status: "back"});
    }
    this.requestKeyframe();
  }

  /* Over: expired, and the survey answered or never asked. */
  done() { return this.state === STATE.expired && (this.survey === null || this.surveyAnswered); }

  /* Once the session speaks version 2, chat, drawings, guidance and anchors go only inside `sealed`
   * (the server reads none of it); in order with the rest, so a sealed one is sent when sealed. */
  send(message) {
    if (SEALED_TYPES.has(message.type) && this.group.active) {
      if (!this.group.ready || !this.socket.connected) return false;
      this.sendChain = this.sendChain.then(async () => {
        const sealed = await this.group.sealControl(message);
        if (sealed !== null) this.socket.send(sealed);
      }).catch(() => {});
      return true;
    }
    return this.socket.send(message);
  }

  finish(reason) {
    window.clearInterval(this.reportTimer);
    window.clearInterval(this.pingTimer);
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
    const current = () => (this.group.active ? this.group.sealer : this.keys.sealer);
    const sealer = current();
    if (!sealer) return;
    this.sendChain = this.sendChain.then(async () => {
      if (sealer !== current()) return;  // new keys since: the old sealer is done
      // version 2: the kind is the stream's (0 video, 1 audio), the sender my index
      const frame = this.group.active ? await sealer.seal(stream & 1, payload, keyframe, timestampUs)
        : await sealer.seal(stream, payload, keyframe, timestampUs);
      if (frame.length > this.limits.media_max_frame_bytes) { this.sender.trouble("too_large"); return; }
      if (this.state !== STATE.connected || this.ending) return;
      if (stream === STREAM.customer_video) {
        // behind voice, may go stale; none once the video stopped while this one was sealed
        if (this.sender.sending) this.socket.sendVideo(frame, counted, keyframe);
      } else if (this.socket.sendFrame(frame)) counted();
    }).catch(() => {});
  }

  async onFrame(bytes) {
    this.stats.frames_in += 1;
    const arrivalUs = nowUs();
    const v2 = bytes[0] === 2;
    const opened = v2 ? await this.group.open(bytes) : await this.keys.open(bytes);
    if (opened.refused) {
      this.stats.refused[opened.refused] = (this.stats.refused[opened.refused] || 0) + 1;
      this.emit("refused", {code: opened.refused});
      return;
    }
    if (v2) { this.onGroupFrame(opened, arrivalUs); return; }
    const receiver = this.receivers.get(opened.header.stream);
    if (receiver) receiver.receive(opened.header, opened.payload, arrivalUs);
  }

  /* A version-2 frame: the picture shown is the session's agent's (`agentIndex`) while its video is on, else
   * an invited agent's (an expert's, guestPictureOf; one picture on a phone: the others are counted, not
   * shown), and every agent's voice is played (mixed). */
  onGroupFrame(opened, arrivalUs) {
    const {header, payload, sender, epoch} = opened;
    this.stats.v2_frames = (this.stats.v2_frames || 0) + 1;
    const bySender = this.stats.v2_from || (this.stats.v2_from = {});
    bySender[sender] = (bySender[sender] || 0) + 1;
    let receiver = null;
    if (sender === this.agentIndex) {
      receiver = this.receivers.get(header.stream);
    } else if (header.stream === STREAM.agent_video) {
      receiver = this.guestPictureOf(sender);
    } else if (header.stream === STREAM.agent_audio) {
      receiver = this.guestVoices.get(sender);
      if (!receiver) {
        receiver = new AudioReceiver({possible: this.found.audio_decode, wasm: this.found.audio_decoder === "wasm",
                                      stats: this.stats});
        receiver.setOn(true);
        this.guestVoices.set(sender, receiver);
      }
    }
    if (!receiver) return;
    if (header.stream === STREAM.agent_audio) {
      const voices = this.stats.voices || (this.stats.voices = {});
      voices[sender] = (voices[sender] || 0) + 1;
    }
    const id = sender + ":" + epoch;
    if (receiver.epoch !== id) {  // a new key: the sender's sequences start again
      if (receiver.newKey) receiver.newKey();
      receiver.epoch = id;
    }
    receiver.receive(header, payload, arrivalUs);
  }

  /* The receiver of an invited agent's picture, when it is the one to show: the session's agent shows none,
   * and no other invited agent's is shown (the first one sending keeps the screen until it stops). */
  guestPictureOf(sender) {
    const shown = this.guestPicture;
    if (this.agentVideo || (shown && shown.sender !== sender)) return null;
    if (!shown) {
      const receiver = new VideoReceiver({
        canvas: this.agentCanvas, possible: this.found.video_decode, stats: this.stats,
        askKeyframe: () => this.send({type: "keyframe_request", stream: "agent_video", to: sender}),
        onFirstFrame: () => this.emit("agent_frame", {}),
      });
      receiver.setOn(true);
      receiver.askAgain();  // its next keyframe now, not at the end of its sender's interval
      this.guestPicture = {sender: sender, receiver: receiver, at: performance.now()};
      this.emit("picture", {from: sender});
    }
    this.guestPicture.at = performance.now();
    return this.guestPicture.receiver;
  }

  /* The invited agent's picture is no longer shown (its sender stopped or left, or the session's agent's
   * video came on). */
  dropGuestPicture() {
    if (!this.guestPicture) return;
    this.guestPicture.receiver.close();
    this.guestPicture = null;
    this.emit("picture", {from: this.pictureFrom});
  }

  onKeys(keys) {
    this.receivers.get(STREAM.agent_video).newKey();
    this.requestKeyframe();
    this.emit("keys", keys);
  }

  report() {
    if (this.guestPicture && performance.now() - this.guestPicture.at > GUEST_PICTURE_IDLE_MS) this.dropGuestPicture();
    if (this.state !== STATE.connected || !this.agentVideo) return;
    const r = this.receivers.get(STREAM.agent_video).report();
    if (r.received || r.lost) this.send(Object.assign({type: "media_report", stream: "agent_video"}, r));
  }

  requestKeyframe() { this.sender.requestKeyframe(); }

  /* Only the last ping counts: a late pong is stale. */
  ping() {
    this.pingId = (this.pingId || 0) + 1;
    this.startPings = (this.startPings || 0) + 1;
    if (this.socket.send({type: "ping", id: this.pingId})) this.pingSent = [this.pingId, performance.now()];
  }

  on_pong(m) {
    if (!this.pingSent || m.id !== this.pingSent[0]) return;
    this.stats.rtt_ms = Math.round((performance.now() - this.pingSent[1]) * 10) / 10;
    this.pingSent = null;
    this.sender.roundTrip(this.stats.rtt_ms);
    // the start's round trip is the least of a few: one may meet a busy server
    if (this.sender.adapter.reports === 0 && this.startPings < START_PINGS) this.ping();
  }

  // -- what arrives --------------------------------------------------------------------------------
  onMessage(m) {
    const handler = HANDLERS.get(m.type);
    if (handler) handler.call(this, m);
  }

  on_hello(m) {
    const session = m.session || {};
    if (m.limits) this.limits = m.limits;
    this.agentName = session.agent_name;
    this.learnVersions(session);
    if (m.ws_url) this.setWsUrl(m.ws_url);  // several nodes: the one holding the session, for the next connection
    this.enterState(session.state || this.state);
    this.askKeys();
  }

  /* The agent's client's versions, in the session as the server shows it (before the state is entered:
   * the code shown from then on depends on them). */
  learnVersions(session) {
    if (Array.isArray(session.agent_versions)) this.agentVersions = session.agent_versions;
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
    this.learnVersions(m.session || {});
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
    } else if (m.peer === "agent" && m.status === PEER_HANDED_OVER && this.state === STATE.connected) {
      // another agent took the call over (docs/protocol.md, "Handing a session over"): its console has seen
      // nothing of ours yet, and its key exchange follows (a new security code, announced as changed)
      this.agentName = m.name || this.agentName;
      this.send(this.capabilities());
      this.send(this.cameraState());
    }
    this.emit("peer", m);
  }

  on_key_exchange(m) {
    if (m.version === 2 && Number.isInteger(m.from_index)) this.group.exchange(m);  // a pair of a version-2 session
    else this.keys.receive(m);
  }

  /* Who is present (docs/protocol.md `participants`): shown to the customer with a notice on every join
   * and leave; with version 2, each list is a new membership of the keys. */
  on_participants(m) {
    const before = new Map(this.people.map((p) => [p.index, p]));  // the list shown so far
    const now = Array.isArray(m.participants) ? m.participants : [];
    const after = new Set(now.map((p) => p.index));
    const joined = before.size ? now.filter((p) => !before.has(p.index)) : [];
    const left = [...before.values()].filter((p) => !after.has(p.index));
    this.participants = now;
    for (const p of left) {
      const voice = this.guestVoices.get(p.index);
      if (voice) { voice.close(); this.guestVoices.delete(p.index); }
      if (this.guestPicture && this.guestPicture.sender === p.index) this.dropGuestPicture();
    }
    this.group.membership(m);
    this.emit("participants", {participants: now, joined: joined, left: left, version: m.version, you: m.you});
  }

  on_sender_key(m) { this.group.senderKey(m); }

  /* A chat, drawing, guidance or anchor sealed by another participant: handled as if relayed in the clear.
   * One early for its sender's key waits for that key (keys.js GroupNegotiation, onOpened above). */
  async on_sealed(m) {
    const inner = await this.group.openControl(m);
    if (inner !== null) this.onMessage(inner);
  }

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
    if (this.agentVideo) this.dropGuestPicture();  // the session's agent's picture first
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
    const line = {from: m.from || "agent", from_index: m.from_index, text: m.text, time: m.time};
    this.chat.push(line);
    this.emit("chat", line);
  }

  on_guide(m) { this.guide = m.direction; this.emit("guide", {direction: m.direction}); }

  on_annotation(m) {
    if (m.op === "add" && m.item && this.scene.items.has(m.item.id)) this.anchors.drop(m.item.id);
    if (!this.scene.apply(m)) return;
    this.anchors.forget(this.scene);
    this.emit("annotation", {items: this.scene.size});
  }

  on_anchor(m) { this.anchors.receive(m, this.scene); }

  on_keyframe_request(m) {
    if ((m.stream || "customer_video") !== "customer_video") return;
    this.requestKeyframe();
    if (m.from === "server") this.sender.trouble(m.reason || "relay_dropped");
  }

  on_media_report(m) {
    if (m.stream === "customer_video") this.sender.report(m.received || 0, m.lost || 0, m.late_ms || 0, m.bytes, m.last_us);
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
      versions: this.versions,
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
    this.videoStopped();
    this.videoPausedBy = decision.pausedBy;
    this.sendCameraState();
    return decision;
  }

  /* Once the video is off nothing more of it goes out (docs/protocol.md): the frames sealed and waiting in
   * the socket's queue are dropped, counted as our own (the agent's reports will see a gap). */
  videoStopped() {
    if (this.sender.sending) return;
    const dropped = this.socket.dropVideo();
    if (dropped) this.sender.droppedHere(dropped);
  }

  setHidden(hidden) {
    if (!this.sender.setHidden(hidden)) return;
    this.videoStopped();
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
    this.anchors.close();
    for (const receiver of this.receivers.values()) receiver.close();
    for (const voice of this.guestVoices.values()) voice.close();
    if (this.guestPicture) this.guestPicture.receiver.close();
  }
}

/* The dispatch table: each message type to its on_<type> method. */
const HANDLERS = new Map(Object.getOwnPropertyNames(CustomerCall.prototype)
  .filter((name) => name.startsWith("on_"))
  .map((name) => [name.slice(3), CustomerCall.prototype[name]]));
