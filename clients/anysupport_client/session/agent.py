"""The agent's client: one console connection, all of this agent's sessions, their media.

``AgentClient`` logs in, holds the console's one WebSocket (reconnecting with the same token after
a network drop, never after ``kicked``), keeps the live ``sessions`` of this agent from ``hello`` and
``state`` messages, creates, deletes and accepts sessions, remembers which one the agent is
``viewing``, and wraps the REST calls the console needs (records, canned phrases, trouble types,
statistics, the Excel export, the agent's settings, the customer page URL).

Each session with a customer gets an ``AgentSession``: the key exchange (started by itself once the
session is connected and the customer's socket is there), the SAS, the commands (camera, drawing,
chat, guidance, speakerphone, recording, the agent's camera and voice, end), what the customer's
device can do (``capabilities``) and is doing (``camera_state``), the connection figures, and the
received video and voice as aiortc tracks (``video_track()``, ``audio_track()``,
``video_packet_track()`` for remuxing).

No Qt here. Events go to ``listeners`` as ``(name, data)`` on the client's event loop; events about
a session carry its ``session_id`` and also go to that ``AgentSession``'s own listeners.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import av
import tornado.httpclient
import tornado.iostream
from aiortc.mediastreams import MediaStreamTrack
from anysupport_native import convert
from anysupport_native.framing import (
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
)

from ..api import FINAL_CLOSE_CODES, ApiError, ControlSocket, RestClient, websocket_url
from ..media.annotation import AnnotationScene, OverlayCompositor
from ..media.receiver import AudioReceiver, VideoReceiver
from ..media.sender import AudioSender, VideoSender
from ..media.sources import VideoSource
from ..media.speaker import VoiceOutput
from ..media.stamp import age_us, read_stamp
from .events import EventSource
from .media import SessionMedia
from .tracks import (
    VIDEO_TIME_BASE,
    ConnectionStats,
    MediaClock,
    ReceivedTrack,
    TrackFanout,
    audio_frame,
    video_packet,
)

log = logging.getLogger("anysupport.client.agent")

LIVE_STATES = ("offline", "online", "connected")
PING_INTERVAL = 2.0


class ReceivedFrame:
    """One decoded customer frame: its stamp (test pattern) and when it arrived and was decoded."""

    __slots__ = ("number", "capture_us", "arrival_us", "decoded_us", "width", "height", "keyframe", "sequence")

    def __init__(self, number, capture_us, arrival_us, decoded_us, width, height, keyframe, sequence):
        self.number = number
        self.capture_us = capture_us
        self.arrival_us = arrival_us
        self.decoded_us = decoded_us
        self.width = width
        self.height = height
        self.keyframe = keyframe
        self.sequence = sequence

    @property
    def latency_ms(self) -> float | None:
        return None if self.capture_us is None else age_us(self.capture_us, self.decoded_us) / 1000


# ---------------------------------------------------------------------------------------------------
class AgentSession(EventSource):
    """One session as the agent's console lives it: keys, commands, what the customer sends."""

    def __init__(self, client: AgentClient, info: dict[str, Any]):
        super().__init__()
        self.client = client
        self.id: str = info["id"]
        self.info: dict[str, Any] = dict(info)
        self.capabilities: dict[str, Any] = {}
        self.camera_state: dict[str, Any] = {}
        self.chat: list[dict[str, Any]] = []
        self.scene = AnnotationScene()  # what the agent drew (the customer keeps its own copy)
        self.compositor = OverlayCompositor(self.scene) if client.composite else None
        self.sas: str | None = None
        self.sas_display: str | None = None
        self.customer_present = bool(info.get("customer_present"))
        self.speakerphone_on = False
        self.recording_on = False
        self.agent_video_on = False
        self.frames: list[ReceivedFrame] = []  # every decoded frame, only with ``AgentClient(keep_frames=True)``
        self.frames_decoded = 0
        self.last_frame: av.VideoFrame | None = None
        self.last_received: ReceivedFrame | None = None
        self.frame_listeners: list[Callable[[av.VideoFrame, ReceivedFrame], None]] = []
        self.audio_listeners: list[Callable[[av.AudioFrame], None]] = []
        self.stats_window = ConnectionStats(clock=client.clock)
        self.clock = MediaClock()
        self._video = TrackFanout("video", maxsize=4)
        self._audio = TrackFanout("audio", maxsize=50)
        self._packets = TrackFanout("video", maxsize=120)
        self.video_sender: VideoSender | None = None
        self.audio_sender: AudioSender | None = None
        self.voice: VoiceOutput | None = None  # where the customer's voice is played (the viewed session's)
        self._keying = False
        self._keys_lost = False  # our last key_exchange never reached the customer (``peer_not_connected``)
        self.media = SessionMedia("agent", self.id, send_json=self.send, send_frame=self._send_frame,
                                  emit=self._on_media_event)
        self.media.receivers[STREAM_CUSTOMER_VIDEO] = VideoReceiver(
            STREAM_CUSTOMER_VIDEO, on_frame=self._on_customer_frame, request_keyframe=self._ask_keyframe,
            send_report=self._send_report, report_interval=client.report_interval)
        self.media.receivers[STREAM_CUSTOMER_AUDIO] = AudioReceiver(STREAM_CUSTOMER_AUDIO,
                                                                    on_audio=self._on_customer_audio)
        self.media.taps.append(self._tap)

    # -- state -----------------------------------------------------------------------------------------
    @property
    def state(self) -> str | None:
        return self.info.get("state")

    @property
    def code(self) -> str | None:
        return self.info.get("code")

    @property
    def ready(self) -> bool:
        """The end-to-end keys are agreed: media flows."""
        return self.media.ready

    @property
    def video_receiver(self) -> VideoReceiver:
        return self.media.receivers[STREAM_CUSTOMER_VIDEO]

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        data = {**(data or {}), "session_id": self.id}
        super().emit(name, data)
        self.client.emit(name, data)

    def _maybe_key(self) -> None:
        """Start the key exchange once the session is connected and the customer's socket is open."""
        if (self.state == "connected" and self.customer_present and not self._keying
                and (not self.media.ready or self._keys_lost)):
            self.rekey()

    def rekey(self) -> None:
        """A new key exchange (fresh keys and SAS), e.g. after a refused one or a restarted customer app."""
        self._keying = True
        self._keys_lost = False
        self.media.start_key_exchange()

    def _key_exchange_undelivered(self) -> None:
        """The server refused our ``key_exchange`` with ``peer_not_connected`` (the customer dropped in
        between): the message is gone, so start again, with a fresh commitment, when the customer is back
        (docs/protocol.md, "When the agent may start the key exchange")."""
        self._keying = False
        self._keys_lost = True
        self.customer_present = False

    async def wait_keys(self, timeout: float = 10.0) -> None:
        await self.wait_until(lambda: self.media.ready, timeout, "media keys")

    # -- what arrives ----------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        self._note(message)
        kind = message.get("type")
        if kind == "state":
            old_node = self.info.get("node")
            self.info.update(message.get("session") or {})
            self.info["state"] = message["state"]
            if "customer_present" in (message.get("session") or {}):
                self.customer_present = bool(message["session"]["customer_present"])
            if old_node and self.info.get("node") and self.info["node"] != old_node:
                # the session moved to another node (its node died): agree new keys once both are there
                self._keys_lost, self._keying = True, False
            self._maybe_key()
            if message["state"] == "expired":
                self._stop_senders()
                self._video.stop()
                self._audio.stop()
                self._packets.stop()
        elif kind == "peer" and message.get("peer") == "customer":
            status = message.get("status")
            self.customer_present = status in ("joined", "back")
            if status == "joined":
                self._maybe_key()
            elif status == "back":
                if self.media.ready and not self._keys_lost:
                    self._ask_keyframe("back")
                else:
                    self._keying = False
                    self._maybe_key()
        elif kind == "key_exchange":
            self.media.on_key_exchange(message)
        elif kind == "key_exchange_failed":
            self._keying = False
            self.media.on_key_exchange_failed(message)
        elif kind == "error" and message.get("error") == "peer_not_connected" and message.get("ref") == "key_exchange":
            self._key_exchange_undelivered()
        elif kind == "capabilities":
            self.capabilities = {k: v for k, v in message.items() if k not in ("type", "session_id", "from", "time")}
        elif kind == "camera_state":
            self.camera_state.update({k: v for k, v in message.items()
                                      if k not in ("type", "session_id", "from", "time")})
        elif kind == "chat":
            self.chat.append({"from": message.get("from", "customer"), "text": message.get("text", ""),
                              "time": message.get("time")})
        elif kind == "keyframe_request" and self.video_sender is not None:
            if message.get("stream", "agent_video") == "agent_video":
                self.video_sender.request_keyframe()
        elif kind == "media_report" and self.video_sender is not None and message.get("stream") == "agent_video":
            self.video_sender.report(message.get("received", 0), message.get("lost", 0), message.get("late_ms", 0))
        if kind != "key_exchange_failed":  # that one the media emitted already, with who refused
            self.emit(kind or "unknown", message)

    def _on_media_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "keys":
            self._keying = False
            self.sas, self.sas_display = data["sas"], data["sas_display"]
            self.clock.reset()
        elif name == "key_exchange_failed":
            self._keying = False
        self.emit(name, data)

    def _on_customer_frame(self, frame: av.VideoFrame, header, arrival_us: int) -> None:
        decoded_us = time.time_ns() // 1000
        frame.pts = self.clock.video_pts(header.timestamp_us)
        frame.time_base = VIDEO_TIME_BASE
        stamp = None
        if self.client.read_stamps or self.compositor is not None:
            planes = convert.planes_of(frame)
            if self.client.read_stamps:
                stamp = read_stamp(planes.y)
            if self.compositor is not None and len(self.scene):
                self.compositor.composite_i420(planes)
        record = ReceivedFrame(stamp[0] if stamp else None, stamp[1] if stamp else None, arrival_us, decoded_us,
                               frame.width, frame.height, header.keyframe, header.sequence)
        self.frames_decoded += 1
        if self.client.keep_frames:
            self.frames.append(record)
        self.last_frame, self.last_received = frame, record
        self.stats_window.decoded(record.latency_ms)
        if self._video:
            self._video.push(frame)
        for listener in list(self.frame_listeners):
            listener(frame, record)
        self._check_conditions()  # ``wait_until`` on frames: no event per frame, but the condition is re-checked

    def _on_customer_audio(self, pcm, header) -> None:
        if self.voice is not None:
            self.voice.push(header.sequence, pcm)
        frame = audio_frame(pcm, self.clock.audio_pts(header.timestamp_us))
        if self._audio:
            self._audio.push(frame)
        for listener in list(self.audio_listeners):
            listener(frame)
        self._check_conditions()

    def on_frame(self, sealed: bytes) -> None:
        self.stats_window.received(len(sealed))
        self.media.on_frame(sealed)

    def _tap(self, header, payload: bytes) -> None:
        if header.stream == STREAM_CUSTOMER_VIDEO and self._packets:
            self._packets.push(video_packet(payload, self.clock.video_pts(header.timestamp_us), header.keyframe))

    def play_voice(self, output: VoiceOutput | None) -> None:
        """Play the customer's voice on ``output`` (a started ``VoiceOutput``), or stop playing it (None)."""
        if self.voice is not None and self.voice is not output:
            self.voice.reset()
        self.voice = output

    # -- tracks ----------------------------------------------------------------------------------------
    def video_track(self, maxsize: int | None = None) -> ReceivedTrack:
        """A new track of the customer's decoded video (``av.VideoFrame``, as decoded; with
        ``AgentClient(composite=True)`` the agent's drawings are composited into it)."""
        return self._video.subscribe(maxsize)

    def audio_track(self, maxsize: int | None = None) -> ReceivedTrack:
        """A new track of the customer's decoded voice (``av.AudioFrame``, s16 mono 48 kHz, 20 ms)."""
        return self._audio.subscribe(maxsize)

    def video_packet_track(self, maxsize: int | None = None) -> ReceivedTrack:
        """A new track of the customer's H.264 access units (``av.Packet``) as received, for remuxing."""
        return self._packets.subscribe(maxsize)

    # -- sending ---------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> bool:
        return self.client.send({**message, "session_id": self.id})

    def _send_frame(self, frame: bytes) -> bool:
        return self.client.send_binary(bytes.fromhex(self.id) + frame)

    def _send_media(self, stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bool:
        return self.media.seal_and_send(stream, payload, keyframe, timestamp_us)

    def _send_report(self, report: dict[str, Any]) -> None:
        self.stats_window.late_ms = report.get("late_ms")
        self.send(report)

    def _ask_keyframe(self, reason: str = "") -> None:
        self.send({"type": "keyframe_request", "stream": "customer_video"})

    # -- commands --------------------------------------------------------------------------------------
    def camera(self, command: str, **fields: Any) -> bool:
        """``flash`` (on), ``focus`` (x, y in 0..1 of the frame), ``switch`` (facing), ``quality`` (level),
        ``video`` (on: pause/resume)."""
        return self.send({"type": "camera", "command": command, **fields})

    def flash(self, on: bool) -> bool:
        return self.camera("flash", on=on)

    def focus(self, x: float, y: float) -> bool:
        return self.camera("focus", x=x, y=y)

    def switch_camera(self, facing: str | None = None) -> bool:
        facing = facing or ("front" if self.camera_state.get("facing", "back") == "back" else "back")
        return self.camera("switch", facing=facing)

    def quality(self, level: str) -> bool:
        return self.camera("quality", level=level)

    def pause(self, paused: bool = True) -> bool:
        return self.camera("video", on=not paused)

    def annotate(self, op: str, item: dict[str, Any] | None = None, item_id: str | None = None) -> bool:
        """``add`` (item), ``update`` (item), ``remove`` (item_id), ``undo``, ``clear``."""
        message: dict[str, Any] = {"type": "annotation", "op": op}
        if item is not None:
            message["item"] = item
        if item_id is not None:
            message["id"] = item_id
        self.scene.apply(message)
        return self.send(message)

    def send_chat(self, text: str) -> bool:
        sent = self.send({"type": "chat", "text": text})
        if sent:
            self.chat.append({"from": "agent", "text": text, "time": None})
        return sent

    def guide(self, direction: str) -> bool:
        return self.send({"type": "guide", "direction": direction})

    def speakerphone(self, on: bool) -> bool:
        self.speakerphone_on = on
        return self.send({"type": "speakerphone", "on": on})

    def recording(self, on: bool) -> bool:
        self.recording_on = on
        return self.send({"type": "recording", "on": on})

    def agent_video(self, on: bool, source: VideoSource | None = None, audio: MediaStreamTrack | None = None,
                    level: str = "low") -> bool:
        """"상담원 화면 보기": the agent's camera (``source``) and voice (``audio``) on or off, told to the customer."""
        if on and source is not None and self.video_sender is None:
            self.video_sender = VideoSender(source, STREAM_AGENT_VIDEO, self._send_media, level=level,
                                            pending_bytes=lambda: self.client.pending_bytes)
            self.video_sender.ready = lambda: self.media.ready
            self.video_sender.start()
        if on and audio is not None and self.audio_sender is None:
            self.audio_sender = AudioSender(audio, STREAM_AGENT_AUDIO, self._send_media)
            self.audio_sender.ready = lambda: self.media.ready
            self.audio_sender.start()
        if self.video_sender is not None:
            self.video_sender.set_enabled(on)
        if self.audio_sender is not None:
            self.audio_sender.enabled = on
        self.agent_video_on = on
        return self.send({"type": "agent_video", "on": on})

    def end(self) -> bool:
        return self.send({"type": "end"})

    def _stop_senders(self) -> None:
        for sender in (self.video_sender, self.audio_sender):
            if sender is not None:
                asyncio.ensure_future(sender.stop())
        self.video_sender = self.audio_sender = None

    async def close(self) -> None:
        for sender in (self.video_sender, self.audio_sender):
            if sender is not None:
                await sender.stop()
        self.video_sender = self.audio_sender = None
        self._video.stop()
        self._audio.stop()
        self._packets.stop()

    # -- figures ---------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """The connection as the viewer shows it: ``bitrate_kbps``, ``fps``, ``latency_ms``, ``late_ms``,
        ``rtt_ms``, the picture's ``width``/``height`` and the receiver's counters."""
        receiver = self.video_receiver
        snapshot = self.stats_window.snapshot()
        snapshot.update(width=receiver.width, height=receiver.height, decoded=receiver.frames_decoded,
                        lost=receiver.loss.total_lost, keyframe_requests=receiver.keyframe_requests)
        return snapshot


# ---------------------------------------------------------------------------------------------------
class AgentClient(EventSource):
    """An agent's console connection: login, the live sessions, their media, the REST calls.

    ``read_stamps``: read the test pattern's stamp of every frame (glass-to-glass latency in
    ``stats()``); ``composite``: draw the agent's ``scene`` into the decoded frames (a console that
    draws its own overlay, and captures "without drawings", leaves it off); ``keep_frames``: keep a
    ``ReceivedFrame`` of every frame in ``AgentSession.frames`` (tests); ``clock``: for the figures;
    ``voice``: a started ``VoiceOutput`` on which the customer of the viewed session is heard.
    """

    side = "agent"

    def __init__(self, server_url: str, *, language: str | None = None, token: str | None = None,
                 read_stamps: bool = False, composite: bool = False, keep_frames: bool = False,
                 report_interval: float = 1.0, reconnect: bool = True, clock: Callable[[], float] | None = None,
                 voice: VoiceOutput | None = None):
        super().__init__()
        self.server_url = server_url.rstrip("/")
        self.rest = RestClient(self.server_url, token, language=language)
        self.read_stamps = read_stamps
        self.composite = composite
        self.keep_frames = keep_frames
        self.report_interval = report_interval
        self.reconnect = reconnect
        self.clock = clock or time.monotonic
        self.socket: ControlSocket | None = None
        self.agent: dict[str, Any] | None = None
        self.limits: dict[str, Any] = {}
        self.public_url: str | None = None
        self.sessions: dict[str, dict[str, Any]] = {}  # id → the agent view of every live session
        self.media: dict[str, AgentSession] = {}  # id → its AgentSession
        self.viewing: str | None = None
        self.voice = voice  # the speakers: the viewed session's customer is heard on them
        self.kicked: dict[str, Any] | None = None
        self.closed: dict[str, Any] | None = None  # why the console socket closed for good (code, reason, kicked)
        self.connected = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task | None = None
        self._pinger: asyncio.Task | None = None
        self._pings: dict[int, float] = {}
        self._ping_id = 0
        self.rtt_ms: float | None = None

    # -- login and the console socket ------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        return self.rest.token

    async def login(self, login: str, password: str, force: bool = False) -> dict[str, Any]:
        """Log in; returns the agent (``login``, ``name``, ``number``, ``role``). Raises ``ApiError``:
        ``invalid_credentials`` (401), ``account_disabled`` (403), ``already_logged_in`` (409: another console
        holds this ID; ask, then call again with ``force=True``), ``too_many_attempts`` (429, ``retry_after``)."""
        answer = await self.rest.login(login, password, force=force)
        self.agent = answer["agent"]
        return self.agent

    async def start(self, login: str | None = None, password: str | None = None, *, force: bool = False,
                    timeout: float = 10.0) -> dict[str, Any]:
        """Log in (unless a token was given), open the console socket; returns the ``hello``."""
        if login is not None:
            await self.login(login, password or "", force=force)
        if self.rest.token is None:
            raise RuntimeError("log in first (or give a token)")
        mark = self.mark()
        self.socket = await self._open()
        self._closing = False
        self.kicked = self.closed = None
        self._task = asyncio.ensure_future(self._connection_loop(self.socket))
        hello = await self.wait_for("hello", timeout, since=mark)
        self._pinger = asyncio.ensure_future(self._ping_loop())
        try:
            me = await self.rest.me()
            self.public_url = me.get("public_url")
        except ApiError as exc:
            log.warning("no customer page URL: %s", exc)
        return hello

    async def _open(self) -> ControlSocket:
        return await ControlSocket.open(websocket_url(self.server_url, "/ws"), self.rest.token)

    async def _connection_loop(self, socket: ControlSocket) -> None:
        delay = 0.25
        try:
            while True:
                await self._read(socket)
                self.connected.clear()
                if self._closing or not self.reconnect or socket.close_code in FINAL_CLOSE_CODES or self.kicked:
                    break
                self.emit("connection", {"status": "reconnecting", "code": socket.close_code})
                while not self._closing:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    try:
                        socket = await self._open()
                        break
                    except (OSError, tornado.httpclient.HTTPClientError, tornado.iostream.StreamClosedError) as exc:
                        if getattr(exc, "code", None) in (401, 403):
                            self.emit("logged_out", {"reason": "token_refused"})
                            return
                else:
                    break
                delay = 0.25
                self.socket = socket
                self.emit("connection", {"status": "back"})
        finally:
            self.connected.clear()
            self.closed = {"code": socket.close_code, "reason": socket.close_reason,
                           "kicked": (self.kicked or {}).get("reason")}
            self.emit("closed", self.closed)

    async def _read(self, socket: ControlSocket) -> None:
        async for message in socket.messages():
            if isinstance(message, bytes):
                session = self.media.get(message[:12].hex())
                if session is not None:
                    session.on_frame(message[12:])
                continue
            try:
                self.on_message(message)
            except Exception:
                log.exception("agent: control message %s not handled", message.get("type"))

    async def _ping_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(PING_INTERVAL)
            if self.socket is not None and not self.socket.closed:
                self._ping_id += 1
                self._pings = {self._ping_id: self.clock()}
                self.socket.send_json({"type": "ping", "id": self._ping_id})

    async def close(self) -> None:
        self._closing = True
        for session in list(self.media.values()):
            await session.close()
        if self._pinger is not None:
            self._pinger.cancel()
        if self.socket is not None:
            self.socket.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def logout(self) -> None:
        """Revoke the token and close the console."""
        try:
            await self.rest.logout()
        finally:
            await self.close()

    def drop_connection(self) -> None:
        """Lose the connection as a network drop would (tests use it)."""
        if self.socket is not None:
            self.socket.abort()

    def send(self, message: dict[str, Any]) -> bool:
        return self.socket is not None and self.socket.send_json(message)

    def send_binary(self, data: bytes) -> bool:
        return self.socket is not None and self.socket.send_binary(data)

    @property
    def pending_bytes(self) -> int:
        return self.socket.pending_bytes if self.socket is not None else 0

    # -- what arrives ----------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        self._note(message)
        kind = message.get("type")
        session_id = message.get("session_id")
        if kind == "hello":
            self.agent = message.get("agent") or self.agent
            self.limits = message.get("limits") or {}
            live = {s["id"]: s for s in message.get("sessions") or []}
            for gone in [sid for sid in self.sessions if sid not in live]:
                self.sessions[gone]["state"] = "expired"
            self.sessions.update(live)
            for sid, info in live.items():
                self._session(sid, info).on_message({"type": "state", "session_id": sid, "state": info["state"],
                                                     "session": info})
            self.connected.set()
            self.emit("hello", message)
            self.emit("sessions", {"sessions": self.session_list()})
            return
        if kind == "pong":
            sent = self._pings.pop(message.get("id"), None)
            if sent is not None:
                self.rtt_ms = round((self.clock() - sent) * 1000, 1)
                for session in self.media.values():
                    session.stats_window.rtt_ms = self.rtt_ms
            return
        if kind == "kicked":
            self.kicked = {"reason": message.get("reason"), "message": message.get("message", "")}
            self.emit("kicked", message)
            return
        if kind == "state" and session_id:
            info = {**self.sessions.get(session_id, {}), **(message.get("session") or {}), "state": message["state"]}
            info.setdefault("id", session_id)
            self.sessions[session_id] = info
        session = self.media.get(session_id) if session_id else None
        if session is None and session_id and session_id in self.sessions:
            session = self._session(session_id, self.sessions[session_id])
        if session is not None:
            session.on_message(message)  # emits it, with the session's id, here too
            if kind == "state":
                self.emit("sessions", {"sessions": self.session_list()})
        else:
            self.emit(kind or "unknown", message)

    def _session(self, session_id: str, info: dict[str, Any]) -> AgentSession:
        session = self.media.get(session_id)
        if session is None:
            session = self.media[session_id] = AgentSession(self, {"id": session_id, **info})
        return session

    # -- sessions --------------------------------------------------------------------------------------
    def session_list(self) -> list[dict[str, Any]]:
        """The agent's sessions, newest first (each the server's agent view, ``state`` kept live)."""
        return sorted(self.sessions.values(), key=lambda s: (s.get("created_at") or "", s.get("number") or 0),
                      reverse=True)

    def session(self, session_id: str) -> AgentSession:
        """The ``AgentSession`` of one of this agent's sessions."""
        if session_id not in self.media:
            if session_id not in self.sessions:
                raise KeyError(f"not a session of this agent: {session_id}")
            self._session(session_id, self.sessions[session_id])
        return self.media[session_id]

    async def refresh_sessions(self) -> list[dict[str, Any]]:
        """Reload the list from the server (``GET /api/v1/sessions``: live ones and those of the last day)."""
        for info in await self.rest.sessions():
            self.sessions[info["id"]] = {**self.sessions.get(info["id"], {}), **info}
        self.emit("sessions", {"sessions": self.session_list()})
        return self.session_list()

    async def create_session(self) -> AgentSession:
        """A new session with a fresh code (``state`` ``offline``)."""
        info = await self.rest.create_session()
        self.sessions[info["id"]] = {**info, **self.sessions.get(info["id"], {})}
        session = self._session(info["id"], self.sessions[info["id"]])
        self.emit("sessions", {"sessions": self.session_list()})
        return session

    async def delete_session(self, session_id: str) -> None:
        """Delete (expire) a session; its record stays."""
        await self.rest.delete_session(session_id)
        self.sessions.pop(session_id, None)
        session = self.media.pop(session_id, None)
        if session is not None:
            await session.close()
        if self.viewing == session_id:
            self.view(None)
        self.emit("sessions", {"sessions": self.session_list()})

    async def accept(self, session_id: str, *, keys: bool = True, timeout: float = 10.0) -> AgentSession:
        """Connect an ``online`` session (``session_not_online`` otherwise); with ``keys`` wait until the
        end-to-end keys are agreed (the key exchange starts by itself once the customer's socket is there)."""
        session = self.session(session_id)
        await self.rest.connect_session(session_id)
        await session.wait_until(lambda: session.state == "connected", timeout, "state connected")
        if keys:
            await session.wait_keys(timeout)
        return session

    def view(self, session_id: str | None) -> None:
        """The session the agent is looking at now (the viewer's); emits ``viewing``."""
        if session_id is not None and session_id not in self.sessions:
            raise KeyError(f"not a session of this agent: {session_id}")
        previous = self.viewed
        self.viewing = session_id
        if previous is not None and previous.id != session_id:
            previous.play_voice(None)
        if session_id is not None and self.voice is not None:
            self.session(session_id).play_voice(self.voice)
        self.emit("viewing", {"session_id": session_id})

    def set_voice(self, output: VoiceOutput | None) -> None:
        """Play the viewed session's customer on ``output`` from now on (None: on nothing)."""
        self.voice = output
        if self.viewed is not None:
            self.viewed.play_voice(output)

    @property
    def viewed(self) -> AgentSession | None:
        return self.media.get(self.viewing) if self.viewing else None

    # -- settings and the customer page ----------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return dict((self.agent or {}).get("settings") or {})

    async def set_auto_connect(self, on: bool) -> dict[str, Any]:
        """"Online이면 자동 연결": the server connects a joining customer at once while the console is open."""
        return await self.update_settings(auto_connect=on)

    async def update_settings(self, **settings: Any) -> dict[str, Any]:
        self.agent = await self.rest.update_settings(**settings)
        self.emit("settings", self.settings)
        return self.settings

    async def customer_page_url(self) -> str:
        """The URL customers open to enter the code (the admin's setting, else the server's own address)."""
        if not self.public_url:
            self.public_url = (await self.rest.me()).get("public_url") or self.server_url
        return self.public_url

    # -- records, phrases, trouble types, statistics ---------------------------------------------------
    async def record(self, session_id: str) -> dict[str, Any]:
        return await self.rest.record(session_id)

    async def save_record(self, session_id: str, **fields: Any) -> dict[str, Any]:
        """Save the support record (``customer_name``, ``email``, ``phone``, ``trouble_type``, ``content``,
        ``resolution``); ``ApiError`` ``invalid_field`` names the ``field`` refused."""
        return await self.rest.put_record(session_id, **fields)

    async def records(self, day_from: str | None, day_to: str | None, **query: Any) -> list[dict[str, Any]]:
        return await self.rest.records(day_from, day_to, **query)

    async def phrases(self) -> list[dict[str, Any]]:
        return await self.rest.phrases()

    async def add_phrase(self, text: str, shortcut: str | None = None) -> dict[str, Any]:
        return await self.rest.add_phrase(text, shortcut=shortcut)

    async def update_phrase(self, phrase_id: str, **changes: Any) -> dict[str, Any]:
        return await self.rest.update_phrase(phrase_id, **changes)

    async def delete_phrase(self, phrase_id: str) -> None:
        await self.rest.delete_phrase(phrase_id)

    async def reorder_phrases(self, phrase_ids: list[str]) -> list[dict[str, Any]]:
        """Put the phrases in this order (only those whose place changed are written); returns the list."""
        current = {p["id"]: p for p in await self.rest.phrases()}
        for order, phrase_id in enumerate(phrase_ids):
            if phrase_id in current and current[phrase_id].get("order") != order:
                await self.rest.update_phrase(phrase_id, order=order)
        return await self.rest.phrases()

    async def trouble_types(self) -> list[dict[str, Any]]:
        return await self.rest.trouble_types()

    async def statistics(self, day_from: str | None, day_to: str | None, *, lang: str | None = None) -> dict[str, Any]:
        return await self.rest.statistics(day_from, day_to, lang=lang)

    async def export(self, day_from: str | None, day_to: str | None, dest: str, *, lang: str | None = None,
                     progress: Callable[[int, int | None], None] | None = None) -> str:
        """The records and statistics of the period as an .xlsx file at ``dest``; ``progress(bytes, total)``."""
        await self.rest.export(day_from, day_to, dest, lang=lang, progress=progress)
        return dest


__all__ = ["AgentClient", "AgentSession", "ReceivedFrame"]
