"""The rules of a support session. No Tornado in here: the WebSocket layer calls in, and the
manager talks back through the ``Hub`` (``send_json`` on whatever connections are live).

States: offline (code valid, no customer) → online (customer joined, waiting) → connected (agent
accepted, or auto-accepted) → expired (ended, deleted or timed out). Every transition is one atomic
update in the store, made under a per-session lock so ``state`` messages reach both sides in order.

The manager keeps the state machine and the sweep. Who has a socket open and what the others are told
about it is ``presence.Presence``; where a session lives (this node, or another one of a cluster) is
``placement.Placement``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anysupport.auth.access import may_see
from anysupport.errors import Conflict, Forbidden, NotFound, RateLimited
from anysupport.protocol.vocabulary import (
    AGENT_INDEX,
    CLOSE_SESSION_ENDED,
    LIVE_STATES,
    MAX_PARTICIPANT_INDEX,
    PEER_HANDED_OVER,
    STATES,
)
from anysupport.ratelimit import SlidingWindowLimiter
from anysupport.sessions.participants import Roster, agents_of, guest_of, next_index, speaks_version_2
from anysupport.sessions.placement import Placement, SingleNode
from anysupport.sessions.presence import CUSTOMER, Participant, Presence
from anysupport.store.common import utcnow

log = logging.getLogger("anysupport.sessions")

ORDER = {state: rank for rank, state in enumerate(STATES)}  # a session's state only moves forward


def now_iso() -> str:
    return utcnow().isoformat(timespec="milliseconds")


def agent_entry(agent_id: str, login: str, name: str) -> dict[str, str]:
    """One agent of a session's ``agents`` history (its first agent, then one per hand-over)."""
    return {"id": agent_id, "login": login, "name": name}


@dataclass
class LiveSession:
    """What the relay and the control channel need per session, kept in memory (no database per frame)."""

    id: str
    agent_id: str
    state: str
    prefix: bytes = b""  # the 12 raw bytes of the id, put before frames relayed to the agent's console
    # other agents who receive the customer's media too (issue 21: an invited expert, a supervisor),
    # by agent id, each through its own console's queue; the session's agent is not among them
    watchers: tuple[str, ...] = field(default=())
    # every participant by index (issue 21): what the version-2 relay and the group messages route by
    roster: Roster = field(default_factory=Roster)
    # the session's agent's index its participants were last told (a hand-over in version 2 changes it)
    told_agent_index: int = AGENT_INDEX
    # the customer's last ``camera_state`` and ``capabilities`` as relayed, by type: given to an invited agent
    # when its socket here is there (it was not when the customer sent them)
    customer_state: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prefix = bytes.fromhex(self.id)


class SessionManager:
    """``clock`` gives the current UTC time (whole milliseconds, as stored) and ``monotonic`` the
    seconds the rate limits count on; tests inject both (one hand-moved clock) to move time by hand.
    ``placement`` says where sessions live (``SingleNode`` unless the server runs as a cluster)."""

    def __init__(self, store, config, hub, auth, records, *, placement: Placement | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.config = config
        self.hub = hub
        self.auth = auth
        self.records = records
        self.clock = clock
        self.placement = placement if placement is not None else SingleNode(config.node_url)
        self.presence = Presence(store, hub, self.placement, clock=clock)
        self.join_failures = SlidingWindowLimiter(config.join_max_attempts, config.join_window, clock=monotonic)
        self.creations = SlidingWindowLimiter(config.session_create_max, config.session_create_window, clock=monotonic)
        self.live: dict[str, LiveSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._agent_locks: dict[str, asyncio.Lock] = {}
        self.expired_listeners: list = []  # callables(session_id), e.g. the relay dropping its counters
        self.expiry_hooks: list = []  # async callables(session) run once, by the node that expired it
        # callables(session): a session of version 2 has another agent (a hand-over), its participants must
        # hear who is present now (``Invitations.announce``), on every node holding some of their sockets
        self.members_hooks: list = []
        self.placement.bind(self)

    def _now_iso(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")

    # -- views --------------------------------------------------------------------------------------
    def ws_url(self, session: dict[str, Any] | None = None) -> str:
        """Where the customer of ``session`` opens its socket: the node that holds the session."""
        return self.placement.ws_url(session)

    @staticmethod
    def customer_view(session: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": session["id"],
            "state": session["state"],
            "number": session["number"],
            "agent_name": session["agent_name"],
            # the media-frame versions the agent's client said at connect: with the customer's own, the client
            # knows before any key whether the call will speak version 2 (no version-1 code shown, then changed)
            "agent_versions": list(session.get("agent_versions") or ()),
        }

    def agent_view(self, session: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": session["id"],
            "code": session["code"],
            "state": session["state"],
            "number": session["number"],
            "created_at": session["created_at"],
            "online_at": session.get("online_at"),
            "connected_at": session.get("connected_at"),
            "expired_at": session.get("expired_at"),
            "expire_reason": session.get("expire_reason"),
            "agent_login": session["agent_login"],
            "agents": agents_of(session),
            "customer": session.get("customer"),
            "customer_present": self.presence.present(session, CUSTOMER),
            **self.placement.describe(session),
        }

    def view_for(self, session: dict[str, Any], participant: Participant) -> dict[str, Any]:
        """The session as a participant sees it: an agent all of it, the customer a little."""
        return self.agent_view(session) if participant.agent_id is not None else self.customer_view(session)

    def lock(self, session_id: str) -> asyncio.Lock:
        """The per-session lock every change of a session on this node is made under (the invitations too)."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    def announce(self, session: dict[str, Any], reason: str | None = None) -> None:
        """Send the session's state to every participant connected here, in transition order."""
        base = {"type": "state", "session_id": session["id"], "state": session["state"], "time": self._now_iso()}
        if reason:
            base["reason"] = reason
        self.presence.broadcast(session, lambda p: {**base, "session": self.view_for(session, p)})
        live = self.live.get(session["id"])
        if live is not None and live.roster.group and live.told_agent_index != live.roster.agent_index:
            live.told_agent_index = live.roster.agent_index  # after the state: the new console knows the session
            for hook in self.members_hooks:
                hook(session)
        if session["state"] == "expired":  # invited agents (issue 21) hear that the session ended
            for guest in session.get("guests") or ():
                conn = self.hub.participant(session["id"], guest["agent_id"])  # its guest socket, else its console
                if conn is not None:
                    conn.send_json({**base, "session": {"id": session["id"], "state": "expired"}})
                self.hub.end_guest(session["id"], guest["agent_id"], "session_ended")

    async def _changed(self, session: dict[str, Any], reason: str | None = None, *, joined: bool = False) -> None:
        """A transition was made here: announce it to this node's sockets, and tell the other nodes."""
        self.announce(session, reason)
        await self.placement.changed(session, reason, joined)

    # -- agent operations -----------------------------------------------------------------------------
    async def create(self, agent: dict[str, Any]) -> dict[str, Any]:
        """A new session with a fresh code, within the agent's limits.

        One agent may hold at most ``agent_max_live_sessions`` sessions that have not expired, and
        create at most ``session_create_max`` per ``session_create_window`` seconds, so that no
        one login can take the 10,000 codes. The count and the creation run under a per-agent lock
        (one process holds an agent's console, so its creations meet here).
        """
        lock = self._agent_locks.get(agent["id"])
        if lock is None:
            lock = self._agent_locks[agent["id"]] = asyncio.Lock()
        async with lock:
            wait = self.creations.retry_after(agent["id"])
            if wait:
                raise RateLimited("too_many_sessions_created", retry_after=wait)
            limit = self.config.agent_max_live_sessions
            if await self.store.sessions.count_live(agent["id"]) >= limit:
                raise Conflict("too_many_live_sessions", limit=limit)
            self.creations.hit(agent["id"])
            return await self._create(agent)  # the locks stay: one per agent that ever created a session

    async def _create(self, agent: dict[str, Any]) -> dict[str, Any]:
        for _ in range(100):
            code = f"{secrets.randbelow(10000):04d}"
            if await self.store.sessions.claim_code(code):
                break
        else:
            raise Conflict("no_codes_left")
        session = await self.store.sessions.create(code=code, agent=agent, now=self.clock(),
                                                   node=await self.placement.node_for(agent["id"]))
        await self.store.sessions.bind_code(code, session["id"])
        if self.placement.owns(session):
            self.live[session["id"]] = LiveSession(session["id"], agent["id"], "offline")
        log.info("session %s (code %s) created by %s", session["id"], code, agent["login"])
        await self._changed(session)
        return session

    async def list_for_agent(self, agent: dict[str, Any]) -> list[dict[str, Any]]:
        since = self.clock() - dt.timedelta(hours=24)
        return await self.store.sessions.list_for_agent(agent["id"], since=since)

    async def get_for_agent(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        """The session, if the agent may see it (its own, or any for an admin)."""
        session = await self.store.sessions.get(session_id)
        if session is None or not may_see(agent, session["agent_id"]):
            raise NotFound("session_not_found")
        return session

    async def belongs_to(self, agent_id: str, session_id: str) -> bool:
        """The session exists and is the agent's own (what the agent's console may act on)."""
        session = await self.store.sessions.get(session_id)
        return session is not None and session["agent_id"] == agent_id

    async def get_for_customer(self, session_id: str) -> dict[str, Any]:
        session = await self.store.sessions.get(session_id)
        if session is None:
            raise NotFound("session_not_found")
        return session

    async def delete(self, agent: dict[str, Any], session_id: str) -> None:
        session = await self.get_for_agent(agent, session_id)
        await self.expire(session["id"], "deleted")

    async def connect(self, agent: dict[str, Any], session_id: str, *, versions: list[int] | None = None
                      ) -> dict[str, Any]:
        """``versions``: the media-frame versions the agent's client speaks (kept as ``agent_versions``)."""
        session = await self.get_for_agent(agent, session_id)
        if session["agent_id"] != agent["id"]:
            raise Forbidden("not_your_session")
        return await self._connect(session["id"], versions or [])

    async def _connect(self, session_id: str, versions: list[int] | None = None) -> dict[str, Any]:
        async with self.lock(session_id):
            now = self.clock()
            # a customer that joined but has no socket open (yet, or any more): its grace clock runs from now
            present = await self.presence.present_now(session_id, CUSTOMER)
            session = await self.store.sessions.transition(
                session_id, ("online",), {"state": "connected", "connected_at": now, "agent_versions": versions or [],
                                          "customer_gone_at": None if present else now, "agent_gone_at": None}
            )
            if session is None:
                current = await self.store.sessions.get(session_id)
                raise Conflict("session_not_online", state=current["state"] if current else "expired")
            # live before anything else is awaited: a customer socket opening from here on reads
            # "connected" from the store (its hello says so) and its messages must be accepted at once
            self.set_live(session)
            await self.records.open_for(session)
            log.info("session %s connected", session_id)
            await self._changed(session)
            return session

    async def console_node(self, agent_id: str) -> str | None | bool:
        """Where the agent's console is open: its node with several nodes (a live one), True on a single
        node, False (or None) when it has none open."""
        if self.placement.node_id is None:
            return self.hub.has_console(agent_id)
        if self.hub.has_console(agent_id):
            return self.placement.node_id
        return await self.placement.console_node(agent_id)

    async def hand_over(self, session_id: str, from_agent_id: str, agent: dict[str, Any]) -> dict[str, Any]:
        """Move a connected session from agent ``from_agent_id`` to ``agent`` (an accepted hand-over,
        ``handover.HandoverManager``; any node may do it): the session's agent fields and its ``agents``
        history change in one conditional update; the old console is told the session left it, the new
        one that it arrived, the customer who its agent is now; then the usual ``state`` (here, and on
        the session's node through the cluster) moves the relay to the new console and tells it
        ``connected``, on which it starts a new key exchange; the record follows. With several nodes the
        session moves to the node of the new agent's console (the customer is sent there with ``moved``,
        and the new console starts its exchange when the customer is ``back`` there). A session speaking
        version 2 gives the new agent the next index (``agent_index``): after the ``state``, every participant
        gets ``participants`` without the old index (``members_hooks``) and starts a new epoch (V2.3)."""
        async with self.lock(session_id):
            before = await self.store.sessions.get(session_id)
            if before is None or before["state"] != "connected":
                raise Conflict("session_not_connected")
            if before["agent_id"] != from_agent_id:
                raise Conflict("handover_stale")
            node = await self.console_node(agent["id"])
            if not node:  # the new agent's console closed meanwhile
                raise Conflict("agent_not_available", name=agent["name"])
            limit = self.config.agent_max_live_sessions
            if await self.store.sessions.count_live(agent["id"]) >= limit:
                raise Conflict("too_many_live_sessions", limit=limit)
            if guest_of(before, agent["id"]) is not None:  # a guest stays a guest: it leaves first
                raise Conflict("already_participant")
            history = before.get("agents") or [agent_entry(before["agent_id"], before["agent_login"], before["agent_name"])]
            changes = {"agent_id": agent["id"], "agent_login": agent["login"], "agent_name": agent["name"],
                       "agents": [*history, agent_entry(agent["id"], agent["login"], agent["name"])],
                       "agent_gone_at": None, "handover": None}
            if isinstance(node, str) and node != before.get("node"):
                if before.get("guests"):  # a guest on its console here would need a guest socket there: no move
                    raise Conflict("session_has_guests")
                changes["node"] = node  # sessions live with their agent's console: it moves there (several nodes)
            live = self.live.get(session_id)
            if speaks_version_2(before) or (live is not None and live.roster.group):
                # version 2: the new agent gets an index of its own, never given before; the old one's leaves
                # the roster, so every client starts a new epoch the agent who left cannot open (V2.3)
                index = next_index(before)
                if index > MAX_PARTICIPANT_INDEX:
                    raise Conflict("too_many_participants")
                changes.update(agent_index=index, next_index=index + 1, media_version=2)
            session = await self.store.sessions.hand_over(session_id, from_agent_id, changes)
            if session is None:  # it ended, or moved, between the read and the update
                raise Conflict("handover_stale")
            self.set_live(session)  # media and relayed messages reach the new console from here on
            await self.records.hand_over(session)
            log.info("session %s handed over from agent %s to %s", session_id, from_agent_id, agent["login"])
            moved = {"type": "handed_over", "session_id": session_id,
                     "from_agent": {"login": before["agent_login"], "name": before["agent_name"]},
                     "to_agent": {"login": agent["login"], "name": agent["name"]}, "time": self._now_iso()}
            await self.presence.send(session, Participant("agent", from_agent_id), moved)
            await self.presence.send(session, Participant("agent", agent["id"]),
                                     {**moved, "session": self.agent_view(session)})
            await self.presence.send(session, CUSTOMER, {
                "type": "peer", "session_id": session_id, "peer": "agent", "status": PEER_HANDED_OVER,
                "name": agent["name"], "time": moved["time"]})
            self.placement.follow_session(session)  # told who, a customer here of a session that moved node goes there
            await self._changed(session)
            return session

    # -- customer operations --------------------------------------------------------------------------
    async def join(self, code: str, customer: dict[str, Any], ip: str, *, number: int | None = None
                   ) -> tuple[dict[str, Any], str]:
        """Admit a customer who knows the session's code. Without the right code nobody is admitted.

        ``number`` (the session number the agent may also tell the customer) only narrows the
        match: with it, the code must be that session's. Numbers are sequential and easy to guess,
        so a number never admits on its own.
        """
        wait = self.join_failures.retry_after(ip)
        if wait:
            raise RateLimited(retry_after=wait)
        session_id = await self.store.sessions.session_id_for_code(code)
        session = await self.store.sessions.get(session_id) if session_id else None
        if session is None or session["state"] not in LIVE_STATES or (number is not None and session["number"] != number):
            self.join_failures.hit(ip)
            raise NotFound("invalid_code")
        if session["state"] != "offline":
            self.join_failures.hit(ip)
            raise Conflict("code_in_use")
        async with self.lock(session["id"]):
            session = await self.store.sessions.transition(
                session["id"], ("offline",),
                {"state": "online", "online_at": self.clock(), "customer": {**customer, "ip": ip}},
            )
            if session is None:
                raise Conflict("code_in_use")
            token = await self.auth.issue_customer_token(session["id"])
            self.set_live(session)
            await self._changed(session, joined=True)
        log.info("customer from %s joined session %s", ip, session["id"])
        connected = await self.auto_connect(session)
        return connected or session, token

    async def auto_connect(self, session: dict[str, Any]) -> dict[str, Any] | None:
        """A customer joined: the node holding the agent's console accepts at once if the agent's
        auto-connect is on (with several nodes, that node hears of the join through the cluster), with
        the media-frame versions the console said it speaks when it opened its socket (``?versions=1,2``)."""
        console = self.hub.console(session["agent_id"])
        if console is None:  # a live console here: read the agent only then
            return None
        agent = await self.store.agents.by_id(session["agent_id"])
        if not (agent and agent.get("settings", {}).get("auto_connect")):
            return None
        try:
            return await self._connect(session["id"], list(getattr(console, "media_versions", ()) or ()))
        except Conflict:  # accepted meanwhile (by hand, or on another node)
            return None

    # -- ending ---------------------------------------------------------------------------------------
    async def expire(self, session_id: str, reason: str) -> dict[str, Any] | None:
        async with self.lock(session_id):
            session = await self.store.sessions.transition(
                session_id, LIVE_STATES, {"state": "expired", "expired_at": self.clock(), "expire_reason": reason}
            )
            if session is None:
                return None
            await self.store.sessions.release_code(session["code"])
            if session.get("connected_at"):
                await self.records.close_for(session)
            self._forget(session_id)
            log.info("session %s expired (%s)", session_id, reason)
            await self._changed(session, reason)
        self._locks.pop(session_id, None)
        for hook in self.expiry_hooks:
            await hook(session)
        await self.after_expiry(session)
        return session

    async def expired_elsewhere(self, session: dict[str, Any], reason: str | None) -> None:
        """Another node expired the session: forget it here and tell the sockets this node holds."""
        self._forget(session["id"])
        self.announce(session, reason)
        self._locks.pop(session["id"], None)
        await self.after_expiry(session)

    async def after_expiry(self, session: dict[str, Any]) -> None:
        """Offer the survey to a customer still connected, else let its socket go."""
        customer = self.hub.customer(session["id"])
        if customer is None:
            return
        survey = await self.records.survey_message(session) if session.get("connected_at") else None
        if survey is not None:
            customer.send_json(survey)
        else:
            customer.close(CLOSE_SESSION_ENDED, "session_ended")

    async def end(self, session_id: str, by: str) -> dict[str, Any] | None:
        return await self.expire(session_id, f"ended_by_{by}")

    def survey_done(self, session_id: str) -> None:
        """The customer answered the survey: nothing more to say on its socket."""
        customer = self.hub.customer(session_id)
        if customer is not None:
            customer.close(CLOSE_SESSION_ENDED, "session_ended")

    def _forget(self, session_id: str) -> None:
        self.live.pop(session_id, None)
        for listener in self.expired_listeners:
            listener(session_id)

    # -- the sessions held in memory ------------------------------------------------------------------
    def set_live(self, session: dict[str, Any]) -> None:
        if not self.placement.owns(session):  # another node relays it: nothing of it lives here
            self.live.pop(session["id"], None)
            return
        live = self.live.get(session["id"])
        if live is None:
            live = self.live[session["id"]] = LiveSession(session["id"], session["agent_id"], session["state"])
            live.roster.update(session)
            live.told_agent_index = live.roster.agent_index  # (its sockets hear the list as they attach)
            return
        live.state = session["state"]
        live.agent_id = session["agent_id"]  # it changes with a hand-over
        live.roster.update(session)

    def moved_away(self, agent_id: str) -> None:
        """The agent's console opened on another node: its sessions live there now, not here."""
        for session_id in [sid for sid, live in self.live.items() if live.agent_id == agent_id]:
            self.live.pop(session_id, None)

    # -- sockets opening and closing --------------------------------------------------------------------
    async def admit_customer(self, conn, session_id: str) -> bool:
        """A customer's socket opens here: False when its session lives on another node (it was sent there)."""
        return await self.placement.admit_customer(conn, session_id)

    async def customer_attached(self, session_id: str) -> dict[str, Any] | None:
        return await self.presence.customer_attached(session_id)

    async def customer_detached(self, session_id: str) -> None:
        await self.presence.customer_detached(session_id)

    async def console_attached(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's console opened here: its live sessions (with several nodes, they move here with it)."""
        await self.placement.console_attached(agent_id)
        sessions = await self.store.sessions.list_live(agent_id=agent_id)
        for session in sessions:
            self.set_live(session)
            await self.presence.agent_back(session)
        return sessions

    async def console_detached(self, agent_id: str) -> None:
        await self.placement.console_detached(agent_id)
        for session in await self.store.sessions.list_live(agent_id=agent_id, node=self.placement.node_id):
            await self.presence.agent_away(session)

    # -- timeouts -------------------------------------------------------------------------------------
    async def sweep(self) -> int:
        now = self.clock()
        grace_start = now - dt.timedelta(seconds=self.config.reconnect_grace)
        due = await self.store.sessions.due_for_expiry(
            offline_before=now - dt.timedelta(seconds=self.config.offline_timeout),
            online_before=now - dt.timedelta(seconds=self.config.waiting_timeout),
            gone_before=grace_start,
            nodes=await self.placement.nodes_to_sweep(now),
        )
        for session in due:
            if await self.placement.keeps(session):
                continue
            if session["state"] == "offline":
                reason = "code_unused"
            elif session["state"] == "online":
                reason = "waiting_timeout"
            elif session.get("customer_gone_at") and session["customer_gone_at"] < grace_start:
                reason = "customer_gone"
            else:
                reason = "agent_gone"
            await self.expire(session["id"], reason)
        return len(due)

    async def restore(self) -> None:
        """After a (re)start: nobody is connected yet, so connected sessions start their grace clock.
        With several nodes only this node's own: sessions that moved to another node while this one was
        down are not claimed, nor touched."""
        await self.placement.restore()
        node = self.placement.node_id
        await self.store.sessions.mark_all_gone(self.clock(), node=node)
        for session in await self.store.sessions.list_live(node=node):
            self.set_live(session)
