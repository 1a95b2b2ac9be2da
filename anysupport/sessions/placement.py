"""Where a session lives, and how this process reaches the sockets it does not hold.

``Placement`` is what the session manager and presence ask; ``SingleNode`` answers for one process
(every session and every socket is here), ``anysupport.cluster.placement.ClusterPlacement`` for several
nodes on one database (a session lives on the node of its agent's console; the nodes tell each other
through the cluster's events, and a dead node's sessions wait for their agents to come back).
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import TYPE_CHECKING, Any

from anysupport.cluster.rules import ws_url_for

if TYPE_CHECKING:
    from anysupport.sessions.manager import SessionManager
    from anysupport.sessions.presence import Participant
    from anysupport.ws.hub import Connection


class Placement(abc.ABC):
    node_id: str | None  # this node's id (None: a single node, nothing recorded)

    def bind(self, sessions: SessionManager) -> None:  # noqa: B027 (a single node needs nothing)
        """The session manager this placement works for (the cluster's event handlers call it)."""

    # -- where a session lives ----------------------------------------------------------------------
    @abc.abstractmethod
    def ws_url(self, session: dict[str, Any] | None = None) -> str:
        """Where the customer of ``session`` opens its socket: the node that holds the session."""

    @abc.abstractmethod
    def owns(self, session: dict[str, Any]) -> bool:
        """The session lives on this node."""

    @abc.abstractmethod
    def describe(self, session: dict[str, Any]) -> dict[str, Any]:
        """What the agent's view of a session adds about where it lives."""

    @abc.abstractmethod
    async def node_for(self, agent_id: str) -> str | None:
        """The node a new session of the agent lives on (the one holding its console)."""

    def follow_session(self, session: dict[str, Any]) -> None:  # noqa: B027 (a single node holds every session)
        """``session`` may have moved to another node (a hand-over to a console there): a customer socket
        of it on this node is sent on."""

    async def lives_elsewhere(self, session: dict[str, Any]) -> bool:
        """``session`` lives on another node, and that node is alive (several nodes only)."""
        return False

    async def console_node(self, agent_id: str) -> str | None:
        """The live node where the agent's console is open, if any (several nodes only)."""
        return None

    def on_roster(self, handler) -> None:  # noqa: B027 (a single node hears only itself)
        """``handler(session, removed)`` (async) runs when another node changed who takes part in a session
        (an invitation accepted or a participant removed through a REST call that reached that node)."""

    async def roster_changed(self, session: dict[str, Any], removed: dict[str, Any] | None) -> None:
        """Who takes part in ``session`` changed here: the other nodes (the session's own) apply it too."""
        return None

    @abc.abstractmethod
    async def changed(self, session: dict[str, Any], reason: str | None, joined: bool) -> None:
        """A transition was made (and announced) here: the nodes holding other sockets of the session
        announce it to theirs."""

    # -- sockets opening and closing -----------------------------------------------------------------------
    @abc.abstractmethod
    async def admit_customer(self, conn: Connection, session_id: str) -> bool:
        """A customer's socket opens here: True to keep it, False when it was sent to its session's node."""

    @abc.abstractmethod
    async def console_attached(self, agent_id: str) -> None:
        """The agent's console opened here (before its sessions are read for its hello)."""

    @abc.abstractmethod
    async def console_detached(self, agent_id: str) -> None:
        """The agent's console closed here."""

    @abc.abstractmethod
    def attached_here(self, participant: Participant) -> dict[str, Any]:
        """The session fields to record when the participant's socket attaches to this node."""

    @abc.abstractmethod
    def detached_here(self, session: dict[str, Any], participant: Participant) -> dict[str, Any]:
        """The session fields to record when the participant's socket on this node closes."""

    @abc.abstractmethod
    def present_elsewhere(self, session: dict[str, Any], participant: Participant) -> bool:
        """The participant's socket is open on another node (as ``session`` records it)."""

    @abc.abstractmethod
    async def socket_elsewhere(self, session_id: str, participant: Participant) -> bool:
        """``present_elsewhere`` for the session as stored now."""

    @abc.abstractmethod
    async def deliver(self, session: dict[str, Any], participant: Participant, message: dict[str, Any]) -> None:
        """A message for a participant whose socket is not on this node."""

    # -- timeouts and restarts ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def nodes_to_sweep(self, now: dt.datetime) -> list[str] | None:
        """The nodes whose sessions this node's sweep looks at (None: every session)."""

    @abc.abstractmethod
    async def keeps(self, session: dict[str, Any]) -> bool:
        """A session the sweep found due must not expire after all (its sockets are here)."""

    @abc.abstractmethod
    async def restore(self) -> None:
        """This node (re)starts: before its sessions start their grace clocks."""


class SingleNode(Placement):
    """One process: every session and every socket is here, and there is nobody else to tell."""

    node_id = None

    def __init__(self, node_url: str = ""):
        self._ws_url = ws_url_for(None, node_url)

    def ws_url(self, session: dict[str, Any] | None = None) -> str:
        return self._ws_url

    def owns(self, session: dict[str, Any]) -> bool:
        return True

    def describe(self, session: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def node_for(self, agent_id: str) -> str | None:
        return None

    async def changed(self, session: dict[str, Any], reason: str | None, joined: bool) -> None:
        return None

    async def admit_customer(self, conn: Connection, session_id: str) -> bool:
        return True

    async def console_attached(self, agent_id: str) -> None:
        return None

    async def console_detached(self, agent_id: str) -> None:
        return None

    def attached_here(self, participant: Participant) -> dict[str, Any]:
        return {}

    def detached_here(self, session: dict[str, Any], participant: Participant) -> dict[str, Any]:
        return {}

    def present_elsewhere(self, session: dict[str, Any], participant: Participant) -> bool:
        return False

    async def socket_elsewhere(self, session_id: str, participant: Participant) -> bool:
        return False

    async def deliver(self, session: dict[str, Any], participant: Participant, message: dict[str, Any]) -> None:
        return None  # a socket that is not here is not open anywhere

    async def nodes_to_sweep(self, now: dt.datetime) -> list[str] | None:
        return None

    async def keeps(self, session: dict[str, Any]) -> bool:
        return False

    async def restore(self) -> None:
        return None
