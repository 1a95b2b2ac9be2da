/* The protocol's words the page acts on, as the server declares them (docs/protocol.md): session
 * states (anysupport/protocol/messages.py STATES) and the server's close codes
 * (anysupport/ws/hub.py CLOSE_*). Every other module takes them from here, so that the page gets
 * them from the server's one declaration by changing this file alone. */

export const STATE = Object.freeze({offline: "offline", online: "online", connected: "connected", expired: "expired"});

export const CLOSE = Object.freeze({
  kicked: 4001,         // the token was withdrawn
  replaced: 4002,       // the same session opened in another tab or client
  session_ended: 4003,
  moved: 4004,          // the session lives on another node: the `moved` message before it says where
});

/* After these the page does not reconnect. */
export const FINAL_CLOSE_CODES = Object.freeze([CLOSE.kicked, CLOSE.replaced, CLOSE.session_ended]);
