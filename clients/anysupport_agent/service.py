"""The console's connection to the server: one control socket, every session of the agent, the REST calls.

``ConsoleClient`` is asyncio code with no Qt in it (tests drive it directly). It logs in (or resumes
a remembered token), opens the agent's WebSocket, keeps the live ``state`` of every session from the
``hello`` and ``state`` messages, agrees the media keys of a connected session once its customer's
socket is there, opens the customer's video and voice (``SessionMedia`` of the client library),
and sends the viewer's commands. What happens is told to ``listeners`` as ``(name, data)`` on the
loop thread:

- ``sessions`` (the whole list, after ``hello``), ``session`` (one changed), ``keys``, ``capabilities``,
  ``camera_state``, ``chat``, ``peer``, ``error``, ``stats`` (bitrate, frame rate, latency per second);
- ``kicked`` (reason and the server's message) and ``closed`` (the socket is gone for good).

Frames do not go through ``listeners``: ``video_sinks`` get each decoded customer frame,
``packet_sinks`` each received H.264 access unit (the customer-only recorder), ``audio_sinks`` the
customer's decoded voice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import av
import tornado.httpclient
from anysupport_client.api import FINAL_CLOSE_CODES, ApiError, ControlSocket, RestClient, websocket_url
from anysupport_client.media.annotation import AnnotationScene
from anysupport_client.media.receiver import AudioReceiver, VideoReceiver
from anysupport_client.media.sender import AudioSender, VideoSender
from anysupport_client.session import SessionMedia
from anysupport_native.framing import (
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
)

log = logging.getLogger("anysupport.agent")

Listener = Callable[[str, dict[str, Any]], None]
PING_INTERVAL = 2.0


class _TappedVideoReceiver(VideoReceiver):
    """A video receiver that also hands each access unit to the recorder (before or without decoding)."""

    def __init__(self, *args: Any, tap: Callable[[Any, bytes, int, int], None], **kw: Any):
        super().__init__(*args, **kw)
        self.tap = tap

    def receive(self, header, payload, arrival_us=None):
        frames = super().receive(header, payload, arrival_us)
        self.tap(header, payload, self.width, self.height)
        return frames


class LinkStats:
    """Bitrate, frame rate (per second) and latency of one session's customer video."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.window_start = clock()
        self.bytes = 0
        self.frames = 0
        self.kbps = 0.0
        self.fps = 0.0
        self.latency_ms: float | None = None

    def packet(self, size: int) -> None:
        self.bytes += size

    def frame(self) -> None:
        self.frames += 1

    def roll(self) -> bool:
        """Close the window when a second has passed; True when the figures changed."""
        now = self.clock()
        span = now - self.window_start
        if span < 1.0:
            return False
        self.kbps = self.bytes * 8 / 1000 / span
        self.fps = self.frames / span
        self.bytes = self.frames = 0
        self.window_start = now
        return True

    def as_dict(self) -> dict[str, Any]:
        return {"kbps": round(self.kbps), "fps": round(self.fps, 1),
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms)}


class ConsoleSession:
    """One session of the agent, as the console knows it."""

    def __init__(self, data: dict[str, Any]):
        self.data: dict[str, Any] = {}
        self.media: SessionMedia | None = None
        self.exchange_started = False
        self.capabilities: dict[str, Any] | None = None
        self.camera_state: dict[str, Any] = {}
        self.sas: str | None = None
        self.scene = AnnotationScene()
        self.chat: list[dict[str, Any]] = []
        self.stats = LinkStats()
        self.customer_reconnecting = False
        self.agent_video_sender: VideoSender | None = None
        self.agent_audio_sender: AudioSender | None = None
        self.update(data)

    def update(self, data: dict[str, Any]) -> None:
        self.data.update({k: v for k, v in data.items() if v is not None or k not in self.data})

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def state(self) -> str:
        return self.data.get("state", "offline")

    @property
    def code(self) -> str:
        return self.data.get("code", "")


class ConsoleClient:
    def __init__(self, server_url: str, *, language: str = "ko", agent_video_source: Callable[[], Any] | None = None,
                 agent_audio_source: Callable[[], Any] | None = None):
        self.server_url = server_url.rstrip("/")
        self.language = language
        self.rest = RestClient(self.server_url, language=language)
        self.listeners: list[Listener] = []
        self.video_sinks: list[Callable[[ConsoleSession, av.VideoFrame], None]] = []
        self.packet_sinks: list[Callable[[ConsoleSession, Any, bytes, int, int], None]] = []
        self.audio_sinks: list[Callable[[ConsoleSession, Any], None]] = []
        self.agent_video_source = agent_video_source
        self.agent_audio_source = agent_audio_source
        self.socket: ControlSocket | None = None
        self.agent: dict[str, Any] | None = None
        self.public_url: str = ""
        self.sessions: dict[str, ConsoleSession] = {}
        self._task: asyncio.Task | None = None
        self._ping_task: asyncio.Task | None = None
        self._pings: dict[str, float] = {}
        self._ping_id = 0
        self._closing = False
        self.close_code: int | None = None
        self.latency_ms: float | None = None  # half the control channel's round trip to the server

    # -- events ----------------------------------------------------------------------------------------
    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        for listener in list(self.listeners):
            try:
                listener(name, data or {})
            except Exception:
                log.exception("listener failed on %s", name)

    # -- logging in ------------------------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        return self.rest.token

    async def login(self, login: str, password: str, *, force: bool = False) -> dict[str, Any]:
        """Log in; raises ``ApiError`` (``invalid_credentials``, ``already_logged_in``, ``too_many_attempts``, …)."""
        try:
            answer = await self.rest.login(login, password, force=force)
        except ApiError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            exc.retry_after = body.get("retry_after")  # too_many_attempts: the wait, in seconds
            raise
        self.agent = answer["agent"]
        await self._load_me()
        return self.agent

    async def resume(self, token: str) -> dict[str, Any]:
        """Use a remembered token; raises ``ApiError`` 401 when it has expired or was revoked."""
        self.rest.token = token
        try:
            await self._load_me()
        except ApiError:
            self.rest.token = None
            raise
        return self.agent

    async def _load_me(self) -> None:
        me = await self.rest.request("GET", "/api/v1/me")
        self.agent = me.get("agent", me)
        self.public_url = me.get("public_url") or self.server_url

    async def open(self) -> dict[str, Any]:
        """Open the console's WebSocket; returns the ``hello``."""
        self._closing = False
        self.socket = await ControlSocket.open(websocket_url(self.server_url, "/ws"), self.rest.token)
        hello_future = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._read(self.socket, hello_future))
        hello = await asyncio.wait_for(hello_future, 10)
        self._ping_task = asyncio.ensure_future(self._ping_loop())
        return hello

    async def logout(self) -> None:
        """End this login: the token is revoked on the server, the socket closed."""
        try:
            await self.rest.request("POST", "/api/v1/auth/logout")
        except ApiError:
            pass
        await self.close()

    async def revoke(self, token: str) -> None:
        """Revoke a remembered token that is not this login's (forgetting a saved password)."""
        try:
            await self.rest.request("POST", "/api/v1/auth/logout", token=token)
        except ApiError:
            pass

    async def close(self) -> None:
        self._closing = True
        for session in self.sessions.values():
            await self._stop_agent_media(session)
        if self._ping_task is not None:
            self._ping_task.cancel()
        if self.socket is not None:
            self.socket.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError, Exception):
                self._task.cancel()
        self.sessions.clear()

    # -- the socket --------------------------------------------------------------------------------------
    async def _read(self, socket: ControlSocket, hello_future: asyncio.Future) -> None:
        try:
            async for message in socket.messages():
                if isinstance(message, bytes):
                    self._on_frame(message)
                    continue
                if message.get("type") == "hello" and not hello_future.done():
                    self._on_hello(message)
                    hello_future.set_result(message)
                    continue
                try:
                    self._on_message(message)
                except Exception:
                    log.exception("control message %s not handled", message.get("type"))
        finally:
            self.close_code = socket.close_code
            if not hello_future.done():
                hello_future.set_exception(ConnectionError(f"closed before hello ({socket.close_code})"))
            if not self._closing:
                self.emit("closed", {"code": socket.close_code, "final": socket.close_code in FINAL_CLOSE_CODES})

    async def _ping_loop(self) -> None:
        while self.socket is not None and not self.socket.closed:
            self._ping_id += 1
            ping_id = f"c-{self._ping_id}"
            self._pings[ping_id] = time.monotonic()
            self.socket.send_json({"type": "ping", "id": ping_id})
            await asyncio.sleep(PING_INTERVAL)
            for session in list(self.sessions.values()):
                session.stats.latency_ms = self.latency_ms
                if session.media is not None and session.stats.roll():
                    self.emit("stats", {"session_id": session.id, **session.stats.as_dict()})

    def _on_frame(self, data: bytes) -> None:
        session = self.sessions.get(data[:12].hex())
        if session is not None and session.media is not None:
            session.stats.packet(len(data))
            session.media.on_frame(data[12:])

    def _on_hello(self, hello: dict[str, Any]) -> None:
        self.agent = hello.get("agent") or self.agent
        for data in hello.get("sessions", []):
            self._session(data)
        self.emit("sessions", {"sessions": [s.data for s in self.sessions.values()]})
        for session in self.sessions.values():
            self._maybe_start_keys(session)

    def _session(self, data: dict[str, Any]) -> ConsoleSession:
        session = self.sessions.get(data["id"])
        if session is None:
            session = self.sessions[data["id"]] = ConsoleSession(data)
        else:
            session.update(data)
        return session

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        session = self.sessions.get(message.get("session_id", ""))
        if kind == "state":
            data = {**(message.get("session") or {}), "id": message["session_id"], "state": message["state"]}
            if message.get("reason"):
                data["expire_reason"] = message["reason"]
            session = self._session(data)
            self.emit("session", {"session": dict(session.data)})
            if session.state == "expired":
                asyncio.ensure_future(self._stop_agent_media(session))
            else:
                self._maybe_start_keys(session)
        elif kind == "peer" and session is not None and message.get("peer") == "customer":
            status = message.get("status")
            session.data["customer_present"] = status in ("joined", "back")
            session.customer_reconnecting = status == "reconnecting"
            if status == "back":
                self.send(session.id, {"type": "keyframe_request", "stream": "customer_video"})
            self._maybe_start_keys(session)
            self.emit("peer", {"session_id": session.id, "status": status})
        elif kind == "key_exchange" and session is not None and session.media is not None:
            session.media.on_key_exchange(message)
        elif kind == "capabilities" and session is not None:
            session.capabilities = {k: v for k, v in message.items() if k not in ("type", "from", "time")}
            self.emit("capabilities", {"session_id": session.id, **session.capabilities})
        elif kind == "camera_state" and session is not None:
            session.camera_state.update({k: v for k, v in message.items() if k not in ("type", "from", "time")})
            self.emit("camera_state", {"session_id": session.id, **session.camera_state})
        elif kind == "chat" and session is not None:
            entry = {"from": message.get("from", "customer"), "text": message.get("text", ""), "time": message.get("time")}
            session.chat.append(entry)
            self.emit("chat", {"session_id": session.id, **entry})
        elif kind == "pong":
            sent = self._pings.pop(str(message.get("id")), None)
            if sent is not None:
                self.latency_ms = (time.monotonic() - sent) * 1000 / 2  # one way, from the round trip
        elif kind == "keyframe_request" and session is not None and session.agent_video_sender is not None:
            if message.get("stream") == "agent_video":
                session.agent_video_sender.request_keyframe()
        elif kind == "kicked":
            self.emit("kicked", {"reason": message.get("reason"), "message": message.get("message", "")})
        elif kind == "error":
            self.emit("error", message)

    # -- keys and media ------------------------------------------------------------------------------------
    def _maybe_start_keys(self, session: ConsoleSession) -> None:
        if session.state != "connected":
            return
        if session.media is None:
            self._make_media(session)
        if not session.exchange_started and session.data.get("customer_present"):
            session.exchange_started = True
            session.media.start_key_exchange()

    def _make_media(self, session: ConsoleSession) -> None:
        def emit(name: str, data: dict[str, Any]) -> None:
            if name == "keys":
                session.sas = data.get("sas_display") or data.get("sas")
            self.emit(name, {"session_id": session.id, **data})

        media = SessionMedia("agent", session.id, send_json=lambda m: self.send(session.id, m),
                             send_frame=lambda f: self._send_frame(session.id, f), emit=emit)

        def on_frame(frame, header, arrival_us) -> None:
            session.stats.frame()
            for sink in list(self.video_sinks):
                sink(session, frame)

        def tap(header, payload, width, height) -> None:
            for sink in list(self.packet_sinks):
                sink(session, header, payload, width, height)

        def on_audio(pcm, header=None) -> None:
            for sink in list(self.audio_sinks):
                sink(session, pcm)

        media.receivers[STREAM_CUSTOMER_VIDEO] = _TappedVideoReceiver(
            STREAM_CUSTOMER_VIDEO, on_frame=on_frame, tap=tap,
            request_keyframe=lambda reason: self.send(session.id, {"type": "keyframe_request",
                                                                   "stream": "customer_video"}),
            send_report=lambda report: self.send(session.id, report))
        media.receivers[STREAM_CUSTOMER_AUDIO] = AudioReceiver(STREAM_CUSTOMER_AUDIO, on_audio=on_audio)
        session.media = media

    def _send_frame(self, session_id: str, frame: bytes) -> bool:
        return self.socket is not None and self.socket.send_binary(bytes.fromhex(session_id) + frame)

    def send(self, session_id: str, message: dict[str, Any]) -> bool:
        if self.socket is None:
            return False
        return self.socket.send_json({**message, "session_id": session_id})

    # -- the viewer's commands -------------------------------------------------------------------------------
    def camera(self, session_id: str, command: str, **fields: Any) -> bool:
        return self.send(session_id, {"type": "camera", "command": command, **fields})

    def annotate(self, session_id: str, op: str, item: dict[str, Any] | None = None) -> bool:
        message: dict[str, Any] = {"type": "annotation", "op": op}
        if item is not None:
            message["item"] = item
        session = self.sessions.get(session_id)
        if session is not None:
            session.scene.apply(message)
        return self.send(session_id, message)

    def chat(self, session_id: str, text: str) -> bool:
        sent = self.send(session_id, {"type": "chat", "text": text})
        session = self.sessions.get(session_id)
        if sent and session is not None:
            entry = {"from": "agent", "text": text, "time": None}
            session.chat.append(entry)
            self.emit("chat", {"session_id": session_id, **entry})
        return sent

    def guide(self, session_id: str, direction: str) -> bool:
        return self.send(session_id, {"type": "guide", "direction": direction})

    def speakerphone(self, session_id: str, on: bool) -> bool:
        return self.send(session_id, {"type": "speakerphone", "on": on})

    def recording(self, session_id: str, on: bool) -> bool:
        return self.send(session_id, {"type": "recording", "on": on})

    def end(self, session_id: str) -> bool:
        return self.send(session_id, {"type": "end"})

    async def agent_video(self, session_id: str, on: bool) -> bool:
        """상담원 화면 보기: the agent's camera (and voice with it) to the customer, on or off."""
        session = self.sessions.get(session_id)
        if session is None or session.media is None:
            return False
        if on and session.agent_video_sender is None and self.agent_video_source is not None:
            sender = VideoSender(self.agent_video_source(), STREAM_AGENT_VIDEO,
                                 lambda *a: session.media.seal_and_send(*a), level="low",
                                 pending_bytes=lambda: self.socket.pending_bytes if self.socket else 0)
            sender.ready = lambda: session.media is not None and session.media.ready
            sender.start()
            session.agent_video_sender = sender
            audio = self.agent_audio_source() if self.agent_audio_source is not None else None
            if audio is not None:
                session.agent_audio_sender = AudioSender(audio, STREAM_AGENT_AUDIO,
                                                         lambda *a: session.media.seal_and_send(*a))
                session.agent_audio_sender.ready = sender.ready
                session.agent_audio_sender.enabled = True  # voice is on exactly while the agent's camera is
                session.agent_audio_sender.start()
        if session.agent_video_sender is not None:
            session.agent_video_sender.set_enabled(on)
        if not on:
            await self._stop_agent_media(session)
        return self.send(session_id, {"type": "agent_video", "on": on})

    async def _stop_agent_media(self, session: ConsoleSession) -> None:
        video, audio = session.agent_video_sender, session.agent_audio_sender
        session.agent_video_sender = session.agent_audio_sender = None
        for sender in (video, audio):
            if sender is not None:
                await sender.stop()
                sender.track.stop()

    # -- REST -----------------------------------------------------------------------------------------------
    async def create_session(self) -> dict[str, Any]:
        data = await self.rest.create_session()
        self._session(data)
        return data

    async def delete_session(self, session_id: str) -> None:
        await self.rest.delete_session(session_id)

    async def connect_session(self, session_id: str) -> dict[str, Any]:
        return await self.rest.connect_session(session_id)

    async def list_sessions(self) -> list[dict[str, Any]]:
        answer = await self.rest.request("GET", "/api/v1/sessions")
        return answer["sessions"] if isinstance(answer, dict) else answer

    async def set_auto_connect(self, on: bool) -> dict[str, Any]:
        answer = await self.rest.request("PATCH", "/api/v1/me/settings", {"auto_connect": on})
        if self.agent is not None:
            self.agent.setdefault("settings", {})["auto_connect"] = on
        return answer

    async def phrases(self) -> list[dict[str, Any]]:
        return (await self.rest.request("GET", "/api/v1/phrases"))["phrases"]

    async def add_phrase(self, text: str, shortcut: str | None = None, order: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "shortcut": shortcut}
        if order is not None:
            body["order"] = order
        return await self.rest.request("POST", "/api/v1/phrases", body)

    async def update_phrase(self, phrase_id: str, **changes: Any) -> dict[str, Any]:
        return await self.rest.request("PATCH", f"/api/v1/phrases/{phrase_id}", changes)

    async def delete_phrase(self, phrase_id: str) -> None:
        await self.rest.request("DELETE", f"/api/v1/phrases/{phrase_id}")

    async def trouble_types(self) -> list[dict[str, Any]]:
        return (await self.rest.request("GET", "/api/v1/trouble-types"))["trouble_types"]

    async def record(self, session_id: str) -> dict[str, Any]:
        return await self.rest.record(session_id)

    async def save_record(self, session_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return await self.rest.put_record(session_id, **fields)

    @staticmethod
    def _period(day_from: str | None, day_to: str | None) -> str:
        query = {k: v for k, v in (("from", day_from), ("to", day_to)) if v}
        return ("?" + urllib.parse.urlencode(query)) if query else ""

    async def statistics(self, day_from: str | None = None, day_to: str | None = None) -> dict[str, Any]:
        return await self.rest.request("GET", "/api/v1/records/stats" + self._period(day_from, day_to))

    async def export(self, day_from: str | None = None, day_to: str | None = None) -> bytes:
        """The Excel workbook of the period (the server builds it; this waits)."""
        headers = {"Authorization": f"Bearer {self.rest.token}", "Accept-Language": self.language}
        request = tornado.httpclient.HTTPRequest(
            self.server_url + "/api/v1/records/export.xlsx" + self._period(day_from, day_to), headers=headers,
            request_timeout=120)
        try:
            response = await self.rest.http.fetch(request, raise_error=False)
        except OSError as exc:
            raise ApiError(599, "unreachable", str(exc)) from exc
        if response.code >= 400:
            try:
                body = json.loads(response.body)
            except ValueError:
                body = {}
            raise ApiError(response.code, body.get("error", "http_error"), body.get("message", ""), body)
        return response.body
