"""The call as the customer's window sees it: a plain class with an injected clock, no Qt.

``CallState.apply(name, data)`` takes the ``CustomerSession``'s events (and the bridge's
``join_failed``) and keeps what the window shows: the call's state, the security code or why the
keys failed, whether the speaker opened, what the device can do and what the camera is doing, the
agent's chat lines and direction arrow (each fading after its time on the clock), the recording and
agent-camera flags, the survey. The window asks it for text keys and flags and draws them; the
language stays the window's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from anysupport.protocol.chat_writers import ChatWriters
from anysupport.protocol.vocabulary import PEER_HANDED_OVER

CHAT_SECONDS = 12.0  # a chat line stays over the picture this long
GUIDE_SECONDS = 5.0  # and a direction arrow this long
CHAT_LINES = 3  # at most this many chat lines at once
AGENT_CHANGED_SECONDS = 20.0  # "your agent is now …" after a hand-over stays this long (as a changed code on the page)
CODE_FORMAT = "code_format"  # join_failure's error when the typed code is not four digits (never sent)

# the call's state → the status text's key (None: no status shown)
STATUS_KEYS: dict[str | None, str | None] = {
    None: None, "joining": "joining", "online": "waiting", "connected": "connected", "expired": "ended",
    "reconnecting": "reconnecting", "agent_reconnecting": "agent_reconnecting",
}


class CallState:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, chat_seconds: float = CHAT_SECONDS,
                 guide_seconds: float = GUIDE_SECONDS):
        self.clock = clock
        self.chat_seconds = chat_seconds
        self.guide_seconds = guide_seconds
        self.state: str | None = None  # None (not joined), joining, online, connected, expired, (agent_)reconnecting
        self.joined = False  # the server took the code (the join panel goes)
        self.ended = False  # the server said expired: nothing more to send (stays so)
        self.join_failure: dict[str, Any] | None = None  # the last failed join's {"error", "message"}
        self.sas: str | None = None  # the security code to compare with the agent's, as displayed
        self.key_failure: str | None = None  # why the end-to-end keys were refused (key_exchange_failed)
        self.voice_failed = False  # the speaker for the agent's voice could not be opened
        self.video_requested = False  # the agent asked to see the camera the customer stopped (privacy.py)
        self.capabilities: dict[str, Any] = {}
        self.camera_state: dict[str, Any] = {}
        self.recording = False
        self.agent_video = False
        self.chat: list[tuple[float, str, str, Any]] = []  # (when, who, text, the writer's from_index)
        self.chat_writers = ChatWriters()  # who wrote a line, once the call had a third participant
        self.guide: tuple[float, str] | None = None  # (when, direction)
        self.survey: dict[str, Any] | None = None
        self.survey_answer: str | None = None
        self.survey_saved = False
        self.agent_changed: tuple[float, str] | None = None  # (when, the new agent's name) after a hand-over
        # version 2 (sealed from the start, or with guests): the code is that of the pair with the session's
        # agent, whose index the participants' roles say (another after a hand-over); version-1 keys unused
        self.version_2 = False

    # -- what the customer does ---------------------------------------------------------------------------
    def join(self, code: str | None) -> str | None:
        """Start joining with ``code`` (None: the page has joined already and handed over its token): returns
        the code to send, or None when it is not four digits (``join_failure`` then says so)."""
        if code is not None:
            code = code.strip()
            if len(code) != 4 or not code.isdigit():
                self.join_failure = {"error": CODE_FORMAT}
                return None
        self.join_failure = None
        self.state = "joining"
        return code

    def set_camera(self, key: str, on: bool) -> bool:
        """The customer turned ``key`` (video, flash, speakerphone) on or off: shown at once, until the
        device's next ``camera_state`` says how it went. Returns ``on``."""
        self.camera_state[key] = on
        return on

    def toggle_video(self) -> bool:
        """Stop or start sending the camera: returns whether it is sent now."""
        self.video_requested = False
        return self.set_camera("video", self.paused)

    def answer(self, value: str) -> None:
        self.survey_answer = value

    # -- what the session says ----------------------------------------------------------------------------
    def apply(self, name: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(data)

    def _on_join_failed(self, data: dict[str, Any]) -> None:
        self.join_failure = data
        self.state = None

    def _on_joined(self, data: dict[str, Any]) -> None:
        self.joined = True
        self.state = data.get("state", "online")
        if self.state == "expired":
            self.ended = True

    _on_state = _on_joined

    def _on_connection(self, data: dict[str, Any]) -> None:
        self.state = "reconnecting" if data["status"] == "reconnecting" else "connected"

    def _on_peer(self, data: dict[str, Any]) -> None:
        if data.get("peer") == "agent":
            self.state = "agent_reconnecting" if data.get("status") == "reconnecting" else "connected"
            if data.get("status") == PEER_HANDED_OVER:  # another agent took the call over: say who
                self.agent_changed = (self.clock(), data.get("name") or "")

    def _on_keys(self, data: dict[str, Any]) -> None:
        if self.version_2:
            return
        self.sas = data["sas_display"]
        self.key_failure = None

    @property
    def agent_index(self) -> int:
        """The session's agent's index, as the participants' roles say (another after a hand-over)."""
        return self.chat_writers.agent_index

    def _on_participants(self, data: dict[str, Any]) -> None:
        self.version_2 = self.version_2 or data.get("version") == 2
        before = self.agent_index
        self.chat_writers.learn(data.get("participants"), data.get("you"))
        if self.version_2 and self.agent_index != before:
            self.sas = None  # a new agent: its code once our pair is agreed

    def _on_pair_keys(self, data: dict[str, Any]) -> None:
        if data.get("peer") == self.agent_index:
            self.sas = data["sas_display"]
            self.key_failure = None

    def _on_key_exchange_failed(self, data: dict[str, Any]) -> None:
        self.key_failure = data.get("reason")
        self.sas = None

    def _on_voice(self, data: dict[str, Any]) -> None:
        self.voice_failed = not data.get("on")

    def _on_camera_state(self, data: dict[str, Any]) -> None:
        self.camera_state = dict(data)
        if data.get("video"):
            self.video_requested = False

    def _on_video_request(self, _data: dict[str, Any]) -> None:
        self.video_requested = True

    def _on_capabilities(self, data: dict[str, Any]) -> None:
        self.capabilities = dict(data)

    def _on_chat(self, data: dict[str, Any]) -> None:
        now = self.clock()
        self.chat = [line for line in self.chat if now - line[0] < self.chat_seconds]
        self.chat.append((now, data.get("from", "agent"), data["text"], data.get("from_index")))

    def _on_guide(self, data: dict[str, Any]) -> None:
        self.guide = (self.clock(), data["direction"])

    def _on_recording(self, data: dict[str, Any]) -> None:
        self.recording = bool(data["on"])

    def _on_agent_video(self, data: dict[str, Any]) -> None:
        self.agent_video = bool(data["on"])

    def _on_survey(self, data: dict[str, Any]) -> None:
        self.survey = data
        self.survey_saved = False

    def _on_survey_saved(self, _data: dict[str, Any]) -> None:
        self.survey_saved = True

    # -- what the window shows ----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """The customer (or the agent) stopped the camera."""
        return self.camera_state.get("video") is False

    def status_key(self) -> str | None:
        return STATUS_KEYS.get(self.state)

    def notice_key(self) -> str | None:
        """The standing notice to show: no secure connection first, then no speaker, then the agent's request to
        see the camera the customer stopped."""
        if self.key_failure:
            return "key_failed_version" if self.key_failure == "unsupported_version" else "key_failed"
        if self.voice_failed:
            return "no_speaker"
        return "video_requested" if self.video_requested else None

    def able(self, what: str) -> bool:
        """Whether the device can do ``what`` (flash, switch, speakerphone); True until it has said."""
        if not self.capabilities:
            return True
        return {"flash": bool(self.capabilities.get("flash")),
                "switch": len(self.capabilities.get("cameras", [])) > 1,
                "speakerphone": bool(self.capabilities.get("speakerphone"))}[what]

    def chat_shown(self) -> list[tuple[str, str]]:
        """The chat lines over the picture now, oldest first: (who, text)."""
        now = self.clock()
        return [(who, text) for when, who, text, _ in self.chat if now - when < self.chat_seconds][-CHAT_LINES:]

    def chat_writers_shown(self) -> list[dict[str, Any] | None]:
        """For each line of ``chat_shown``, the participant who wrote it ({index, role, name, …}) when the call
        has had a third participant and the line is not the customer's own, else None (no name shown)."""
        now = self.clock()
        lines = [(who, index) for when, who, _, index in self.chat if now - when < self.chat_seconds][-CHAT_LINES:]
        writers = [self.chat_writers.writer({"from": who, "from_index": index}) for who, index in lines]
        return [w if w is not None and w.get("role") != "customer" else None for w in writers]

    def agent_changed_shown(self) -> str | None:
        """The name of the agent who took the call over, while that is said over the picture."""
        if self.agent_changed is None or self.clock() - self.agent_changed[0] >= AGENT_CHANGED_SECONDS:
            return None
        return self.agent_changed[1]

    def guide_shown(self) -> str | None:
        """The direction arrow over the picture now, if any."""
        if self.guide is None or self.clock() - self.guide[0] >= self.guide_seconds:
            return None
        return self.guide[1]


__all__ = ["AGENT_CHANGED_SECONDS", "CHAT_SECONDS", "CODE_FORMAT", "GUIDE_SECONDS", "CallState"]
