"""How long the sessions tab (세션) keeps an expired session: a rule with an injected clock, no Qt.

An expired session stays in the list, faded, for ``keep_seconds`` (10 minutes) after the console saw
it expire, so the agent can still open its record and finish writing it; then it leaves the list
(its record stays on the server, in 지원 기록 관리). A pinned session — the one selected, whose
record form may hold unsaved edits — never leaves while pinned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

KEEP_EXPIRED_SECONDS = 600.0


class ExpiredSessions:
    def __init__(self, keep_seconds: float = KEEP_EXPIRED_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.keep_seconds = keep_seconds
        self.clock = clock
        self._since: dict[str, float] = {}  # session id → when the console first saw it expired

    def note(self, session: dict[str, Any]) -> None:
        """Remember when a session became expired (a session back from expired is forgotten)."""
        sid = session.get("id")
        if sid is None:
            return
        if session.get("state") == "expired":
            self._since.setdefault(sid, self.clock())
        else:
            self._since.pop(sid, None)

    def shown(self, session: dict[str, Any], pinned: Iterable[str] = ()) -> bool:
        """Whether the list shows ``session`` now (call ``note`` first)."""
        if session.get("state") != "expired" or session.get("id") in set(pinned):
            return True
        since = self._since.get(session.get("id"))
        return since is None or self.clock() - since < self.keep_seconds

    def remaining(self, session_id: str) -> float | None:
        """Seconds until an expired session leaves the list (None: not expired)."""
        since = self._since.get(session_id)
        return None if since is None else max(0.0, self.keep_seconds - (self.clock() - since))
