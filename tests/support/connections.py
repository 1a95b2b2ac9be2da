"""In-memory connections for the managers' direct tests: what a manager sends, kept in order.

The managers talk to sockets only through the hub's ``Connection`` interface (``send_json``,
``close``, and ``send_binary`` for the relay); these implement it without a network, the way the
WebSocket handler does, so the rules can be checked message by message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Principal:
    kind: str  # "agent" | "customer"
    agent_id: str | None = None
    session_id: str | None = None


@dataclass
class PeerLanguage:
    language: str = "en"


@dataclass
class RecordingConnection:
    """A socket that records what is sent to it; ``send_binary`` flushes at once unless ``stalled``."""

    principal: Principal
    language: str = "en"
    sent: list[dict[str, Any]] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    closed: tuple[int | None, str | None] | None = None
    stalled: bool = False
    pending: list[asyncio.Future] = field(default_factory=list)
    media: Any = None
    peer: Any = field(default_factory=PeerLanguage)

    def send_json(self, message: dict[str, Any]) -> None:
        if self.closed is None:
            self.sent.append(message)

    def send_binary(self, data: bytes) -> asyncio.Future | None:
        if self.closed is not None:
            return None
        self.frames.append(data)
        future = asyncio.get_running_loop().create_future()
        if self.stalled:
            self.pending.append(future)  # a receiver that stopped draining: the write stays in flight
        else:
            future.set_result(None)
        return future

    def drain(self) -> None:
        """The receiver reads again: every write in flight completes."""
        self.stalled = False
        pending, self.pending = self.pending, []
        for future in pending:
            future.set_result(None)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        if self.closed is None:
            self.closed = (code, reason)

    def of_type(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("type") == kind and all(m.get(k) == v for k, v in match.items())]

    def types(self) -> list[str]:
        return [m["type"] for m in self.sent]
