"""Bad control input: each gets an ``error`` and the connection survives; abuse closes only that one."""

import json

import pytest

from anysupport.protocol.messages import CLIENT_SCHEMAS, SENDERS
from tests.support.client import Api, Socket
from tests.support.server import ADMIN_PASSWORD
from tests.support.sessions import open_session

BAD_FIELDS = {
    "chat": {"text": 5},
    "guide": {"direction": "sideways"},
    "annotation": {"op": "add", "item": {"id": "x", "shape": "star", "color": "#fff000", "width": 2, "points": [[0, 0]]}},
    "anchor": {"timestamp_us": 1, "anchors": {"a1": [1, 0, 0, 0, 1, 0, 0, 0, "1"]}},
    "camera": {"command": "focus", "x": 2, "y": 0.5},
    "camera_state": {"facing": "top"},
    "speakerphone": {"on": "yes"},
    "agent_video": {"on": 1},
    "recording": {},
    "capabilities": {"flash": True},
    "keyframe_request": {"stream": "screen"},
    "key_exchange": {"public_key": "short"},
    "media_report": {"stream": "customer_video", "lost": -1},
    "end": {"reason": 7},
    "survey": {"answer": "meh"},
    "ping": {"id": [1]},
    "key_exchange_failed": {"reason": "timeout"},
    "sender_key": {"to": 0, "epoch": 0, "box": "short"},
    "sealed": {"frame": "not base64url!"},
}


@pytest.fixture
async def connected(server, agent_factory):
    client, agent, session, joined, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    await console.recv_type("state", state="connected", session_id=session["id"])
    yield session, console, customer
    console.close()
    customer.close()


async def assert_alive(sock: Socket):
    await sock.send({"type": "ping", "id": 1})
    assert (await sock.recv_type("pong"))["id"] == 1


@pytest.mark.parametrize("kind", sorted(CLIENT_SCHEMAS))
async def test_every_type_with_malformed_fields_gets_an_error_and_survives(connected, kind):
    session, console, customer = connected
    sender = "agent" if "agent" in SENDERS[kind] else "customer"
    sock = console if sender == "agent" else customer
    message = {"type": kind, **BAD_FIELDS[kind]}
    if sender == "agent" and kind != "ping":
        message["session_id"] = session["id"]
    await sock.send(message)
    err = await sock.recv_type("error")
    assert err["error"] == "invalid_message" and err["message"]
    await assert_alive(sock)


@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json at all", "invalid_json"),
        ("[1,2,3]", "invalid_message"),
        ('{"no_type": 1}', "invalid_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "chat", "text": "hi", "extra": true}', "invalid_message"),
    ],
)
async def test_garbage_gets_an_error_and_survives(connected, raw, code):
    _session, _console, customer = connected
    await customer.send(raw)
    err = await customer.recv_type("error")
    assert err["error"] == code
    await assert_alive(customer)


async def test_oversize_message_is_refused(connected):
    _session, _console, customer = connected
    await customer.send({"type": "chat", "text": "x" * 20000})
    assert (await customer.recv_type("error"))["error"] == "message_too_large"
    await assert_alive(customer)


async def test_sender_rules(connected):
    session, console, customer = connected
    await customer.send({"type": "camera", "command": "flash", "on": True})
    assert (await customer.recv_type("error"))["error"] == "not_allowed"
    await console.send({"type": "capabilities", "session_id": session["id"], "flash": True, "focus": True, "cameras": [], "audio": True})
    assert (await console.recv_type("error"))["error"] == "not_allowed"
    await console.send({"type": "chat", "text": "which session?"})
    assert (await console.recv_type("error"))["error"] == "session_required"
    await console.send({"type": "chat", "session_id": "0" * 24, "text": "nobody"})
    assert (await console.recv_type("error"))["error"] == "session_not_found"


async def test_errors_in_the_connection_language(server, agent_factory):
    client, _agent, session, joined, console, _customer = await open_session(server, agent_factory)
    english = await Socket.connect(server.ws_base, joined["token"], headers={"Accept-Language": "en"})
    await english.recv_type("hello")
    await english.send("nope")
    assert (await english.recv_type("error"))["message"] == "Invalid message: the message is not valid JSON"
    await console.send("nope")
    assert (await console.recv_type("error"))["message"].startswith("잘못된 메시지입니다")


async def test_repeated_garbage_closes_only_that_connection(make_server):
    srv = make_server({"control_max_invalid": 5})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    admin = api.with_token(token)
    first = (await admin.post("/api/v1/sessions")).json
    second = (await admin.post("/api/v1/sessions")).json
    bad_joined = (await api.post("/api/v1/join", {"code": first["code"]})).json
    good_joined = (await api.post("/api/v1/join", {"code": second["code"]})).json
    bad = await Socket.connect(srv.ws_base, bad_joined["token"])
    good = await Socket.connect(srv.ws_base, good_joined["token"])
    for _ in range(5):
        await bad.send("{garbage")
    code, reason = await bad.closed()
    assert code == 4008 and reason == "too_many_invalid_messages"
    await assert_alive(good)
    await assert_alive(console)


async def test_flooding_is_rate_limited_then_closed(make_server):
    srv = make_server({"control_rate": 5, "control_burst": 10})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    other = await Socket.connect(srv.ws_base, (await api.login("admin", ADMIN_PASSWORD, force=True))[0])
    # the forced login kicked the first console; flood from the new one
    for _ in range(40):
        await other.send(json.dumps({"type": "ping"}))
    err = await other.recv_type("error")
    assert err["error"] == "rate_limited"
    code, reason = await other.closed()
    assert code == 4008 and reason == "flooding"
    # the server still serves
    assert (await api.get("/healthz")).status == 200


async def test_missing_command_is_named_first(connected):
    session, console, _customer = connected
    await console.send({"type": "camera", "session_id": session["id"], "on": True})
    err = await console.recv_type("error")
    assert err["field"] == "command"


async def test_size_limit_counts_bytes_not_characters(make_server):
    srv = make_server({"control_max_bytes": 4000})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    # 1500 Hangul characters are 4500 bytes of UTF-8: over the limit though under it in characters
    await console.send({"type": "ping", "id": "한" * 1500})
    assert (await console.recv_type("error"))["error"] == "message_too_large"
    await assert_alive(console)


async def test_end_reason_cannot_be_chosen_by_the_client(connected):
    session, console, customer = connected
    await customer.send({"type": "end", "reason": "deleted"})
    expired = await console.recv_type("state", state="expired", session_id=session["id"])
    assert expired["reason"] == "ended_by_customer"
