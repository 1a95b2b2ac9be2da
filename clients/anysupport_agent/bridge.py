"""The console's Qt side of ``ConsoleClient``: the client runs on its own asyncio thread; events come back as signals.

The bridge also owns what runs per frame off the GUI thread: the viewer's renderer (drawings,
rotation, zoom) for the session on screen, and the recorders, which take the received access units
and voices where they arrive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path

from anysupport_client.media.annotation import AnnotationScene
from anysupport_qt import LoopBridge, pyqtSignal, qt_text_renderer

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

    def submit(self, coro, *, on_result=None, on_error=None, failed=None):
        """As ``LoopBridge.submit``; an answer that arrives after its widget was closed and deleted is dropped."""
        return super().submit(coro, on_result=_guarded(on_result), on_error=_guarded(on_error), failed=failed)

    # -- the session on screen ---------------------------------------------------------------------------
    def view(self, session_id: str | None) -> None:
        self.viewing = session_id
        self.client.view(session_id)
        session = self.client.live_sessions.get(session_id) if session_id else None
        self.renderer.set_scene(session.scene if session is not None else AnnotationScene())
        with self.renderer.lock:
            self.renderer.last_rgb = self.renderer.last_drawn = self.renderer.last_frame = None

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

    def _on_video(self, session, frame) -> None:
        if session.id == self.viewing:
            if self._painted.is_set():
                self._render(frame)
            else:  # the GUI is behind: keep the newest frame for a capture, skip its rendering
                with self.renderer.lock:
                    self.renderer.last_frame = frame
                    self.renderer.last_rgb = frame.to_ndarray(format="rgb24")

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
