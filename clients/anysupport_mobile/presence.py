"""Who is present in the call, as the customer's window shows it (issue 21, "Nobody hidden"): a plain class
with an injected clock, no Qt.

``Presence.apply(name, data)`` takes the ``CustomerSession``'s events. The server's ``participants``
message (docs/protocol.md) says who is in the session; before any (a two-party call that never had a guest
and does not speak version 2) the list is the customer and the session's agent once the call is
connected, as the customer page shows it (``static/customer/call.js`` ``people``). Each new list is
compared with the one shown so far, by index: whoever is new joined, whoever is gone left, and each join
and leave becomes a notice that stays ``notice_seconds`` on the clock. A participant whose socket dropped
stays listed, marked absent (its ``present`` flag). Each pair's security code (``pair_keys``, version 2)
is kept to show next to that participant's name; while the session speaks version 1 the session's agent's
line shows the version-1 code (``keys``), as the page's ``pairCode`` does.

The texts are keys of the ``mobile`` catalogue; the window picks the language.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anysupport_client.participants import joined_and_left

from anysupport.protocol.vocabulary import AGENT_INDEX, CUSTOMER_INDEX, PEER_HANDED_OVER

NOTICE_SECONDS = 20.0  # a join or leave is said this long (as a changed code on the customer page)
NOTICE_LINES = 3  # at most this many joins and leaves at once, the newest last

# a participant's role (and rights) → its text key; an unknown role is shown as an expert, never hidden
ROLE_KEYS = {
    ("customer", "full"): "people_customer",
    ("agent", "full"): "people_agent",
    ("guest", "full"): "people_guest",
    ("guest", "view"): "people_guest_view",
    ("supervisor", "view"): "people_supervisor",
}


@dataclass(frozen=True)
class Person:
    index: int
    role: str
    name: str
    rights: str
    present: bool

    @classmethod
    def from_message(cls, item: dict[str, Any]) -> Person:
        return cls(index=int(item.get("index", -1)), role=str(item.get("role") or "guest"),
                   name=str(item.get("name") or ""), rights=str(item.get("rights") or "full"),
                   present=item.get("present") is not False)

    @property
    def role_key(self) -> str:
        """The text key of this participant's role: a supervisor is one whatever its rights, a guest with
        view rights is a view-only expert, anything unknown an expert."""
        if self.role == "supervisor":
            return ROLE_KEYS["supervisor", "view"]
        return ROLE_KEYS.get((self.role, self.rights)) or ROLE_KEYS.get((self.role, "full")) or "people_guest"


@dataclass(frozen=True)
class Notice:
    when: float
    key: str  # people_joined or people_left
    person: Person


class Presence:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, notice_seconds: float = NOTICE_SECONDS):
        self.clock = clock
        self.notice_seconds = notice_seconds
        self.participants: list[Person] = []  # the server's last list ([] before any)
        self.version: int | None = None  # the session's media version, from that list
        self.you = CUSTOMER_INDEX
        self.connected = False  # the call is connected (the two-party list is shown from then on)
        self.agent_name = ""  # the session's agent, for the list before the server's
        self.codes: dict[int, str] = {}  # index → the security code of our pair with it (version 2)
        self.code_v1: str | None = None  # the version-1 code with the session's agent
        self.notices: list[Notice] = []

    def apply(self, name: str, data: dict[str, Any], *, agent_name: str | None = None) -> None:
        """One of the session's events; ``agent_name`` is the session's agent as the session knows it (the
        ``hello`` names it, and no event carries it)."""
        if agent_name:
            self.agent_name = agent_name
        if name == "state":
            self.connected = data.get("state") == "connected"
        elif name == "peer" and data.get("status") == PEER_HANDED_OVER and data.get("name"):
            self.agent_name = data["name"]
        elif name == "keys" and data.get("sas_display"):
            self.code_v1 = data["sas_display"]
        elif name == "key_exchange_failed" and "to" not in data and "from_index" not in data:  # version 1
            self.code_v1 = None
        elif name == "pair_keys" and isinstance(data.get("peer"), int) and data.get("sas_display"):
            self.codes[data["peer"]] = data["sas_display"]
        elif name == "participants":
            self._participants(data)

    def _participants(self, data: dict[str, Any]) -> None:
        items = data.get("participants")
        now = [Person.from_message(p) for p in items if isinstance(p, dict)] if isinstance(items, list) else []
        before = self.people()
        joined, left = joined_and_left(before, now, index=lambda p: p.index)
        if not before:
            joined = []  # the first list is no news
        self.participants = now
        self.version = data.get("version", self.version)
        if isinstance(data.get("you"), int):
            self.you = data["you"]
        for person in left:
            self.codes.pop(person.index, None)  # its keys are forgotten, and so is its code
        when = self.clock()
        self.notices = self._recent() + [Notice(when, "people_joined", p) for p in joined] \
            + [Notice(when, "people_left", p) for p in left]

    # -- what the window shows ----------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Who is present, in index order: the server's list, else (connected, the agent known) the customer
        and the session's agent; [] before that."""
        if self.participants:
            return sorted(self.participants, key=lambda p: p.index)
        if not self.connected or not self.agent_name:
            return []
        return [Person(CUSTOMER_INDEX, "customer", "", "full", True),
                Person(AGENT_INDEX, "agent", self.agent_name, "full", True)]

    def code(self, person: Person) -> str | None:
        """The security code of our pair with ``person`` (never our own), None where there is none yet."""
        if person.index == self.you:
            return None
        if self.version == 2:
            return self.codes.get(person.index)
        return self.code_v1 if person.index == AGENT_INDEX else None

    def _recent(self) -> list[Notice]:
        now = self.clock()
        return [n for n in self.notices if now - n.when < self.notice_seconds]

    def notices_shown(self) -> list[Notice]:
        """The joins and leaves said now, oldest first (at most ``NOTICE_LINES``)."""
        return self._recent()[-NOTICE_LINES:]


__all__ = ["NOTICE_LINES", "NOTICE_SECONDS", "ROLE_KEYS", "Notice", "Person", "Presence"]
