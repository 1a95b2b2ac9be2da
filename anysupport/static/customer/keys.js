/* The call's key negotiation (docs/protocol.md §3): the key_exchange messages of each peer through
 * its CustomerKeyExchange (e2e.js), our sealer for what we send, the openers for what each peer
 * sends (its current key first, then the previous one for frames still in flight, §3.5), the
 * security code, `key_exchange_failed` both ways, and asking for keys when we have none (`no_keys`).
 * Transport-free: the call gives it `send` and hears `onKeys(keys)` / `onFailed({code, by?})`.
 *
 * State is kept per peer (today the one agent), so more participants add peers rather than flags;
 * every key_exchange passes through exchange() and every new key through use(), so a limit on how
 * often keys may change, and the notice that the code changed, each have one place. */

import {CustomerKeyExchange, FrameError, FrameOpener, FrameSealer, KeyExchangeError, b64url, decodePublicKey,
        makeKeyPair, sasDisplay, sharedSecret} from "./e2e.js";
import {GroupKeys, KIND, VERSION as GROUP_VERSION, SealedWait, pairChannel, parseHeader} from "./group.js";
import {REKEY, SEALED_WAIT} from "./vocabulary.js";

export const AGENT = "agent";

/* How often new keys may be agreed with one peer (issue 18 #7; the rule and its numbers are the
 * protocol's, REKEY, as anysupport_client/session/rekey.py): after n new keys within memory_s, the next
 * waits first_gap_s * 2^(n-1) (at most max_gap_s) after the last; the answering side allows answer_slack
 * of that. A server hunting for a key pair whose 6-digit code matches gets a handful of tries, not
 * thousands. `now` is injectable (seconds). */
export class RekeyLimit {
  constructor(slack = REKEY.answer_slack, now = () => performance.now() / 1000) {
    this.slack = slack;
    this.now = now;
    this.times = [];
  }

  wait() {
    const now = this.now();
    while (this.times.length && now - this.times[0] > REKEY.memory_s) this.times.shift();
    if (!this.times.length) return 0;
    const gap = Math.min(REKEY.max_gap_s, REKEY.first_gap_s * 2 ** (this.times.length - 1)) * this.slack;
    return Math.max(0, this.times[this.times.length - 1] + gap - now);
  }

  agreed() { this.times.push(this.now()); }
}

/* One pairwise channel: its exchange, its security code, the openers of the frames it sends, and how
 * often it may agree new keys. */
class PeerKeys {
  constructor(sessionId) {
    this.exchange = new CustomerKeyExchange(sessionId);
    this.openers = [];
    this.sas = null;
    this.rekeys = new RekeyLimit();
  }

  /* Whether `message` begins a new exchange (would be answered with a fresh key). */
  startsNew(message) {
    if (message.commitment && !message.public_key) return true;
    const x = this.exchange;
    return Boolean(message.public_key) && x.commitment === null && !x.sentPublic && !x.derived;
  }
}

export class KeyNegotiation {
  /* options: send(message) → bool, maxFrameBytes() → the server's frame limit, stats (callStats),
   * onKeys({sas, sas_display, generation}), onFailed({code, by?}) */
  constructor(sessionId, options) {
    this.sessionId = sessionId;
    this.send = options.send;
    this.maxFrameBytes = options.maxFrameBytes;
    this.stats = options.stats;
    this.onKeys = options.onKeys;
    this.onFailed = options.onFailed;
    this.peers = new Map([[AGENT, new PeerKeys(sessionId)]]);
    this.sealer = null;
    this.chain = Promise.resolve();  // one message at a time: an exchange is a sequence
  }

  get ready() { return this.sealer !== null; }

  /* The agent's security code as shown ("692 352"), or null before the first keys. */
  get sas() { return this.peers.get(AGENT).sas; }

  /* A key_exchange message (from the agent: the only peer that sends one today). */
  receive(message) {
    const peer = this.peers.get(AGENT);
    this.chain = this.chain.then(() => this.exchange(peer, message)).catch(() => {});
  }

  async exchange(peer, message) {
    if (peer.startsNew(message)) {
      const wait = Math.ceil(peer.rekeys.wait());
      if (wait > 0) {  // new keys too soon after the last: no fresh key for this one
        this.send({type: "key_exchange_failed", reason: "rekey_limit", retry_after: wait});
        this.stats.rekeys_refused = (this.stats.rekeys_refused || 0) + 1;
        this.onFailed({code: "rekey_limit", retry_after: wait});
        return;
      }
      peer.rekeys.agreed();
    }
    let result;
    try {
      result = await peer.exchange.receive(message);
    } catch (e) {
      const code = e instanceof KeyExchangeError ? e.code : "protocol";
      this.send({type: "key_exchange_failed", reason: code});
      this.onFailed({code: code});
      return;
    }
    for (const reply of result.replies) this.send(reply);
    if (result.keys) await this.use(peer, result.keys);
  }

  async use(peer, keys) {
    this.sealer = await FrameSealer.create(keys.send_key, "customer");
    const opener = await FrameOpener.create(keys.recv_key, AGENT, this.maxFrameBytes());
    peer.openers = [opener].concat(peer.openers.slice(0, 1));
    peer.sas = keys.sas_display;
    this.onKeys({sas: keys.sas, sas_display: keys.sas_display, generation: keys.generation});
  }

  /* The agent's key_exchange_failed. */
  failed(message) { this.onFailed({code: message.reason, by: AGENT}); }

  /* Connected without media keys (the page reloaded mid-call): ask the agent for a fresh exchange
   * (docs/protocol.md, "A customer without keys"). */
  ask() {
    if (this.sealer) return;
    if (this.send({type: "key_exchange_failed", reason: "no_keys"})) this.stats.key_requests += 1;
  }

  /* A received frame: {header, payload}, or {refused: code} when no key opens it. */
  async open(bytes) {
    let refusal = "no_keys";
    for (const opener of this.peers.get(AGENT).openers) {
      try {
        return await opener.open(bytes);
      } catch (e) {
        refusal = e.code || "tampered";
      }
    }
    return {refused: refusal};
  }
}

/* What travels sealed between participants once a session speaks version 2 (docs/protocol.md V2.5). */
export const SEALED_TYPES = new Set(["chat", "guide", "annotation", "anchor"]);

function unb64url(text) {
  const bin = atob(String(text).replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - text.length % 4) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/* Version 2 for the page (issue 21; docs/protocol.md V2.8), as the Python clients' GroupMedia
 * (anysupport_client/session/group_media.py): from the first `participants` with version 2 on, every
 * list is a membership (a new epoch of my sender key given to those present only, group.js GroupKeys),
 * and a pairwise X25519 agreement with each participant (key_exchange with `to`, plain mode; of each pair
 * the higher index speaks first, so the customer, index 0, always answers, under a RekeyLimit per pair).
 * Each pair's security code is emitted (onPair) to show next to that participant's name. Everything is
 * one message at a time (one chain): an exchange, a membership and a box are sequences.
 * options: send(message) → bool, onPair({peer, sas, sas_display, name}), onEpoch({epoch, present, you}),
 * onRefused({what, peer, code}), onOpened(inner) (a sealed message that waited for its sender's key, opened
 * when that key arrived), now() (seconds, for the re-key limit and the wait) */
export class GroupNegotiation {
  constructor(sessionId, options) {
    this.sessionId = sessionId;
    this.send = options.send;
    this.onPair = options.onPair || (() => {});
    this.onEpoch = options.onEpoch || (() => {});
    this.onRefused = options.onRefused || (() => {});
    this.onOpened = options.onOpened || (() => {});
    this.now = options.now;
    // sealed messages early for their sender's key (issue 21): kept a few seconds, then refused
    this.waiting = new SealedWait(SEALED_WAIT, {now: options.now ? () => options.now() * 1000 : undefined});
    this.keys = null;
    this.me = null;
    this.participants = [];
    this.sas = new Map();  // each pair's security code ("692 352"), by the peer's index
    this.answers = new Map();  // peer -> RekeyLimit: how often that peer may make me answer a new exchange
    this.refused = 0;
    this.chain = Promise.resolve();
  }

  get active() { return this.keys !== null; }

  get ready() { return this.keys !== null && this.keys.sealer !== null; }

  get epoch() { return this.keys ? this.keys.epoch : 0; }

  queue(step) {
    this.chain = this.chain.then(step).catch((e) => this.refuse("protocol", null, e));
    return this.chain;
  }

  name(index) {
    const found = this.participants.find((p) => p.index === index);
    return found ? found.name || "" : "";
  }

  refuse(what, peer, e) {
    this.refused += 1;
    this.onRefused({what: what, peer: peer, code: (e && e.code) || "protocol"});
  }

  sendBoxes(boxes) {
    for (const [peer, b] of boxes) this.send({type: "sender_key", to: peer, epoch: b.epoch, box: b.box});
  }

  /* The server's list of who is present. */
  membership(message) {
    return this.queue(async () => {
      this.participants = Array.isArray(message.participants) ? message.participants : [];
      if (message.version !== GROUP_VERSION && this.keys === null) return;
      const me = message.you;
      const fresh = this.keys === null || this.me !== me;
      if (fresh) {
        this.me = me;
        this.keys = new GroupKeys(this.sessionId, me);
        this.sas.clear();
        this.refuseWaiting(this.waiting.clear());
      }
      // members, whether or not their socket is open this moment: a socket that blinks keeps its keys
      const present = new Set(this.participants.map((p) => p.index).filter((i) => i !== me));
      for (const gone of [...this.sas.keys()]) if (!present.has(gone)) this.sas.delete(gone);
      this.refuseWaiting(this.waiting.expire());
      for (const gone of this.waiting.senders()) if (!present.has(gone)) this.refuseWaiting(this.waiting.drop(gone));
      this.sendBoxes(await this.keys.membership(present));
      if (fresh) {
        // no pair yet (this page was reloaded mid-call, or the call just switched): ask each participant of a
        // higher index, who speaks first, for one; one already sending its key ignores this
        for (const peer of [...present].filter((p) => p > me).sort((a, b) => a - b)) {
          this.send({type: "key_exchange_failed", reason: "no_keys", to: peer});
        }
      }
      this.onEpoch({epoch: this.keys.epoch, present: [...present].sort((a, b) => a - b), you: me});
    });
  }

  /* A pair's key_exchange (version 2, `from_index`): the peer spoke first (the customer has the lowest
   * index), so answer with a fresh key pair of mine, agree the channel and give the peer my key. */
  exchange(message) {
    return this.queue(async () => {
      if (this.keys === null) return;
      const peer = message.from_index;
      if (!Number.isInteger(peer) || typeof message.public_key !== "string") return;
      if (!this.answers.has(peer)) this.answers.set(peer, new RekeyLimit(REKEY.answer_slack, this.now));
      const limit = this.answers.get(peer);
      const wait = Math.ceil(limit.wait());
      if (wait > 0) {  // new codes too often with this peer: a server searching for a matching code
        this.send({type: "key_exchange_failed", reason: "rekey_limit", retry_after: wait, to: peer});
        this.refuse("pair", peer, new KeyExchangeError("rekey_limit"));
        return;
      }
      limit.agreed();
      let channel;
      try {
        const theirs = decodePublicKey(message.public_key);
        const pair = await makeKeyPair();
        this.send({type: "key_exchange", version: GROUP_VERSION, to: peer, public_key: b64url(pair.publicBytes)});
        let shared;
        try {
          shared = await sharedSecret(pair, theirs);
        } catch (e) {
          throw new KeyExchangeError("low_order_key");
        }
        channel = await pairChannel(this.sessionId, this.me, pair.publicBytes, peer, theirs, shared);
      } catch (e) {
        this.refuse("pair", peer, e);
        return;
      }
      this.sas.set(peer, sasDisplay(channel.sas));
      this.sendBoxes(await this.keys.channelReady(channel));
      this.onPair({peer: peer, sas: channel.sas, sas_display: sasDisplay(channel.sas), name: this.name(peer)});
    });
  }

  /* A peer's sender key of an epoch, for my opener. */
  senderKey(message) {
    return this.queue(async () => {
      if (this.keys === null) return;
      try {
        await this.keys.receive(message.from_index, message.epoch, message.box);
      } catch (e) {
        this.refuse("sender_key", message.from_index, e);
        return;
      }
      this.refuseWaiting(this.waiting.expire());
      for (const early of this.waiting.take(message.from_index, message.epoch)) {
        const inner = await this.openSealed(early, false);
        if (inner !== null) this.onOpened(inner);
      }
    });
  }

  refuseWaiting(messages) {
    for (const m of messages) this.refuse("sealed", m.from_index, new FrameError("unknown_key"));
  }

  /* The sealer of my current epoch (a new epoch: a new sealer), or null. */
  get sealer() { return this.keys ? this.keys.sealer : null; }

  /* A received version-2 frame as {header (version-1-shaped: stream, keyframe, sequence, timestamp_us),
   * payload, sender, epoch}, or {refused: code}. */
  async open(bytes) {
    if (this.keys === null) return {refused: "no_keys"};
    try {
      const opened = await this.keys.opener.open(bytes);
      const h = opened.header;
      if (h.kind === KIND.control) return {refused: "bad_stream"};
      const stream = h.kind + (h.sender === 0 ? 0 : 2);
      return {header: {version: 2, stream: stream, keyframe: h.keyframe, sequence: h.sequence,
                       timestamp_us: h.timestamp_us},
              payload: opened.payload, sender: h.sender, epoch: h.epoch};
    } catch (e) {
      return {refused: e.code || "tampered"};
    }
  }

  /* A `sealed` message carrying `message` as a kind-2 frame, or null without a key of mine yet. */
  async sealControl(message) {
    const sealer = this.sealer;
    if (sealer === null) return null;
    const inner = Object.assign({}, message);
    delete inner.session_id;
    const frame = await sealer.seal(KIND.control, new TextEncoder().encode(JSON.stringify(inner)), false, 0);
    return {type: "sealed", frame: b64url(frame)};
  }

  /* The message inside a `sealed` one, with from/from_index/time as relayed, or null: refused, or (its
   * sender's key of that epoch not held yet) kept until that key arrives (then given to onOpened), at
   * most SEALED_WAIT. In the chain, after the keys that arrived before it. */
  openControl(message) {
    return this.queue(async () => {
      if (this.keys === null) return null;
      this.refuseWaiting(this.waiting.expire());
      return this.openSealed(message, true);
    });
  }

  async openSealed(message, wait) {
    let frame;
    try {
      frame = unb64url(message.frame || "");
      const opened = await this.keys.opener.open(frame);
      const inner = JSON.parse(new TextDecoder().decode(opened.payload));
      if (opened.header.kind !== KIND.control || inner === null || typeof inner !== "object" ||
          !SEALED_TYPES.has(inner.type)) {
        throw new FrameError("bad_stream");
      }
      return Object.assign(inner, {from: message.from, from_index: opened.header.sender, time: message.time});
    } catch (e) {
      if (wait && e.code === "unknown_key") {
        const h = parseHeader(frame);  // only a member's key can still come
        if (this.keys.present.has(h.sender) && this.waiting.hold(h.sender, h.epoch, frame.length, message)) return null;
      }
      this.refuse("sealed", message.from_index, e);
      return null;
    }
  }
}
