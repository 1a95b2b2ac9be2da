"""The golden control messages (tests/data/control_messages.json) and docs/protocol.md against the schemas.

No server: every example is checked with the same validators the server uses
(``anysupport.protocol.messages``). JSON code blocks in docs/protocol.md say what they are in the
fence's info string: ```json client agent`` / ```json client customer`` (a message a client
sends), ```json server`` (a message the server sends), ```json invalid <role> <error>`` (a message
the server refuses with that error). Plain ```json`` blocks must not contain a message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from anysupport.protocol.messages import (
    CLIENT_SCHEMAS,
    RELAYED_TYPES,
    SENDERS,
    SERVER_SCHEMAS,
    ProtocolError,
    parse_json,
    validate_client_message,
    validate_server_message,
)
from anysupport.protocol.vocabulary import OBJECT_ID_PATTERN, STATES

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "data" / "control_messages.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
ROLES = ("agent", "customer")
SESSION_ID = re.compile(OBJECT_ID_PATTERN)
ERROR_CODES = {"invalid_json", "invalid_message", "unknown_type", "not_allowed"}


def _label(entry: dict) -> str:
    message = entry.get("message", entry.get("raw"))
    return f"{entry.get('role', 'server')}:{json.dumps(message, ensure_ascii=False)[:70]}"


def _refusal(entry: dict) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        message = parse_json(entry["raw"]) if "raw" in entry else entry["message"]
        validate_client_message(message, entry["role"])
    return caught.value


# -- the golden file ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", GOLDEN["client"], ids=_label)
def test_valid_client_example(entry):
    assert entry["role"] in ROLES
    assert validate_client_message(entry["message"], entry["role"]) is entry["message"]


@pytest.mark.parametrize("entry", GOLDEN["server"], ids=_label)
def test_valid_server_example(entry):
    assert validate_server_message(entry["message"]) is entry["message"]


@pytest.mark.parametrize("entry", GOLDEN["invalid"], ids=_label)
def test_invalid_example_is_refused_with_its_code(entry):
    assert entry["role"] in ROLES and entry["error"] in ERROR_CODES
    assert ("raw" in entry) != ("message" in entry)
    if entry["error"] == "invalid_json":
        assert isinstance(entry.get("raw"), str), "invalid JSON can only be stored as raw text"
    assert _refusal(entry).code == entry["error"]


def test_every_client_type_has_an_example_from_every_allowed_sender():
    seen = {(e["message"]["type"], e["role"]) for e in GOLDEN["client"]}
    missing = {(kind, role) for kind, roles in SENDERS.items() for role in roles} - seen
    assert not missing
    assert set(CLIENT_SCHEMAS) == set(SENDERS)


def test_every_server_type_has_an_example():
    seen = {e["message"]["type"] for e in GOLDEN["server"]}
    assert set(SERVER_SCHEMAS) <= seen


def test_variants_are_all_covered():
    client = [e["message"] for e in GOLDEN["client"]]
    directions = CLIENT_SCHEMAS["guide"]["properties"]["direction"]["enum"]
    assert {m["direction"] for m in client if m["type"] == "guide"} == set(directions)
    ops = CLIENT_SCHEMAS["annotation"]["properties"]["op"]["enum"]
    assert {m["op"] for m in client if m["type"] == "annotation"} == set(ops)
    shapes = CLIENT_SCHEMAS["annotation"]["properties"]["item"]["properties"]["shape"]["enum"]
    assert {m["item"]["shape"] for m in client if m["type"] == "annotation" and m["op"] == "add"} == set(shapes)
    commands = CLIENT_SCHEMAS["camera"]["properties"]["command"]["enum"]
    assert {m["command"] for m in client if m["type"] == "camera"} == set(commands)
    server = [e["message"] for e in GOLDEN["server"]]
    assert {m["state"] for m in server if m["type"] == "state"} == set(STATES)
    assert {m["status"] for m in server if m["type"] == "peer"} == {"joined", "reconnecting", "back",
                                                                              "handed_over"}
    assert {m["from"] for m in server if m["type"] == "keyframe_request"} >= {"server"}


def test_every_relayed_type_has_a_relayed_example():
    relayed = {e["message"]["type"] for e in GOLDEN["server"] if e["message"].get("from") in ROLES}
    assert relayed == set(RELAYED_TYPES)


def test_each_refusal_kind_is_covered():
    codes = {e["error"] for e in GOLDEN["invalid"]}
    assert codes == ERROR_CODES
    assert any("raw" in e and e["error"] == "invalid_message" for e in GOLDEN["invalid"])


def test_session_ids_are_24_lowercase_hex():
    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("session_id",) and isinstance(item, str):
                    yield item
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    valid = [e["message"] for e in GOLDEN["client"] + GOLDEN["server"]]
    ids = list(walk(valid))
    assert ids and all(SESSION_ID.match(i) for i in ids)


def test_relayed_form_is_the_client_message_plus_from_session_id_and_time():
    for entry in GOLDEN["client"]:
        message = entry["message"]
        if message["type"] not in RELAYED_TYPES:
            continue
        relayed = {**message, "session_id": GOLDEN["session_id"], "from": entry["role"], "time": "2026-05-18T01:23:45.678+00:00"}
        validate_server_message(relayed)


# -- docs/protocol.md ---------------------------------------------------------------------------------------
FENCE = re.compile(r"^```(json[^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{2,5} (.+)$", re.MULTILINE)


def _doc_blocks() -> list[tuple[list[str], str, int]]:
    blocks = []
    for match in FENCE.finditer(DOC):
        info = match.group(1).split()
        line = DOC.count("\n", 0, match.start()) + 1
        blocks.append((info[1:], match.group(2), line))
    return blocks


DOC_BLOCKS = _doc_blocks()


def test_doc_has_message_blocks_of_every_kind():
    kinds = {tuple(info[:1]) for info, _text, _line in DOC_BLOCKS}
    assert {("client",), ("server",), ("invalid",)} <= kinds


@pytest.mark.parametrize("kind", sorted(set(CLIENT_SCHEMAS) | set(SERVER_SCHEMAS)))
def test_every_message_type_has_a_section_heading(kind):
    headings = HEADING.findall(DOC)
    assert any(re.search(rf"`{re.escape(kind)}`", h) for h in headings), f"no heading names `{kind}`"


@pytest.mark.parametrize("kind", sorted(set(CLIENT_SCHEMAS) | set(SERVER_SCHEMAS)))
def test_every_message_type_has_an_example_in_the_doc(kind):
    types = set()
    for info, text, _line in DOC_BLOCKS:
        if info and info[0] in ("client", "server"):
            types.add(json.loads(text)["type"])
    assert kind in types


@pytest.mark.parametrize("info,text,line", DOC_BLOCKS, ids=[f"line{b[2]}" for b in DOC_BLOCKS])
def test_doc_json_block_parses_and_validates(info, text, line):
    if info and info[0] == "invalid":
        assert len(info) == 3 and info[1] in ROLES, f"line {line}: ```json invalid <role> <error>"
        assert _refusal({"role": info[1], "message": json.loads(text)}).code == info[2]
        return
    data = json.loads(text)
    if not info:
        assert '"type"' not in text, f"line {line}: a block with a message needs client/server in its fence"
        return
    if info[0] == "client":
        assert len(info) == 2 and info[1] in ROLES, f"line {line}: ```json client agent|customer"
        validate_client_message(data, info[1])
    elif info[0] == "server":
        assert len(info) == 1
        validate_server_message(data)
    else:
        pytest.fail(f"line {line}: unknown block kind {info[0]!r}")


def test_doc_lists_every_error_code_the_channel_sends():
    codes = [
        "invalid_json", "invalid_message", "unknown_type", "not_allowed", "message_too_large", "rate_limited",
        "session_required", "session_not_found", "session_not_connected", "peer_not_connected",
        "survey_answered", "survey_not_open", "record_not_found", "frame_dropped",
    ]  # fmt: skip
    for code in codes:
        assert re.search(rf"^\| `{code}` \|", DOC, re.MULTILINE), f"error code {code} is not in the table"


def test_doc_lists_close_codes():
    for code, reason in ((1001, "server_shutdown"), (4001, "logged_in_elsewhere"), (4002, "replaced"),
                         (4003, "session_ended"), (4008, "flooding")):
        assert re.search(rf"^\| {code} \|.*{reason}", DOC, re.MULTILINE), code
