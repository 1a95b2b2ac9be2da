"""Issue 21 over the real server: participants with indexes, the invitation flow, version-2 frames and
group control messages routed by index, roles enforced per connection, a removed participant cut off."""

from __future__ import annotations

from anysupport_native import group

from anysupport.protocol.messages import validate_server_message
from tests.support.client import Api, Socket, admin_api, create_agent
from tests.support.group import group_call

KEY = bytes(range(16))


def frame(sender: int, kind: int = group.KIND_VIDEO, payload: bytes = b"x" * 50, *, epoch: int = 1,
          keyframe: bool = True) -> bytes:
    return group.GroupSealer("s", sender, epoch, KEY).seal(kind, payload, keyframe=keyframe)


async def pong(sock: Socket) -> None:
    await sock.send({"type": "ping", "id": "p"})
    await sock.recv_type("pong")


async def test_invite_accept_and_everyone_told_who_is_present(server):
    call = await group_call(server)
    expert = await call.new_agent()
    accepted = await call.invite(expert, "full")
    assert accepted["index"] == 2 and accepted["rights"] == "full"
    lists = {}
    for who, sock in (("customer", call.customer), ("agent", call.agent.console), ("expert", expert.console)):
        message = validate_server_message(await sock.recv_type("participants", session_id=call.sid))
        lists[who] = message
        assert message["version"] == 2
        assert [(p["index"], p["role"], p["rights"]) for p in message["participants"]] == [
            (0, "customer", "full"), (1, "agent", "full"), (2, "guest", "full")]
        assert all(p["present"] for p in message["participants"])
    assert (lists["customer"]["you"], lists["agent"]["you"], lists["expert"]["you"]) == (0, 1, 2)
    assert lists["customer"]["participants"][2]["name"] == expert.info["name"]
    assert lists["customer"]["participants"][0]["name"] == "홍길동"
    # the REST view says the same
    r = await expert.api.get(f"/api/v1/sessions/{call.sid}/participants")
    assert r.status == 200 and r.json["you"] == 2 and len(r.json["participants"]) == 3


async def test_invitation_refusals_and_decline(server):
    page_like = await group_call(server, versions=(1,))
    expert = await page_like.new_agent()
    r = await page_like.agent.api.post(f"/api/v1/sessions/{page_like.sid}/invitations",
                                       {"agent_id": expert.id, "rights": "full"})
    assert (r.status, r.json["error"]) == (409, "customer_not_group_capable")
    assert r.json["message"]

    call = await group_call(server)
    # another (non-admin) agent may not invite into a session not its own
    r = await expert.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": expert.id, "rights": "full"})
    assert (r.status, r.json["error"]) == (404, "session_not_found")
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": call.agent.id,
                                                                            "rights": "full"})
    assert (r.status, r.json["error"]) == (409, "already_participant")
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": expert.id,
                                                                            "rights": "owner"})
    assert (r.status, r.json["error"]) == (400, "invalid_field")
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": "0" * 24, "rights": "view"},
                                  headers={"Accept-Language": "ko"})
    assert (r.status, r.json["error"]) == (404, "invitee_not_found") and "상담원" in r.json["message"]
    await create_agent(await admin_api(server.url, client="web"), "grp-noconsole", "group-password")
    _, no_console = await Api(server.url).login("grp-noconsole", "group-password")
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": no_console["id"],
                                                                            "rights": "full"})
    assert (r.status, r.json["error"]) == (409, "invitee_not_online")
    r = await expert.api.post(f"/api/v1/sessions/{call.sid}/invitations/accept")
    assert (r.status, r.json["error"]) == (404, "invitation_not_found")
    # decline: the inviting agent is told, nobody joins
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"agent_id": expert.id, "rights": "view"})
    assert r.status == 201 and r.json["rights"] == "view"
    invitation = validate_server_message(await expert.console.recv_type("invitation", session_id=call.sid))
    assert invitation["status"] == "open" and invitation["customer"] == "홍길동"
    r = await expert.api.post(f"/api/v1/sessions/{call.sid}/invitations/decline")
    assert r.status == 200 and r.json["status"] == "declined"
    declined = validate_server_message(await call.agent.console.recv_type("invitation", status="declined"))
    assert declined["by"] == expert.info["name"]
    r = await expert.api.get(f"/api/v1/sessions/{call.sid}/participants")
    assert r.status == 404


async def test_v2_frames_fan_out_by_index_and_roles_are_enforced(server):
    call = await group_call(server)
    expert, viewer = await call.new_agent(), await call.new_agent()
    await call.invite(expert, "full")
    await call.invite(viewer, "view")
    prefix = bytes.fromhex(call.sid)
    # the customer's frame reaches the agent, the expert and the viewer (each its own queue)
    sent = frame(0)
    await call.customer.send_binary(sent)
    for sock in (call.agent.console, expert.console, viewer.console):
        assert await sock.recv_binary() == prefix + sent
    # the expert's reaches the customer (bare) and the agents (prefixed)
    sent = frame(2, group.KIND_AUDIO)
    await expert.console.send_binary(prefix + sent)
    assert await call.customer.recv_binary() == sent
    assert await call.agent.console.recv_binary() == prefix + sent
    assert await viewer.console.recv_binary() == prefix + sent
    # a header naming another participant is refused
    await expert.console.send_binary(prefix + frame(1))
    error = await expert.console.recv_type("error", error="frame_dropped")
    assert error["field"] == "wrong_sender"
    # a view-only participant sends no media
    await viewer.console.send_binary(prefix + frame(3))
    error = await viewer.console.recv_type("error", error="frame_dropped")
    assert error["field"] == "view_only"
    # kind 2 does not travel as a binary frame
    await call.customer.send_binary(frame(0, group.KIND_CONTROL))
    assert (await call.customer.recv_type("error", error="frame_dropped"))["field"] == "wrong_direction"
    # nothing of the refused ones reached anyone: the next frame each receives is the next good one
    sent = frame(0, payload=b"after")
    await call.customer.send_binary(sent)
    for sock in (call.agent.console, expert.console, viewer.console):
        assert await sock.recv_binary() == prefix + sent


async def test_group_control_messages_routed_by_index(server):
    call = await group_call(server)
    expert, viewer = await call.new_agent(), await call.new_agent()
    await call.invite(expert, "full")
    await call.invite(viewer, "view")
    box = group.b64(bytes(44))
    await expert.console.send({"type": "sender_key", "session_id": call.sid, "to": 0, "epoch": 1, "box": box})
    got = validate_server_message(await call.customer.recv_type("sender_key"))
    assert (got["from_index"], got["epoch"], got["box"], got["from"]) == (2, 1, box, "agent")
    await call.customer.send({"type": "key_exchange", "to": 2, "version": 2, "public_key": "A" * 43})
    got = validate_server_message(await expert.console.recv_type("key_exchange", session_id=call.sid))
    assert got["from_index"] == 0 and got["from"] == "customer"
    # the view-only participant takes part in the key exchange (it must receive keys)
    await viewer.console.send({"type": "key_exchange", "session_id": call.sid, "to": 0, "version": 2,
                               "public_key": "B" * 43})
    assert (await call.customer.recv_type("key_exchange"))["from_index"] == 3
    # sealed: to every other participant, the sender checked
    sealed = group.b64(frame(0, group.KIND_CONTROL, b'{"type":"chat","text":"hi"}'))
    await call.customer.send({"type": "sealed", "frame": sealed})
    for sock in (call.agent.console, expert.console, viewer.console):
        got = validate_server_message(await sock.recv_type("sealed", session_id=call.sid))
        assert got["frame"] == sealed and got["from_index"] == 0
    await expert.console.send({"type": "sealed", "session_id": call.sid, "frame": sealed})
    assert (await expert.console.recv_type("error", ref="sealed"))["error"] == "wrong_sender"
    await viewer.console.send({"type": "sealed", "session_id": call.sid,
                               "frame": group.b64(frame(3, group.KIND_CONTROL))})
    assert (await viewer.console.recv_type("error", ref="sealed"))["error"] == "view_only"
    await call.customer.send({"type": "sealed", "frame": group.b64(frame(0))})
    assert (await call.customer.recv_type("error", ref="sealed"))["error"] == "invalid_message"
    # to nobody, or to oneself
    await expert.console.send({"type": "sender_key", "session_id": call.sid, "to": 9, "epoch": 1, "box": box})
    assert (await expert.console.recv_type("error", ref="sender_key"))["error"] == "participant_not_found"
    # a guest's plain (version-1) messages are not the session's agent's: refused
    await expert.console.send({"type": "chat", "session_id": call.sid, "text": "plain"})
    assert (await expert.console.recv_type("error", ref="chat"))["error"] == "session_not_found"


async def test_removed_participant_gets_nothing_new_and_its_index_is_not_reused(server):
    call = await group_call(server)
    expert = await call.new_agent()
    await call.invite(expert, "full")
    for sock in (call.customer, call.agent.console, expert.console):
        await sock.recv_type("participants", session_id=call.sid)
    r = await expert.api.delete(f"/api/v1/sessions/{call.sid}/participants/1")
    assert (r.status, r.json["error"]) == (409, "participant_not_removable")
    r = await call.agent.api.delete(f"/api/v1/sessions/{call.sid}/participants/7")
    assert (r.status, r.json["error"]) == (404, "participant_not_found")
    r = await call.agent.api.delete(f"/api/v1/sessions/{call.sid}/participants/2")
    assert r.status == 204
    assert validate_server_message(await expert.console.recv_type("removed", session_id=call.sid))["index"] == 2
    for sock in (call.customer, call.agent.console):
        message = await sock.recv_type("participants", session_id=call.sid)
        assert [p["index"] for p in message["participants"]] == [0, 1] and message["version"] == 2
    prefix = bytes.fromhex(call.sid)
    sent = frame(0, payload=b"after removal")
    await call.customer.send_binary(sent)
    assert await call.agent.console.recv_binary() == prefix + sent
    # the relay would have written that frame to the expert's socket before this pong
    await pong(expert.console)
    assert not [m for m in expert.console.backlog if isinstance(m, bytes)]
    await expert.console.send({"type": "sender_key", "session_id": call.sid, "to": 0, "epoch": 2,
                               "box": group.b64(bytes(44))})
    assert (await expert.console.recv_type("error", ref="sender_key"))["error"] == "session_not_found"
    await expert.console.send_binary(prefix + frame(2))
    assert (await expert.console.recv_type("error", error="frame_dropped"))["field"] == "not_connected"
    # invited again: a new index
    again = await call.invite(expert, "view")
    assert again["index"] == 3
    # a guest hears that the session ended
    assert (await call.agent.api.delete(f"/api/v1/sessions/{call.sid}")).status == 204
    ended = validate_server_message(await expert.console.recv_type("state", session_id=call.sid))
    assert ended["state"] == "expired"


async def test_a_guest_may_leave_and_is_no_longer_listed(server):
    call = await group_call(server)
    expert = await call.new_agent()
    await call.invite(expert, "view")
    r = await expert.api.delete(f"/api/v1/sessions/{call.sid}/participants/2")
    assert r.status == 204
    await expert.console.recv_type("removed", session_id=call.sid)
    message = await call.customer.recv_type("participants", session_id=call.sid, version=2)
    while len(message["participants"]) != 2:
        message = await call.customer.recv_type("participants", session_id=call.sid)
    r = await expert.api.get(f"/api/v1/sessions/{call.sid}/participants")
    assert (r.status, r.json["error"]) == (404, "session_not_found")


async def test_the_list_follows_sockets_going_and_coming(server):
    call = await group_call(server)
    expert = await call.new_agent()
    await call.invite(expert, "full")
    await call.customer.recv_type("participants", session_id=call.sid)
    expert.console.close()
    message = await call.customer.recv_type("participants", session_id=call.sid)
    assert [(p["index"], p["present"]) for p in message["participants"]] == [(0, True), (1, True), (2, False)]
    console = await Socket.connect(server.ws_base, expert.api.token)
    await console.recv_type("hello")
    message = await call.customer.recv_type("participants", session_id=call.sid)
    assert [p["present"] for p in message["participants"]] == [True, True, True]
    mine = await console.recv_type("participants", session_id=call.sid)
    assert mine["you"] == 2 and mine["version"] == 2


async def test_invite_by_login_and_the_guest_sees_the_customers_name_only(server):
    call = await group_call(server)
    expert = await call.new_agent()
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations",
                                  {"login": expert.info["login"], "rights": "view"})
    assert r.status == 201 and r.json["agent_id"] == expert.id and r.json["rights"] == "view"
    await expert.console.recv_type("invitation", session_id=call.sid, status="open")
    r = await expert.api.post(f"/api/v1/sessions/{call.sid}/invitations/accept")
    assert r.status == 200 and r.json["session"]["customer"] == {"name": "홍길동"}
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations", {"login": "nobody-here", "rights": "full"})
    assert (r.status, r.json["error"]) == (404, "invitee_not_found") and r.json["message"]
    r = await call.agent.api.post(f"/api/v1/sessions/{call.sid}/invitations",
                                  {"login": expert.info["login"], "agent_id": expert.id, "rights": "full"})
    assert r.status == 400


async def test_an_administrator_supervises_from_the_live_list(server):
    call = await group_call(server)
    admin = await call.new_agent(role="admin")
    r = await admin.api.get("/api/v1/admin/live-sessions")
    assert r.status == 200 and r.json["console_open"] is True
    row = next(s for s in r.json["sessions"] if s["id"] == call.sid)
    assert (row["state"], row["customer"], row["participants"], row["supervising"], row["group_capable"]) == (
        "connected", "홍길동", 2, False, True)
    assert "phone" not in row and row["agent_login"] == call.agent.info["login"]
    # an agent may not list or supervise
    r = await call.agent.api.get("/api/v1/admin/live-sessions")
    assert r.status == 403
    r = await call.agent.api.post(f"/api/v1/admin/sessions/{call.sid}/supervise")
    assert r.status == 403
    # supervising: an invitation to its own console, with view rights and `supervise`
    r = await admin.api.post(f"/api/v1/admin/sessions/{call.sid}/supervise")
    assert r.status == 201 and r.json["rights"] == "view"
    message = validate_server_message(await admin.console.recv_type("invitation", session_id=call.sid))
    assert message["supervise"] is True and message["rights"] == "view"
    r = await admin.api.post(f"/api/v1/sessions/{call.sid}/invitations/accept")
    assert r.status == 200 and r.json["rights"] == "view"
    listed = await call.customer.recv_type("participants", session_id=call.sid)
    # listed as what it is: a supervisor (docs/protocol.md `participants`), to the customer and to the agents
    assert [(p["name"], p["role"], p["rights"]) for p in listed["participants"]][2] == (admin.info["name"],
                                                                                        "supervisor", "view")
    r = await call.agent.api.get(f"/api/v1/sessions/{call.sid}/participants")
    assert [p["role"] for p in r.json["participants"]] == ["customer", "agent", "supervisor"]
    r = await admin.api.get("/api/v1/admin/live-sessions")
    assert next(s for s in r.json["sessions"] if s["id"] == call.sid)["supervising"] is True
    # an administrator without a console open: the page is told, and 참관 is refused in its language
    await create_agent(await admin_api(server.url, client="web"), "nocon" + call.sid[-6:], "nocon-password",
                       name="콘솔없음", role="admin")
    token, _ = await Api(server.url).login("nocon" + call.sid[-6:], "nocon-password", client="web")
    web_admin = Api(server.url, token)
    r = await web_admin.get("/api/v1/admin/live-sessions")
    assert r.status == 200 and r.json["console_open"] is False
    r = await web_admin.post(f"/api/v1/admin/sessions/{call.sid}/supervise")
    assert (r.status, r.json["error"]) == (409, "console_not_open") and r.json["message"]


async def test_invited_agents_hear_the_customers_camera_and_capabilities_even_from_before_they_joined(server):
    """The customer's camera_state and capabilities reach every agent taking part, not only its own (an
    expert's console must know of a camera switch: it hides its anchored drawings): the last of each when its
    socket joins, then each new one as the session's agent gets it."""
    call = await group_call(server)
    await call.customer.send({"type": "camera_state", "flash": False, "facing": "back", "quality": "medium",
                              "video": True})
    assert (await call.agent.console.recv_type("camera_state", session_id=call.sid))["facing"] == "back"
    expert = await call.new_agent()
    await call.invite(expert, "full")
    caught_up = {t: validate_server_message(await expert.console.recv_type(t, session_id=call.sid))
                 for t in ("capabilities", "camera_state")}  # sent before it joined
    assert caught_up["camera_state"]["facing"] == "back" and caught_up["camera_state"]["from"] == "customer"
    assert caught_up["capabilities"]["audio"] is True
    await call.customer.send({"type": "camera_state", "flash": False, "facing": "front", "quality": "medium",
                              "video": True})
    for sock in (call.agent.console, expert.console):
        assert (await sock.recv_type("camera_state", session_id=call.sid, facing="front"))["from"] == "customer"
