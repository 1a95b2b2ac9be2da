"""A whole support session over the real server with two real WebSocket clients."""

import asyncio

import pytest

from tests.support.client import Api, Socket
from tests.support.server import ADMIN_PASSWORD
from tests.support.sessions import open_session


async def test_create_gives_four_digit_code_and_lists_it(api, agent_factory):
    client, _agent, _ = await agent_factory()
    r = await client.post("/api/v1/sessions")
    assert r.status == 201
    body = r.json
    assert len(body["code"]) == 4 and body["code"].isdigit()
    assert body["state"] == "offline" and body["created_at"] and isinstance(body["number"], int)
    listed = (await client.get("/api/v1/sessions")).json["sessions"]
    assert [s["id"] for s in listed] == [body["id"]]


async def test_two_hundred_concurrent_creates_get_distinct_codes(make_server):
    srv = make_server({"agent_max_live_sessions": 200, "session_create_max": 200})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    client = api.with_token(token)
    responses = await asyncio.gather(*(client.post("/api/v1/sessions") for _ in range(200)))
    assert all(r.status == 201 for r in responses)
    codes = [r.json["code"] for r in responses]
    assert len(set(codes)) == 200
    numbers = [int(c) for c in codes]
    # random, not sequential: consecutive creations are rarely neighbours
    neighbours = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if abs(a - b) == 1)
    assert neighbours < 10
    for r in responses:
        assert (await client.delete(f"/api/v1/sessions/{r.json['id']}")).status == 204


async def test_whole_session_flow(server, agent_factory, admin):
    client, agent, session, joined, console, customer = await open_session(
        server, agent_factory, customer={"name": "코이노", "email": "cs@example.com", "phone": "02-2002-2750"}
    )
    sid = session["id"]
    online = await console.recv_type("state", state="online", session_id=sid)
    assert online["session"]["customer"]["name"] == "코이노"
    assert online["session"]["customer"]["ip"] == "127.0.0.1"
    # manual connect
    r = await client.post(f"/api/v1/sessions/{sid}/connect")
    assert r.status == 200 and r.json["state"] == "connected"
    await console.recv_type("state", state="connected", session_id=sid)
    await customer.recv_type("state", state="connected")
    # connecting twice is a conflict
    r = await client.post(f"/api/v1/sessions/{sid}/connect")
    assert r.status == 409 and r.json["error"] == "session_not_online"

    # agent → customer: chat, guide, annotation, anchor, camera, speakerphone, agent_video, recording
    agent_messages = [
        {"type": "chat", "session_id": sid, "text": "카메라를 제품 뒷면으로 비춰 주세요"},
        {"type": "guide", "session_id": sid, "direction": "left"},
        {"type": "annotation", "session_id": sid, "op": "add",
         "item": {"id": "a1", "shape": "arrow", "color": "#ff0000", "width": 4, "points": [[0.1, 0.1], [0.5, 0.5]]}},
        {"type": "annotation", "session_id": sid, "op": "undo"},
        {"type": "anchor", "session_id": sid, "timestamp_us": 1767225600033333,
         "anchors": {"a1": [1.02, 0.013, -0.021, -0.009, 1.01, 0.017, 0.0004, -0.0002, 1.0], "s1": None}},
        {"type": "camera", "session_id": sid, "command": "flash", "on": True},
        {"type": "camera", "session_id": sid, "command": "focus", "x": 0.25, "y": 0.75},
        {"type": "camera", "session_id": sid, "command": "switch", "facing": "front"},
        {"type": "camera", "session_id": sid, "command": "quality", "level": "low"},
        {"type": "camera", "session_id": sid, "command": "video", "on": False},
        {"type": "speakerphone", "session_id": sid, "on": True},
        {"type": "agent_video", "session_id": sid, "on": True},
        {"type": "recording", "session_id": sid, "on": True},
        {"type": "keyframe_request", "session_id": sid, "stream": "customer_video"},
        {"type": "key_exchange", "session_id": sid, "public_key": "A" * 43},
    ]
    for message in agent_messages:
        await console.send(message)
        got = await customer.recv_type(message["type"])
        assert got["from"] == "agent" and got["session_id"] == sid and got["time"]
        assert {k: got[k] for k in message} == message
    # customer → agent: chat (no session_id needed), capabilities, camera_state, key exchange
    customer_messages = [
        {"type": "chat", "text": "네, 보이시나요?"},
        {"type": "capabilities", "flash": False, "focus": True, "cameras": ["back", "front"], "audio": True},
        {"type": "camera_state", "flash": False, "facing": "front", "quality": "low", "video": False},
        {"type": "key_exchange", "public_key": "B" * 43},
    ]
    for message in customer_messages:
        await customer.send(message)
        got = await console.recv_type(message["type"])
        assert got["from"] == "customer" and got["session_id"] == sid
        assert {k: got[k] for k in message} == message

    # the agent fills in the record during the session
    types = await admin.post("/api/v1/admin/trouble-types", {"name": "설치"})
    r = await client.put(f"/api/v1/sessions/{sid}/record", {"trouble_type": types.json["id"], "content": "애니서포트 재설치",
                                                           "resolution": "solved"})
    assert r.status == 200, r.body
    # the customer ends; both see expired; the customer gets the survey
    await customer.send({"type": "end"})
    expired = await console.recv_type("state", state="expired", session_id=sid)
    assert expired["reason"] == "ended_by_customer"
    await customer.recv_type("state", state="expired")
    survey = await customer.recv_type("survey")
    assert survey["question"] and [c["value"] for c in survey["choices"]] == ["satisfied", "neutral", "unsatisfied"]
    await customer.send({"type": "survey", "answer": "satisfied", "feedback": "친절했어요"})
    await customer.recv_type("survey_saved")
    code, _reason = await customer.closed()  # nothing more to say: the server closes the customer's socket
    assert code == 4003
    again = await Api(server.url, joined["token"]).post("/api/v1/customer/survey", {"answer": "neutral"})
    assert again.status == 409 and again.json["error"] == "survey_answered"

    record = (await client.get(f"/api/v1/sessions/{sid}/record")).json
    assert record["ip"] == "127.0.0.1"
    assert record["customer_name"] == "코이노" and record["email"] == "cs@example.com" and record["phone"] == "02-2002-2750"
    assert record["trouble_type"] == types.json["id"] and record["trouble_type_name"] == "설치"
    assert record["content"] == "애니서포트 재설치" and record["resolution"] == "solved"
    assert record["satisfaction"] == "satisfied" and record["feedback"] == "친절했어요"
    assert record["started_at"] <= record["ended_at"]
    # the code is free again and the session lists as expired
    listed = {s["id"]: s for s in (await client.get("/api/v1/sessions")).json["sessions"]}
    assert listed[sid]["state"] == "expired"
    assert (await Api(server.url).post("/api/v1/join", {"code": session["code"]})).status in (404, 200)
    console.close()
    customer.close()


async def test_auto_connect(server, agent_factory):
    _client, _agent, session, joined, console, customer = await open_session(server, agent_factory, auto_connect=True)
    await console.recv_type("state", state="online", session_id=session["id"])
    await console.recv_type("state", state="connected", session_id=session["id"])
    # the join answer already says connected; the customer's socket opened after that
    assert joined["state"] == "connected"
    await console.send({"type": "chat", "session_id": session["id"], "text": "바로 연결되었습니다"})
    assert (await customer.recv_type("chat"))["text"] == "바로 연결되었습니다"


async def test_messages_outside_a_connected_session_are_refused(server, agent_factory):
    client, _agent, session, _joined, console, customer = await open_session(server, agent_factory)
    await customer.send({"type": "chat", "text": "hello?"})
    err = await customer.recv_type("error")
    assert err["error"] == "session_not_connected"
    await console.send({"type": "chat", "session_id": session["id"], "text": "wait"})
    assert (await console.recv_type("error"))["error"] == "session_not_connected"


async def test_wrong_and_expired_codes(api, agent_factory):
    r = await api.post("/api/v1/join", {"code": "12a4"})
    assert r.status == 400
    client, _agent, _ = await agent_factory()
    session = (await client.post("/api/v1/sessions")).json
    await client.delete(f"/api/v1/sessions/{session['id']}")
    r = await api.post("/api/v1/join", {"code": session["code"]})
    assert r.status == 404 and r.json["error"] == "invalid_code"


async def test_code_already_used_is_409(api, agent_factory):
    client, _agent, _ = await agent_factory()
    session = (await client.post("/api/v1/sessions")).json
    assert (await api.post("/api/v1/join", {"code": session["code"]})).status == 200
    r = await api.post("/api/v1/join", {"code": session["code"]})
    assert r.status == 409 and r.json["error"] == "code_in_use"


async def test_a_session_number_never_admits_without_its_code(api, agent_factory):
    client, _agent, _ = await agent_factory()
    session = (await client.post("/api/v1/sessions")).json
    # the number alone (sequential, guessable) is refused before anything is looked up
    r = await api.post("/api/v1/join", {"number": session["number"]})
    assert r.status == 400 and r.json["error"] == "invalid_field" and r.json["field"] == "code"
    assert "token" not in r.json
    # the number with another code: no token, and the session stays free for its customer
    wrong = f"{(int(session['code']) + 1) % 10000:04d}"
    r = await api.post("/api/v1/join", {"number": session["number"], "code": wrong})
    assert r.status == 404 and r.json["error"] == "invalid_code" and "token" not in r.json
    # the right code with another session's number is refused too
    r = await api.post("/api/v1/join", {"number": session["number"] + 100000, "code": session["code"]})
    assert r.status == 404 and r.json["error"] == "invalid_code"
    # number and code together admit
    r = await api.post("/api/v1/join", {"number": session["number"], "code": session["code"]})
    assert r.status == 200 and r.json["session_id"] == session["id"] and r.json["token"]


async def test_live_sessions_per_agent_are_capped(make_server):
    srv = make_server({"agent_max_live_sessions": 3})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = Api(srv.url, token, "en")
    made = [(await admin.post("/api/v1/sessions")).json for _ in range(3)]
    r = await admin.post("/api/v1/sessions")
    assert r.status == 409 and r.json["error"] == "too_many_live_sessions" and "3 open sessions" in r.json["message"]
    korean = await api.with_token(token).post("/api/v1/sessions", headers={"Accept-Language": "ko"})
    assert korean.status == 409 and "세션" in korean.json["message"]
    # an expired session no longer counts
    assert (await admin.delete(f"/api/v1/sessions/{made[0]['id']}")).status == 204
    assert (await admin.post("/api/v1/sessions")).status == 201


async def test_session_creation_is_rate_limited_per_agent(make_server):
    srv = make_server({"session_create_max": 4, "session_create_window": 600})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    for _ in range(4):
        created = (await admin.post("/api/v1/sessions")).json
        assert (await admin.delete(f"/api/v1/sessions/{created['id']}")).status == 204
    r = await admin.post("/api/v1/sessions")
    assert r.status == 429 and r.json["error"] == "too_many_sessions_created"
    assert r.json["retry_after"] >= 1 and r.headers["Retry-After"] == str(r.json["retry_after"])


async def test_join_guessing_hits_the_rate_limit(make_server):
    srv = make_server({"join_max_attempts": 5, "join_window": 60})
    api = Api(srv.url)
    statuses = []
    for i in range(8):
        r = await api.post("/api/v1/join", {"code": f"{i:04d}"})
        statuses.append(r.status)
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429] * 3
    assert r.json["error"] == "too_many_attempts" and r.json["retry_after"] >= 1


async def test_customer_token_opens_one_session_and_nothing_else(server, agent_factory):
    client, _agent, session, joined, console, customer = await open_session(server, agent_factory)
    cust = Api(server.url, joined["token"])
    for method, path in (("GET", "/api/v1/sessions"), ("POST", "/api/v1/sessions"), ("GET", "/api/v1/me"),
                         ("GET", "/api/v1/records"), ("GET", "/api/v1/admin/agents"),
                         ("PUT", f"/api/v1/sessions/{session['id']}/record"), ("POST", f"/api/v1/sessions/{session['id']}/connect")):
        r = await cust.request(method, path, {} if method in ("PUT", "POST") else ...)
        assert r.status == 403, (method, path, r.status)
    assert (await cust.get("/api/v1/customer/session")).json["id"] == session["id"]
    # another session's id in a customer message is refused
    other = (await client.post("/api/v1/sessions")).json
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    await customer.send({"type": "chat", "session_id": other["id"], "text": "sneaky"})
    assert (await customer.recv_type("error"))["error"] == "session_not_found"


async def test_agents_see_only_their_own_sessions(agent_factory):
    a, _agent_a, _ = await agent_factory()
    b, _agent_b, _ = await agent_factory()
    session = (await a.post("/api/v1/sessions")).json
    assert all(s["id"] != session["id"] for s in (await b.get("/api/v1/sessions")).json["sessions"])
    for method in ("GET", "DELETE"):
        r = await b.request(method, f"/api/v1/sessions/{session['id']}")
        assert r.status == 404
    assert (await b.post(f"/api/v1/sessions/{session['id']}/connect")).status == 404
    assert (await b.get(f"/api/v1/sessions/{session['id']}/record")).status == 404


async def test_an_abandoned_session_expires_and_its_record_ends(make_server):
    # the server's sweep end to end, at the shortest grace the settings allow; the unused-code and
    # waiting timeouts (5 s at least here) are rules on the hand-moved clock of test_session_manager.py
    srv = make_server({"reconnect_grace": 1})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    abandoned = (await admin.post("/api/v1/sessions")).json
    joined = (await api.post("/api/v1/join", {"code": abandoned["code"]})).json
    customer = await Socket.connect(srv.ws_base, joined["token"])
    await customer.recv_type("hello")
    await admin.post(f"/api/v1/sessions/{abandoned['id']}/connect")
    await customer.recv_type("state", state="connected")
    customer.close()
    await console.recv_type("peer", session_id=abandoned["id"], status="reconnecting")
    gone = await console.recv_type("state", state="expired", session_id=abandoned["id"], timeout=10)
    assert gone["reason"] == "customer_gone"
    record = (await admin.get(f"/api/v1/sessions/{abandoned['id']}/record")).json
    assert record["ended_at"] is not None


async def connected_session(srv, admin: Api, console: Socket) -> tuple[dict, dict, Socket]:
    """A session of ``admin`` with its customer's socket open, accepted (connected)."""
    session = (await admin.post("/api/v1/sessions")).json
    joined = (await Api(srv.url).post("/api/v1/join", {"code": session["code"]})).json
    customer = await Socket.connect(srv.ws_base, joined["token"])
    await customer.recv_type("hello")
    await admin.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    await console.recv_type("state", state="connected", session_id=session["id"])
    return session, joined, customer


async def sweeps_past_the_grace_from_now(srv, admin: Api, console: Socket) -> None:
    """Return once the server's sweep has run more than ``reconnect_grace`` after this call, with that
    round finished: a witness session's customer leaves now and its expiry is seen; then a second
    witness's, which only a later round (the sweep runs its rounds one after another) can expire."""
    for _ in range(2):
        witness, _joined, customer = await connected_session(srv, admin, console)
        customer.close()
        gone = await console.recv_type("state", state="expired", session_id=witness["id"], timeout=10)
        assert gone["reason"] == "customer_gone"


@pytest.mark.slow
async def test_rejoin_inside_the_grace_period_keeps_the_session(make_server):
    # each step waits on an event (SessionManager's tests move the grace clock by hand, test_session_manager.py)
    srv = make_server({"reconnect_grace": 1})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    session, joined, customer = await connected_session(srv, admin, console)
    customer.close()
    await console.recv_type("peer", session_id=session["id"], status="reconnecting")
    customer = await Socket.connect(srv.ws_base, joined["token"])
    hello = await customer.recv_type("hello")
    assert hello["session"]["state"] == "connected"
    await console.recv_type("peer", session_id=session["id"], status="back")
    await sweeps_past_the_grace_from_now(srv, admin, console)
    # past the grace period: still connected, since the customer came back
    assert (await admin.get(f"/api/v1/sessions/{session['id']}")).json["state"] == "connected"
    await console.send({"type": "chat", "session_id": session["id"], "text": "still here"})
    assert (await customer.recv_type("chat"))["text"] == "still here"
    # the agent's console drops and comes back
    console.close()
    await customer.recv_type("peer", status="reconnecting")
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    await customer.recv_type("peer", status="back")
    # outside the grace period the customer cannot resume
    customer.close()
    await console.recv_type("state", state="expired", session_id=session["id"], timeout=10)
    late = await Socket.connect(srv.ws_base, joined["token"])
    hello = await late.recv_type("hello")
    assert hello["session"]["state"] == "expired"


@pytest.mark.slow
async def test_server_restart_mid_session_keeps_the_record(make_server):
    srv = make_server({"reconnect_grace": 1})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    session = (await admin.post("/api/v1/sessions")).json
    joined = (await api.post("/api/v1/join", {"code": session["code"], "name": "Restart Customer"})).json
    await admin.post(f"/api/v1/sessions/{session['id']}/connect")
    await admin.put(f"/api/v1/sessions/{session['id']}/record", {"content": "before restart"})
    srv.restart()
    api = Api(srv.url)
    admin = api.with_token(token)
    record = (await admin.get(f"/api/v1/sessions/{session['id']}/record")).json
    assert record["content"] == "before restart" and record["customer_name"] == "Restart Customer"
    # nobody came back: the session expires after the grace period and the record gets its end time
    for _ in range(100):
        s = (await admin.get(f"/api/v1/sessions/{session['id']}")).json
        if s["state"] == "expired":
            break
        await asyncio.sleep(0.1)
    assert s["state"] == "expired"
    assert (await admin.get(f"/api/v1/sessions/{session['id']}/record")).json["ended_at"]
    assert joined["token"]
