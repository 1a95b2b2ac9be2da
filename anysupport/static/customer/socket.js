/* The call's one WebSocket and the reconnection rule, as CustomerSession's connection loop
 * (clients/anysupport_client/session/customer.py): any close but a final one (vocabulary.js)
 * reconnects with the same token, after 0.25 s doubling to 2 s, for RECONNECT_GRACE_MS; `moved`
 * (then close 4004) goes at once to where the session lives now; hello's `ws_url` is where the next
 * connection goes. Video waits in our own queue (sendVideo) while the browser holds unsent bytes, so
 * voice and control (send, sendFrame) go ahead of it; a video frame that waited VIDEO_STALE_MS is
 * dropped (onVideoDropped: the sender starts again from a keyframe). A socket that died without a close handshake (1006: the network went, or the
 * phone changed networks) is tried again at once, and so is a wait cut short by the browser's
 * `online` event: the back-off starts from the second try (docs/netlab.md, the handover). Text messages arrive parsed; binary ones as bytes, in arrival order.
 *
 * handlers: message(m), frame(bytes), opened({back}), reconnecting(), ended(reason) with reason
 * "session_ended", "closed_<code>" or "lost", and isDone() (the call is over: do not come back). */

import {CLOSE, FINAL_CLOSE_CODES} from "./vocabulary.js";

export const RECONNECT_GRACE_MS = 30000;
export const FIRST_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 2000;
const ABNORMAL_CLOSE = 1006;
export const VIDEO_STALE_MS = 150;
export const VIDEO_PUMP_MS = 10;  // the browser says nothing when its buffer drains: look this often  // the browser's code for a socket that went without a close frame

/* The socket address for a ws_url (relative, or absolute on another node) and the customer token
 * (in the URL: a browser's WebSocket cannot set headers). */
export function wsAddress(wsUrl, token) {
  const url = new URL(wsUrl, window.location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.searchParams.set("token", token);
  return url.toString();
}

export class ReconnectingSocket {
  constructor(wsUrl, token, handlers) {
    this.url = wsUrl;
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.closing = false;
    this.goneSince = null;
    this.backoff = FIRST_BACKOFF_MS;
    this.reconnects = 0;
    this.moved = false;  // told where the session is now: the next connection goes there at once
    this.retryTimer = null;
    this.video = [];  // [queued at, bytes, sent()] waiting for the browser's buffer to empty
    this.videoDropped = 0;
    this.keyInBrowser = false;  // a keyframe handed to the browser is still in its buffer
    this.keyWrittenAt = -1e9;
    this.onVideoDropped = null;
    this.pumpTimer = null;
    this.onOnline = () => this.retryNow();
    window.addEventListener("online", this.onOnline);
  }

  open() {
    const ws = new WebSocket(wsAddress(this.url, this.token));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const back = this.goneSince !== null;
      if (back) this.reconnects += 1;
      this.goneSince = null;
      this.backoff = FIRST_BACKOFF_MS;
      this.handlers.opened({back: back});
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        this.handlers.message(message);
      } else {
        this.handlers.frame(new Uint8Array(event.data));
      }
    };
    ws.onclose = (event) => this.closed(ws, event);
  }

  closed(ws, event) {
    if (this.ws === ws) this.ws = null;
    if (this.closing) return;
    if (FINAL_CLOSE_CODES.indexOf(event.code) >= 0 || this.handlers.isDone()) {
      this.handlers.ended(event.code === CLOSE.session_ended ? "session_ended" : "closed_" + event.code);
      return;
    }
    const now = performance.now();
    if (this.goneSince === null) {
      this.goneSince = now;
      this.backoff = FIRST_BACKOFF_MS;
      this.handlers.reconnecting();
    }
    if (now - this.goneSince > RECONNECT_GRACE_MS) {
      this.handlers.ended("lost");
      return;
    }
    if (this.moved || event.code === CLOSE.moved) {  // go where the session lives now, without waiting
      this.moved = false;
      this.open();
      return;
    }
    if (event.code === ABNORMAL_CLOSE && now === this.goneSince) {  // dropped, not closed: try at once, once
      this.open();
      return;
    }
    this.retryTimer = window.setTimeout(() => { this.retryTimer = null; if (!this.closing) this.open(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  /* The device is online again (a new network): a back-off under way is cut short. */
  retryNow() {
    if (this.retryTimer === null || this.closing) return;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
  }

  /* The session lives on another node (`moved`): the server closes this socket next. */
  moveTo(wsUrl) {
    this.url = wsUrl;
    this.moved = true;
  }

  get connected() { return this.ws !== null; }
  get isOpen() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }
  get bufferedAmount() { return (this.ws ? this.ws.bufferedAmount : 0) + this.queuedVideoBytes; }

  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  sendFrame(bytes) {
    if (!this.isOpen) return false;
    this.ws.send(bytes);
    return true;
  }

  /* A sealed video frame: sent once the browser holds nothing unsent, after voice and control;
   * sent() when it went. */
  sendVideo(bytes, sent, keyframe) {
    if (!this.isOpen) return false;
    this.video.push([performance.now(), bytes, sent, !!keyframe]);
    this.pumpVideo();
    return true;
  }

  /* The video stopped: what waits in our queue does not go (none of it was sent or counted); how many. */
  dropVideo() {
    const count = this.video.length;
    this.video = [];
    return count;
  }

  get queuedVideoBytes() {
    let total = 0;
    for (const entry of this.video) total += entry[1].length;
    return total;
  }

  pumpVideo() {
    if (this.pumpTimer !== null) { window.clearTimeout(this.pumpTimer); this.pumpTimer = null; }
    let dropped = 0;
    if (this.keyInBrowser && this.isOpen && this.ws.bufferedAmount === 0) {  // the keyframe has left the browser
      this.keyInBrowser = false;
      this.keyWrittenAt = performance.now();
    }
    while (this.video.length && this.isOpen && this.ws.bufferedAmount === 0) {
      const [queuedAt, bytes, sent, keyframe] = this.video.shift();
      // frames behind a keyframe (up to a second of bitrate) wait from when it left, or each keyframe
      // would make the next frames stale and ask for another
      if (!keyframe && performance.now() - Math.max(queuedAt, this.keyWrittenAt) > VIDEO_STALE_MS) {
        this.videoDropped += 1;
        dropped += 1;
        continue;
      }
      this.ws.send(bytes);
      if (keyframe) this.keyInBrowser = true;
      sent();
      if (keyframe && this.ws.bufferedAmount > 0) break;
    }
    if (!this.isOpen) this.video = [];
    if (this.video.length) this.pumpTimer = window.setTimeout(() => { this.pumpTimer = null; this.pumpVideo(); }, VIDEO_PUMP_MS);
    if (dropped && this.onVideoDropped) this.onVideoDropped(dropped);
  }

  /* Ours: no reconnection after it. */
  close() {
    this.closing = true;
    window.removeEventListener("online", this.onOnline);
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }
}
