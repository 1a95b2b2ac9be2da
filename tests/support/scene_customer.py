"""The Python customer client filming a made scene (issue 20's end-to-end tests).

``scene_y4m(scene)`` writes the scene once as a Y4M (kept beside the H.264 cache in
``$TMPDIR/anysupport-scenes/``). ``SceneCustomer`` is the headless customer with that file as its
camera, opened as ``--source file:PATH`` opens it (``open_video_source``), and knows which scene
frame each sent frame was: the file's frames carry their index as pts (1/30 s) when previewed, and
the customer's sends are watched (not changed) to pair each ``timestamp_us`` with it, so a test can
put the scene's truth beside what either side shows for a frame's timestamp.

Only the file's first pass is used: after a loop aiortc's ``MediaPlayer`` delivers frames unpaced and
out of step, so ``rewind()`` opens the file afresh once the call shows a picture, and frames after
the first pass are not paired (a test waiting for them fails instead of comparing wrong frames).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from anysupport_client.loop import LoopThread
from anysupport_client.media.sources import FileTrack, open_video_source
from anysupport_client.session import CustomerSession
from anysupport_native.framing import STREAM_CUSTOMER_VIDEO

from .scenes import CACHE_DIR, Scene


def scene_y4m(scene: Scene) -> Path:
    path = CACHE_DIR / f"{scene.key()}.y4m"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        scene.write_y4m(tmp)
        os.replace(tmp, path)
    return path


class TwoCameraFile(FileTrack):
    """The file as a phone with a back and a front camera (both show the file): for the camera switch."""

    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities(), "cameras": ["back", "front"]}


class SceneCustomer:
    def __init__(self, loop: LoopThread, server_url: str, scene: Scene, *, two_cameras: bool = False):
        self.loop = loop
        self.scene = scene
        self.path = scene_y4m(scene)
        # the scene's path (its motion amplitude, about 3 s of this process's CPU, cached once computed) before
        # the call: computed when a test first asks for the truth, at its drawing, it held every thread of the
        # test process (the console's media thread, this customer's sender) for seconds, the picture stalled,
        # and the console could not find the surface that had moved on meanwhile
        scene.camera(0)
        self.index_of: dict[int, int] = {}  # timestamp_us of a sent frame → the scene frame it shows
        self.last_index: int | None = None
        self.shown: list[tuple[int, dict]] = []  # (scene frame, the overlay's homographies for it), as sent
        self._state: str | int = "off"  # "off" before rewind(), "start" until its first frame, then the last
        # index of the first pass, -1 once past it (the file looped)
        self._fresh = None  # the rewound file's newest frame
        self._old = None  # the source before rewind(), stopped once the new one delivers
        self.session: CustomerSession = loop.run(self._make(server_url, two_cameras))

    async def _make(self, server_url: str, two_cameras: bool) -> CustomerSession:
        source = TwoCameraFile(str(self.path)) if two_cameras else open_video_source(f"file:{self.path}")
        session = CustomerSession(server_url, video=source, language="ko")
        send = session.video_sender.send
        previewed: list[int | None] = [None]

        def preview(name: str, data: dict[str, Any]) -> None:
            # each frame is previewed just before it is encoded (the encoder then rewrites its pts)
            frame = data.get("frame") if name == "preview" else None
            if frame is None:
                return
            index, state = int(frame.pts), self._state
            if frame is not self._fresh:  # the source from before rewind(), or none yet
                previewed[0] = None
                return
            if self._old is not None:  # the sender reads the rewound file now: the old source can stop
                self._old.stop()
                self._old = None
            state = index if state == "start" or (isinstance(state, int) and 0 <= state <= index) else -1
            self._state = state  # -1: past the first pass
            previewed[0] = index if 0 <= state < self.scene.frames else None

        def watched(stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bool:
            if stream == STREAM_CUSTOMER_VIDEO and previewed[0] is not None:
                self.index_of[timestamp_us] = self.last_index = previewed[0]
            sent = send(stream, payload, keyframe, timestamp_us)
            last = session.anchors.last  # what the overlay draws now (brought up to this frame when sent)
            if stream == STREAM_CUSTOMER_VIDEO and previewed[0] is not None and last is not None:
                self.shown.append((previewed[0], dict(last[1])))
            return sent

        session.listeners.append(preview)
        session.video_sender.send = watched
        return session

    def rewind(self) -> None:
        """Play the file from its first frame again (a fresh ``file:`` source for the sender)."""
        self.loop.run(self._rewind())

    async def _rewind(self) -> None:
        sender = self.session.video_sender
        self._old = sender.track
        self._state = "start"
        self.last_index = None
        track = TwoCameraFile(str(self.path)) if isinstance(self._old, TwoCameraFile) \
            else open_video_source(f"file:{self.path}")
        recv = track.recv

        async def tagged():
            frame = await recv()
            self._fresh = frame
            return frame

        track.recv = tagged
        sender.track = self.session.source = track

    def join(self, code: str, name: str = "홍길동") -> None:
        self.loop.run(self.session.start(code, name=name, phone="010-1234-5678"), timeout=20)

    def close(self) -> None:
        if self._old is not None:
            self._old.stop()
        try:
            self.loop.run(self.session.close(), timeout=10)
        except Exception:  # the session may already be over
            pass
