"""``ClusterPlacement``: where sessions live when several nodes share one database.

A session lives on the node that holds its agent's console (session affinity: media never crosses
nodes). This node acts on its own sessions and on the sockets it holds, and tells the others through
the cluster's events (``roster``: a session's participants changed through another node, issue 21);
the handlers of those events are here, and so are the rules for a node that
stops beating (its sessions wait for their agents to come back elsewhere, then expire after the grace).
Same methods as ``sessions.placement.SingleNode``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from anysupport import i18n
from anysupport.cluster.rules import customer_placement
from anysupport.protocol.vocabulary import CLOSE_MOVED, CLOSE_REPLACED
from anysupport.sessions.manager import ORDER
from anysupport.sessions.placement import Placement
from anysupport.ws.hub import evict

if TYPE_CHECKING:
    from anysupport.cluster.bus import Cluster
    from anysupport.sessions.manager import SessionManager
    from anysupport.sessions.presence import Participant
    from anysupport.ws.hub import Connection, Hub

log = logging.getLogger("anysupport.sessions")


class ClusterPlacement(Placement):
    def __init__(self, cluster: Cluster, store, hub: Hub):
        self.cluster = cluster
        self.store = store
        self.hub = hub
        self.node_id = cluster.node_id
        self.sessions: SessionManager | None = None
        self._roster_handlers: list = []

    def bind(self, sessions: SessionManager) -> None:
        self.sessions = sessions
        self.cluster.on("session", self._on_session_event)
        self.cluster.on("to_console", self._on_to_console)
        self.cluster.on("to_customer", self._on_to_customer)
        self.cluster.on("console", self._on_console_event)
        self.cluster.on("roster", self._on_roster_event)

    def on_roster(self, handler) -> None:
        self._roster_handlers.append(handler)

    async def roster_changed(self, session: dict[str, Any], removed: dict[str, Any] | None) -> None:
        await self.cluster.publish("roster", session=session, removed=removed)

    # -- where a session lives ----------------------------------------------------------------------------
    def ws_url(self, session: dict[str, Any] | None = None) -> str:
        return self.cluster.ws_url((session or {}).get("node") or self.node_id)

    def owns(self, session: dict[str, Any]) -> bool:
        return session.get("node") in (None, self.node_id)

    def describe(self, session: dict[str, Any]) -> dict[str, Any]:
        return {"node": session.get("node")}

    async def node_for(self, agent_id: str) -> str | None:
        """The node of the agent's console (this one when it has none, or when that node is dead)."""
        if self.hub.has_console(agent_id):
            return self.node_id
        return await self.console_node(agent_id) or self.node_id

    async def lives_elsewhere(self, session: dict[str, Any]) -> bool:
        node = session.get("node")
        return node not in (None, self.node_id) and await self.cluster.check_alive(node)

    async def console_node(self, agent_id: str) -> str | None:
        """The live node the store names for the agent's console, or None."""
        node = await self.store.cluster.console_node(agent_id)
        return node if node is not None and await self.cluster.check_alive(node) else None

    def follow_session(self, session: dict[str, Any]) -> None:
        conn = self.hub.customer(session["id"])
        node = session.get("node")
        if conn is not None and not self.owns(session) and self.cluster.alive(node):
            self.send_elsewhere(conn, session)

    async def changed(self, session: dict[str, Any], reason: str | None, joined: bool) -> None:
        # the node holding the agent's console, and any holding the customer, announce it to theirs
        await self.cluster.publish("session", session=session, reason=reason, joined=joined)

    # -- sockets -------------------------------------------------------------------------------------------
    async def customer_placement(self, session: dict[str, Any]) -> str:
        """``here``, ``moved`` or ``hold`` for a customer socket opened on this node (cluster.rules)."""
        node = session.get("node")
        if node not in (None, self.node_id):
            await self.cluster.check_alive(node)  # the directory read again if it counts the node dead
        return customer_placement(node, self.node_id, self.cluster.alive)

    async def admit_customer(self, conn: Connection, session_id: str) -> bool:
        session = await self.store.sessions.get(session_id)
        if session is not None and await self.customer_placement(session) == "moved":
            self.send_elsewhere(conn, session)
            return False
        return True

    def send_elsewhere(self, conn: Connection, session: dict[str, Any]) -> None:
        """Tell a customer's socket (or an invited agent's guest socket) where its session lives now, and
        close it (it reconnects there)."""
        url = self.cluster.ws_url(session.get("node"))
        conn.send_json({"type": "moved", "session_id": session["id"], "ws_url": url,
                        "message": i18n.text("session_moved", conn.language)})
        conn.close(CLOSE_MOVED, "moved")

    async def console_attached(self, agent_id: str) -> None:
        """The agent's sessions move here with its console; the other nodes replace an older console
        of the agent and send the customers they hold on to this node."""
        await self.store.cluster.set_console(agent_id, self.node_id)
        moved = await self.store.sessions.move_agent_sessions(agent_id, self.node_id)
        if moved:
            log.info("%d session(s) of agent %s moved to node %s with its console", len(moved), agent_id,
                     self.node_id)
        await self.cluster.publish("console", agent_id=agent_id, node=self.node_id)

    async def console_detached(self, agent_id: str) -> None:
        await self.store.cluster.clear_console(agent_id, self.node_id)

    def attached_here(self, participant: Participant) -> dict[str, Any]:
        return {participant.node_field: self.node_id} if participant.node_field else {}

    def detached_here(self, session: dict[str, Any], participant: Participant) -> dict[str, Any]:
        field = participant.node_field
        return {field: None} if field and session.get(field) == self.node_id else {}

    def present_elsewhere(self, session: dict[str, Any], participant: Participant) -> bool:
        """A socket recorded on another live node counts only if that node is the session's own: media
        never crosses nodes, so a customer recorded anywhere else is on its way here (``moved``) or was
        lost with its node. This is what keeps a console that came back here after its node was killed
        from hearing ``customer_present: true`` from the dead node's record, which the heartbeats would
        vouch for until ``node_timeout`` (issue 18 #11)."""
        node = session.get(participant.node_field) if participant.node_field else None
        return (node is not None and node != self.node_id and node == session.get("node")
                and self.cluster.alive(node))

    async def socket_elsewhere(self, session_id: str, participant: Participant) -> bool:
        session = await self.store.sessions.get(session_id)
        return session is not None and self.present_elsewhere(session, participant)

    async def deliver(self, session: dict[str, Any], participant: Participant, message: dict[str, Any]) -> None:
        if participant.agent_id is not None:
            await self.cluster.publish("to_console", agent_id=participant.agent_id, message=message)
        else:
            await self.cluster.publish("to_customer", session_id=session["id"], message=message)

    # -- dead nodes -----------------------------------------------------------------------------------------
    async def nodes_to_sweep(self, now: dt.datetime) -> list[str] | None:
        """This node's sessions, and those of dead nodes (nobody else holds them)."""
        return [self.node_id, *await self._dead_nodes(now)]

    async def _dead_nodes(self, now: dt.datetime) -> list[str]:
        """Nodes recorded on live sessions that no longer beat: their connected sessions' sides count as
        gone from now (the grace clock starts; an agent coming back elsewhere takes its sessions along)."""
        recorded = await self.store.sessions.live_nodes()
        dead = self.cluster.dead_nodes(recorded)
        for node in dead:
            if await self.store.sessions.mark_all_gone(now, node=node):
                log.warning("node %s does not answer: its sessions wait for their agents to come back", node)
        return dead

    async def keeps(self, session: dict[str, Any]) -> bool:
        """A side recorded gone whose socket is open on this node (a takeover made while this node was
        only slow): the record is put right instead of the session ending."""
        if session["state"] != "connected" or not self.owns(session):
            return False
        changes = self.sessions.presence.returned(session)
        if not changes:
            return False
        updated = await self.store.sessions.set_fields(session["id"], changes)
        return not (updated.get("agent_gone_at") or updated.get("customer_gone_at"))

    async def restore(self) -> None:
        # sessions that moved to another node while this one was down are not claimed, nor touched
        await self.store.cluster.clear_node_consoles(self.node_id)

    # -- what the other nodes tell this one -------------------------------------------------------------------
    async def _on_session_event(self, event: dict[str, Any]) -> None:
        """A transition made on another node: act for the sockets this node holds."""
        sessions = self.sessions
        session, reason = event["session"], event.get("reason")
        if session["state"] == "expired":
            await sessions.expired_elsewhere(session, reason)
            return
        live = sessions.live.get(session["id"])
        if live is not None and ORDER[session["state"]] < ORDER[live.state]:
            # older than a transition made or seen here since (the events of two nodes cross: a session
            # created through c, joined through a before a read c's "created"): nothing to undo here
            return
        sessions.set_live(session)
        self.follow_session(session)  # it moved away (a hand-over to a console on another node)
        sessions.announce(session, reason)
        if event.get("joined"):
            await sessions.auto_connect(session)

    async def _on_to_console(self, event: dict[str, Any]) -> None:
        console = self.hub.console(event["agent_id"])
        if console is None:
            return
        message = event["message"]
        if (message.get("type") == "peer" and message.get("peer") == "customer" and message.get("status") == "reconnecting"
                and self.hub.customer(message.get("session_id")) is not None):
            # the customer's old socket on another node closed after it was sent here (a session that moved
            # node): its socket here is open, and a late "reconnecting" would leave the console waiting for it
            return
        console.send_json(message)

    async def _on_roster_event(self, event: dict[str, Any]) -> None:
        """Another node changed a session's participants (issue 21): the node holding it applies that."""
        for handler in self._roster_handlers:
            await handler(event["session"], event.get("removed"))

    async def _on_to_customer(self, event: dict[str, Any]) -> None:
        customer = self.hub.customer(event["session_id"])
        if customer is not None:
            customer.send_json(event["message"])

    async def _on_console_event(self, event: dict[str, Any]) -> None:
        """The agent's console opened on another node: its sessions live there now. An older console of
        the agent here is replaced; customers here of its sessions are sent to that node."""
        agent_id, node = event["agent_id"], event["node"]
        old = self.hub.console(agent_id)
        if old is not None:
            evict(old, CLOSE_REPLACED, "replaced")
        self.sessions.moved_away(agent_id)
        if not self.hub.customers and not self.hub.guests:
            return
        for session in await self.store.sessions.list_live(agent_id=agent_id, node=node):  # one query per event
            conn = self.hub.customer(session["id"])
            if conn is not None:
                self.send_elsewhere(conn, session)
            # invited agents' guest sockets follow the session too (issue 21)
            for key in [k for k in self.hub.guests if k[0] == session["id"]]:
                self.send_elsewhere(self.hub.guests[key], session)
