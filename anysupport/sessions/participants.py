"""Who takes part in a session, by index (issue 21, docs/protocol.md "Participants").

Index 0 is the customer, 1 the session's first agent, 2, 3, … the agents invited later (``guests`` in
the session's document, each ``{index, agent_id, name, rights}``, with ``supervisor: true`` when it joined
through the admin pages' 참관: its role is then ``supervisor``, not ``guest``); ``next_index`` is the next one
to give, so an index is never given twice in a session, even after a removal. A session of version 2 handed
over to another agent gives it the next index too (``agent_index`` on the session; 1 until then), so that
the keys of the agent who left name nobody present (docs/protocol.md V2.3). ``Roster`` is the same list
held in memory on ``LiveSession`` for the relay and the control channel (no database per frame).

No Tornado, no store in here: plain functions over the session document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anysupport.protocol.vocabulary import AGENT_INDEX, CUSTOMER_INDEX, FIRST_GUEST_INDEX


@dataclass(frozen=True)
class Member:
    index: int
    role: str  # "customer" | "agent" | "guest" | "supervisor"
    name: str
    rights: str  # "full" | "view"
    agent_id: str | None = None  # None for the customer (reached through the session's customer socket)

    def view(self) -> dict[str, Any]:
        return {"index": self.index, "role": self.role, "name": self.name, "rights": self.rights}


def members(session: dict[str, Any]) -> list[Member]:
    """Everyone of ``session`` in index order: the customer (once one joined), its agent, its guests."""
    out: list[Member] = []
    customer = session.get("customer")
    if customer is not None:
        out.append(Member(CUSTOMER_INDEX, "customer", customer.get("name") or "", "full"))
    out.append(Member(agent_index(session), "agent", session.get("agent_name") or session.get("agent_login") or "", "full",
                      session["agent_id"]))
    for guest in session.get("guests") or ():
        role = "supervisor" if guest.get("supervisor") else "guest"
        out.append(Member(guest["index"], role, guest["name"], guest["rights"], guest["agent_id"]))
    return sorted(out, key=lambda m: m.index)  # after a hand-over in version 2 the agent's is not the lowest


def agent_index(session: dict[str, Any]) -> int:
    """The index of the session's agent now: 1, or the one its last hand-over in version 2 gave."""
    return session.get("agent_index") or AGENT_INDEX


def guest_of(session: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
    return next((g for g in session.get("guests") or () if g["agent_id"] == agent_id), None)


def next_index(session: dict[str, Any]) -> int:
    return session.get("next_index") or FIRST_GUEST_INDEX


def speaks_version_2(session: dict[str, Any]) -> bool:
    """The session's document says it speaks version 2: from the start (``media_version``), or since it
    had a third participant (an index past the first guest's was given)."""
    return (session.get("media_version") == 2 or bool(session.get("guests"))
            or next_index(session) > FIRST_GUEST_INDEX)


class Roster:
    """The members of one live session, looked up by index and by agent id (what the relay reads per
    frame). ``group`` is True once the session has had a third participant: from then on its Python
    clients speak version 2 (docs/protocol.md, "When a session speaks version 2")."""

    __slots__ = ("by_index", "by_agent", "group", "customer_v2", "agent_v2", "agent_index")

    def __init__(self) -> None:
        self.by_index: dict[int, Member] = {}
        self.by_agent: dict[str, int] = {}
        self.group = False
        # the customer's client said it speaks version 2 (``capabilities`` ``versions``): only then may
        # a third participant be invited
        self.customer_v2 = False
        # the session's agent's client said so when it connected the session (``versions``): with the
        # customer's, the session speaks version 2 from the start (``start_group``)
        self.agent_v2 = False
        self.agent_index = AGENT_INDEX  # the session's agent's (another after a hand-over in version 2)

    def update(self, session: dict[str, Any]) -> None:
        found = members(session)
        self.by_index = {m.index: m for m in found}
        self.by_agent = {m.agent_id: m.index for m in found if m.agent_id is not None}
        self.group = self.group or speaks_version_2(session)
        self.agent_v2 = 2 in (session.get("agent_versions") or ())
        self.agent_index = agent_index(session)

    def start_group(self) -> bool:
        """Both the customer's client and the session's agent's speak version 2: the session speaks it from
        now on (True when this call switched it)."""
        if self.group or not (self.customer_v2 and self.agent_v2):
            return False
        self.group = True
        return True

    def index_of(self, role: str, agent_id: str | None) -> int | None:
        """The index of a connection: a customer socket is 0, an agent's console its own index here."""
        if role == "customer":
            return CUSTOMER_INDEX if CUSTOMER_INDEX in self.by_index else None
        return self.by_agent.get(agent_id)

    def guests(self) -> tuple[str, ...]:
        """Agent ids of the invited agents (not the session's own agent)."""
        return tuple(aid for aid, index in self.by_agent.items() if index != self.agent_index)


def agent_ref(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent as other agents and the records' readers see it: its login and name (no id, no role)."""
    return {"login": agent["login"], "name": agent["name"]}


def agents_of(doc: dict[str, Any]) -> list[dict[str, str]]:
    """The agents a session or record had, first to current, as the API shows them (login and name): one,
    unless it was handed over."""
    history = doc.get("agents") or [{"login": doc.get("agent_login"), "name": doc.get("agent_name")}]
    return [agent_ref(a) for a in history]
