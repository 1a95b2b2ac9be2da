"""JSON Schemas of every control message, and who may send which.

Client messages are validated by the server before anything else happens; a message that fails
gets an ``error`` naming the problem and the connection stays up. Server messages are validated in
the tests (and by clients that want to), so both directions are written down in one place.

The schemas here are the source of truth (docs/protocol.md shows them). To check a message they
are compiled to Python by ``fastjsonschema`` (each type on first use): the compiled check is about
20 times faster than interpreting the schema. Only a message it refuses goes to ``jsonschema``,
which finds the error reported, so the errors are word for word what they always were. The compiled
form reads the 2020-12 ``prefixItems`` as draft 7's tuple ``items``, and ``format`` with the same
checker as ``jsonschema``; tests/protocol checks that the two agree message by message.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from typing import Any

import fastjsonschema
import jsonschema

from anysupport.protocol import vocabulary

SESSION_ID = {"type": "string", "pattern": vocabulary.OBJECT_ID_PATTERN, "maxLength": 24}
UNIT = {"type": "number", "minimum": 0, "maximum": 1}
POINT = {"type": "array", "prefixItems": [UNIT, UNIT], "minItems": 2, "maxItems": 2}
COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$", "maxLength": 9}
ITEM_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$", "maxLength": 64}
TIME = {"type": "string", "format": "date-time", "maxLength": 40}
COUNT = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}  # exact in every JSON reader
KEY = {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$", "maxLength": 43}  # 32 bytes, base64url
CODE = {"type": "string", "maxLength": 64}  # a snake_case code (error, reason)
TEXT = {"type": "string", "maxLength": 2000}  # a text for people
PING_ID = {"anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer", "minimum": -(2**53 - 1), "maximum": 2**53 - 1}]}
BOOL = {"type": "boolean"}
INDEX = {"type": "integer", "minimum": 0, "maximum": vocabulary.MAX_PARTICIPANT_INDEX}  # a participant (issue 21)
EPOCH = {"type": "integer", "minimum": 1, "maximum": 2**32 - 1}
BOX = {"type": "string", "pattern": "^[A-Za-z0-9_-]{59}$", "maxLength": 59}  # 44 bytes, base64url (V2.3)
SEALED_FRAME = {"type": "string", "pattern": "^[A-Za-z0-9_-]{48,}$", "maxLength": 65536}  # a kind-2 v2 frame
STREAMS = {"enum": ["customer_video", "customer_audio", "agent_video", "agent_audio"]}
DIRECTIONS = list(vocabulary.DIRECTIONS)
QUALITIES = ["high", "medium", "low"]
SATISFACTION = list(vocabulary.SATISFACTION)
STATES = list(vocabulary.STATES)
NAME = {"type": "string", "maxLength": 100}  # a person's name as the server keeps it
AGENT_REF = {  # an agent as another agent or a customer may see it
    "type": "object",
    "properties": {"login": {"type": "string", "maxLength": 64}, "name": NAME},
    "required": ["login", "name"],
    "additionalProperties": False,
}


def _msg(type_: str, props: dict[str, Any], required: tuple[str, ...] = (), *, session: bool = True) -> dict:
    properties = {"type": {"const": type_}, **props}
    if session:
        properties["session_id"] = SESSION_ID
    return {
        "type": "object",
        "properties": properties,
        "required": ["type", *required],
        "additionalProperties": False,
    }


ANNOTATION_ITEM = {
    "type": "object",
    "properties": {
        "id": ITEM_ID,
        "shape": {"enum": ["stroke", "line", "arrow", "rect", "ellipse", "text"]},
        "color": COLOR,
        "width": {"type": "number", "minimum": 0.5, "maximum": 64},
        "points": {"type": "array", "items": POINT, "minItems": 1, "maxItems": 2000},
        "text": {"type": "string", "minLength": 1, "maxLength": 500},
        "size": {"type": "number", "minimum": 4, "maximum": 200},
    },
    "required": ["id", "shape", "color", "width", "points"],
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"shape": {"const": "text"}}}, "then": {"required": ["text"]}},
        {
            "if": {"properties": {"shape": {"enum": ["line", "arrow", "rect", "ellipse"]}}},
            "then": {"properties": {"points": {"minItems": 2, "maxItems": 2}}},
        },
    ],
}

# A drawing's homography (docs/protocol.md, ``anchor``): 9 numbers row-major, normalised coordinates,
# the last one 1; null while the drawing's surface is lost. Bounded so no client meets an absurd number.
HOMOGRAPHY = {"type": ["array", "null"], "items": {"type": "number", "minimum": -1e6, "maximum": 1e6},
              "minItems": 9, "maxItems": 9}
MAX_ANCHORS = 64  # drawings anchored in one message

# Messages a client sends (the server adds ``from``, ``session_id`` and ``time`` when relaying).
CLIENT_SCHEMAS: dict[str, dict] = {
    "chat": _msg("chat", {"text": {"type": "string", "minLength": 1, "maxLength": 2000}}, ("text",)),
    "guide": _msg("guide", {"direction": {"enum": DIRECTIONS}}, ("direction",)),
    "annotation": {
        **_msg(
            "annotation",
            {"op": {"enum": ["add", "remove", "undo", "clear"]}, "item": ANNOTATION_ITEM, "id": ITEM_ID},
            ("op",),
        ),
        "allOf": [
            {"if": {"properties": {"op": {"const": "add"}}}, "then": {"required": ["item"]}},
            {"if": {"properties": {"op": {"const": "remove"}}}, "then": {"required": ["id"]}},
        ],
    },
    "anchor": _msg(
        "anchor",
        {
            "timestamp_us": COUNT,
            "anchors": {"type": "object", "propertyNames": ITEM_ID, "additionalProperties": HOMOGRAPHY,
                        "maxProperties": MAX_ANCHORS},
        },
        ("timestamp_us", "anchors"),
    ),
    "camera": {
        **_msg(
            "camera",
            {
                "command": {"enum": ["flash", "focus", "switch", "quality", "video"]},
                "on": BOOL,
                "x": UNIT,
                "y": UNIT,
                "facing": {"enum": ["front", "back"]},
                "level": {"enum": QUALITIES},
            },
            ("command",),
        ),
        "allOf": [
            {"if": {"properties": {"command": {"const": "flash"}}}, "then": {"required": ["on"]}},
            {"if": {"properties": {"command": {"const": "video"}}}, "then": {"required": ["on"]}},
            {"if": {"properties": {"command": {"const": "focus"}}}, "then": {"required": ["x", "y"]}},
            {"if": {"properties": {"command": {"const": "switch"}}}, "then": {"required": ["facing"]}},
            {"if": {"properties": {"command": {"const": "quality"}}}, "then": {"required": ["level"]}},
        ],
    },
    "camera_state": _msg(
        "camera_state",
        {
            "flash": BOOL,
            "facing": {"enum": ["front", "back"]},
            "quality": {"enum": QUALITIES},
            "video": BOOL,
            "speakerphone": BOOL,
            "video_paused_by": {"enum": ["customer", "agent"]},
            # after a focus command: the point asked for and whether the camera took it (issue 17 #13)
            "focus": {"type": "object", "properties": {"x": {"type": "number", "minimum": 0, "maximum": 1},
                                                      "y": {"type": "number", "minimum": 0, "maximum": 1},
                                                      "applied": BOOL},
                      "required": ["x", "y", "applied"], "additionalProperties": False},
            "width": {"type": "integer", "minimum": 1, "maximum": 8192},
            "height": {"type": "integer", "minimum": 1, "maximum": 8192},
        },
    ),
    "speakerphone": _msg("speakerphone", {"on": BOOL}, ("on",)),
    "agent_video": _msg("agent_video", {"on": BOOL, "voice": BOOL}, ("on",)),
    "recording": _msg("recording", {"on": BOOL}, ("on",)),
    "capabilities": _msg(
        "capabilities",
        {
            "flash": BOOL,
            "focus": BOOL,
            "cameras": {"type": "array", "items": {"enum": ["front", "back"]}, "uniqueItems": True, "maxItems": 2},
            "audio": BOOL,
            "speakerphone": BOOL,
            "qualities": {"type": "array", "items": {"enum": QUALITIES}, "uniqueItems": True, "maxItems": 3},
            "device": {"type": "string", "maxLength": 200},
            # the media-frame versions the customer's client speaks (2: sessions of more than two)
            "versions": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 255},
                         "uniqueItems": True, "maxItems": 8},
        },
        ("flash", "focus", "cameras", "audio"),
    ),
    # ``to``: version 2, the participant whose stream it is (routed to it alone, issue 21)
    "keyframe_request": _msg("keyframe_request", {"stream": STREAMS, "to": INDEX}),
    # X25519 public key, or first only a commitment to it (docs/protocol.md, key schedule)
    "key_exchange": {
        **_msg(
            "key_exchange",
            {
                "public_key": KEY,
                "commitment": KEY,
                "version": {"type": "integer", "minimum": 1, "maximum": 255},
                "to": INDEX,  # version 2: the participant this pair's message is for (V2.2)
            },
        ),
        "anyOf": [{"required": ["public_key"]}, {"required": ["commitment"]}],
    },
    "media_report": _msg(
        "media_report",
        {
            "stream": STREAMS,
            "received": COUNT,
            "lost": COUNT,
            "late_ms": {"type": "number", "minimum": 0, "maximum": 600000},
            "bytes": COUNT,
            "last_us": COUNT,  # a capture time in µs (the sender's clock): exact below 2**53
        },
        ("stream",),
    ),
    "end": _msg("end", {"reason": {"type": "string", "maxLength": 100}}),
    "survey": _msg(
        "survey",
        {"answer": {"enum": SATISFACTION}, "feedback": {"type": "string", "maxLength": 2000}},
        ("answer",),
    ),
    "ping": _msg("ping", {"id": PING_ID}, session=False),
    # a side refused the other's key_exchange (docs/protocol.md, key schedule): relayed, so both know
    "key_exchange_failed": _msg(
        "key_exchange_failed",
        {"reason": {"enum": ["bad_commitment", "bad_public_key", "unsupported_version", "protocol", "no_keys",
                             "rekey_limit"]},
         "retry_after": {"type": "integer", "minimum": 0, "maximum": 86400},
         "to": INDEX},
        ("reason",),
    ),
    # version 2 (issue 21): my sender key of ``epoch``, wrapped for participant ``to`` (docs/protocol.md V2.3)
    "sender_key": _msg("sender_key", {"to": INDEX, "epoch": EPOCH, "box": BOX}, ("to", "epoch", "box")),
    # version 2: a chat, drawing, guidance… sealed as a kind-2 frame, for every other participant (V2.5)
    "sealed": _msg("sealed", {"frame": SEALED_FRAME}, ("frame",)),
}

# Who may send each client message type.
SENDERS: dict[str, frozenset[str]] = {
    "chat": frozenset({"agent", "customer"}),
    "guide": frozenset({"agent"}),
    "annotation": frozenset({"agent"}),
    "anchor": frozenset({"agent"}),
    "camera": frozenset({"agent"}),
    "camera_state": frozenset({"customer"}),
    "speakerphone": frozenset({"agent"}),
    "agent_video": frozenset({"agent"}),
    "recording": frozenset({"agent"}),
    "capabilities": frozenset({"customer"}),
    "keyframe_request": frozenset({"agent", "customer"}),
    "key_exchange": frozenset({"agent", "customer"}),
    "media_report": frozenset({"agent", "customer"}),
    "end": frozenset({"agent", "customer"}),
    "survey": frozenset({"customer"}),
    "ping": frozenset({"agent", "customer"}),
    "key_exchange_failed": frozenset({"agent", "customer"}),
    "sender_key": frozenset({"agent", "customer"}),
    "sealed": frozenset({"agent", "customer"}),
}

# Version-2 messages routed by participant index (``to``, or every other participant) rather than to
# "the other side"; the server adds ``from_index`` (docs/protocol.md, "Participants").
GROUP_TYPES = frozenset({"sender_key", "sealed"})

# Types the server passes to the other side of a connected session (adding from/session_id/time).
RELAYED_TYPES = frozenset(
    {"chat", "guide", "annotation", "anchor", "camera", "camera_state", "speakerphone", "agent_video", "recording",
     "capabilities", "keyframe_request", "key_exchange", "media_report", "key_exchange_failed", *GROUP_TYPES}
)

_RELAY_EXTRA = {"from": {"enum": ["agent", "customer", "server"]}, "time": TIME, "from_index": INDEX}
PARTICIPANT = {
    "type": "object",
    "properties": {"index": INDEX, "role": {"enum": list(vocabulary.PARTICIPANT_ROLES)},
                   "name": {"type": "string", "maxLength": 200}, "rights": {"enum": list(vocabulary.RIGHTS)},
                   "present": BOOL},
    "required": ["index", "role", "name", "rights"],
    "additionalProperties": False,
}

SERVER_SCHEMAS: dict[str, dict] = {
    "hello": _msg(
        "hello",
        {
            "role": {"enum": ["agent", "customer"]},
            "agent": {"type": "object"},
            "session": {"type": "object"},
            "sessions": {"type": "array"},
            "limits": {"type": "object"},
            "protocol": {"type": "integer", "minimum": 1, "maximum": 255},
            "ws_url": {"type": "string", "maxLength": 2048},
        },
        ("role", "protocol"),
    ),
    "moved": _msg("moved", {"ws_url": {"type": "string", "maxLength": 2048}, "message": TEXT}, ("session_id", "ws_url")),
    "state": _msg(
        "state",
        {"state": {"enum": STATES}, "session": {"type": "object"}, "reason": CODE, "time": TIME},
        ("session_id", "state"),
    ),
    "peer": {
        **_msg(
            "peer",
            {"peer": {"enum": ["agent", "customer"]},
             "status": {"enum": ["reconnecting", "back", "joined", vocabulary.PEER_HANDED_OVER]},
             "name": NAME, "time": TIME},
            ("session_id", "peer", "status"),
        ),
        # the customer's agent changed (a hand-over): the new agent's name comes with it
        "if": {"properties": {"status": {"const": vocabulary.PEER_HANDED_OVER}}}, "then": {"required": ["name"]},
    },
    # handing a session over to another agent (docs/protocol.md, "Handing a session over"): to consoles only
    "handover_offer": _msg(
        "handover_offer",
        {"by": AGENT_REF, "to": AGENT_REF, "offered_at": TIME, "expires_at": TIME, "session": {"type": "object"},
         "time": TIME},
        ("session_id", "by", "to", "expires_at", "session"),
    ),
    "handover_declined": _msg("handover_declined", {"by": AGENT_REF, "time": TIME}, ("session_id", "by")),
    "handover_cancelled": _msg(
        "handover_cancelled", {"reason": {"enum": list(vocabulary.HANDOVER_CANCEL_REASONS)}, "time": TIME},
        ("session_id", "reason"),
    ),
    "handed_over": _msg(
        "handed_over",
        {"from_agent": AGENT_REF, "to_agent": AGENT_REF, "session": {"type": "object"}, "time": TIME},
        ("session_id", "from_agent", "to_agent"),
    ),
    "survey": _msg(
        "survey",
        {
            "question": TEXT,
            "choices": {"type": "array", "items": {"type": "object"}},
            "feedback": BOOL,
            "feedback_prompt": TEXT,
            "time": TIME,
        },
        ("session_id", "question", "choices"),
    ),
    "survey_saved": _msg("survey_saved", {"time": TIME}, ("session_id",)),
    "error": _msg(
        "error",
        {
            "error": CODE,
            "message": TEXT,
            "field": {"type": ["string", "null"], "maxLength": 300},
            "ref": {"type": ["string", "null"], "maxLength": 40},
            "time": TIME,
        },
        ("error", "message"),
    ),
    "kicked": _msg("kicked", {"reason": CODE, "message": TEXT}, ("reason",), session=False),
    "pong": _msg("pong", {"id": PING_ID, "time": TIME}, session=False),
    # issue 21: who takes part, to every participant on each change (``you``: the receiver's own index)
    "participants": _msg(
        "participants",
        {"participants": {"type": "array", "items": PARTICIPANT, "maxItems": 255}, "you": INDEX,
         "version": {"type": "integer", "minimum": 1, "maximum": 255}, "time": TIME},
        ("session_id", "participants", "you", "version"),
    ),
    "invitation": _msg(
        "invitation",
        {"status": {"enum": ["open", "declined"]}, "rights": {"enum": list(vocabulary.RIGHTS)},
         "by": {"type": "string", "maxLength": 200}, "number": COUNT, "customer": {"type": "string", "maxLength": 200},
         "supervise": BOOL, "time": TIME},
        ("session_id", "status", "rights", "by"),
    ),
    "removed": _msg("removed", {"index": INDEX, "time": TIME}, ("session_id", "index")),
}
for _type in RELAYED_TYPES:
    _schema = json.loads(json.dumps(CLIENT_SCHEMAS[_type]))
    _schema["properties"].update(_RELAY_EXTRA)
    _schema["required"] = [*_schema["required"], "from", "session_id"]
    SERVER_SCHEMAS[_type] = _schema
SERVER_SCHEMAS["keyframe_request"]["properties"]["reason"] = CODE

SCHEMAS = {"client": CLIENT_SCHEMAS, "server": SERVER_SCHEMAS}
CLIENT_TYPES = frozenset(CLIENT_SCHEMAS)
SERVER_TYPES = frozenset(SERVER_SCHEMAS)

_checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
_CLIENT_VALIDATORS = {t: jsonschema.Draft202012Validator(s, format_checker=_checker) for t, s in CLIENT_SCHEMAS.items()}
_SERVER_VALIDATORS = {t: jsonschema.Draft202012Validator(s, format_checker=_checker) for t, s in SERVER_SCHEMAS.items()}


def as_draft7(schema: Any) -> Any:
    """A copy of a schema in the draft-7 dialect ``fastjsonschema`` compiles: 2020-12 ``prefixItems``
    becomes the tuple form of ``items`` (and a 2020-12 ``items`` beside it, ``additionalItems``)."""
    if isinstance(schema, list):
        return [as_draft7(x) for x in schema]
    if not isinstance(schema, dict):
        return copy.deepcopy(schema)
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: as_draft7(sub) for name, sub in value.items()}
        elif key in ("prefixItems", "items") and "prefixItems" in schema:
            out["items" if key == "prefixItems" else "additionalItems"] = as_draft7(value)
        else:
            out[key] = as_draft7(value)
    return out


# every format the schemas name, checked exactly as jsonschema checks it (one rule, not two)
def _format_check(name: str) -> Callable[[Any], bool]:
    return lambda value: _checker.conforms(value, name)


_FORMATS = {name: _format_check(name) for name in ("date-time",)}


def compile_schema(schema: dict) -> Callable[[Any], Any]:
    """The compiled check of one schema: returns the message, raises ``JsonSchemaException``."""
    return fastjsonschema.compile({"$schema": "http://json-schema.org/draft-07/schema#", **as_draft7(schema)},
                                  formats=_FORMATS, use_default=False)


class _Compiled(dict):
    """Compiled checks by message type, compiled on first use (start-up stays quick)."""

    def __init__(self, schemas: dict[str, dict]):
        super().__init__()
        self.schemas = schemas

    def __missing__(self, kind: str) -> Callable[[Any], Any]:
        check = self[kind] = compile_schema(self.schemas[kind])
        return check


_CLIENT_COMPILED = _Compiled(CLIENT_SCHEMAS)
_SERVER_COMPILED = _Compiled(SERVER_SCHEMAS)


def _conforms(compiled: _Compiled, kind: str, message: dict[str, Any]) -> bool:
    try:
        compiled[kind](message)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


class ProtocolError(ValueError):
    """A control message the receiver refuses; ``code`` is the ``error`` sent back."""

    def __init__(self, code: str, detail: str, field: str | None = None):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.field = field


def _first_error(validator, message) -> ProtocolError | None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(message))
    if error is None:
        return None
    field = ".".join(str(p) for p in error.absolute_path) or None
    if error.validator == "required" and "'" in error.message:
        missing = error.message.split("'")[1]
        field = f"{field}.{missing}" if field else missing
        return ProtocolError("invalid_message", f"'{field}' is required", field)
    return ProtocolError("invalid_message", error.message if len(error.message) < 300 else error.message[:300] + "…", field)


# JSON that parses but that nothing downstream can hold: refused where it comes in (REST bodies and
# control messages alike), so it never reaches the database, the log or another client.
MAX_JSON_DEPTH = 32  # nesting of objects/arrays; our deepest real message (an annotation) has 5
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what the database stores as an integer
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonProblem(ValueError):
    """Parsed JSON that is refused: ``code`` ``json_too_deep`` or ``invalid_value`` (``field`` names where)."""

    def __init__(self, code: str, field: str | None = None, detail: str = ""):
        super().__init__(f"{code}: {field}: {detail}")
        self.code = code
        self.field = field
        self.detail = detail


def printable_path(path: tuple) -> str | None:
    text = ".".join(str(p) for p in path)
    return text.encode("utf-8", "backslashreplace").decode("utf-8") or None


def check_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse nesting deeper than ``max_depth``, lone surrogates (in keys or strings), integers outside
    64 bits and non-finite numbers (``NaN``, ``1e999``); raises ``JsonProblem``. Iterative: no recursion."""
    stack: list[tuple[Any, int, tuple]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonProblem("json_too_deep", None, f"nested deeper than {max_depth} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise JsonProblem("invalid_value", printable_path((*path, key)),
                                      "the name contains a lone surrogate (not valid Unicode)")
                stack.append((child, depth + 1, (*path, key)))
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                raise JsonProblem("invalid_value", printable_path(path), "contains a lone surrogate (not valid Unicode)")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise JsonProblem("invalid_value", printable_path(path), "is out of range (64-bit integers only)")
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonProblem("invalid_value", printable_path(path), "is not a finite number")


def loads_checked(text: str | bytes) -> Any:
    """``json.loads`` plus ``check_json_value``; raises ``ValueError`` (not JSON) or ``JsonProblem``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonProblem("json_too_deep", None, f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    check_json_value(value)
    return value


def parse_json(text: str | bytes) -> dict[str, Any]:
    try:
        message = loads_checked(text)
    except JsonProblem as exc:
        code = "json_too_deep" if exc.code == "json_too_deep" else "invalid_message"
        detail = exc.detail if exc.field is None else f"'{exc.field}' {exc.detail}"
        raise ProtocolError(code, detail, exc.field) from None
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("invalid_json", "the message is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", "a control message must be a JSON object")
    return message


def validate_client_message(message: dict[str, Any], sender: str) -> dict[str, Any]:
    """Check a message a client sent; raises ``ProtocolError``; returns it unchanged when valid."""
    kind = message.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_message", "'type' is required and must be a string", "type")
    validator = _CLIENT_VALIDATORS.get(kind)
    if validator is None:
        raise ProtocolError("unknown_type", repr(kind[:40]), "type")
    if sender not in SENDERS[kind]:
        raise ProtocolError("not_allowed", f"{sender}s may not send {kind!r}", "type")
    for name in CLIENT_SCHEMAS[kind].get("required", ()):
        # name a missing top-level field before any rule that depends on it (e.g. camera's command)
        if name not in message:
            raise ProtocolError("invalid_message", f"'{name}' is required", name)
    if _conforms(_CLIENT_COMPILED, kind, message):
        return message
    problem = _first_error(validator, message)  # the interpreted schema names the error
    if problem is not None:
        raise problem
    return message


def validate_server_message(message: dict[str, Any]) -> dict[str, Any]:
    validator = _SERVER_VALIDATORS.get(message.get("type"))
    if validator is None:
        raise ProtocolError("unknown_type", f"unknown server message type {message.get('type')!r}", "type")
    if _conforms(_SERVER_COMPILED, message["type"], message):
        return message
    problem = _first_error(validator, message)
    if problem is not None:
        raise problem
    return message
