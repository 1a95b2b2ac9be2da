/* End-to-end media encryption for the customer page, exactly as docs/protocol.md "Media frames"
 * specifies (the same as native/anysupport_native/_framing_reference.py and keys.py):
 * X25519 key agreement with the agent's commitment, HKDF-SHA256 direction keys and the SAS,
 * AES-128-GCM sealed frames with the 16-byte clear header as AAD, and the 64-frame replay window.
 * Everything is WebCrypto, except X25519 where WebCrypto lacks it (Safari before iOS 17): there the
 * scalar multiplication is tweetnacl-js's (audited, vendored as one file: static/vendor/README.md),
 * loaded only then. Nothing here is hand-written cryptography. */

export const VERSION = 1;
export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
export const FRAME_OVERHEAD = HEADER_SIZE + TAG_SIZE;
export const MAX_FRAME_BYTES = 1048576;
export const MAX_SEQUENCE = 0xFFFFFFFF;
export const REPLAY_WINDOW = 64;
export const STREAM = {customer_video: 0, customer_audio: 1, agent_video: 2, agent_audio: 3};
export const STREAMS_FROM = {customer: [0, 1], agent: [2, 3]};
const LABEL = "AnySupport-E2EE-v1";
const enc = new TextEncoder();

export class FrameError extends Error {
  constructor(code, detail) { super(code + (detail ? ": " + detail : "")); this.code = code; }
}
export class KeyExchangeError extends Error {
  constructor(code, detail) { super(code + (detail ? ": " + detail : "")); this.code = code; }
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function b64url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/* The canonical base64url (no padding) of exactly 32 bytes, else bad_public_key (one trailing "="
 * is tolerated, as keys.decode_public_key does). */
export function decodePublicKey(text) {
  if (typeof text !== "string") throw new KeyExchangeError("bad_public_key", "not a string");
  const body = text.endsWith("=") ? text.slice(0, -1) : text;
  if (!/^[A-Za-z0-9_-]{43}$/.test(body)) throw new KeyExchangeError("bad_public_key", "not 43 base64url characters");
  const bin = atob(body.replace(/-/g, "+").replace(/_/g, "/") + "=");
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (bytes.length !== 32 || b64url(bytes) !== body) throw new KeyExchangeError("bad_public_key", "not canonical");
  return bytes;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function keyCommitment(publicBytes) {
  return b64url(await sha256(concat(enc.encode(LABEL + " commitment"), publicBytes)));
}

/* Whether WebCrypto does X25519 itself (generate, import a peer's raw key), asked once. */
let nativeX25519 = null;
export function webCryptoX25519() {
  if (nativeX25519 === null) {
    nativeX25519 = (async () => {
      try {
        await crypto.subtle.generateKey({name: "X25519"}, false, ["deriveBits"]);
        const base = new Uint8Array(32);
        base[0] = 9;
        await crypto.subtle.importKey("raw", base, {name: "X25519"}, false, []);
        return true;
      } catch (e) {
        return false;
      }
    })();
  }
  return nativeX25519;
}

const NACL = new URL("../vendor/tweetnacl/nacl-fast.js", import.meta.url).href;
let nacl = null;

/* tweetnacl-js, loaded the first time it is needed (a classic script that sets self.nacl). */
function loadNacl() {
  if (!nacl) nacl = import(NACL).then(() => self.nacl);
  return nacl;
}

/* X25519(scalar, u) of RFC 7748 §5 in JavaScript (tweetnacl's scalarMult, which clamps the scalar
 * and ignores the top bit of u as the RFC says); the RFC's vectors check it (tests/web). */
export async function x25519(scalar, u) {
  if (scalar.length !== 32 || u.length !== 32) throw new KeyExchangeError("bad_public_key", "not 32 bytes");
  return (await loadNacl()).scalarMult(scalar, u);
}

/* A fresh X25519 key pair, or one from a known private key (the test vectors) given as raw bytes:
 * a WebCrypto key where WebCrypto does X25519, else the raw private scalar for x25519(). */
export async function makeKeyPair(privateBytes, publicBytes) {
  if (!(await webCryptoX25519())) {
    const scalar = privateBytes ? Uint8Array.from(privateBytes) : crypto.getRandomValues(new Uint8Array(32));
    const nine = new Uint8Array(32);
    nine[0] = 9;
    return {privateScalar: scalar, publicBytes: await x25519(scalar, nine)};
  }
  if (privateBytes) {
    const jwk = {kty: "OKP", crv: "X25519", d: b64url(privateBytes), x: b64url(publicBytes), ext: true};
    const privateKey = await crypto.subtle.importKey("jwk", jwk, {name: "X25519"}, false, ["deriveBits"]);
    return {privateKey: privateKey, publicBytes: publicBytes};
  }
  const pair = await crypto.subtle.generateKey({name: "X25519"}, true, ["deriveBits"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {privateKey: pair.privateKey, publicBytes: raw};
}

/* The shared secret of our pair and the peer's public key (either implementation). */
export async function sharedSecret(pair, peerPublicBytes) {
  if (pair.privateScalar) return x25519(pair.privateScalar, peerPublicBytes);
  const peer = await crypto.subtle.importKey("raw", peerPublicBytes, {name: "X25519"}, false, []);
  return new Uint8Array(await crypto.subtle.deriveBits({name: "X25519", public: peer}, pair.privateKey, 256));
}

async function hkdf(ikm, salt, info, length) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({name: "HKDF", hash: "SHA-256", salt: salt, info: enc.encode(info)},
    key, length * 8);
  return new Uint8Array(bits);
}

/* Whether this browser's WebCrypto does what the page needs of it (SHA-256, HKDF, AES-GCM; X25519
 * comes from WebCrypto or tweetnacl). Secure origins only: crypto.subtle is missing elsewhere. */
export async function webCryptoSupported() {
  if (!(window.crypto && crypto.subtle && crypto.getRandomValues)) return false;
  try {
    await crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", false, ["encrypt"]);
    await crypto.subtle.importKey("raw", new Uint8Array(16), "HKDF", false, ["deriveBits"]);
    return true;
  } catch (e) {
    return false;
  }
}

export function sasDisplay(sas) { return sas.slice(0, 3) + " " + sas.slice(3); }

/* docs/protocol.md §3.2: returns every intermediate value (the tests compare them with the worked
 * example) plus the two direction keys as raw bytes. */
export async function deriveSchedule(pair, peerPublicBytes, side, sessionId) {
  if (hex(peerPublicBytes) === hex(pair.publicBytes)) throw new KeyExchangeError("bad_public_key", "reflected key");
  let shared;
  try {
    shared = await sharedSecret(pair, peerPublicBytes);
  } catch (e) {
    throw new KeyExchangeError("bad_public_key", "low-order key");
  }
  if (shared.every((b) => b === 0)) throw new KeyExchangeError("bad_public_key", "low-order key");
  const customerPublic = side === "customer" ? pair.publicBytes : peerPublicBytes;
  const agentPublic = side === "customer" ? peerPublicBytes : pair.publicBytes;
  const id = enc.encode(sessionId);
  const transcript = concat(enc.encode(LABEL), new Uint8Array([id.length >> 8, id.length & 255]), id,
    customerPublic, agentPublic);
  const salt = await sha256(transcript);
  const c2a = await hkdf(shared, salt, LABEL + " key customer->agent", 16);
  const a2c = await hkdf(shared, salt, LABEL + " key agent->customer", 16);
  const sasBytes = await hkdf(shared, salt, LABEL + " sas", 4);
  const value = new DataView(sasBytes.buffer).getUint32(0, false);
  const sas = String(value % 1000000).padStart(6, "0");
  return {
    shared: shared, transcript: transcript, salt: salt, customer_to_agent_key: c2a, agent_to_customer_key: a2c,
    sas_bytes: sasBytes, sas: sas, sas_display: sasDisplay(sas),
    send_key: side === "customer" ? c2a : a2c, recv_key: side === "customer" ? a2c : c2a,
  };
}

export function packHeader(stream, sequence, timestampUs, keyframe) {
  const header = new Uint8Array(HEADER_SIZE);
  const view = new DataView(header.buffer);
  header[0] = VERSION;
  header[1] = stream;
  header[2] = keyframe ? 1 : 0;
  view.setUint32(4, sequence, false);
  view.setBigUint64(8, BigInt(timestampUs), false);
  return header;
}

export function buildNonce(stream, sequence) {
  const nonce = new Uint8Array(12);
  nonce[0] = (stream >> 1) & 1;
  nonce[1] = stream;
  new DataView(nonce.buffer).setUint32(8, sequence, false);
  return nonce;
}

export function parseHeader(frame, maxFrameBytes) {
  if (frame.length < FRAME_OVERHEAD) throw new FrameError("truncated");
  if (frame.length > (maxFrameBytes || MAX_FRAME_BYTES)) throw new FrameError("too_large");
  if (frame[0] !== VERSION) throw new FrameError("bad_version");
  if (frame[1] > 3) throw new FrameError("bad_stream");
  if (frame[2] & 0xFE) throw new FrameError("bad_flags");
  if (frame[3] !== 0) throw new FrameError("bad_header");
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_SIZE);
  return {version: frame[0], stream: frame[1], keyframe: (frame[2] & 1) === 1, sequence: view.getUint32(4, false),
          timestamp_us: Number(view.getBigUint64(8, false))};
}

export function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

async function aesKey(raw, usage) {
  if (!(raw instanceof Uint8Array) || raw.length !== 16) throw new FrameError("bad_key");
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

/* One per key for the key's whole life: sequences per stream only count up (never a nonce twice). */
export class FrameSealer {
  static async create(rawKey, side) {
    return new FrameSealer(await aesKey(rawKey, "encrypt"), side);
  }
  constructor(key, side) {
    this.key = key;
    this.side = side;
    this.next = new Map();
  }
  async seal(stream, payload, keyframe, timestampUs) {
    if (STREAMS_FROM[this.side].indexOf(stream) < 0) throw new FrameError("wrong_direction");
    const sequence = this.next.get(stream) || 0;
    if (sequence > MAX_SEQUENCE) throw new FrameError("sequence_exhausted");
    this.next.set(stream, sequence + 1);
    return sealFrame(this.key, stream, sequence, timestampUs === undefined ? nowUs() : timestampUs, keyframe, payload);
  }
}

/* One frame at a given sequence (FrameSealer keeps the counters; the replay vectors need this). */
export async function sealFrame(key, stream, sequence, timestampUs, keyframe, payload) {
  const header = packHeader(stream, sequence, timestampUs, keyframe);
  const sealed = new Uint8Array(await crypto.subtle.encrypt(
    {name: "AES-GCM", iv: buildNonce(stream, sequence), additionalData: header, tagLength: 128}, key, payload));
  return concat(header, sealed);
}

export { aesKey };

/* §2.1: per stream the highest accepted sequence and a 64-bit map of the ones below it. */
export class ReplayWindow {
  constructor() { this.highest = 0; this.seen = 0n; }
  fresh(s) {
    if (s > this.highest) return true;
    const back = this.highest - s;
    return back < REPLAY_WINDOW && ((this.seen >> BigInt(back)) & 1n) === 0n;
  }
  record(s) {
    const mask = (1n << 64n) - 1n;
    if (s > this.highest) {
      const shift = s - this.highest;
      this.seen = shift < REPLAY_WINDOW ? ((this.seen << BigInt(shift)) | 1n) & mask : 1n;
      this.highest = s;
    } else {
      this.seen = (this.seen | (1n << BigInt(this.highest - s))) & mask;
    }
  }
}

export class FrameOpener {
  static async create(rawKey, senderSide, maxFrameBytes) {
    return new FrameOpener(await aesKey(rawKey, "decrypt"), senderSide, maxFrameBytes);
  }
  constructor(key, senderSide, maxFrameBytes) {
    this.key = key;
    this.sender = senderSide;
    this.limit = maxFrameBytes || MAX_FRAME_BYTES;
    this.windows = new Map();
  }
  window(stream) {
    if (!this.windows.has(stream)) this.windows.set(stream, new ReplayWindow());
    return this.windows.get(stream);
  }
  /* Resolves to {header, payload}; rejects with FrameError(code) in the order of §2. */
  async open(frame) {
    const header = parseHeader(frame, this.limit);
    if (STREAMS_FROM[this.sender].indexOf(header.stream) < 0) throw new FrameError("wrong_direction");
    const win = this.window(header.stream);
    if (!win.fresh(header.sequence)) throw new FrameError("replayed");
    let payload;
    try {
      payload = new Uint8Array(await crypto.subtle.decrypt(
        {name: "AES-GCM", iv: buildNonce(header.stream, header.sequence), additionalData: frame.subarray(0, HEADER_SIZE),
         tagLength: 128}, this.key, frame.subarray(HEADER_SIZE)));
    } catch (e) {
      throw new FrameError("tampered");
    }
    if (!win.fresh(header.sequence)) throw new FrameError("replayed");
    win.record(header.sequence);
    return {header: header, payload: payload};
  }
}

/* The customer's side of key_exchange (clients/anysupport_client/e2e.py): the agent commits, we
 * answer with a fresh public key, the agent reveals, we check the reveal and derive. receive()
 * resolves to {replies, keys}: keys (a derivation) only when an exchange completed. */
export class CustomerKeyExchange {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.pair = null;
    this.commitment = null;
    this.sentPublic = false;
    this.derived = false;
    this.generation = 0;
  }
  message(fields) { return Object.assign({type: "key_exchange", version: VERSION}, fields); }
  async receive(message) {
    if (message.version !== undefined && message.version !== VERSION) {
      throw new KeyExchangeError("unsupported_version");
    }
    const publicKey = message.public_key;
    const commitment = message.commitment;
    if (commitment && !publicKey) {
      this.pair = await makeKeyPair();  // a new exchange: never reuse a key pair
      this.commitment = commitment;
      this.sentPublic = true;
      this.derived = false;
      return {replies: [this.message({public_key: b64url(this.pair.publicBytes)})], keys: null};
    }
    if (!publicKey) return {replies: [], keys: null};
    if (this.derived) throw new KeyExchangeError("protocol", "keys already derived from this exchange");
    const peer = decodePublicKey(publicKey);
    const replies = [];
    if (this.commitment !== null) {
      if ((await keyCommitment(peer)) !== this.commitment) throw new KeyExchangeError("bad_commitment");
    } else if (this.sentPublic) {
      throw new KeyExchangeError("bad_commitment", "the agent revealed a key it had not committed to");
    } else {
      this.pair = await makeKeyPair();  // plain mode: the agent spoke first with its key
      replies.push(this.message({public_key: b64url(this.pair.publicBytes)}));
    }
    const keys = await deriveSchedule(this.pair, peer, "customer", this.sessionId);
    this.commitment = null;
    this.sentPublic = false;
    this.derived = true;
    this.generation += 1;
    keys.generation = this.generation;
    return {replies: replies, keys: keys};
  }
}
