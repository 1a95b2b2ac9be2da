"""The console's Qt side of ``ConsoleClient``: the client runs on its own asyncio thread; events come back as signals.

The bridge also owns what runs per frame off the GUI thread: the viewer's renderer (drawings,
rotation, zoom) for the session on screen, the drawings' anchors (``anchoring.SessionAnchors``: each
decoded frame's Y plane updates the trackers, the ``anchor`` message goes to the customer, the
renderer draws each anchored drawing through its homography), and the recorders, which take the
received access units and voices where they arrive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from pathlib import Path
from typing import Any

from anysupport_client.media.annotation import AnnotationScene
from anysupport_native import convert
from anysupport_qt import LoopBridge, pyqtSignal, qt_text_renderer

from .anchoring import SessionAnchors
from .recorder import CustomerVideoRecorder, ViewRecorder
from .render import ViewRenderer
from .service import ConsoleClient


def _guarded(callback):
    if callback is None:
        return None

    def call(value):
        try:
            callback(value)
        except RuntimeError as exc:  # PyQt: "wrapped C/C++ object of type … has been deleted"
            if "has been deleted" not in str(exc):
                raise

    return call


class ConsoleBridge(LoopBridge):
    rendered = pyqtSignal(object)  # render.Rendered for the session on screen

    def __init__(self, server_url: str, *, language: str = "ko", font_family: str | None = None,
                 agent_video_source=None, agent_audio_source=None, voice_output=None):
        super().__init__(thread_name="anysupport-console")
        self.client: ConsoleClient = self.create(lambda: ConsoleClient(
            server_url, language=language, agent_video_source=agent_video_source,
            agent_audio_source=agent_audio_source, voice_output=voice_output))
        self.client.listeners.append(self.forward)
        self.renderer = ViewRenderer(AnnotationScene(), text_renderer=qt_text_renderer(font_family))
        self.viewing: str | None = None
        self.anchoring: dict[str, SessionAnchors] = {}  # by session id, used on the loop thread only
        self.customer_recorder: CustomerVideoRecorder | None = None
        self.encoder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="anysupport-view-recorder")
        self._encoder_slots = threading.Semaphore(2)  # grabs waiting for the encoder at most
        self.view_recorder: ViewRecorder | None = None
        self._painted = threading.Event()  # the GUI took the last picture: send the next one
        self._painted.set()
        self.client.video_sinks.append(self._on_video)
        self.client.packet_sinks.append(self._on_packet)
        self.client.audio_sinks.append(self._on_audio)
        self.client.agent_audio_sinks.append(self._on_agent_audio)
        self.client.listeners.append(self._anchor_event)
        self.client.drawing_sinks.append(self._peer_drawing)

    def submit(self, coro, *, on_result=None, on_error=None, failed=None):
        """As ``LoopBridge.submit``; an answer that arrives after its widget was closed and deleted is dropped."""
        return super().submit(coro, on_result=_guarded(on_result), on_error=_guarded(on_error), failed=failed)

    # -- the session on screen ---------------------------------------------------------------------------
    def view(self, session_id: str | None) -> None:
        self.viewing = session_id
        self.client.view(session_id)
        session = self.client.live_sessions.get(session_id) if session_id else None
        self.renderer.set_scene(self.anchors_of(session).shown if session is not None else AnnotationScene())
        self.renderer.forget()

    def painted(self) -> None:
        self._painted.set()

    def rerender(self) -> None:
        """Render the last frame again (after a zoom, a turn or a drawing) on the media thread."""
        self.call(self._render, None)

    def _render(self, frame) -> None:
        rendered = self.renderer.render(frame)
        if rendered is not None and (frame is None or self._painted.is_set()):
            self._painted.clear()
            self.rendered.emit(rendered)

    # -- drawings on the object (issue 20) ------------------------------------------------------------
    def anchors_of(self, session) -> SessionAnchors:
        anchors = self.anchoring.get(session.id)
        if anchors is None or anchors.scene is not session.scene:
            anchors = self.anchoring[session.id] = SessionAnchors(session.scene)
            anchors.camera_state(session.camera_state)
        return anchors

    def annotate(self, session_id: str, op: str, item: dict[str, Any] | None, frame) -> None:
        """(Loop thread) a drawing operation of the viewer: sent, and its anchors kept. ``frame``: the
        ``av.VideoFrame`` the agent drew on (the picture shown), for ``add``."""
        session = self.client.live_sessions.get(session_id)
        if session is None:
            return
        mine = {"op": op, "from_index": session.index} if session.index is not None else {"op": op}
        gone = [item["id"]] if op == "remove" and item else session.scene.taken(mine)  # my own drawings only
        if not self.client.annotate(session_id, op, item):
            return
        anchors = self.anchors_of(session)
        if op == "add" and item is not None:
            anchors.drawn(item, None if frame is None else convert.planes_of(frame).y)
        elif gone:
            anchors.annotated(op, gone)

    def freeze(self, session_id: str, on: bool, frame=None) -> None:
        """(Loop thread) freeze-frame: the viewer's picture stops at ``frame`` (the one shown); on release
        the drawings made on it are anchored to it and the picture runs again."""
        session = self.client.live_sessions.get(session_id)
        if session is None:
            return
        anchors = self.anchors_of(session)
        if on and frame is not None:
            anchors.freeze(convert.planes_of(frame).y)
            if session_id == self.viewing:
                with self.renderer.lock:  # frames rendered since the click: the picture goes back to the frozen one
                    self.renderer.last_frame = frame
        elif not on:
            anchors.release()

    def _anchor_event(self, name: str, data: dict[str, Any]) -> None:
        """(Loop thread) a camera switch clears the anchors and hides the anchored drawings on both sides."""
        if name != "camera_state":
            return
        session = self.client.live_sessions.get(data.get("session_id") or "")
        if session is None:
            return
        last = session.last_received
        message = self.anchors_of(session).camera_state(data, last.timestamp_us if last is not None else 0)
        if message is not None:
            session.send(message)
            if session.id == self.viewing:
                self._render(None)

    def _peer_drawing(self, session, name: str, data: dict[str, Any]) -> None:
        """(Loop thread) another full-rights participant drew, took drawings away (``peer_annotation``, the scene holds it
        already) or anchored its drawings (``anchor``): their anchors follow, the viewer shows it."""
        peers = self.anchors_of(session).peers
        if name == "anchor":
            if not isinstance(data.get("from_index"), int) or data["from_index"] == session.index:
                return
            peers.received(data)  # shown with the next decoded frame (anchors come about every other frame)
            return
        peers.annotated(data.get("gone") or [])
        if session.id == self.viewing:
            self._render(None)

    def _on_video(self, session, frame) -> None:
        record = session.last_received  # this frame's (set just before the sinks are called)
        grey = None
        if session.index is not None and any(o != session.index for o in session.scene.owners.values()):
            grey = convert.planes_of(frame).y  # the others' anchors name the frames as this console decodes them
            self.anchors_of(session).peers.sent(record.timestamp_us, grey)
        anchors = self.anchoring.get(session.id)
        if anchors is not None and anchors.active:
            if grey is None:
                grey = convert.planes_of(frame).y
            message = anchors.frame(grey, record.timestamp_us, time.time_ns() // 1000)
            if message is not None:
                session.send(message)
            if not anchors.tracked:
                return  # behind: this frame is not shown either (its drawings would be a frame off)
        if anchors is not None and anchors.frozen is not None:
            return  # freeze-frame: the viewer keeps the frozen picture
        if session.id == self.viewing:
            if self._painted.is_set():
                self._render(frame)
            else:  # the GUI is behind: keep the newest frame for a capture, skip its rendering
                with self.renderer.lock:
                    self.renderer.last_frame = frame

    # -- recording ---------------------------------------------------------------------------------------
    def _on_packet(self, session, header, payload, width, height) -> None:
        recorder = self.customer_recorder
        if recorder is not None and session.id == self.viewing:
            recorder.add_video(payload, header.keyframe, header.timestamp_us, width, height)

    def _on_audio(self, session, pcm) -> None:
        if session.id != self.viewing:
            return
        for recorder in (self.customer_recorder, self.view_recorder):
            if recorder is not None:
                recorder.add_audio("customer", pcm)

    def _on_agent_audio(self, session, pcm) -> None:
        recorder = self.view_recorder  # the whole view has both voices; the customer-only file has the customer's
        if recorder is not None and session.id == self.viewing:
            recorder.add_audio("agent", pcm)

    def start_recording(self, kind: str, path: Path) -> None:
        if kind == "customer":
            self.customer_recorder = CustomerVideoRecorder(path)
            # the recording starts at a keyframe: ask for one now rather than wait up to 2 s
            if self.viewing:
                self.call(self.client.keyframe, self.viewing)
        else:
            self.view_recorder = ViewRecorder(path)
        if self.viewing:
            self.call(self.client.recording, self.viewing, True)

    def record_frame(self, rgb) -> None:
        """A grab of the viewer for the whole-view recording: encoded on the encoder's own thread, so the
        media loop (decoding, the network) never waits for x264."""
        recorder = self.view_recorder
        if recorder is not None and self._encoder_slots.acquire(blocking=False):  # a busy encoder skips grabs
            future = self.encoder.submit(recorder.add_frame, rgb)
            future.add_done_callback(lambda _f: self._encoder_slots.release())

    async def _stop(self, recorder) -> Path | None:
        # after the frames already handed to the encoder thread
        return await asyncio.wrap_future(self.encoder.submit(recorder.stop))

    def stop_recording(self, kind: str, on_result) -> None:
        if kind == "customer":
            recorder, self.customer_recorder = self.customer_recorder, None
        else:
            recorder, self.view_recorder = self.view_recorder, None
        if recorder is None:
            return
        if self.viewing and self.customer_recorder is None and self.view_recorder is None:
            self.call(self.client.recording, self.viewing, False)
        self.submit(self._stop(recorder), on_result=on_result)

    # -- shutting down -------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        for kind in ("customer", "view"):
            recorder = self.customer_recorder if kind == "customer" else self.view_recorder
            if recorder is not None:
                recorder.stop()
        self.customer_recorder = self.view_recorder = None
        self.encoder.shutdown(wait=True)
        self.close(self.client.close())
