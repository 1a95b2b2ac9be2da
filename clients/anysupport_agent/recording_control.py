"""The viewer's recording control (녹화): which recording runs, its file, start / pause / stop. No Qt.

One recording at a time: 고객영상만 녹화 (``customer``: start and stop only, as the manual says) or
전체화면 녹화 (``view``: the viewer grabbed ``RECORD_FPS`` times a second, and it can pause). A file
is named ``AnySupport-<code>-<kind>-<YYYYmmdd-HHMMSS>.mp4`` in the folder the settings name at the
moment it starts, the time from an injected wall clock. The recorders themselves (``recorder``) run
on the bridge's threads; this class only keeps the rules the viewer's buttons follow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .recorder import recording_name

KINDS = ("customer", "view")
RECORD_FPS = 10  # grabs of the viewer a second for the whole-view recording


class RecordingControl:
    def __init__(self, folder: Callable[[], Path], clock: Callable[[], float] = time.time):
        self.folder = folder  # asked at each start: 설정 may have changed it
        self.clock = clock
        self.kind: str | None = None
        self.paused = False
        self.path: Path | None = None

    @property
    def running(self) -> bool:
        return self.kind is not None

    @property
    def grabbing(self) -> bool:
        """Whether the viewer is to be grabbed for the recording (paused grabs are dropped by the recorder)."""
        return self.kind == "view"

    def start(self, kind: str, session_code: str | None) -> Path | None:
        """The file a new ``kind`` recording goes to, or None when one runs already."""
        if kind not in KINDS:
            raise ValueError(f"no recording of kind {kind!r} (one of {KINDS})")
        if self.running:
            return None
        self.kind, self.paused = kind, False
        self.path = Path(self.folder()) / recording_name(kind, session_code or "0000", self.clock())
        return self.path

    def pause(self, paused: bool) -> bool:
        """Pause or resume; False (nothing done) unless a whole-view recording runs."""
        if self.kind != "view":
            return False
        self.paused = paused
        return True

    def stop(self) -> str | None:
        """Stop: the kind that ran (None: nothing ran)."""
        kind, self.kind, self.paused, self.path = self.kind, None, False, None
        return kind

    def enabled(self, has_session: bool) -> dict[str, bool]:
        """Which of the recording buttons can be pressed now (``customer``, ``view``, ``pause``, ``stop``)."""
        can_start = has_session and not self.running
        return {"customer": can_start, "view": can_start, "pause": self.kind == "view", "stop": self.running}


__all__ = ["KINDS", "RECORD_FPS", "RecordingControl"]
