"""The customer (mobile) client's session: join with the code, one WebSocket, the agent's commands.

``CustomerSession`` joins with the code, holds one connection (a ``ReconnectingSocket``: it comes
back with the same token after a drop, within the server's grace, and follows ``moved``), obeys the agent's commands on the camera source, keeps the annotation scene and the
chat, sends video (and voice while the agent's video is on), receives the agent's video and voice,
and runs the survey at the end. No Qt: windows and the headless runner listen to its events
(``listeners``, called on the session's event loop as ``(name, data)``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import av
from anysupport_native import group
from anysupport_native.framing import (
    FLAG_KEYFRAME,
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
    unpack_header,
)
from anysupport_native.keys import format_sas

from anysupport.protocol.vocabulary import PEER_HANDED_OVER

from ..api import ControlSocket, RestClient, websocket_url
from ..media.adaptation import Adapter
from ..media.anchored import CustomerAnchors, sent_picture
from ..media.annotation import AnnotationScene, OverlayCompositor, TextRenderer
from ..media.quality import LEVELS, Quality
from ..media.receiver import AudioReceiver, VideoReceiver
from ..media.sender import AudioSender, VideoSender
from ..media.sources import VideoSource
from ..media.speaker import VoiceOutput
from .connection import OPEN_ERRORS, ReconnectingSocket
from .events import EventSource
from .group_media import SEALED_TYPES
from .media import SessionMedia
from .privacy import VideoDecision, video_after

log = logging.getLogger("anysupport.client")

NOTSENT_LOWAT = 16384  # bytes the kernel may hold unsent: the rest waits where the sender counts it
START_PINGS = 3  # pings back to back when the socket opens, before the first report
PING_INTERVAL = 5.0  # seconds; the round trip sets the adaptation's thresholds and the ack clock's window


class CustomerSession(EventSource):
    side = "customer"

    def __init__(self, server_url: str, *, video: VideoSource, audio=None, level: str = "medium",
                 language: str = "ko", name: str | None = None, text_renderer: TextRenderer | None = None,
                 adapter: Adapter | None = None, reconnect_grace: float = 30.0, audio_output: bool = False,
                 send_buffer: int | None = None, notsent_lowat: int | None = NOTSENT_LOWAT,
                 voice: VoiceOutput | None = None, versions: tuple[int, ...] = (1, 2)):
        super().__init__()
        # the media-frame versions said in ``capabilities``: (1,) stands for a client that speaks only
        # version 1 (an older app: its calls stay two-party and are not sealed from the start)
        self.versions = list(versions)
        self.server_url = server_url.rstrip("/")
        self.rest = RestClient(self.server_url, language=language)
        self.connection = ReconnectingSocket(on_message=self._received, on_frame=self._frame_arrived,
                                             on_status=self._connection_status, over=self._done,
                                             grace=reconnect_grace, send_buffer=send_buffer,
                                             notsent_lowat=notsent_lowat, ping_interval=PING_INTERVAL,
                                             on_video_dropped=self._video_went_stale)
        self.language = language
        self.name = name
        self.source = video
        self.audio_source = audio
        self.audio_output = audio_output
        self.voice = voice  # plays the agent's voice (None: received voice is decoded and dropped)
        self.voice_on: bool | None = None  # whether the output opened (None: not tried yet)
        self.session_id: str | None = None
        self.token: str | None = None
        self.state: str | None = None
        self.agent_name: str | None = None
        self.media: SessionMedia | None = None
        self.scene = AnnotationScene()
        self.anchors = CustomerAnchors(self.scene)  # drawings that stay on the object (issue 20)
        self.compositor = OverlayCompositor(self.anchors.shown, text_renderer=text_renderer)
        self.chat: list[dict[str, Any]] = []
        self.guide: str | None = None
        self.speakerphone = False
        self.video_paused_by: str | None = None  # privacy.video_after: the customer's stop wins
        self._focus_answer: dict[str, Any] | None = None  # sent once, in the camera_state after a focus command
        self.recording = False
        self.agent_video = False
        self.agent_frame: av.VideoFrame | None = None
        self.last_preview: av.VideoFrame | None = None
        self.survey: dict[str, Any] | None = None
        self.survey_answer: str | None = None
        self.sas: str | None = None
        self.participants: list[dict[str, Any]] = []  # who is present (issue 21: ``participants``)
        self.finished = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._voice_task: asyncio.Task | None = None
        self.video_sender = VideoSender(
            video, STREAM_CUSTOMER_VIDEO, self._send_media, level=level, adapter=adapter,
            pending_bytes=lambda: self.connection.pending_bytes,
            on_preview=self._preview, on_quality=self._quality_changed,
        )
        self.video_sender.ready = self._media_ready
        self.audio_sender = AudioSender(audio, STREAM_CUSTOMER_AUDIO, self._send_media) if audio is not None else None
        if self.audio_sender is not None:
            self.audio_sender.ready = self._media_ready

    # -- life cycle ----------------------------------------------------------------------------------
    async def join(self, code: str, **customer: Any) -> dict[str, Any]:
        fields = {k: v for k, v in customer.items() if v}
        if self.name and "name" not in fields:
            fields["name"] = self.name
        answer = await self.rest.join(code, **fields)
        self.session_id = answer["session_id"]
        self.token = answer["token"]
        self.ws_url = websocket_url(self.server_url, answer["ws_url"])
        self.state = "online"
        self.emit("joined", {"session_id": self.session_id})
        return answer

    def resume(self, session_id: str, token: str, ws_url: str = "/ws") -> None:
        """Use a session joined elsewhere (the customer page hands over its token in the app link)."""
        self.session_id = session_id
        self.token = token
        self.ws_url = websocket_url(self.server_url, ws_url)

    async def start(self, code: str | None = None, **customer: Any) -> None:
        """Join (when given the code), open the socket and start the media; returns once connected to the server."""
        if code is not None:
            await self.join(code, **customer)
        if self.token is None:
            raise RuntimeError("join first")
        self.connection.token = self.token
        try:
            await self.connection.start()
        except OPEN_ERRORS as exc:
            log.warning("cannot connect: %s", exc)
            await self._over()
            raise ConnectionError(str(exc)) from exc
        self.video_sender.request_keyframe()
        self.connection.ping()  # the round trip before the first picture: a slow link starts the video low
        self._task = asyncio.ensure_future(self._stay_connected())
        if self.voice is not None and not self.voice.running:
            self._voice_task = asyncio.ensure_future(self._start_voice())  # a waking device must not hold up video
        self.video_sender.start()
        if self.audio_sender is not None:
            self.audio_sender.start()

    async def _start_voice(self) -> None:
        self.voice_on = await asyncio.to_thread(self.voice.start)
        self.emit("voice", {"on": self.voice_on, "error": self.voice.error})

    async def close(self) -> None:
        self.connection.close()
        await self.video_sender.stop()
        if self.audio_sender is not None:
            await self.audio_sender.stop()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        self.source.stop()
        if self.audio_source is not None:
            self.audio_source.stop()
        if self.voice is not None:
            if self._voice_task is not None:
                await asyncio.gather(self._voice_task, return_exceptions=True)
            await asyncio.to_thread(self.voice.stop)
        self.finished.set()

    def drop_connection(self, *, reconnect: bool = True) -> None:
        """Lose the connection as a network drop would (tests and the load generator use it); with
        ``reconnect=False`` as a killed app would: no goodbye, and no coming back."""
        self.connection.abort(reconnect=reconnect)

    @property
    def socket(self) -> ControlSocket | None:
        """The session's open WebSocket (None while away)."""
        return self.connection.socket

    @property
    def ws_url(self) -> str | None:
        """Where the socket connects: the join's ``ws_url``, then the node ``hello`` or ``moved`` names."""
        return self.connection.url

    @ws_url.setter
    def ws_url(self, url: str) -> None:
        self.connection.url = url

    @property
    def reconnects(self) -> int:
        return self.connection.reconnects

    async def _stay_connected(self) -> None:
        try:
            await self.connection.run()
        finally:
            await self._over()

    async def _over(self) -> None:
        await self.video_sender.stop()
        if self.audio_sender is not None:
            await self.audio_sender.stop()
        self.finished.set()
        self.emit("closed", {"state": self.state})

    def _connection_status(self, status: str, data: dict[str, Any]) -> None:
        if status == "reconnecting":
            log.info("connection lost (%s); reconnecting", data.get("code"))
            self.emit("connection", {"status": "reconnecting"})
        elif status == "back":
            self.emit("connection", {"status": "back"})
            self.video_sender.reconnected()
            self.connection.ping()

    def _done(self) -> bool:
        return self.state == "expired" and (self.survey is None or self.survey_answer is not None)

    def _received(self, message: dict[str, Any]) -> None:
        self._note(message)
        self.on_message(message)

    def _frame_arrived(self, frame: bytes) -> None:
        if self.media is not None:
            self.media.on_frame(frame)

    # -- sending ---------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> bool:
        if message.get("type") in SEALED_TYPES and self.media is not None and self.media.group.ready:
            message = self.media.group.seal_control(message)  # version 2: the server reads none of it
        return self.connection.send_json(message)

    def _send_media(self, stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bool:
        if stream == STREAM_CUSTOMER_VIDEO and self.last_preview is not None and self.media is not None:
            # the frame being sent (the sender previews each frame just before it encodes it), kept for anchors
            q = self.video_sender.quality
            self.anchors.sent(timestamp_us, sent_picture(self.last_preview, q.width, q.height))
        return self.media is not None and self.media.seal_and_send(stream, payload, keyframe, timestamp_us)

    def _send_frame(self, frame: bytes) -> bool:
        if frame[0] == group.VERSION:  # version 2: the kind says video, the flags a keyframe
            video, keyframe = frame[1] == group.KIND_VIDEO, bool(frame[2] & group.FLAG_KEYFRAME)
        else:
            header = unpack_header(frame)
            video, keyframe = header.stream == STREAM_CUSTOMER_VIDEO, bool(header.flags & FLAG_KEYFRAME)
        return self.connection.send_binary(frame, video=video, keyframe=keyframe)

    def _video_went_stale(self, count: int) -> None:
        # the receiver lost a reference: start again from an IDR. Not trouble: a TCP retransmission
        # stall makes frames stale with no congestion at all; a backlog shows in the ack clock
        self.video_sender.dropped_here(count)

    def _media_ready(self) -> bool:
        return (self.state == "connected" and self.connection.socket is not None and self.media is not None
                and self.media.ready)

    def _ensure_media(self) -> SessionMedia:
        if self.media is None:
            self.media = SessionMedia("customer", self.session_id, send_json=self.send, send_frame=self._send_frame,
                                      emit=self._media_said)
            self.media.receivers[STREAM_AGENT_VIDEO] = VideoReceiver(
                STREAM_AGENT_VIDEO, on_frame=self._agent_frame,
                request_keyframe=lambda reason: self.send({"type": "keyframe_request", "stream": "agent_video"}),
                send_report=self.send)
            self.media.receivers[STREAM_AGENT_AUDIO] = AudioReceiver(
                STREAM_AGENT_AUDIO, on_audio=self.voice.on_audio if self.voice is not None else None)
        return self.media

    def _media_said(self, name: str, data: dict[str, Any]) -> None:
        if name == "keys":
            self.sas = data["sas_display"]
            self.video_sender.request_keyframe()
        elif name in ("pair_keys", "group_epoch"):  # a new key or a new receiver: start with a keyframe
            self.video_sender.request_keyframe()
        self.emit(name, data)

    # -- what we tell the agent ------------------------------------------------------------------------
    def capabilities(self) -> dict[str, Any]:
        caps = self.source.capabilities()
        return {"type": "capabilities", "flash": caps["flash"], "focus": caps["focus"], "cameras": caps["cameras"],
                "audio": self.audio_source is not None, "speakerphone": self.audio_output,
                "qualities": list(LEVELS), "device": caps.get("device", "")[:200], "versions": self.versions}

    def camera_state(self) -> dict[str, Any]:
        q = self.video_sender.quality
        return {"type": "camera_state", "flash": self.source.flash, "facing": self.source.facing,
                "quality": self.video_sender.level, "video": self.video_sender.enabled,
                "speakerphone": self.speakerphone, "width": q.width, "height": q.height,
                **({"video_paused_by": self.video_paused_by} if self.video_paused_by else {}),
                **({"focus": self._focus_answer} if self._focus_answer else {})}

    def _send_camera_state(self) -> None:
        if self.state == "connected":
            self.send(self.camera_state())
        self.emit("camera_state", self.camera_state())

    def _quality_changed(self, quality: Quality) -> None:
        self._send_camera_state()

    # -- what arrives ----------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(message)
        else:
            self.emit(kind or "unknown", message)

    def _enter_state(self, state: str, reason: str | None = None) -> None:
        previous, self.state = self.state, state
        if state == "connected":
            self._ensure_media()
            self.emit("capabilities", self.capabilities())
            self.send(self.capabilities())
            self.send(self.camera_state())
        if state != previous:
            self.emit("state", {"state": state, "reason": reason})

    def _on_hello(self, message: dict[str, Any]) -> None:
        session = message.get("session") or {}
        if message.get("ws_url"):  # several nodes: the one holding the session now, for the next reconnection
            self.ws_url = websocket_url(self.server_url, message["ws_url"])
        self.session_id = message.get("session_id") or self.session_id
        self.agent_name = session.get("agent_name")
        self._enter_state(session.get("state", self.state or "online"))
        self._ask_keys()

    def _ask_keys(self) -> None:
        """Connected without media keys (restarted with the token mid-call, or keys never agreed on the
        socket before): ask the agent for a fresh exchange (docs/protocol.md, "A customer without keys")."""
        if self.state == "connected" and not (self.media is not None and self.media.ready):
            self.send({"type": "key_exchange_failed", "reason": "no_keys"})

    def _on_state(self, message: dict[str, Any]) -> None:
        self._enter_state(message["state"], message.get("reason"))

    def _on_peer(self, message: dict[str, Any]) -> None:
        if message.get("peer") == "agent" and message.get("status") == "back" and self.state == "connected":
            self.send(self.capabilities())
            self.send(self.camera_state())
            self.video_sender.request_keyframe()
            self._ask_keys()
        elif message.get("status") == PEER_HANDED_OVER and self.state == "connected":
            # another agent took the call over (docs/protocol.md, "Handing a session over"): its console has
            # seen nothing of ours yet, and its key exchange follows (a new security code, shown as changed)
            self.agent_name = message.get("name") or self.agent_name
            self.send(self.capabilities())
            self.send(self.camera_state())
        self.emit("peer", message)

    def _on_moved(self, message: dict[str, Any]) -> None:
        """The session lives on another node: the socket closes (4004) and the connection goes there at once."""
        self.connection.follow(websocket_url(self.server_url, message["ws_url"]))
        self.emit("moved", {"ws_url": self.ws_url})

    def _on_key_exchange(self, message: dict[str, Any]) -> None:
        if message.get("version") == 2 and "from_index" in message:  # a pair of a version-2 session
            self._ensure_media().group.on_key_exchange(message)
            return
        self._ensure_media().on_key_exchange(message)

    # -- version 2 (issue 21): who is present, and the keys of a session of more than two ------------------
    def _on_participants(self, message: dict[str, Any]) -> None:
        self.participants = list(message.get("participants") or ())
        self._ensure_media().group.on_participants(message)
        self.emit("participants", {"participants": self.participants, "version": message.get("version")})

    def _on_sender_key(self, message: dict[str, Any]) -> None:
        for inner in self._ensure_media().group.on_sender_key(message):  # sealed messages that waited for this key
            self.on_message(inner)

    def _on_sealed(self, message: dict[str, Any]) -> None:
        inner = self._ensure_media().group.open_control(message)
        if inner is not None:
            self.on_message(inner)  # as if relayed in the clear

    @property
    def pair_sas(self) -> dict[int, str]:
        """Each pair's security code by the other participant's index (version 2)."""
        return dict(self.media.group.sas) if self.media is not None else {}

    @property
    def agent_index(self) -> int:
        """The session's agent's index: 1, or the one a hand-over in version 2 gave the new agent."""
        return next((p["index"] for p in self.participants if p.get("role") == "agent"), 1)

    @property
    def agent_code(self) -> str | None:
        """The security code to compare with the agent's, as shown ("692 352"): once the session speaks
        version 2, that of my pair with the session's agent, else the version-1 one; None before any."""
        if self.media is not None and self.media.group.active:
            code = self.media.group.sas.get(self.agent_index)
            return format_sas(code) if code else None
        return self.sas

    def _on_key_exchange_failed(self, message: dict[str, Any]) -> None:
        self._ensure_media().on_key_exchange_failed(message)

    def _on_camera(self, message: dict[str, Any]) -> None:
        command = message["command"]
        if command == "flash":
            self.source.set_flash(message["on"])
        elif command == "focus":
            applied = bool(self.source.set_focus(message["x"], message["y"]))
            self._focus_answer = {"x": message["x"], "y": message["y"], "applied": applied}
        elif command == "switch":
            if self.source.switch(message["facing"]):
                self.video_sender.request_keyframe()
                self.anchors.camera_switched()
        elif command == "quality":
            self.video_sender.set_level(message["level"])
        elif command == "video":
            if self._video(message["on"], by="agent").requested:
                self.emit("video_request", {})
        self.emit("camera", message)
        self._send_camera_state()
        self._focus_answer = None

    def _on_speakerphone(self, message: dict[str, Any]) -> None:
        self.speakerphone = bool(message["on"])
        self.emit("speakerphone", {"on": self.speakerphone})
        self._send_camera_state()

    def _on_agent_video(self, message: dict[str, Any]) -> None:
        self.agent_video = bool(message["on"])
        if not self.agent_video:
            self.agent_frame = None
        if self.audio_sender is not None:
            self.audio_sender.enabled = self.agent_video  # the voice call is on while the agent's video is
        if self.voice is not None and not self.agent_video:
            self.voice.reset()  # nothing stale when the call comes back
        self.emit("agent_video", {"on": self.agent_video})

    def _on_recording(self, message: dict[str, Any]) -> None:
        self.recording = bool(message["on"])
        self.emit("recording", {"on": self.recording})

    def _on_chat(self, message: dict[str, Any]) -> None:
        self.chat.append({"from": message.get("from", "agent"), "text": message["text"], "time": message.get("time")})
        self.emit("chat", message)

    def _on_guide(self, message: dict[str, Any]) -> None:
        self.guide = message["direction"]
        self.emit("guide", message)

    def _on_annotation(self, message: dict[str, Any]) -> None:
        replaced = [(message.get("item") or {}).get("id")] if message.get("op") == "add" else []
        gone = replaced or self.scene.taken(message)  # undo and clear: the sender's own drawings only
        if self.scene.apply(message):
            self.anchors.annotated(gone)
            self.emit("annotation", {"items": len(self.scene)})

    def _on_anchor(self, message: dict[str, Any]) -> None:
        self.anchors.received(message)

    def _on_keyframe_request(self, message: dict[str, Any]) -> None:
        if message.get("stream", "customer_video") != "customer_video":
            return
        self.video_sender.request_keyframe()
        if message.get("from") == "server":
            self.video_sender.trouble(message.get("reason", "relay_dropped"))

    def _on_media_report(self, message: dict[str, Any]) -> None:
        if message.get("stream") == "customer_video":
            self.video_sender.report(message.get("received", 0), message.get("lost", 0), message.get("late_ms", 0.0),
                                     message.get("bytes"), message.get("last_us"))

    def _on_pong(self, message: dict[str, Any]) -> None:
        if self.connection.rtt_ms is not None:
            self.video_sender.round_trip(self.connection.rtt_ms)
            if self.video_sender.adapter.reports == 0 and self.connection.pings_sent < START_PINGS:
                self.connection.ping()  # the start's round trip is the least of a few: one may meet a busy server

    def _on_error(self, message: dict[str, Any]) -> None:
        if message.get("error") == "frame_dropped" and message.get("field") in ("rate", "too_large"):
            self.video_sender.trouble(f"relay {message['field']}")
        self.emit("error", message)

    def _on_survey(self, message: dict[str, Any]) -> None:
        self.survey = message
        self.emit("survey", message)

    def _on_survey_saved(self, message: dict[str, Any]) -> None:
        self.emit("survey_saved", message)
        self.connection.close()

    # -- media in and out ------------------------------------------------------------------------------
    def _preview(self, frame: av.VideoFrame) -> None:
        self.last_preview = frame
        self.emit("preview", {"frame": frame})

    def _agent_frame(self, frame: av.VideoFrame, header, arrival_us: int) -> None:
        if self.agent_video:
            self.agent_frame = frame
            self.emit("agent_frame", {"frame": frame})

    def preview_rgb(self, frame: av.VideoFrame | None = None):
        """The camera preview as RGB24 with the agent's drawings composited, or None before the first frame."""
        frame = frame or self.last_preview
        if frame is None:
            return None
        rgb = frame.to_ndarray(format="rgb24")
        return self.compositor.composite_rgb(rgb)

    # -- what the user does ----------------------------------------------------------------------------
    def set_video(self, on: bool) -> None:
        self._video(on, by="customer")
        self._send_camera_state()

    def _video(self, wanted: bool, *, by: str) -> VideoDecision:
        decision = video_after(self.video_paused_by, wanted=wanted, by=by)
        self.video_sender.set_enabled(decision.on)
        self.video_paused_by = decision.paused_by
        return decision

    def set_flash(self, on: bool) -> None:
        self.source.set_flash(on)
        self._send_camera_state()

    def set_speakerphone(self, on: bool) -> None:
        self.speakerphone = on
        self._send_camera_state()

    def switch_camera(self, facing: str | None = None) -> None:
        facing = facing or ("front" if self.source.facing == "back" else "back")
        if self.source.switch(facing):
            self.video_sender.request_keyframe()
            self.anchors.camera_switched()
        self._send_camera_state()

    def send_chat(self, text: str) -> None:
        if self.send({"type": "chat", "text": text}):
            self.chat.append({"from": "customer", "text": text, "time": None})

    def end(self, reason: str | None = None) -> None:
        self.send({"type": "end", **({"reason": reason} if reason else {})})

    def answer_survey(self, answer: str, feedback: str | None = None) -> None:
        self.survey_answer = answer
        self.send({"type": "survey", "answer": answer, **({"feedback": feedback} if feedback else {})})

    def stats(self) -> dict[str, Any]:
        stats = {"state": self.state, "video": self.video_sender.stats(), "reconnects": self.reconnects}
        if self.media is not None:
            stats["agent_video"] = self.media.receivers[STREAM_AGENT_VIDEO].stats()
        return stats


__all__ = ["CustomerSession"]
