"""One session as the agent's console lives it: keys, commands, what the customer sends.

``AgentSession`` belongs to an ``AgentClient`` (the console's connection, ``agent_client.py``), which
hands it the control messages and sealed frames of its session. It holds the session's
``KeyNegotiation`` with the customer (``keying.py``) and carries out what it decides (the key exchange
itself is ``SessionMedia``'s), the SAS, the commands (camera, drawing, chat, guidance, speakerphone,
recording, the agent's camera and voice, end), what the customer's device can do (``capabilities``)
and is doing (``camera_state``), the connection figures, and the received video and voice as aiortc
tracks (``video_track()``, ``audio_track()``, ``video_packet_track()`` for remuxing).

Control messages are dispatched to ``_on_<type>`` methods; every one is then emitted (with the
session's id) to this session's listeners and the client's, except ``key_exchange_failed``, which the
media emits with who refused. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av
from aiortc.mediastreams import MediaStreamTrack
from anysupport_native import convert
from anysupport_native.framing import (
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
)
from anysupport_native.keys import format_sas

from ..media.annotation import AnnotationScene, OverlayCompositor, well_formed
from ..media.receiver import AudioReceiver, VideoReceiver
from ..media.sender import AudioSender, VideoSender
from ..media.sources import VideoSource
from ..media.speaker import VoiceOutput
from ..media.stamp import age_us, read_stamp
from .events import EventSource
from .group_media import SEALED_TYPES
from .keying import KeyNegotiation, KeyStep
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

if TYPE_CHECKING:
    from .agent_client import AgentClient

log = logging.getLogger("anysupport.client.agent")

_NOT_FIELDS = ("type", "session_id", "from", "time")  # a relayed message's envelope, not what it says


class ReceivedFrame:
    """One decoded customer frame: its stamp (test pattern) and when it arrived and was decoded.

    ``timestamp_us`` is the frame header's (the customer's capture time, which an ``anchor`` names)."""

    __slots__ = ("number", "capture_us", "arrival_us", "decoded_us", "width", "height", "keyframe", "sequence",
                 "timestamp_us")

    def __init__(self, number, capture_us, arrival_us, decoded_us, width, height, keyframe, sequence,
                 timestamp_us=None):
        self.number = number
        self.capture_us = capture_us
        self.arrival_us = arrival_us
        self.decoded_us = decoded_us
        self.width = width
        self.height = height
        self.keyframe = keyframe
        self.sequence = sequence
        self.timestamp_us = timestamp_us

    @property
    def latency_ms(self) -> float | None:
        return None if self.capture_us is None else age_us(self.capture_us, self.decoded_us) / 1000


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
        self.scene = AnnotationScene()  # what the agent drew, and the other full-rights participants (issue 21)
        self.compositor = OverlayCompositor(self.scene) if client.composite else None
        self.sas: str | None = None
        self.sas_display: str | None = None
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
        self._pending_rekey: asyncio.TimerHandle | None = None
        self.negotiation = KeyNegotiation("customer", connected=info.get("state") == "connected",
                                          present=bool(info.get("customer_present")), node=info.get("node"))
        self.media = SessionMedia("agent", self.id, send_json=self.send, send_frame=self._send_frame,
                                  emit=self._media_said, monotonic=client.clock)
        self.media.receivers[STREAM_CUSTOMER_VIDEO] = VideoReceiver(
            STREAM_CUSTOMER_VIDEO, on_frame=self._customer_frame, request_keyframe=self._ask_keyframe,
            send_report=self._send_report, report_interval=client.report_interval)
        self.media.receivers[STREAM_CUSTOMER_AUDIO] = AudioReceiver(STREAM_CUSTOMER_AUDIO,
                                                                    on_audio=self._customer_audio)
        self.media.taps.append(self._tap)
        self.participants: list[dict[str, Any]] = []  # who is present (issue 21: ``participants``)
        self.removed = False  # this agent was removed from the session (a guest): nothing more opens

    # -- state -----------------------------------------------------------------------------------------
    @property
    def state(self) -> str | None:
        return self.info.get("state")

    @property
    def code(self) -> str | None:
        return self.info.get("code")

    @property
    def customer_present(self) -> bool:
        """The customer's socket is open (what we send reaches it)."""
        return self.negotiation.present

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

    # -- keys ------------------------------------------------------------------------------------------
    def rekey(self) -> None:
        """A new key exchange (fresh keys and SAS), e.g. after a refused one or a restarted customer app."""
        self._carry_out(self.negotiation.rekey())

    def _carry_out(self, step: KeyStep | None, message: dict[str, Any] | None = None) -> None:
        """Do what the key negotiation decided."""
        if step is KeyStep.REKEY:
            wait = self.media.start_key_exchange()
            if wait > 0:  # new keys too soon after the last (RekeyLimit): the exchange starts when allowed
                log.info("session %s: new keys again in %.1f s (re-key limit)", self.id, wait)
                self._rekey_later(wait)
        elif step is KeyStep.RESUME:
            self._ask_keyframe("back")
        elif step is KeyStep.FAIL:
            self.media.on_key_exchange_failed(message or {})
            retry = (message or {}).get("retry_after")
            if (message or {}).get("reason") == "rekey_limit" and isinstance(retry, int):
                self._rekey_later(retry + 0.5)  # the customer allows new keys again then

    def _rekey_later(self, seconds: float) -> None:
        """One pending re-key at a time: a later one replaces it."""
        if self._pending_rekey is not None:
            self._pending_rekey.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending_rekey = loop.call_later(seconds, self._rekey_when_due)

    def _rekey_when_due(self) -> None:
        self._pending_rekey = None
        if self.negotiation.connected and self.negotiation.present:
            self.rekey()

    async def wait_keys(self, timeout: float = 10.0) -> None:
        await self.wait_until(lambda: self.media.ready, timeout, "media keys")

    # -- what arrives ----------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        self._note(message)
        kind = message.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(message)
        if kind != "key_exchange_failed":  # that one the media emitted already, with who refused
            self.emit(kind or "unknown", message)

    def _on_state(self, message: dict[str, Any]) -> None:
        session = message.get("session") or {}
        self.info.update(session)
        self.info["state"] = message["state"]
        present = bool(session["customer_present"]) if "customer_present" in session else None
        if not self.info.get("guest"):  # an invited agent never runs the version-1 exchange with the customer
            self._carry_out(self.negotiation.state(message["state"], present=present, node=session.get("node")))
        if message["state"] == "expired":
            self._stop_senders()
            self._video.stop()
            self._audio.stop()
            self._packets.stop()

    def _on_peer(self, message: dict[str, Any]) -> None:
        if message.get("peer") == "customer":
            self._carry_out(self.negotiation.peer_status(message.get("status", "")))

    def _on_key_exchange(self, message: dict[str, Any]) -> None:
        if message.get("version") == 2 and "from_index" in message:  # a pair of a version-2 session
            self.media.group.on_key_exchange(message)
            return
        self.media.on_key_exchange(message)

    # -- version 2 (issue 21) --------------------------------------------------------------------------
    @property
    def index(self) -> int | None:
        """My participant index in this session, once ``participants`` said it (the session's agent: 1, or the
        index a hand-over in version 2 gave it)."""
        return self.media.group.me

    @property
    def pair_sas(self) -> dict[int, str]:
        """Each pair's security code by the other participant's index (version 2)."""
        return dict(self.media.group.sas)

    @property
    def customer_code(self) -> str | None:
        """The security code to compare with the customer's, as shown ("692 352"): once the session speaks
        version 2, that of my pair with the customer (index 0; the version-1 keys are then unused), else the
        version-1 one; None before any."""
        if self.media.group.active:
            code = self.media.group.sas.get(0)
            return format_sas(code) if code else None
        return self.sas_display

    def _on_participants(self, message: dict[str, Any]) -> None:
        self.participants = list(message.get("participants") or ())
        self.media.group.on_participants(message)

    def _on_sender_key(self, message: dict[str, Any]) -> None:
        for inner in self.media.group.on_sender_key(message):  # sealed messages that waited for this key
            self.on_message(inner)

    def _on_sealed(self, message: dict[str, Any]) -> None:
        inner = self.media.group.open_control(message)
        if inner is not None:
            self.on_message(inner)  # as if relayed in the clear: handled and emitted alike

    def _on_annotation(self, message: dict[str, Any]) -> None:
        """Another full-rights participant's drawing (version 2, sealed: the server cannot check it, so it is
        checked here as the server's schema checks a console's, ``well_formed``): kept in the scene under its sender
        (``AnnotationScene.apply_peer``), drawn over the picture with mine; ``peer_annotation`` says which
        drawings it took away. Version 1 sends the console none."""
        if not isinstance(message.get("from_index"), int) or message.get("from_index") == self.index:
            return
        if not well_formed(message):
            log.warning("session %s: a malformed drawing of participant %s refused", self.id, message["from_index"])
            return
        gone = self.scene.apply_peer(message, self.index)
        if gone is not None:
            self.emit("peer_annotation", {"from_index": message["from_index"], "op": message.get("op"), "gone": gone})

    def _on_removed(self, message: dict[str, Any]) -> None:
        self.removed = True
        self.media.group.removed()
        self._stop_senders()

    async def remove_participant(self, index: int) -> None:
        """Remove an invited participant (the session's agent or an administrator; or leave, a guest)."""
        await self.client.remove_participant(self.id, index)

    def _on_key_exchange_failed(self, message: dict[str, Any]) -> None:
        if "from_index" in message and self.media.group.active:  # a pair of a version-2 session
            if message.get("reason") == "no_keys":  # the peer has no pair with me (a reloaded page)
                self.media.group.on_no_keys(message)
                return
            wait = self.media.group.on_key_exchange_failed(message)  # refused
            if wait is not None:
                with contextlib.suppress(RuntimeError):  # no running loop: nothing to retry on
                    asyncio.get_running_loop().call_later(wait + 0.2, self.media.group.retry_pair,
                                                          message["from_index"])
            return
        step = self.negotiation.peer_refused(message.get("reason", ""))
        if message.get("reason") == "no_keys":
            if step is KeyStep.REKEY:
                log.info("session %s: the customer has no media keys; new key exchange", self.id)
            elif step is KeyStep.FAIL:
                log.warning("session %s: the customer asked for keys %d times in a row; not again", self.id,
                            self.negotiation.requests)
        self._carry_out(step, message)

    def _on_error(self, message: dict[str, Any]) -> None:
        if message.get("error") == "peer_not_connected" and message.get("ref") == "key_exchange":
            self._carry_out(self.negotiation.undelivered())

    def _on_capabilities(self, message: dict[str, Any]) -> None:
        self.capabilities = {k: v for k, v in message.items() if k not in _NOT_FIELDS}

    def _on_camera_state(self, message: dict[str, Any]) -> None:
        self.camera_state.update({k: v for k, v in message.items() if k not in _NOT_FIELDS})

    def _on_chat(self, message: dict[str, Any]) -> None:
        self.chat.append({"from": message.get("from", "customer"), "from_index": message.get("from_index"),
                          "text": message.get("text", ""), "time": message.get("time")})

    def _on_keyframe_request(self, message: dict[str, Any]) -> None:
        if self.video_sender is not None and message.get("stream", "agent_video") == "agent_video":
            self.video_sender.request_keyframe()

    def _on_media_report(self, message: dict[str, Any]) -> None:
        if self.video_sender is not None and message.get("stream") == "agent_video":
            self.video_sender.report(message.get("received", 0), message.get("lost", 0), message.get("late_ms", 0))

    # -- what the media says and decodes ---------------------------------------------------------------
    def _media_said(self, name: str, data: dict[str, Any]) -> None:
        if name == "keys":
            self.negotiation.agreed_keys()
            self.sas, self.sas_display = data["sas"], data["sas_display"]
            self.clock.reset()
        elif name == "key_exchange_failed":
            self.negotiation.failed()
        self.emit(name, data)

    def _customer_frame(self, frame: av.VideoFrame, header, arrival_us: int) -> None:
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
                               frame.width, frame.height, header.keyframe, header.sequence, header.timestamp_us)
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

    def _customer_audio(self, pcm, header) -> None:
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
        if message.get("type") in SEALED_TYPES and self.media.group.ready:  # version 2: the server reads none of it
            message = self.media.group.seal_control(message)
        return self.client.send({**message, "session_id": self.id})

    def _send_frame(self, frame: bytes) -> bool:
        return self.client.send_binary(bytes.fromhex(self.id) + frame)

    def _send_media(self, stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bool:
        return self.media.seal_and_send(stream, payload, keyframe, timestamp_us)

    def _send_report(self, report: dict[str, Any]) -> None:
        self.stats_window.late_ms = report.get("late_ms")
        if not self.info.get("guest"):  # the customer adapts to its own agent's reports; a guest's are refused
            self.send(report)

    def _ask_keyframe(self, reason: str = "") -> None:
        message = {"type": "keyframe_request", "stream": "customer_video"}
        if self.media.group.active:
            message["to"] = 0  # version 2: routed by index, so a guest may ask too
        self.send(message)

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
        # my own drawings, under my index once the session speaks version 2 (my undo and clear take only them)
        self.scene.apply(message if self.index is None else {**message, "from_index": self.index})
        return self.send(message)

    def send_chat(self, text: str) -> bool:
        sent = self.send({"type": "chat", "text": text})
        if sent:
            self.chat.append({"from": "agent", "from_index": self.index, "text": text, "time": None})
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
                                            pending_bytes=lambda: self.client.pending_bytes_for(self.id))
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
        # ``voice``: whether the agent's microphone goes with it (no microphone opened: the customer is not
        # told a voice call is on, issue 17 #1)
        return self.send({"type": "agent_video", "on": on, "voice": on and self.audio_sender is not None})

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


__all__ = ["AgentSession", "ReceivedFrame"]
