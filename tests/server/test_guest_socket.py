"""The guest socket over the real server (issue 21, docs/protocol.md "The guest socket"): an invited agent's
socket for one session, ``/ws?session=SID`` with its agent token. On one node nothing needs it, but the
server takes it all the same, so its rules are checked here without a cluster: it is the participant's
socket for that session (before the console), it carries that session only, its frames and sealed messages
are checked against the roles as a console's are, and a removal closes it."""

from __future__ import annotations

from anysupport_native import group

from anysupport.protocol.messages import validate_server_message
from tests.support.client import Socket
from tests.support.group import group_call

KEY = bytes(range(16))


def frame(sender: int, kind: int = group.KIND_VIDEO, payload: bytes = b"x" * 50) -> bytes:
    return group.GroupSealer("s", sender, 1, KEY).seal(kind, payload, keyframe=True)


async def guest_socket(server, token: str, sid: str) -> Socket:
    sock = await Socket.connect(server.ws_base, token, path=f"/ws?session={sid}")
    hello = validate_server_message(await sock.recv_type("hello"))
    assert hello["session_id"] == sid and [s["id"] for s in hello["sessions"]] == [sid]
    assert hello["sessions"][0]["guest"] is True
    return sock


async def pong(sock: Socket) -> None:
    await sock.send({"type": "ping", "id": "p"})
    await sock.recv_type("pong")


async def presence_until(sock: Socket, sid: str, present: list[bool]) -> dict:
    """The ``participants`` lists the socket gets, until one says ``present`` (earlier ones are older)."""
    while True:
        listed = validate_server_message(await sock.recv_type("participants", session_id=sid))
        if [p["present"] for p in listed["participants"]] == present:
            return listed


async def test_the_guest_socket_is_the_participants_socket_for_its_session(server):
    call = await group_call(server)
    expert, viewer = await call.new_agent(), await call.new_agent()
    accepted = await call.invite(expert, "full")
    assert accepted["guest_socket"] is False and accepted["ws_url"].endswith("/ws")  # one node: its console
    await call.invite(viewer, "view")
    prefix = bytes.fromhex(call.sid)

    # not a guest of it (the session's own agent, another session, a bad id): refused before the upgrade
    r = await call.agent.api.get(f"/ws?session={call.sid}")
    assert (r.status, r.json["error"]) == (404, "session_not_found")
    r = await expert.api.get("/ws?session=nonsense")
    assert (r.status, r.json["error"]) == (404, "session_not_found")

    guest = await guest_socket(server, expert.api.token, call.sid)
    await presence_until(call.customer, call.sid, [True, True, True, True])
    # the customer's frames reach the expert through its guest socket now, not its console
    sent = frame(0)
    await call.customer.send_binary(sent)
    assert await guest.recv_binary() == prefix + sent
    assert await call.agent.console.recv_binary() == prefix + sent
    # it sends as the participant it is; a frame naming another session is refused
    sent = frame(2, group.KIND_AUDIO)
    await guest.send_binary(prefix + sent)
    assert await call.customer.recv_binary() == sent
    await guest.send_binary(bytes.fromhex("ab" * 12) + sent)
    assert (await guest.recv_type("error", error="frame_dropped"))["field"] == "not_connected"
    # a control message for another session is refused as if that session did not exist
    await guest.send({"type": "chat", "session_id": "ab" * 12, "text": "hi"})
    assert (await guest.recv_type("error"))["error"] == "session_not_found"

    # a view-only guest's guest socket sends nothing either
    watching = await guest_socket(server, viewer.api.token, call.sid)
    await watching.send_binary(prefix + frame(3))
    assert (await watching.recv_type("error", error="frame_dropped"))["field"] == "view_only"

    # its console closes: the guest socket keeps it present; then that closes too, and it is not
    expert.console.close()
    await pong(call.customer)
    assert [p["present"] for p in (await call.agent.api.get(f"/api/v1/sessions/{call.sid}/participants")
                                   ).json["participants"]] == [True, True, True, True]
    guest.close()
    await presence_until(call.customer, call.sid, [True, True, False, True])

    # removed: its guest socket is told and closed
    r = await call.agent.api.delete(f"/api/v1/sessions/{call.sid}/participants/3")
    assert r.status == 204, r.body
    assert (await watching.recv_type("removed"))["index"] == 3
    assert await watching.closed() == (4003, "removed")
