"""The protocol's words, declared once: every program that speaks it takes them from here.

The server (schemas, routes, the session state machine, the sockets), the Python clients (which import
this module: it has no dependencies, so a client install stays light) and the pages (which get
``page_data()`` as a JSON block in every page, read by ``static/common.js`` as ``AS.vocabulary`` and by the
customer modules through ``static/customer/vocabulary.js``) all use these values. docs/protocol.md
documents what each one means.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

# The languages every text exists in (the catalogues in anysupport/i18n/); the first is the product's default.
LANGUAGES = ("ko", "en")

# A session's states, in the only order they move (a state never goes back).
OFFLINE, ONLINE, CONNECTED, EXPIRED = STATES = ("offline", "online", "connected", "expired")
LIVE_STATES = (OFFLINE, ONLINE, CONNECTED)  # not yet expired: the session holds its code and its sockets

# WebSocket close codes the server uses (4000-4999 are for applications; docs/protocol.md, close codes).
CLOSE = MappingProxyType({
    "going_away": 1001,  # the server is stopping
    "protocol_error": 1002,  # RFC 6455: an unmasked client frame, or a close code that may not be sent
    "invalid_payload": 1007,  # RFC 6455: a text message or close reason that is not UTF-8
    "kicked": 4001,  # the token was withdrawn (logged in elsewhere, account changed or deleted, logout)
    "replaced": 4002,  # a newer socket of the same console or customer took over
    "session_ended": 4003,
    "moved": 4004,  # the session lives on another node: the ``moved`` message before it says where
    "abuse": 4008,
    "not_reading": 4009,  # control_queue_bytes left unread, or the server's pings unanswered for ws_ping_timeout
})
CLOSE_GOING_AWAY = CLOSE["going_away"]
CLOSE_KICKED = CLOSE["kicked"]
CLOSE_REPLACED = CLOSE["replaced"]
CLOSE_SESSION_ENDED = CLOSE["session_ended"]
CLOSE_MOVED = CLOSE["moved"]
CLOSE_ABUSE = CLOSE["abuse"]
CLOSE_NOT_READING = CLOSE["not_reading"]
# After these a client does not reconnect: its token is gone, another socket holds its place, or its session is over.
FINAL_CLOSE_CODES = frozenset({CLOSE_KICKED, CLOSE_REPLACED, CLOSE_SESSION_ENDED})

# Handing a live session over to another agent (docs/protocol.md, "Handing a session over"): why an offer
# ended without the session moving (``handover_cancelled`` ``reason``), and the ``peer`` ``status`` the
# customer gets when its agent changed.
HANDOVER_CANCEL_REASONS = ("cancelled", "expired", "session_ended", "failed")
PEER_HANDED_OVER = "handed_over"

# The customer's answers to the satisfaction survey.
SATISFACTION = ("satisfied", "neutral", "unsatisfied")

# Where the agent asks the customer to move the camera (``guide``), and the glyph every program draws for it.
GUIDE_GLYPHS = MappingProxyType({
    "up": "↑", "down": "↓", "left": "←", "right": "→", "closer": "⊕", "farther": "⊖",
    "rotate_left": "↺", "rotate_right": "↻", "hold": "✋", "ok": "✓",
})
DIRECTIONS = tuple(GUIDE_GLYPHS)

# The id of a stored object (a MongoDB ObjectId as 24 lowercase hex digits): sessions, records, trouble types.
# How often media keys may be agreed anew with one peer (issue 18 #7). After n new keys within ``memory_s``
# seconds, the next needs ``first_gap_s * 2 ** (n - 1)`` seconds after the last (at most ``max_gap_s``):
# a real call re-keys a handful of times (a reload, a node that died, a handover), while a server looking
# for a key pair whose 6-digit code matches gets about ten tries in half an hour, not thousands a second.
# The side that answers (the customer) allows half the gap, so the two clocks never disagree on a real one.
REKEY = MappingProxyType({"first_gap_s": 2.0, "max_gap_s": 900.0, "memory_s": 3600.0, "answer_slack": 0.5})
# A version-2 ``sealed`` message whose sender's key of that epoch is not held yet (it was sealed just after a
# join or a new epoch, and its ``sender_key`` is still on the way) waits, per session, for that key: at most
# ``messages`` messages and ``bytes`` bytes, each at most ``seconds``; then it is refused as ``unknown_key``.
SEALED_WAIT = MappingProxyType({"messages": 64, "bytes": 262144, "seconds": 5.0})

OBJECT_ID = "[0-9a-f]{24}"
OBJECT_ID_PATTERN = f"^{OBJECT_ID}$"  # for JSON Schemas
OBJECT_ID_ROUTE = f"({OBJECT_ID})"  # for a URL route's captured argument
LOGIN_PATTERN = "^[A-Za-z0-9._-]{1,64}$"  # an agent's login, wherever a request names one


def page_data() -> dict[str, Any]:
    """What the pages get (``AS.vocabulary``): the same values, under the names the page's modules use."""
    return {
        "LANGUAGES": list(LANGUAGES),
        "STATE": {state: state for state in STATES},
        "STATES": list(STATES),
        "CLOSE": dict(CLOSE),
        "FINAL_CLOSE_CODES": sorted(FINAL_CLOSE_CODES),
        "SATISFACTION": list(SATISFACTION),
        "DIRECTIONS": list(DIRECTIONS),
        "GUIDE_GLYPHS": dict(GUIDE_GLYPHS),
        "OBJECT_ID_PATTERN": OBJECT_ID_PATTERN,
        "REKEY": dict(REKEY),
        "SEALED_WAIT": dict(SEALED_WAIT),
        "PEER_HANDED_OVER": PEER_HANDED_OVER,
    }

# Participants of a session (issue 21; docs/protocol.md "Participants"): an index each for the session's
# life, never reused. 0 the customer, 1 the session's first agent, 2… invited agents: ``guest`` (invited by
# the session's agent or an administrator) or ``supervisor`` (an administrator who joined from the admin
# pages' 참관, always view-only). A hand-over in version 2 gives the new agent the next index (the session's
# ``agent_index``): AGENT_INDEX is only the first agent's, and clients find the session's agent by its role
# ``agent`` in ``participants``.
CUSTOMER_INDEX, AGENT_INDEX, FIRST_GUEST_INDEX = 0, 1, 2
MAX_PARTICIPANT_INDEX = 254  # 255 is reserved by the version-2 frame header
PARTICIPANT_ROLES = ("customer", "agent", "guest", "supervisor")
RIGHTS = ("full", "view")  # full: video, voice, drawing, chat; view: receives only
INVITATION_ANSWERS = ("accept", "decline")
