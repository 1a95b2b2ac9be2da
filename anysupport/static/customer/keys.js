/* The call's key negotiation (docs/protocol.md §3): the key_exchange messages of each peer through
 * its CustomerKeyExchange (e2e.js), our sealer for what we send, the openers for what each peer
 * sends (its current key first, then the previous one for frames still in flight, §3.5), the
 * security code, `key_exchange_failed` both ways, and asking for keys when we have none (`no_keys`).
 * Transport-free: the call gives it `send` and hears `onKeys(keys)` / `onFailed({code, by?})`.
 *
 * State is kept per peer (today the one agent), so more participants add peers rather than flags;
 * every key_exchange passes through exchange() and every new key through use(), so a limit on how
 * often keys may change, and the notice that the code changed, each have one place. */

import {CustomerKeyExchange, FrameOpener, FrameSealer, KeyExchangeError} from "./e2e.js";
import {REKEY} from "./vocabulary.js";

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
