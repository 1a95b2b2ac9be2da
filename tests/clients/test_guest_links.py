"""The agent client's guest sockets without a server (docs/protocol.md, "The guest socket"): the URL it
opens, which socket a session's messages and frames take, what a guest socket's own ``hello`` does, and
when the guest socket goes (removed, the session's end)."""

from __future__ import annotations

from anysupport_client.session import AgentClient
from anysupport_client.session.guest_links import guest_socket_url

OWN = "6b071c1443f808085a26f9d1"
GUEST = "6b071c1443f808085a26f9d2"


class _Socket:
    def __init__(self):
        self.sent: list[dict] = []
        self.frames: list[bytes] = []
        self.pending_bytes = 0

    def send_json(self, message):
        self.sent.append(message)
        return True

    def send_binary(self, data, **_kw):
        self.frames.append(data)
        return True


class _Link(_Socket):
    """What GuestLinks keeps per session (a ReconnectingSocket), reduced to what routing uses."""

    def __init__(self):
        super().__init__()
        self.pending_bytes = 777
        self.closed = False
        self.followed: list[str] = []

    def follow(self, url):
        self.followed.append(url)

    def close(self):
        self.closed = True


def test_the_guest_socket_url_is_the_session_nodes_with_the_session():
    assert guest_socket_url("https://help.example.com", "/node/a/ws", GUEST) == \
        f"wss://help.example.com/node/a/ws?session={GUEST}"
    assert guest_socket_url("http://x:8888", "wss://node1.example.com/ws", GUEST) == \
        f"wss://node1.example.com/ws?session={GUEST}"


def client_with_a_guest_link() -> tuple[AgentClient, _Socket, _Link]:
    client = AgentClient("http://127.0.0.1:9")
    console = client.connection.socket = _Socket()
    client.on_message({"type": "hello", "role": "agent", "agent": {"login": "kim", "settings": {}}, "sessions": [
        {"id": OWN, "code": "1234", "state": "connected", "number": 1, "customer_present": False},
        {"id": GUEST, "code": "5678", "state": "connected", "number": 2, "guest": True, "index": 2,
         "rights": "full", "ws_url": "/ws", "guest_socket": False}]})
    link = client.guests.links[GUEST] = _Link()
    return client, console, link


def test_a_sessions_traffic_takes_its_guest_socket_and_the_rest_the_console():
    client, console, link = client_with_a_guest_link()
    client.session(GUEST).send({"type": "keyframe_request", "stream": "customer_video"})
    client.session(OWN).send({"type": "keyframe_request", "stream": "customer_video"})
    assert [m["session_id"] for m in link.sent] == [GUEST] and [m["session_id"] for m in console.sent] == [OWN]
    assert client.send_binary(bytes.fromhex(GUEST) + b"frame") and link.frames == [bytes.fromhex(GUEST) + b"frame"]
    assert client.send_binary(bytes.fromhex(OWN) + b"frame") and console.frames == [bytes.fromhex(OWN) + b"frame"]
    assert client.pending_bytes_for(GUEST) == 777 and client.pending_bytes_for(OWN) == 0
    # the guest socket's hello names its one session: the console's list is untouched
    client._guest_message(GUEST, {"type": "hello", "role": "agent", "session_id": GUEST,
                                  "sessions": [{"id": GUEST, "state": "connected", "guest": True, "index": 2}]})
    assert client.session_infos[OWN]["state"] == "connected"
    # what else it brings is handled as from the console: here, the session's participants
    client._guest_message(GUEST, {"type": "participants", "session_id": GUEST, "you": 2, "version": 2,
                                  "participants": [{"index": 1, "role": "agent", "name": "kim", "rights": "full",
                                                    "present": True}]})
    assert client.session(GUEST).media.group.participants


def test_moved_makes_the_guest_socket_follow_its_session():
    client, _console, link = client_with_a_guest_link()
    client._guest_message(GUEST, {"type": "moved", "session_id": GUEST, "ws_url": "/node/b/ws", "message": ""})
    assert link.followed == [f"ws://127.0.0.1:9/node/b/ws?session={GUEST}"] and GUEST in client.guests


def test_removed_twice_or_the_end_closes_the_guest_socket():
    client, _console, link = client_with_a_guest_link()
    removed = {"type": "removed", "session_id": GUEST, "index": 2, "time": "2026-05-18T01:25:45.678+00:00"}
    client._guest_message(GUEST, removed)
    assert link.closed and GUEST not in client.guests and client.session(GUEST).removed
    client.on_message(removed)  # the console's copy changes nothing
    assert client.session(GUEST).removed

    client, _console, link = client_with_a_guest_link()
    client.on_message({"type": "state", "session_id": GUEST, "state": "expired",
                       "session": {"id": GUEST, "state": "expired"}})
    assert link.closed and GUEST not in client.guests
