/* Version 2 of the end-to-end encryption for the customer page: sender keys for sessions of more
 * than two (docs/protocol.md "Media frames, version 2"; the same as
 * native/anysupport_native/group.py, checked against tests/data/group_vectors.json).
 * The X25519 agreement itself is keys.js's (WebCrypto, or the vendored fallback): a pair's channel
 * is built here from its shared secret. Everything else is WebCrypto; not on the wire yet. */

import {FrameError, KeyExchangeError, ReplayWindow, b64url, concat, hex, sha256} from "./e2e.js";

export const VERSION = 2;
export const HEADER_SIZE = 20;
export const TAG_SIZE = 16;
export const FRAME_OVERHEAD = HEADER_SIZE + TAG_SIZE;
export const MAX_FRAME_BYTES = 1048576;
export const MAX_INDEX = 254;
export const KIND = {video: 0, audio: 1, control: 2};
const LABEL = "AnySupport-E2EE-v2";
const enc = new TextEncoder();

function u8(...values) { return new Uint8Array(values); }
function u16(n) { return u8(n >> 8, n & 255); }
function u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, false); return b; }
function sidField(sessionId) { const id = enc.encode(sessionId); return concat(u16(id.length), id); }
function checkIndex(i, name) {
  if (!Number.isInteger(i) || i < 0 || i > MAX_INDEX) throw new FrameError("bad_sender", name + " " + i);
  return i;
}
function checkEpoch(e) {
  if (!Number.isInteger(e) || e < 1 || e > 0xFFFFFFFF) throw new FrameError("bad_epoch", String(e));
  return e;
}


async function hkdf(ikm, salt, info, length) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({name: "HKDF", hash: "SHA-256", salt: salt, info: info},
                                                        key, length * 8));
}

function unb64url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new KeyExchangeError("bad_box", "not base64url");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - text.length % 4) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b64url(bytes) !== text) throw new KeyExchangeError("bad_box", "not canonical");
  return bytes;
}

export async function sessionSalt(sessionId) { return sha256(concat(enc.encode(LABEL), sidField(sessionId))); }

export async function frameKey(senderKey, sessionId, sender, epoch) {
  if (!(senderKey instanceof Uint8Array) || senderKey.length !== 16) throw new FrameError("bad_key");
  return hkdf(senderKey, await sessionSalt(sessionId),
              concat(enc.encode(LABEL + " frame"), u8(checkIndex(sender, "sender")), u32(checkEpoch(epoch))), 16);
}

/* The channel of participant `me` with `peer`, from their X25519 shared secret and both public keys. */
export async function pairChannel(sessionId, me, myPublic, peer, peerPublic, shared) {
  checkIndex(me, "me"); checkIndex(peer, "peer");
  if (me === peer) throw new KeyExchangeError("bad_peer");
  if (hex(myPublic) === hex(peerPublic)) throw new KeyExchangeError("reflected_key");
  if (shared.every((b) => b === 0)) throw new KeyExchangeError("low_order_key");
  const [low, high] = me < peer ? [[me, myPublic], [peer, peerPublic]] : [[peer, peerPublic], [me, myPublic]];
  const salt = await sha256(concat(enc.encode(LABEL + " pair"), sidField(sessionId),
                                   u8(low[0]), low[1], u8(high[0]), high[1]));
  const wrapKey = (src, dst) => hkdf(shared, salt, concat(enc.encode(LABEL + " wrap"), u8(src, dst)), 16);
  const sasBytes = await hkdf(shared, salt, enc.encode(LABEL + " sas"), 4);
  const sas = String(new DataView(sasBytes.buffer).getUint32(0, false) % 1000000).padStart(6, "0");
  return new PairChannel(sessionId, me, peer, await wrapKey(me, peer), await wrapKey(peer, me), sas);
}

export class PairChannel {
  constructor(sessionId, me, peer, sendKey, recvKey, sas) {
    Object.assign(this, {sessionId: sessionId, me: me, peer: peer, sendKey: sendKey, recvKey: recvKey, sas: sas});
  }
  aad(src, dst, epoch) {
    return concat(enc.encode(LABEL + " sender-key"), sidField(this.sessionId), u8(src, dst), u32(epoch));
  }
  /* The box of a sender_key message: base64url(nonce || AES-GCM(sender key) || tag). */
  async wrap(epoch, senderKey, nonce) {
    nonce = nonce || crypto.getRandomValues(new Uint8Array(12));
    const key = await crypto.subtle.importKey("raw", this.sendKey, "AES-GCM", false, ["encrypt"]);
    const sealed = new Uint8Array(await crypto.subtle.encrypt(
      {name: "AES-GCM", iv: nonce, additionalData: this.aad(this.me, this.peer, checkEpoch(epoch)), tagLength: 128},
      key, senderKey));
    return b64url(concat(nonce, sealed));
  }
  async unwrap(epoch, box) {
    const data = unb64url(box);
    if (data.length !== 44) throw new KeyExchangeError("bad_box", "a box is 44 bytes");
    const key = await crypto.subtle.importKey("raw", this.recvKey, "AES-GCM", false, ["decrypt"]);
    try {
      return new Uint8Array(await crypto.subtle.decrypt(
        {name: "AES-GCM", iv: data.subarray(0, 12), additionalData: this.aad(this.peer, this.me, checkEpoch(epoch)),
         tagLength: 128}, key, data.subarray(12)));
    } catch (e) {
      throw new KeyExchangeError("bad_box", "does not open with this pair's key");
    }
  }
}

export function packHeader(kind, sender, epoch, sequence, timestampUs, keyframe) {
  const header = new Uint8Array(HEADER_SIZE);
  const view = new DataView(header.buffer);
  header.set([VERSION, kind, keyframe ? 1 : 0, sender]);
  view.setUint32(4, epoch, false);
  view.setUint32(8, sequence, false);
  view.setBigUint64(12, BigInt(timestampUs), false);
  return header;
}

export function buildNonce(kind, sender, epoch, sequence) {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  nonce[0] = kind;
  nonce[1] = sender;
  view.setUint32(4, epoch, false);
  view.setUint32(8, sequence, false);
  return nonce;
}

export function parseHeader(frame, maxFrameBytes) {
  if (frame.length < FRAME_OVERHEAD) throw new FrameError("truncated");
  if (frame.length > (maxFrameBytes || MAX_FRAME_BYTES)) throw new FrameError("too_large");
  if (frame[0] !== VERSION) throw new FrameError("bad_version");
  if (frame[1] > 2) throw new FrameError("bad_stream");
  if (frame[2] & 0xFE) throw new FrameError("bad_flags");
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_SIZE);
  const header = {version: 2, kind: frame[1], keyframe: (frame[2] & 1) === 1, sender: frame[3],
                  epoch: view.getUint32(4, false), sequence: view.getUint32(8, false),
                  timestamp_us: Number(view.getBigUint64(12, false))};
  if (header.sender > MAX_INDEX || header.epoch === 0) throw new FrameError("bad_header");
  return header;
}

/* Seals what this participant sends under its key of one epoch (a new epoch: a new sealer). */
export class GroupSealer {
  static async create(sessionId, sender, epoch, senderKey) {
    const raw = await frameKey(senderKey, sessionId, sender, epoch);
    return new GroupSealer(sender, epoch, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]));
  }
  constructor(sender, epoch, key) { Object.assign(this, {sender: sender, epoch: epoch, key: key, next: [0, 0, 0]}); }
  async seal(kind, payload, keyframe, timestampUs) {
    if (!(kind in this.next)) throw new FrameError("bad_stream");
    const sequence = this.next[kind]++;
    if (sequence > 0xFFFFFFFF) throw new FrameError("sequence_exhausted");
    const header = packHeader(kind, this.sender, this.epoch, sequence, timestampUs, keyframe);
    const sealed = new Uint8Array(await crypto.subtle.encrypt(
      {name: "AES-GCM", iv: buildNonce(kind, this.sender, this.epoch, sequence), additionalData: header, tagLength: 128},
      this.key, payload));
    return concat(header, sealed);
  }
}

/* Opens the others' frames: keys by (sender, epoch), a replay window per sender, epoch and kind.
 * A replaced epoch opens graceMs longer (frames in flight), then never. `now` gives milliseconds. */
export class GroupOpener {
  constructor(sessionId, me, options) {
    const o = options || {};
    Object.assign(this, {sessionId: sessionId, me: me, now: o.now || (() => performance.now()),
                         graceMs: o.graceMs === undefined ? 1000 : o.graceMs, keys: new Map()});
  }
  async addKey(sender, epoch, senderKey) {
    if (checkIndex(sender, "sender") === this.me) throw new FrameError("bad_sender", "my own frames");
    const raw = await frameKey(senderKey, this.sessionId, sender, epoch);
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    const until = this.now() + this.graceMs;
    for (const [id, held] of this.keys) {
      if (held.sender === sender && held.epoch < epoch && held.until === null) held.until = until;
    }
    const id = sender + ":" + epoch;
    if (!this.keys.has(id)) {
      this.keys.set(id, {sender: sender, epoch: epoch, key: key, until: null,
                         windows: [new ReplayWindow(), new ReplayWindow(), new ReplayWindow()]});
    }
  }
  remove(sender) { for (const [id, held] of this.keys) if (held.sender === sender) this.keys.delete(id); }
  expire() {
    const now = this.now();
    for (const [id, held] of this.keys) if (held.until !== null && held.until <= now) this.keys.delete(id);
  }
  epochs(sender) {
    this.expire();
    return [...this.keys.values()].filter((h) => h.sender === sender).map((h) => h.epoch).sort((a, b) => a - b);
  }
  async open(frame) {
    const header = parseHeader(frame);
    if (header.sender === this.me) throw new FrameError("wrong_direction");
    this.expire();
    const held = this.keys.get(header.sender + ":" + header.epoch);
    if (!held) throw new FrameError("unknown_key");
    const win = held.windows[header.kind];
    if (!win.fresh(header.sequence)) throw new FrameError("replayed");
    let payload;
    try {
      payload = new Uint8Array(await crypto.subtle.decrypt(
        {name: "AES-GCM", iv: buildNonce(header.kind, header.sender, header.epoch, header.sequence),
         additionalData: frame.subarray(0, HEADER_SIZE), tagLength: 128}, held.key, frame.subarray(HEADER_SIZE)));
    } catch (e) {
      throw new FrameError("tampered");
    }
    if (!win.fresh(header.sequence)) throw new FrameError("replayed");
    win.record(header.sequence);
    return {header: header, payload: payload};
  }
}

/* One participant's side (group.py's GroupKeys): every membership change is a new epoch of my key,
 * given only to those present; a box for an epoch not newer than the last from that peer is refused. */
export class GroupKeys {
  constructor(sessionId, me, options) {
    const o = options || {};
    Object.assign(this, {sessionId: sessionId, me: me, channels: new Map(), highest: new Map(), present: new Set(),
                         epoch: 0, senderKey: null, sealer: null, opener: new GroupOpener(sessionId, me, o),
                         keySource: o.keySource || (() => crypto.getRandomValues(new Uint8Array(16)))});
  }
  async channelReady(channel) {
    if (channel.me !== this.me) throw new KeyExchangeError("bad_peer");
    const old = this.channels.get(channel.peer);
    if (old && hex(old.recvKey) !== hex(channel.recvKey)) { this.opener.remove(channel.peer); this.highest.delete(channel.peer); }
    this.channels.set(channel.peer, channel);
    if (this.present.has(channel.peer) && this.senderKey) {
      return new Map([[channel.peer, {epoch: this.epoch, box: await channel.wrap(this.epoch, this.senderKey)}]]);
    }
    return new Map();
  }
  async membership(present) {
    const now = new Set([...present].map((p) => checkIndex(p, "present")).filter((p) => p !== this.me));
    const same = now.size === this.present.size && [...now].every((p) => this.present.has(p));
    if (same && this.senderKey) return new Map();
    for (const gone of this.present) {
      if (!now.has(gone)) { this.opener.remove(gone); this.channels.delete(gone); this.highest.delete(gone); }
    }
    this.present = now;
    this.epoch += 1;
    this.senderKey = this.keySource();
    this.sealer = await GroupSealer.create(this.sessionId, this.me, this.epoch, this.senderKey);
    const boxes = new Map();
    for (const peer of [...now].sort((a, b) => a - b)) {
      const channel = this.channels.get(peer);
      if (channel) boxes.set(peer, {epoch: this.epoch, box: await channel.wrap(this.epoch, this.senderKey)});
    }
    return boxes;
  }
  async receive(peer, epoch, box) {
    if (!this.present.has(peer)) throw new KeyExchangeError("not_present");
    const channel = this.channels.get(peer);
    if (!channel) throw new KeyExchangeError("no_channel");
    if (epoch <= (this.highest.get(peer) || 0)) throw new KeyExchangeError("old_epoch");
    await this.opener.addKey(peer, epoch, await channel.unwrap(epoch, box));
    this.highest.set(peer, epoch);
  }
}

/* Sealed messages that arrived before their sender's key of that epoch (the Python clients' session/sealed_wait.py SealedWait):
 * kept in arrival order until a key of that sender arrives (take), at most `messages` messages, `bytes`
 * bytes and `seconds` each (vocabulary SEALED_WAIT); `now` gives milliseconds. Nothing opens here: the
 * caller opens what it takes (a replay is still refused then) and refuses what is dropped. */
export class SealedWait {
  constructor(limits, options) {
    const o = options || {};
    Object.assign(this, {maxMessages: limits.messages, maxBytes: limits.bytes, maxAgeMs: limits.seconds * 1000,
                         now: o.now || (() => performance.now()), waiting: [], bytes: 0});
  }
  get size() { return this.waiting.length; }
  /* Keep `item` (`size` bytes) until `sender`'s key of `epoch` arrives; false when full. */
  hold(sender, epoch, size, item) {
    if (this.waiting.length >= this.maxMessages || this.bytes + size > this.maxBytes) return false;
    this.waiting.push({sender: sender, epoch: epoch, size: size, until: this.now() + this.maxAgeMs, item: item});
    this.bytes += size;
    return true;
  }
  senders() { return new Set(this.waiting.map((w) => w.sender)); }
  /* What waits for `sender`'s key of `epoch` or an older one (that never comes now), in arrival order. */
  take(sender, epoch) { return this.remove((w) => w.sender === sender && w.epoch <= epoch); }
  drop(sender) { return this.remove((w) => w.sender === sender); }
  expire() { const now = this.now(); return this.remove((w) => w.until <= now); }
  clear() { return this.remove(() => true); }
  remove(match) {
    const taken = this.waiting.filter(match);
    if (taken.length) {
      this.waiting = this.waiting.filter((w) => !match(w));
      this.bytes -= taken.reduce((n, w) => n + w.size, 0);
    }
    return taken.map((w) => w.item);
  }
}
