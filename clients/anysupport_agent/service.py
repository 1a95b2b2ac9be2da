"""The console's side of ``AgentClient``: what the widgets ask of the server and the sessions, in their terms.

``AgentClient`` (the client library) holds the one control socket, every session's live state, the
keys and the received media; the REST calls are its ``RestClient`` (``rest``, which the widgets call
directly: records, phrases, trouble types, statistics, the export, the server's version).
``ConsoleClient`` adds only what the console's widgets need on top, with no Qt in it (tests drive it
directly):

- a remembered token is used with ``resume`` (``GET /api/v1/me``) before the socket opens;
- events for the widgets: ``sessions`` (after ``hello``), ``session`` (one session changed: its
  agent view), and the session events as they are (``keys``, ``capabilities``, ``camera_state``,
  ``chat`` — the agent's own lines too —, ``peer``, ``error``), plus ``stats`` every second for the
  session on screen (``kbps``, ``fps``, ``latency_ms``: half the control round trip), ``kicked``,
  ``closed``, ``connection``;
- sinks fed on the loop thread for the viewer and the recorders: ``video_sinks`` get each decoded
  customer frame, ``packet_sinks`` each received H.264 access unit (remuxed by the customer-only
  recorder), ``audio_sinks`` the customer's voice as int16 PCM;
- commands by session id, and "상담원 화면 보기" with the console's own camera and microphone;
- the calls it is invited into (issue 21): ``invitation``, ``participants``, ``pair_keys`` forwarded,
  ``accept_invitation``, ``remove_participant``, and ``removed`` (the call leaves the list).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from anysupport_client.api import ApiError, RestClient
from anysupport_client.media.speaker import VoiceOutput
from anysupport_client.session import AgentClient, AgentSession
from anysupport_native.framing import STREAM_CUSTOMER_VIDEO

from . import zone

log = logging.getLogger("anysupport.agent")

Listener = Callable[[str, dict[str, Any]], None]
STATS_INTERVAL = 1.0
# the media-frame versions the console speaks (docs/protocol.md, "When a session speaks version 2")
CONSOLE_VERSIONS = [1, 2]
FORWARDED = ("voice_error", "keys", "key_exchange_failed", "capabilities", "camera_state", "chat", "peer", "error", "kicked",
             "closed", "connection", "logged_out", "handover_offer", "handover_cancelled", "handover_declined",
             "invitation", "participants", "pair_keys", "guest_socket")

DRAWING_EVENTS = ("peer_annotation", "anchor")  # to ``drawing_sinks`` only


class _TappedAudio(MediaStreamTrack):
    """The agent's microphone as sent, also handed to ``sink`` (the whole-view recorder mixes it in)."""

    kind = "audio"

    def __init__(self, track: MediaStreamTrack, sink: Callable[[np.ndarray], None]):
        super().__init__()
        self.track = track
        self.sink = sink  # int16 mono 48 kHz, whatever the microphone gives
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)

    async def recv(self) -> av.AudioFrame:
        frame = await self.track.recv()
        pts, time_base = frame.pts, frame.time_base
        for chunk in self.resampler.resample(frame):
            self.sink(chunk.to_ndarray().reshape(-1))
        frame.pts, frame.time_base = pts, time_base
        return frame

    def stop(self) -> None:
        super().stop()
        self.track.stop()


class ConsoleClient:
    def __init__(self, server_url: str, *, language: str = "ko", agent_video_source: Callable[[], Any] | None = None,
                 agent_audio_source: Callable[[], Any] | None = None,
                 voice_output: Callable[[], VoiceOutput | None] | None = None):
        self.language = language
        self.voice_output = voice_output  # where the customer's voice plays while 상담원 화면 보기 is on
        self.agent_video_source = agent_video_source
        self.agent_audio_source = agent_audio_source
        self.listeners: list[Listener] = []
        self.video_sinks: list[Callable[[AgentSession, av.VideoFrame], None]] = []
        self.packet_sinks: list[Callable[[AgentSession, Any, bytes, int, int], None]] = []
        self.audio_sinks: list[Callable[[AgentSession, Any], None]] = []
        self.agent_audio_sinks: list[Callable[[AgentSession, Any], None]] = []  # the agent's own voice, as PCM
        # the other participants' drawings and anchors (issue 21), on the loop thread and not to the GUI: anchors
        # come with every other frame
        self.drawing_sinks: list[Callable[[AgentSession, str, dict[str, Any]], None]] = []
        self._wired: set[str] = set()
        self._stats_task: asyncio.Task | None = None
        self.agent_client = self._new_client(server_url)

    def _new_client(self, server_url: str) -> AgentClient:
        # the console speaks version 2: a call whose customer's client does too is sealed from the start
        client = AgentClient(server_url, language=self.language, versions=CONSOLE_VERSIONS)
        client.listeners.append(self._on_client_event)
        return client

    def set_server(self, server_url: str, language: str) -> None:
        """환경설정 changed the server or the language (before a login)."""
        self.language = language
        self.agent_client = self._new_client(server_url)

    # -- what the widgets read ------------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        return self.agent_client.server_url

    @property
    def token(self) -> str | None:
        return self.agent_client.token

    @property
    def agent(self) -> dict[str, Any] | None:
        return self.agent_client.agent

    @property
    def public_url(self) -> str:
        return self.agent_client.customer_page_url

    @property
    def rest(self) -> RestClient:
        """The server's REST API with this login's token (a new client after a logout or a new server)."""
        return self.agent_client.rest

    @property
    def live_sessions(self) -> dict[str, AgentSession]:
        return self.agent_client.live_sessions

    # -- events ----------------------------------------------------------------------------------------------
    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        for listener in list(self.listeners):
            try:
                listener(name, data or {})
            except Exception:
                log.exception("listener failed on %s", name)

    def _on_client_event(self, name: str, data: dict[str, Any]) -> None:
        session_id = data.get("session_id")
        if session_id and session_id in self.agent_client.live_sessions:
            self._wire(self.agent_client.live_sessions[session_id])
        if name in DRAWING_EVENTS and session_id in self.agent_client.live_sessions:
            for sink in list(self.drawing_sinks):
                sink(self.agent_client.live_sessions[session_id], name, data)
            return
        if name == "hello":
            self._emit_sessions()
        elif name == "state" and session_id:
            self.emit("session", {"session": dict(self.agent_client.session_infos.get(session_id) or {})})
        elif name == "handed_over":  # the session left this console's list, or arrived in it
            if not data.get("arrived"):
                self._wired.discard(session_id)
            self._emit_sessions()
            self.emit(name, data)
        elif name == "removed":  # this console was removed from a call it was invited into
            self.agent_client.session_infos.pop(session_id, None)
            self.emit(name, data)
            self._emit_sessions()
        elif name in FORWARDED:
            self.emit(name, data)

    def _wire(self, session: AgentSession) -> None:
        """Hand the session's media to the console's sinks (once per session)."""
        if session.id in self._wired:
            return
        self._wired.add(session.id)

        def on_frame(frame, record) -> None:
            for sink in list(self.video_sinks):
                sink(session, frame)

        def on_audio(frame: av.AudioFrame) -> None:
            pcm = frame.to_ndarray().reshape(-1)
            for sink in list(self.audio_sinks):
                sink(session, pcm)

        def tap(header, payload: bytes) -> None:
            if header.stream == STREAM_CUSTOMER_VIDEO:
                receiver = session.video_receiver
                for sink in list(self.packet_sinks):
                    sink(session, header, payload, receiver.width, receiver.height)

        session.frame_listeners.append(on_frame)
        session.audio_listeners.append(on_audio)
        session.media.taps.append(tap)

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            session = self.agent_client.viewed
            if session is None or not session.media.ready:
                continue
            figures = session.stats()
            rtt = self.agent_client.rtt_ms
            self.emit("stats", {"session_id": session.id, "kbps": round(figures.get("bitrate_kbps") or 0),
                                "fps": round(figures.get("fps") or 0, 1),
                                "latency_ms": None if rtt is None else round(rtt / 2)})

    # -- logging in --------------------------------------------------------------------------------------------
    async def login(self, login: str, password: str, *, force: bool = False) -> dict[str, Any]:
        """``ApiError``: ``invalid_credentials``, ``already_logged_in``, ``too_many_attempts`` (``retry_after``), …"""
        return await self.agent_client.login(login, password, force=force)

    async def resume(self, token: str) -> dict[str, Any]:
        """Use a remembered token; ``ApiError`` 401 when it has expired or was revoked."""
        self.agent_client.rest.token = token
        try:
            me = await self.agent_client.rest.me()
        except ApiError:
            self.agent_client.rest.token = None
            raise
        self.agent_client.agent = me.get("agent", me)
        return self.agent_client.agent

    async def open(self) -> dict[str, Any]:
        """Open the console's socket; returns the ``hello``."""
        hello = await self.agent_client.start()
        zone.use(self.agent_client.time_zone)  # every time the console shows, in the server's zone
        if self._stats_task is None or self._stats_task.done():
            self._stats_task = asyncio.ensure_future(self._stats_loop())
        return hello

    async def logout(self) -> None:
        await self._stop_voices()
        try:
            await self.agent_client.logout()
        except ApiError:
            await self.agent_client.close()
        await self._after_close()

    async def revoke(self, token: str) -> None:
        """Revoke a remembered token that is not this login's (forgetting a saved password)."""
        try:
            await self.agent_client.rest.request("POST", "/api/v1/auth/logout", token=token)
        except ApiError:
            pass

    async def close(self) -> None:
        await self._stop_voices()
        await self.agent_client.close()
        await self._after_close()

    async def _stop_voices(self) -> None:
        for session in list(self.agent_client.live_sessions.values()):
            voice = session.voice
            if voice is not None:
                session.play_voice(None)
                await asyncio.to_thread(voice.stop)

    async def _after_close(self) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()
            self._stats_task = None
        # a later login starts clean: a fresh client (the old one's sessions, socket and token are over)
        self.agent_client = self._new_client(self.agent_client.server_url)
        self._wired.clear()

    # -- the viewer's commands -------------------------------------------------------------------------------------
    def view(self, session_id: str | None) -> None:
        if session_id is None or session_id in self.agent_client.session_infos:
            self.agent_client.view(session_id)

    def _session(self, session_id: str) -> AgentSession | None:
        try:
            return self.agent_client.session(session_id)
        except KeyError:
            return None

    def camera(self, session_id: str, command: str, **fields: Any) -> bool:
        session = self._session(session_id)
        return session is not None and session.camera(command, **fields)

    def annotate(self, session_id: str, op: str, item: dict[str, Any] | None = None) -> bool:
        session = self._session(session_id)
        return session is not None and session.annotate(op, item)

    def chat(self, session_id: str, text: str) -> bool:
        session = self._session(session_id)
        if session is None or not session.send_chat(text):
            return False
        self.emit("chat", {"session_id": session_id, "from": "agent", "from_index": session.index, "text": text,
                           "time": None})
        return True

    def guide(self, session_id: str, direction: str) -> bool:
        session = self._session(session_id)
        return session is not None and session.guide(direction)

    def speakerphone(self, session_id: str, on: bool) -> bool:
        session = self._session(session_id)
        return session is not None and session.speakerphone(on)

    def recording(self, session_id: str, on: bool) -> bool:
        session = self._session(session_id)
        return session is not None and session.recording(on)

    def keyframe(self, session_id: str) -> bool:
        session = self._session(session_id)
        return session is not None and session.send({"type": "keyframe_request", "stream": "customer_video"})

    def end(self, session_id: str) -> bool:
        session = self._session(session_id)
        return session is not None and session.end()

    async def agent_video(self, session_id: str, on: bool) -> bool:
        """상담원 화면 보기: the console's camera, and its microphone with it, to the customer."""
        session = self._session(session_id)
        if session is None:
            return False
        source = audio = None
        if on and session.video_sender is None and self.agent_video_source is not None:
            source = self.agent_video_source()
            audio = self.agent_audio_source() if self.agent_audio_source is not None else None
            if audio is not None:
                audio = _TappedAudio(audio, lambda pcm: self._agent_voice(session, pcm))
            elif self.agent_audio_source is not None:
                # no microphone opened: the customer's page does not claim a voice call (agent_video.voice),
                # and the viewer says why (issue 17 #1)
                self.emit("microphone_error", {"session_id": session_id})
        sent = session.agent_video(on, source=source, audio=audio)
        # voice is on exactly while the agent's camera is: the customer's voice plays on our speaker
        if on and session.voice is None and self.voice_output is not None:
            voice = self.voice_output()
            if voice is not None:
                if await asyncio.to_thread(voice.start):  # opening a device may take a moment
                    session.play_voice(voice)
                else:
                    self.emit("voice_error", {"session_id": session_id, "message": voice.error or ""})
        elif not on and session.voice is not None:
            voice = session.voice
            session.play_voice(None)
            await asyncio.to_thread(voice.stop)
        return sent

    def _agent_voice(self, session: AgentSession, pcm: np.ndarray) -> None:
        if not session.agent_video_on:
            return
        for sink in list(self.agent_audio_sinks):
            sink(session, pcm)

    # -- the sessions ------------------------------------------------------------------------------------------
    async def create_session(self) -> dict[str, Any]:
        session = await self.agent_client.create_session()
        return dict(self.agent_client.session_infos.get(session.id) or session.info)

    def _sessions(self) -> list[dict[str, Any]]:
        """The sessions as the client knows them now (copies: the GUI thread gets them)."""
        return [dict(s) for s in self.agent_client.session_list()]

    def _emit_sessions(self) -> None:
        self.emit("sessions", {"sessions": self._sessions()})

    async def sessions_now(self) -> list[dict[str, Any]]:
        """``_sessions`` on the client's loop: a window that began listening to the events after the hello
        catches up with what it missed."""
        return self._sessions()

    async def delete_session(self, session_id: str) -> None:
        await self.agent_client.delete_session(session_id)

    # -- participants (issue 21) -------------------------------------------------------------------------------
    async def accept_invitation(self, session_id: str) -> dict[str, Any]:
        """수락 on an invitation: the call as a guest; it is listed with the others (the viewer opens on it)."""
        session = await self.agent_client.accept_invitation(session_id)
        self._wire(session)
        self._emit_sessions()
        return dict(session.info)

    async def remove_participant(self, session_id: str, index: int) -> None:
        await self.agent_client.remove_participant(session_id, index)

    def participants(self, session_id: str) -> tuple[list[dict[str, Any]], int | None, dict[int, str]]:
        """Who is present in a call, my index in it, and each pair's security code (by the other's index)."""
        session = self.agent_client.live_sessions.get(session_id)
        if session is None:
            return [], None, {}
        return list(session.participants), session.index, session.pair_sas

    async def connect_session(self, session_id: str) -> None:
        await self.agent_client.accept(session_id, keys=False)
