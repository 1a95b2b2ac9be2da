"""Who of a session has a socket open, and what the others are told when that changes.

A session has participants, each with a role; today two, its agent and its customer (``participants``).
Every rule here goes through that list: a participant is reached through the agent's console (one
socket for all of an agent's sessions) or through the session's customer socket; a participant that
drops starts its grace clock (``<role>_gone_at``) and every *other* participant gets a ``peer`` notice.
Where a socket is on another node, ``placement`` records it and carries the notice there.

No Tornado in here: sockets are the hub's ``Connection``s; the clock is injected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from anysupport.ws.hub import Connection

ACTIVE = ("online", "connected")  # a customer is admitted (online) or talking with its agent (connected)


@dataclass(frozen=True)
class Participant:
    """One participant of a session. ``agent_id`` is set for an agent: it is reached through its
    console; the customer (no ``agent_id``) through the session's own customer socket."""

    role: str  # "agent" | "customer"
    agent_id: str | None = None

    @property
    def gone_field(self) -> str:
        """The stored time its socket dropped (its grace clock runs from then), None while present."""
        return f"{self.role}_gone_at"

    @property
    def node_field(self) -> str | None:
        """The stored node holding its socket, when that may differ from the session's own node. An
        agent's console is always on the session's node (sessions follow their consoles), so only the
        customer's is recorded. (An invited agent whose console is elsewhere opens a guest socket on the
        session's node: ``Hub.guest``, ``Invitations``; it is no ``Participant`` here.)"""
        return None if self.agent_id else f"{self.role}_node"


def agent_of(session: dict[str, Any]) -> Participant:
    return Participant("agent", session["agent_id"])


CUSTOMER = Participant("customer")


def participants(session: dict[str, Any]) -> tuple[Participant, ...]:
    """Who takes part in ``session``, in the order they are told things: its agent, then its customer."""
    return agent_of(session), CUSTOMER


def others(session: dict[str, Any], about: Participant) -> Iterator[Participant]:
    return (p for p in participants(session) if p != about)


class Presence:
    def __init__(self, store, hub, placement, *, clock: Callable[[], dt.datetime]):
        self.store = store
        self.hub = hub
        self.placement = placement
        self.clock = clock

    # -- who is here --------------------------------------------------------------------------------
    def connection(self, session: dict[str, Any], participant: Participant) -> Connection | None:
        """The participant's socket on this node, if it has one open here."""
        if participant.agent_id is not None:
            return self.hub.console(participant.agent_id)
        return self.hub.customer(session["id"])

    def present(self, session: dict[str, Any], participant: Participant) -> bool:
        """Its socket is open here, or on another live node (as ``session`` records it)."""
        return (self.connection(session, participant) is not None
                or self.placement.present_elsewhere(session, participant))

    async def present_now(self, session_id: str, participant: Participant) -> bool:
        """``present``, reading the session again only when its socket is not here."""
        if self.connection({"id": session_id}, participant) is not None:
            return True
        return await self.placement.socket_elsewhere(session_id, participant)

    # -- telling them ------------------------------------------------------------------------------------
    def broadcast(self, session: dict[str, Any], message_for: Callable[[Participant], dict[str, Any]]) -> None:
        """Send each participant with a socket here its own message (``message_for`` builds it, only
        for those present). The other nodes tell the sockets they hold themselves."""
        for participant in participants(session):
            conn = self.connection(session, participant)
            if conn is not None:
                conn.send_json(message_for(participant))

    async def send(self, session: dict[str, Any], participant: Participant, message: dict[str, Any]) -> None:
        """One message to a participant's socket, here or on the node that holds it."""
        conn = self.connection(session, participant)
        if conn is not None:
            conn.send_json(message)
        else:
            await self.placement.deliver(session, participant, message)

    async def tell_others(self, session: dict[str, Any], about: Participant, status: str) -> None:
        """``peer`` notice to every other participant: ``about`` joined, is back, or is reconnecting."""
        message = {"type": "peer", "peer": about.role, "status": status, "session_id": session["id"],
                   "time": self.clock().isoformat(timespec="milliseconds")}
        for participant in others(session, about):
            await self.send(session, participant, message)

    # -- the customer's socket ------------------------------------------------------------------------------
    async def customer_attached(self, session_id: str) -> dict[str, Any] | None:
        """The customer's socket opened here: its grace clock stops; its agent hears it joined (the
        first time) or is back."""
        session = await self.store.sessions.get(session_id)
        if session is None:
            return None
        if session["state"] not in ACTIVE:
            return session
        first = not session.get("customer_seen")
        changes: dict[str, Any] = {"customer_seen": True, **self.placement.attached_here(CUSTOMER)}
        if session.get(CUSTOMER.gone_field):
            changes[CUSTOMER.gone_field] = None
        session = await self.store.sessions.set_fields(session_id, changes)
        await self.tell_others(session, CUSTOMER, "joined" if first else "back")
        return session

    async def customer_detached(self, session_id: str) -> None:
        session = await self.store.sessions.get(session_id)
        if session is None or session["state"] not in ACTIVE:
            return
        elsewhere = session.get(CUSTOMER.node_field)
        if elsewhere is not None and self.placement.node_id is not None and elsewhere != self.placement.node_id:
            return  # an old socket: the customer's new one is already open on another node (its session moved)
        changes: dict[str, Any] = {}
        if session["state"] == "connected":  # the grace clock runs only once the agent has accepted
            changes[CUSTOMER.gone_field] = self.clock()
        changes.update(self.placement.detached_here(session, CUSTOMER))
        if changes:
            session = await self.store.sessions.set_fields(session_id, changes)
        await self.tell_others(session, CUSTOMER, "reconnecting")

    # -- the agent's console (one socket, every session of the agent) ------------------------------------------
    async def agent_back(self, session: dict[str, Any]) -> None:
        """The agent's console opened: a connected session it had dropped stops its grace clock."""
        agent = agent_of(session)
        if session["state"] == "connected" and session.get(agent.gone_field):
            await self.store.sessions.set_fields(session["id"], {agent.gone_field: None})
            await self.tell_others(session, agent, "back")

    async def agent_away(self, session: dict[str, Any]) -> None:
        """The agent's console dropped: a connected session starts its grace clock."""
        if session["state"] == "connected":
            agent = agent_of(session)
            await self.store.sessions.set_fields(session["id"], {agent.gone_field: self.clock()})
            await self.tell_others(session, agent, "reconnecting")

    def returned(self, session: dict[str, Any]) -> dict[str, Any]:
        """The grace clocks of ``session`` to stop because their participants' sockets are open here
        (a node that was only slow finds its own sockets recorded gone by another)."""
        return {p.gone_field: None for p in participants(session)
                if session.get(p.gone_field) and self.connection(session, p) is not None}
