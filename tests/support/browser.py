"""The browser customer under test: headless Chromium with a fake camera playing the stamped test pattern.

- ``write_pattern_y4m`` writes the test pattern of ``anysupport_client.media.sources.TestPatternTrack``
  (frame numbers stamped into the pixels, ``media/stamp.py``) as a Y4M file, which Chromium's
  ``--use-file-for-fake-video-capture`` plays in a loop as the phone's camera;
- ``chromium_args`` are the flags (fake camera and microphone, permission prompts answered yes);
- ``CustomerPage`` drives the customer page: join with the code, wait for the call, read the page's
  own counters (``window.anysupportCall.stats``);
- ``new_agent`` makes an agent through the admin API and returns a started ``AgentPeer`` with a
  fresh session (on the caller's event loop, which the module-scoped browser tests share);
- ``Agents`` keeps the agents of one test and closes them at its end, and ``start_call`` brings an
  agent and the customer page to a keyed, connected call (``tests/web/conftest.py`` makes fixtures of
  them: ``agents`` and ``call``);
- ``hiding(...)`` is the test-only switch that hides a native API from the page, as an older browser
  lacks it, so the page's fallback runs (docs/pages.md, "Testing the fallbacks"): a script run before
  the page's own (``phone(init_script=hiding("x25519"))``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from anysupport_client.media.sources import TestPatternTrack

from tests.support.client import admin_api, create_agent

CHROMIUM = "/usr/bin/chromium"
BASE_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
# What each name hides, as the browser that lacks it behaves: Safari before iOS 17 answers X25519
# with NotSupportedError; before iOS 26 it has no AudioEncoder / AudioDecoder at all (Opus then comes
# from WebAssembly, which a browser or a policy may lack too).
HIDDEN_APIS = {
    "x25519": """(() => {
        const subtle = crypto.subtle;
        const x25519 = (alg) => alg === "X25519" || (alg && alg.name === "X25519");
        const refuse = () => Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
        for (const [method, at] of [["generateKey", 0], ["importKey", 2], ["deriveBits", 0], ["deriveKey", 0]]) {
            const real = subtle[method].bind(subtle);
            subtle[method] = (...args) => x25519(args[at]) ? refuse() : real(...args);
        }
    })();""",
    "audio_codecs": "delete window.AudioEncoder; delete window.AudioDecoder;",
    "webassembly": "delete window.WebAssembly;",
}


def hiding(*apis: str) -> str:
    """The init script hiding these native APIs (names of ``HIDDEN_APIS``) from the page."""
    return "\n".join(HIDDEN_APIS[api] for api in apis)


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def write_pattern_y4m(path: Path, *, width: int = 640, height: int = 480, fps: int = 30, frames: int = 90) -> Path:
    """``frames`` stamped test-pattern pictures (numbers 0 … frames-1) as a Y4M file."""
    pattern = TestPatternTrack(width, height, fps)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            frame = pattern.render(i * 90000 // fps)
            f.write(b"FRAME\n")
            for plane in frame.planes:
                data = memoryview(plane)
                line = plane.line_size
                w = plane.width
                for row in range(plane.height):
                    f.write(data[row * line:row * line + w])
    return path


def chromium_args(y4m: Path, *extra: str) -> list[str]:
    return [*BASE_ARGS, f"--use-file-for-fake-video-capture={y4m}", *extra]


class CuttableLink:
    """A TCP forwarder in front of the server, whose open connections can be cut at once, as a phone
    moving from Wi-Fi to mobile data loses its sockets (new connections go through again)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.server: asyncio.AbstractServer | None = None
        self.port: int | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> CuttableLink:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    def cut(self) -> None:
        """Drop every open connection without a goodbye (no WebSocket close frame, no FIN handshake)."""
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def new_agent(server_url: str, name: str):
    """A fresh agent (created through the admin API), its AgentPeer started, and a new session."""
    from tests.support.agent import AgentPeer

    login = f"{name}{int(time.time() * 1000) % 10_000_000}"
    await create_agent(await admin_api(server_url), login, name=f"상담원 {login}")
    agent = AgentPeer(server_url, login=login, password="pw-" + login)
    await agent.start()
    await agent.create_session()
    return agent


async def another_agent(server_url: str, agents: Agents, name: str, *, role: str = "agent"):
    """Another agent account (created through the admin API, named ``name``, of ``role``: ``admin`` for a
    supervisor) with its ``AgentPeer`` started and no session: an agent to invite into someone's session
    (issue 21); closed with ``agents``."""
    from tests.support.agent import AgentPeer

    login = f"gx{int(time.time() * 1000) % 10_000_000}"
    await create_agent(await admin_api(server_url), login, name=name, role=role)
    peer = agents.keep(AgentPeer(server_url, login=login, password="pw-" + login))
    await peer.start()
    return peer


async def invite_expert(server_url: str, agents: Agents, agent, name: str, rights: str = "full"):
    """A new agent named ``name`` invited by ``agent`` (an ``AgentPeer`` in a call) with ``rights`` into its
    current session and accepting: its ``AgentSession`` of that call, a participant of index 2 or more."""
    expert = await another_agent(server_url, agents, name)
    session_id = agent.current.id
    await agent.client.invite(session_id, expert.client.agent["id"], rights)
    await expert.client.wait_for("invitation", session_id=session_id)
    return await expert.client.accept_invitation(session_id)


class Agents:
    """The agents of one test, every one closed at its end (its fixture's teardown)."""

    def __init__(self) -> None:
        self.peers: list = []

    async def new(self, server_url: str, name: str = "br"):
        """A fresh agent with a new session (``new_agent``)."""
        return self.keep(await new_agent(server_url, name))

    def keep(self, peer):
        """Close this ``AgentPeer`` too (one the test started itself)."""
        self.peers.append(peer)
        return peer

    async def close(self) -> None:
        for peer in reversed(self.peers):
            await peer.close()
        self.peers.clear()


async def start_call(server_url: str, agents: Agents, customer: CustomerPage, *, name: str = "br",
                     page_url: str | None = None):
    """A fresh agent and the customer page up to a keyed, connected call; returns the agent. The page
    opens ``page_url`` (a way to the same server, such as a ``CuttableLink``) when given."""
    agent = await agents.new(server_url, name)
    await customer.join(page_url or server_url, agent.session["code"])
    await agent.accept(timeout=15)
    await agent.wait_for_keys(15)
    await customer.wait("window.anysupportCall && window.anysupportCall.sas !== null")
    return agent


class CustomerPage:
    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))

    def _console(self, message) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    async def join(self, url: str, code: str, name: str | None = None) -> None:
        """Open the page, type the code (and the customer's name, which is optional) and join."""
        await self.page.goto(url + "/")
        await self.page.fill("#code", code)
        if name is not None:
            await self.page.fill("#customer-name", name)
        await self.page.click("#join-button")

    async def stats(self) -> dict[str, Any]:
        return await self.page.evaluate("window.anysupportCall ? window.anysupportCall.stats : null")

    async def value(self, expression: str) -> Any:
        return await self.page.evaluate(expression)

    async def wait(self, expression: str, timeout: float = 10_000) -> None:
        """Wait until the JavaScript expression is true in the page."""
        await self.page.wait_for_function(f"() => ({expression})", timeout=timeout)

    async def overlay_pixel(self, x: float, y: float) -> list[int]:
        """RGBA of the drawing canvas at the screen spot of picture point (x, y) (fractions of the sent picture)."""
        return await self.page.evaluate(
            """async ([x, y]) => {
                const {pictureRect} = await import('/static/customer/overlay.js');
                const canvas = document.getElementById('overlay');
                const video = document.getElementById('preview');
                const q = window.anysupportCall.sender.quality;
                const r = pictureRect(canvas.width, canvas.height, video.videoWidth, video.videoHeight, q.width, q.height);
                const px = Math.round(r.x + x * r.w), py = Math.round(r.y + y * r.h);
                return Array.from(canvas.getContext('2d').getImageData(px, py, 1, 1).data);
            }""", [x, y])

    async def sender_state(self) -> dict[str, Any] | None:
        """Where the page's video sender stands: the call's state and keys, whether it sends (on, shown, a
        camera and its track's state), the encoder's queue, the ack clock and the sender's counters; what a
        timeout waiting for the page's frames says (``wait_page_frames``)."""
        return await self.page.evaluate(
            """() => {
                const call = window.anysupportCall;
                if (!call) return null;
                const s = call.sender, track = s.track, encoder = s.encoder.encoder;
                const counted = ["video_sent", "keyframes_sent", "video_dropped", "video_held", "video_stale",
                                 "encode_errors", "video_direct", "frames_in", "reconnects", "server_errors"];
                return {state: call.state, ending: !!call.ending, socket: call.socket.connected,
                        keys: call.keys.ready, group: call.group.active, sealed_from_start: call.sealedFromStart,
                        media_ready: call.mediaReady(), sending: s.sending, enabled: s.enabled, hidden: s.hidden,
                        visibility: document.visibilityState, possible: s.possible,
                        track: track ? track.readyState + (track.muted ? " muted" : "") : null,
                        encoder: encoder ? encoder.state : null, encode_queue: s.encoder.queueSize,
                        in_flight: s.acks.inFlight, acks: s.acks.acks, level: s.level,
                        ...Object.fromEntries(counted.map((k) => [k, call.stats[k]]))};
            }""")

    async def assert_no_errors(self, *, after_end: bool = False) -> None:
        """No script error or CSP violation, and the server refused nothing the page sent. ``after_end``:
        the session was ended by the other side, so a media frame already on its way when the page heard
        of it may be refused as ``not_connected`` (the race every client has; the page sends nothing after)."""
        assert not self.errors, self.errors
        stats = await self.stats()
        refused = (stats or {}).get("server_errors", [])
        if after_end:
            refused = [r for r in refused if r != "frame_dropped:not_connected"]
        assert not refused, refused


async def wait_page_frames(agent, customer: CustomerPage, count: int = 3, timeout: float = 15.0) -> list:
    """``agent.wait_frames`` for video from the customer page; a timeout also says where the page's sender
    stood (``CustomerPage.sender_state``), so a call that keyed but showed no picture names its step."""
    try:
        return await agent.wait_frames(count, timeout=timeout)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; the page: {await customer.sender_state()}") from None


async def assert_discards_only_after_stale(agent, page) -> None:
    """The agent discarded none of the page's video, unless the page dropped a frame that went stale in its
    socket's queue (a loaded machine): the agent then waits for the keyframe that follows, as it should.
    ``page``: a ``CustomerPage`` or the WebKit page (anything with ``value``)."""
    received, sent = agent.video_receiver.stats(), await page.value("window.anysupportCall.stats")
    assert received["discarded"] == 0 or sent["video_stale"] > 0, (received, sent)


async def sealed_pair_code(customer: CustomerPage, session) -> str:
    """A call sealed from the start (both clients said version 2): wait for the page's version-2 pair with
    the session's agent (``session``, an ``AgentSession``), check both ends show the same code and that the
    agent decodes the page's version-2 video; returns the code as the page shows it ("692 352")."""
    from playwright.async_api import expect

    call = "window.anysupportCall"
    await customer.wait(f"{call} && {call}.group.active && {call}.group.sas.size === 1", 15_000)
    await session.wait_until(lambda: 0 in session.pair_sas, 10, "the agent's pair with the page")
    code = (await customer.value(f"Object.fromEntries({call}.group.sas)"))["1"]
    assert code.replace(" ", "") == session.pair_sas[0]
    await expect(customer.page.locator("#sas-badge")).to_contain_text(code, timeout=15_000)
    decoded = session.frames_decoded
    await session.wait_until(lambda: session.frames_decoded > decoded + 5, 15, "the agent decodes version-2 video")
    return code
