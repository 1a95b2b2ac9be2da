/* The protocol's words the page acts on, from the server's one declaration
 * (anysupport/protocol/vocabulary.py, docs/protocol.md): every page carries them as a JSON block, which
 * common.js reads (deep-frozen) as AS.vocabulary. The call's modules import them from here. */

const V = AS.vocabulary;

export const LANGUAGES = V.LANGUAGES;
export const STATE = V.STATE;        // {offline, online, connected, expired}: a state only moves forward
export const STATES = V.STATES;
export const CLOSE = V.CLOSE;        // {kicked: 4001, replaced: 4002, session_ended: 4003, moved: 4004, ...}
export const FINAL_CLOSE_CODES = V.FINAL_CLOSE_CODES;  // after these the page does not reconnect
export const SATISFACTION = V.SATISFACTION;
export const DIRECTIONS = V.DIRECTIONS;
export const GUIDE_GLYPHS = V.GUIDE_GLYPHS;  // the glyph drawn for each guide direction
export const REKEY = V.REKEY;  // how often media keys may be agreed anew (keys.js RekeyLimit)
export const SEALED_WAIT = V.SEALED_WAIT;  // a sealed message early for its sender's key waits (group.js SealedWait)
export const PEER_HANDED_OVER = V.PEER_HANDED_OVER;  // peer status: the customer's agent changed (a hand-over)
