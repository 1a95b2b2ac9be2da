"""The blind relay over the real server: sealed frames cross unread; bad frames are dropped and
counted; a slow receiver costs bounded memory; the server never sees plaintext."""

import os

import psutil
import pytest
from anysupport_native import framing, keys
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from tests.support.client import Api, Socket, admin_api, create_agent
from tests.support.server import ADMIN_PASSWORD

MARKER = b"PLAINTEXT-MARKER-7f3a9c"


async def connected_pair(srv, *, api=None):
    """A fresh agent's console + customer socket in a connected session, with E2E keys agreed over
    key_exchange. Returns the agent's client first."""
    api = api or Api(srv.url)
    login = f"relay{os.urandom(4).hex()}"
    await create_agent(await admin_api(srv.url, client="web"), login, "relay-password")
    agent_token, _ = await api.login(login, "relay-password")
    agent = api.with_token(agent_token)
    console = await Socket.connect(srv.ws_base, agent_token)
    await console.recv_type("hello")
    session = (await agent.post("/api/v1/sessions")).json
    joined = (await api.post("/api/v1/join", {"code": session["code"]})).json
    customer = await Socket.connect(srv.ws_base, joined["token"])
    await customer.recv_type("hello")
    await agent.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    sid = session["id"]
    # key agreement through the server (commitment first, as docs/protocol.md describes)
    agent_key, customer_key = keys.generate_private_key(), keys.generate_private_key()
    agent_pub = keys.encode_public_key(agent_key.public_key())
    await console.send({"type": "key_exchange", "session_id": sid, "commitment": keys.key_commitment(agent_pub)})
    commitment = (await customer.recv_type("key_exchange"))["commitment"]
    await customer.send({"type": "key_exchange", "public_key": keys.encode_public_key(customer_key.public_key())})
    customer_pub = (await console.recv_type("key_exchange"))["public_key"]
    await console.send({"type": "key_exchange", "session_id": sid, "public_key": agent_pub})
    revealed = (await customer.recv_type("key_exchange"))["public_key"]
    keys.verify_commitment(revealed, commitment)
    agent_keys = keys.derive_session_keys(agent_key, keys.decode_public_key(customer_pub), "agent", sid)
    customer_keys = keys.derive_session_keys(customer_key, keys.decode_public_key(revealed), "customer", sid)
    assert agent_keys.sas == customer_keys.sas
    return agent, sid, console, customer, agent_keys, customer_keys


async def test_sealed_frames_cross_both_ways_and_open(server):
    admin, sid, console, customer, agent_keys, customer_keys = await connected_pair(server)
    c_sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    a_opener = framing.FrameOpener(agent_keys.recv_key, "customer")
    for i in range(20):
        payload = os.urandom(1000 + i * 500)
        await customer.send_binary(c_sealer.seal(framing.STREAM_CUSTOMER_VIDEO, payload, keyframe=(i == 0)))
        data = await console.recv_binary()
        assert data[:12] == bytes.fromhex(sid)  # agent sockets carry the session id first
        header, opened = a_opener.open(data[12:])
        assert opened == payload and header.sequence == i and header.keyframe == (i == 0)
    a_sealer = framing.FrameSealer(agent_keys.send_key, "agent")
    c_opener = framing.FrameOpener(customer_keys.recv_key, "agent")
    await console.send_binary(bytes.fromhex(sid) + a_sealer.seal(framing.STREAM_AGENT_AUDIO, b"opus-ish"))
    header, opened = c_opener.open(await customer.recv_binary())
    assert opened == b"opus-ish" and header.stream == framing.STREAM_AGENT_AUDIO


async def test_receiver_rejects_tampered_replayed_reflected_and_truncated(server):
    admin, sid, console, customer, agent_keys, customer_keys = await connected_pair(server)
    sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    opener = framing.FrameOpener(agent_keys.recv_key, "customer")
    good = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"frame-zero", keyframe=True)

    async def relay(frame: bytes) -> bytes:
        await customer.send_binary(frame)
        return (await console.recv_binary())[12:]

    assert opener.open(await relay(good))[1] == b"frame-zero"
    # replayed: the relay passes it (it cannot tell), the receiver refuses it
    with pytest.raises(framing.FrameError) as info:
        opener.open(await relay(good))
    assert info.value.code == "replayed"
    # tampered payload
    frame = bytearray(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"frame-one"))
    frame[20] ^= 0x01
    with pytest.raises(framing.FrameError) as info:
        opener.open(await relay(bytes(frame)))
    assert info.value.code == "tampered"
    # tampered header (sequence changed): still a well-formed header, so relayed, then refused
    frame = bytearray(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"frame-two"))
    frame[7] ^= 0x40
    with pytest.raises(framing.FrameError) as info:
        opener.open(await relay(bytes(frame)))
    assert info.value.code == "tampered"
    # a frame sealed with the agent's direction key and sent back (reflection) is refused
    agent_sealer = framing.FrameSealer(agent_keys.send_key, "agent")
    with pytest.raises(framing.FrameError):
        opener.open(agent_sealer.seal(framing.STREAM_AGENT_VIDEO, b"reflected"))
    # truncated frames: the server drops what it cannot parse; the receiver refuses a cut tag
    cut = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"frame-three")[:-5]
    with pytest.raises(framing.FrameError):
        opener.open(await relay(cut))


async def admin_web_token(client: Api) -> str:
    token, _ = await Api(client.base_url).login("admin", ADMIN_PASSWORD, client="web")  # holds no console
    return token


async def metrics(client: Api) -> dict[str, float]:
    api = Api(client.base_url)
    r = await api.get("/api/v1/metrics", token=await admin_web_token(client))
    assert r.status == 200 and r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    values = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    # totals only: no series per session (a fleet's Prometheus scrapes every node)
    assert not [name for name in values if "session=" in name or name.startswith("anysupport_session_")]
    return values


async def relay_sessions(client: Api) -> dict[str, dict]:
    r = await Api(client.base_url).get("/api/v1/admin/relay/sessions", token=await admin_web_token(client))
    assert r.status == 200, r.body
    assert r.json["node"] == ""  # no node_id configured
    return {s["session_id"]: s for s in r.json["sessions"]}


async def test_bad_frames_dropped_counted_and_reported_without_harming_others(make_server):
    srv = make_server({"media_max_frame_bytes": 4096, "media_max_fps": 50})
    admin, sid, console, customer, agent_keys, customer_keys = await connected_pair(srv)
    # a second, healthy session on the same server
    api2 = Api(srv.url)
    other = (await admin.post("/api/v1/sessions")).json
    joined2 = (await api2.post("/api/v1/join", {"code": other["code"]})).json
    customer2 = await Socket.connect(srv.ws_base, joined2["token"])
    await admin.post(f"/api/v1/sessions/{other['id']}/connect")
    await customer2.recv_type("state", state="connected")

    sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    await customer.send_binary(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, os.urandom(5000)))
    assert (await customer.recv_type("error"))["field"] == "too_large"
    await customer.send_binary(b"\x09" + os.urandom(40))
    assert (await customer.recv_type("error"))["field"] == "malformed"
    wrong = framing.FrameSealer(customer_keys.send_key, "agent").seal(framing.STREAM_AGENT_VIDEO, b"x")
    await customer.send_binary(wrong)
    assert (await customer.recv_type("error"))["field"] == "wrong_direction"
    for _ in range(120):
        await customer.send_binary(sealer.seal(framing.STREAM_CUSTOMER_AUDIO, b"a" * 100))
    assert (await customer.recv_type("error"))["field"] == "rate"
    # frames on a session that is not connected (the agent names an offline one)
    offline = (await admin.post("/api/v1/sessions")).json
    await console.send_binary(bytes.fromhex(offline["id"]) + framing.FrameSealer(agent_keys.send_key, "agent").seal(
        framing.STREAM_AGENT_VIDEO, b"nobody"))
    assert (await console.recv_type("error"))["field"] == "not_connected"

    # the other session is unaffected
    other_sealer = framing.FrameSealer(b"k" * 16, "customer")
    await customer2.send_binary(other_sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"fine", keyframe=True))
    data = await console.recv_binary()
    while data[:12] != bytes.fromhex(other["id"]):
        data = await console.recv_binary()
    m = await metrics(admin)
    for reason in ("too_large", "malformed", "wrong_direction", "rate", "not_connected"):
        assert m[f'anysupport_relay_dropped_total{{reason="{reason}"}}'] >= 1, reason
    assert m["anysupport_relay_frames_out_total"] >= 1
    per_session = await relay_sessions(admin)
    assert per_session[other["id"]]["frames_in"] == 1 and per_session[other["id"]]["frames_out"] == 1
    assert per_session[sid]["dropped"]["rate"] >= 1 and per_session[sid]["dropped"]["too_large"] == 1
    assert m['anysupport_sessions_live{state="connected"}'] == 2


@pytest.mark.slow
async def test_slow_receiver_costs_bounded_memory_and_sender_gets_keyframe_requests(make_server):
    srv = make_server({"media_queue_bytes": 1_048_576, "media_max_fps": 100000, "media_max_frame_bytes": 262144})
    admin, sid, console, customer, agent_keys, customer_keys = await connected_pair(srv)
    server_process = psutil.Process(srv.process.pid)
    sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    payload = os.urandom(100_000)
    # the console stops reading; the customer keeps sending ~200 MB of video
    rss_before = server_process.memory_info().rss
    for i in range(2000):
        await customer.send_binary(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, payload, keyframe=(i % 60 == 0)))
    # the server reads a socket's messages in order: its answer to a ping says every frame before it was taken
    await customer.send({"type": "ping", "id": "after-frames"})
    await customer.recv_type("pong", id="after-frames", timeout=30)
    rss_after = server_process.memory_info().rss
    growth = rss_after - rss_before
    assert growth < 60 * 1024 * 1024, f"server grew by {growth / 1e6:.1f} MB"
    m = await metrics(admin)
    dropped = sum(v for k, v in m.items() if k.startswith("anysupport_relay_dropped_total"))
    assert dropped > 1000
    assert m["anysupport_relay_queued_bytes"] <= 1_048_576 + 262144
    request = await customer.recv_type("keyframe_request")
    assert request["from"] == "server" and request["stream"] == "customer_video"
    # the sender was never blocked: it is still served at once
    await customer.send({"type": "ping", "id": "alive"})
    assert (await customer.recv_type("pong"))["id"] == "alive"


async def test_server_never_sees_plaintext(make_server, tmp_path):
    data_dir = tmp_path / "blind"
    srv = make_server({"log_level": "debug"}, data_dir=data_dir)
    admin, sid, console, customer, agent_keys, customer_keys = await connected_pair(srv)
    sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    opener = framing.FrameOpener(agent_keys.recv_key, "customer")
    for i in range(50):
        await customer.send_binary(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, MARKER * 50, keyframe=i == 0))
        assert opener.open((await console.recv_binary())[12:])[1] == MARKER * 50
    await customer.send({"type": "end"})
    await console.recv_type("state", state="expired", session_id=sid)
    srv.stop()
    assert MARKER.decode() not in srv.log_text()
    for root, _dirs, files in os.walk(data_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                assert MARKER not in fh.read(), f"plaintext found in {name}"
    # and the keys never crossed the server: only public keys and a commitment did
    assert agent_keys.send_key.hex() not in srv.log_text()


async def test_relay_counters_are_for_administrators_only(api, agent_factory):
    agent, _, _ = await agent_factory()
    for path in ("/api/v1/metrics", "/api/v1/admin/relay/sessions"):
        r = await agent.get(path)
        assert r.status == 403 and r.json["error"] == "admin_only", (path, r.body)
        r = await api.get(path)
        assert r.status == 401 and r.json["error"] == "unauthorized", (path, r.body)


async def test_a_media_flood_is_cut_off_and_bystanders_keep_being_served(make_server):
    """#18.6: a customer sending frames far over the rate is closed (an error, then 4008 flooding) and
    another session's chat is relayed throughout."""
    srv = make_server({"media_max_fps": 50, "media_flood_frames": 300})
    _agent, _sid, console, customer, _agent_keys, customer_keys = await connected_pair(srv)
    _agent2, sid2, console2, customer2, _k1, _k2 = await connected_pair(srv)
    sealer = framing.FrameSealer(customer_keys.send_key, "customer")
    frame = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, os.urandom(200))
    for sent in range(1, 3001):  # ten times the cut-off
        try:
            await customer.send_binary(frame)
        except (WebSocketClosedError, StreamClosedError):
            break  # the server closed it
        if sent % 100 == 0:
            await console2.send({"type": "chat", "session_id": sid2, "text": f"still here {sent}"})
            assert (await customer2.recv_type("chat", text=f"still here {sent}"))["from"] == "agent"
    flood = await customer.recv_type("error", error="flooding")
    assert flood["message"]
    assert await customer.closed() == (4008, "flooding")
    await console2.send({"type": "chat", "session_id": sid2, "text": "after the flood"})
    assert (await customer2.recv_type("chat", text="after the flood"))["from"] == "agent"
