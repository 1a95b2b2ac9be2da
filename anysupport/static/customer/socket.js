/* The call's one WebSocket and the reconnection rule, as CustomerSession's connection loop
 * (clients/anysupport_client/session/customer.py): any close but a final one (vocabulary.js)
 * reconnects with the same token, after 0.25 s doubling to 2 s, for RECONNECT_GRACE_MS; `moved`
 * (then close 4004) goes at once to where the session lives now; hello's `ws_url` is where the next
 * connection goes. Text messages arrive parsed; binary ones as bytes, in arrival order.
 *
 * handlers: message(m), frame(bytes), opened({back}), reconnecting(), ended(reason) with reason
 * "session_ended", "closed_<code>" or "lost", and isDone() (the call is over: do not come back). */

import {CLOSE, FINAL_CLOSE_CODES} from "./vocabulary.js";

export const RECONNECT_GRACE_MS = 30000;
export const FIRST_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 2000;

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
    window.setTimeout(() => { if (!this.closing) this.open(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  /* The session lives on another node (`moved`): the server closes this socket next. */
  moveTo(wsUrl) {
    this.url = wsUrl;
    this.moved = true;
  }

  get connected() { return this.ws !== null; }
  get isOpen() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }
  get bufferedAmount() { return this.ws ? this.ws.bufferedAmount : 0; }

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

  /* Ours: no reconnection after it. */
  close() {
    this.closing = true;
    if (this.ws) this.ws.close();
  }
}
