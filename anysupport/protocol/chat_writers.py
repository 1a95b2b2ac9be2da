"""Who wrote a chat line, once a call has more than two participants (issue 21: A's console showed B's line
as its own, the page and the app named nobody).

``ChatWriters`` remembers every participant a session's ``participants`` messages have listed (an index is
never reused, docs/protocol.md V2.1, so a participant who left still names its old lines) and answers, for a
chat line, the participant who wrote it: the line's ``from_index`` (version 2: the sealed frame's sender),
else its ``from`` (version 1: ``customer`` is index 0, ``agent`` the session's agent). While no list of the
session has had more than two participants, it answers None: a two-party call (a hand-over too, whose new agent
replaces the old) keeps its look, with no names.

The customer page has the same rule in ``static/customer/chat.js``; both are checked against
``tests/data/chat_writers.json``. What a client shows for the writer (나, a name, a role) is the client's.
"""

from __future__ import annotations

from typing import Any

from .vocabulary import AGENT_INDEX, CUSTOMER_INDEX


class ChatWriters:
    def __init__(self) -> None:
        self.known: dict[int, dict[str, Any]] = {}  # index → the participant as last listed
        self.you: int | None = None
        self.agent_index = AGENT_INDEX  # the session's agent (a hand-over in version 2 moves it)
        self.named = False  # some list had more than two: lines name their writer from then on

    def learn(self, participants: Any, you: Any = None) -> None:
        """One ``participants`` list (the message's, or a client's copy of it) and the receiver's own index."""
        listed = [p for p in participants if isinstance(p, dict) and isinstance(p.get("index"), int)] \
            if isinstance(participants, list) else []
        for item in listed:
            self.known[item["index"]] = dict(item)
            if item.get("role") == "agent":
                self.agent_index = item["index"]
        # (a hand-over lists a new agent instead of the old one: still a call of two)
        self.named = self.named or len(listed) > 2
        if isinstance(you, int):
            self.you = you

    def index_of(self, line: dict[str, Any]) -> int | None:
        """The index of a line's writer, or None when the line says nothing usable."""
        index = line.get("from_index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        return {"customer": CUSTOMER_INDEX, "agent": self.agent_index}.get(line.get("from"))

    def writer(self, line: dict[str, Any]) -> dict[str, Any] | None:
        """The participant who wrote ``line`` ({index, role, name, …}), or None in a two-party call. A writer
        never listed (gone before this client's first list) is known by its index alone: role ``customer``,
        ``agent`` (the session's agent) or ``guest``, with no name."""
        if not self.named:
            return None
        index = self.index_of(line)
        if index is None:
            return None
        if index in self.known:
            return self.known[index]
        role = "customer" if index == CUSTOMER_INDEX else "agent" if index == self.agent_index else "guest"
        return {"index": index, "role": role, "name": ""}

    def is_mine(self, line: dict[str, Any]) -> bool:
        return self.you is not None and self.index_of(line) == self.you


__all__ = ["ChatWriters"]
