"""When to tell the agent that a customer is waiting: a rule with an injected clock, no Qt.

With auto-connect off, a session whose customer has come (Online) waits until the agent presses 접속.
The agent is alerted — a sound, the taskbar, a desktop notification, each a setting (설정) — once each
time a session becomes Online-waiting: the first time the console sees it Online (at login too), and
again if it leaves Online (the customer went, came back) and returns. Nothing is said with auto-connect
on (the console connects at once), and sessions that come Online within ``merge_seconds`` of an alert
share it (a burst of customers is one sound, not five).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

MERGE_SECONDS = 3.0
KINDS = ("sound", "taskbar", "notification")  # the settings alert_<kind>


class WaitingAlerts:
    def __init__(self, merge_seconds: float = MERGE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.merge_seconds = merge_seconds
        self.clock = clock
        self._waiting: set[str] = set()  # sessions Online now, already alerted (or merged into an alert)
        self._last_alert: float | None = None

    def note(self, session: dict[str, Any], *, auto_connect: bool) -> bool:
        """Whether a session's new state calls for an alert now."""
        sid = session.get("id")
        if sid is None:
            return False
        if session.get("state") != "online":
            self._waiting.discard(sid)
            return False
        if sid in self._waiting:
            return False
        self._waiting.add(sid)
        if auto_connect:
            return False
        now = self.clock()
        if self._last_alert is not None and now - self._last_alert < self.merge_seconds:
            return False
        self._last_alert = now
        return True

    def note_all(self, sessions: list[dict[str, Any]], *, auto_connect: bool) -> bool:
        """A whole list (at login, after a reconnection): one alert at most for every newly waiting session."""
        results = [self.note(session, auto_connect=auto_connect) for session in sessions]
        return any(results)
