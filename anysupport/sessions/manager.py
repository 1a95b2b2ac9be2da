"""The rules of a support session. No Tornado in here: the WebSocket layer calls in, and the
manager talks back through the ``Hub`` (``send_json`` on whatever connections are live).

States: offline (code valid, no customer) → online (customer joined, waiting) → connected (agent
accepted, or auto-accepted) → expired (ended, deleted or timed out). Every transition is one atomic
update in the store, made under a per-session lock so ``state`` messages reach both sides in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anysupport import i18n
from anysupport.cluster.rules import customer_placement, ws_url_for
from anysupport.errors import Conflict, Forbidden, NotFound, RateLimited
from anysupport.ratelimit import SlidingWindowLimiter
from anysupport.store.common import utcnow
from anysupport.ws.hub import CLOSE_MOVED, CLOSE_REPLACED, CLOSE_SESSION_ENDED, evict

log = logging.getLogger("anysupport.sessions")

LIVE = ("offline", "online", "connected")
ORDER = {state: rank for rank, state in enumerate((*LIVE, "expired"))}  # a session's state only moves forward

i18n.register(
    {
        "too_many_live_sessions": {
            "en": "You already have {limit} open sessions. End or delete one before creating another.",
            "ko": "이미 열린 세션이 {limit}개입니다. 새 세션을 만들기 전에 하나를 종료하거나 삭제하세요.",
        },
        "session_moved": {
            "en": "The session continues on another server; reconnecting there.",
            "ko": "상담이 다른 서버에서 계속됩니다. 그 서버로 다시 연결합니다.",
        },
        "too_many_sessions_created": {
            "en": "Too many sessions created in a short time. Try again in {retry_after} seconds.",
            "ko": "짧은 시간에 세션을 너무 많이 만들었습니다. {retry_after}초 후에 다시 시도하세요.",
        },
    }
)


def now_iso() -> str:
    return utcnow().isoformat(timespec="milliseconds")


@dataclass
class LiveSession:
    """What the relay and the control channel need per session, kept in memory (no database per frame)."""

    id: str
    agent_id: str
    state: str
    prefix: bytes = b""  # the 12 raw bytes of the id, put before frames relayed to the agent's console

    def __post_init__(self) -> None:
        self.prefix = bytes.fromhex(self.id)


class SessionManager:
    """``clock`` gives the current UTC time (whole milliseconds, as stored) and ``monotonic`` the
    seconds the rate limits count on; tests inject both (one hand-moved clock) to move time by hand."""

    def __init__(self, store, config, hub, auth, records, *, clock: Callable[[], dt.datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic, cluster=None):
        self.store = store
        # several nodes (anysupport.cluster.Cluster, enabled): a session lives on the node of its agent's
        # console; this node acts on its own sessions and on the sockets it holds, and tells the others
        self.cluster = cluster if cluster is not None and cluster.enabled else None
        self.node_id: str | None = self.cluster.node_id if self.cluster else None
        self.config = config
        self.hub = hub
        self.auth = auth
        self.records = records
        self.clock = clock
        self.join_failures = SlidingWindowLimiter(config.join_max_attempts, config.join_window, clock=monotonic)
        self.creations = SlidingWindowLimiter(config.session_create_max, config.session_create_window, clock=monotonic)
        self.live: dict[str, LiveSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._agent_locks: dict[str, asyncio.Lock] = {}
        self.expired_listeners: list = []  # callables(session_id), e.g. the relay dropping its counters
        if self.cluster is not None:
            self.cluster.on("session", self._on_session_event)
            self.cluster.on("to_console", self._on_to_console)
            self.cluster.on("to_customer", self._on_to_customer)
            self.cluster.on("console", self._on_console_event)

    def _now_iso(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")

    # -- views --------------------------------------------------------------------------------------
    def ws_url(self, session: dict[str, Any] | None = None) -> str:
        """Where the customer of ``session`` opens its socket: the node that holds the session."""
        if self.cluster is None:
            return ws_url_for(None, self.config.node_url)
        return self.cluster.ws_url((session or {}).get("node") or self.node_id)

    def owns(self, session: dict[str, Any]) -> bool:
        """The session lives on this node (always, for a single node)."""
        return self.cluster is None or session.get("node") in (None, self.node_id)

    @staticmethod
    def customer_view(session: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": session["id"],
            "state": session["state"],
            "number": session["number"],
            "agent_name": session["agent_name"],
        }

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    def _announce(self, session: dict[str, Any], reason: str | None = None) -> None:
        """Send the session's state to both sides (whoever is connected), in transition order."""
        base = {"type": "state", "session_id": session["id"], "state": session["state"], "time": self._now_iso()}
        if reason:
            base["reason"] = reason
        console = self.hub.console(session["agent_id"])
        if console is not None:
            console.send_json({**base, "session": self.agent_view(session)})
        customer = self.hub.customer(session["id"])
        if customer is not None:
            customer.send_json({**base, "session": self.customer_view(session)})

    def agent_view(self, session: dict[str, Any]) -> dict[str, Any]:
        view = {
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
            "customer": session.get("customer"),
            "customer_present": self._customer_present(session),
        }
        if self.cluster is not None:
            view["node"] = session.get("node")
        return view

    def _customer_present(self, session: dict[str, Any]) -> bool:
        if self.hub.customer(session["id"]) is not None:
            return True
        node = session.get("customer_node") if self.cluster is not None else None
        return node is not None and node != self.node_id and self.cluster.alive(node)

    async def _changed(self, session: dict[str, Any], reason: str | None = None, *, joined: bool = False) -> None:
        """A transition was made here: announce it to this node's sockets, and tell the other nodes
        (the one holding the agent's console, and any holding the customer, announce it to theirs)."""
        self._announce(session, reason)
        if self.cluster is not None:
            await self.cluster.publish("session", session=session, reason=reason, joined=joined)

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
                                                   node=await self._agent_node(agent["id"]))
        await self.store.sessions.bind_code(code, session["id"])
        if self.owns(session):
            self.live[session["id"]] = LiveSession(session["id"], agent["id"], "offline")
        log.info("session %s (code %s) created by %s", session["id"], code, agent["login"])
        await self._changed(session)
        return session

    async def _agent_node(self, agent_id: str) -> str | None:
        """The node a new session of the agent lives on: its console's (this one when it has none)."""
        if self.cluster is None or self.hub.has_console(agent_id):
            return self.node_id
        node = await self.store.cluster.console_node(agent_id)
        return node if node is not None and await self.cluster.check_alive(node) else self.node_id

    async def list_for_agent(self, agent: dict[str, Any]) -> list[dict[str, Any]]:
        since = self.clock() - dt.timedelta(hours=24)
        return await self.store.sessions.list_for_agent(agent["id"], since=since)

    async def get_for_agent(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = await self.store.sessions.get(session_id)
        if session is None or (session["agent_id"] != agent["id"] and agent["role"] != "admin"):
            raise NotFound("session_not_found")
        return session

    async def delete(self, agent: dict[str, Any], session_id: str) -> None:
        session = await self.get_for_agent(agent, session_id)
        await self.expire(session["id"], "deleted")

    async def connect(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = await self.get_for_agent(agent, session_id)
        if session["agent_id"] != agent["id"]:
            raise Forbidden("not_your_session")
        return await self._connect(session["id"])

    async def _connect(self, session_id: str) -> dict[str, Any]:
        async with self._lock(session_id):
            now = self.clock()
            # a customer that joined but has no socket open (yet, or any more): its grace clock runs from now
            present = self.hub.customer(session_id) is not None
            if not present and self.cluster is not None:  # its socket may be on another node
                current = await self.store.sessions.get(session_id)
                present = current is not None and self._customer_present(current)
            customer_gone_at = None if present else now
            session = await self.store.sessions.transition(
                session_id, ("online",), {"state": "connected", "connected_at": now,
                                          "customer_gone_at": customer_gone_at, "agent_gone_at": None}
            )
            if session is None:
                current = await self.store.sessions.get(session_id)
                raise Conflict("session_not_online", state=current["state"] if current else "expired")
            # live before anything else is awaited: a customer socket opening from here on reads
            # "connected" from the store (its hello says so) and its messages must be accepted at once
            self._set_live(session)
            await self.records.open_for(session)
            log.info("session %s connected", session_id)
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
        if session is None or session["state"] not in LIVE or (number is not None and session["number"] != number):
            self.join_failures.hit(ip)
            raise NotFound("invalid_code")
        if session["state"] != "offline":
            self.join_failures.hit(ip)
            raise Conflict("code_in_use")
        async with self._lock(session["id"]):
            session = await self.store.sessions.transition(
                session["id"], ("offline",),
                {"state": "online", "online_at": self.clock(), "customer": {**customer, "ip": ip}},
            )
            if session is None:
                raise Conflict("code_in_use")
            token = await self.auth.issue_customer_token(session["id"])
            self._set_live(session)
            await self._changed(session, joined=True)
        log.info("customer from %s joined session %s", ip, session["id"])
        connected = await self._auto_connect(session)
        return connected or session, token

    async def _auto_connect(self, session: dict[str, Any]) -> dict[str, Any] | None:
        """A customer joined: the node holding the agent's console accepts at once if the agent's
        auto-connect is on (with several nodes, that node hears of the join through the cluster)."""
        if not self.hub.has_console(session["agent_id"]):  # a live console here: read the agent only then
            return None
        agent = await self.store.agents.by_id(session["agent_id"])
        if not (agent and agent.get("settings", {}).get("auto_connect")):
            return None
        try:
            return await self._connect(session["id"])
        except Conflict:  # accepted meanwhile (by hand, or on another node)
            return None

    # -- ending ---------------------------------------------------------------------------------------
    async def expire(self, session_id: str, reason: str) -> dict[str, Any] | None:
        async with self._lock(session_id):
            session = await self.store.sessions.transition(
                session_id, LIVE, {"state": "expired", "expired_at": self.clock(), "expire_reason": reason}
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
        await self.after_expiry(session)
        return session

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

    # -- what the other nodes tell this one -------------------------------------------------------------
    async def _on_session_event(self, event: dict[str, Any]) -> None:
        """A transition made on another node: act for the sockets this node holds."""
        session, reason = event["session"], event.get("reason")
        if session["state"] == "expired":
            self._forget(session["id"])
            self._announce(session, reason)
            self._locks.pop(session["id"], None)
            await self.after_expiry(session)
            return
        live = self.live.get(session["id"])
        if live is not None and ORDER[session["state"]] < ORDER[live.state]:
            # older than a transition made or seen here since (the events of two nodes cross: a session
            # created through c, joined through a before a read c's "created"): nothing to undo here
            return
        if self.owns(session):
            self._set_live(session)
        self._announce(session, reason)
        if event.get("joined"):
            await self._auto_connect(session)

    async def _on_to_console(self, event: dict[str, Any]) -> None:
        console = self.hub.console(event["agent_id"])
        if console is not None:
            console.send_json(event["message"])

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
        for session_id in [sid for sid, live in self.live.items() if live.agent_id == agent_id]:
            self.live.pop(session_id, None)
        if not self.hub.customers:
            return
        for session in await self.store.sessions.list_live(agent_id=agent_id, node=node):  # one query per event
            conn = self.hub.customer(session["id"])
            if conn is not None:
                self.send_elsewhere(conn, session)

    def send_elsewhere(self, conn, session: dict[str, Any]) -> None:
        """Tell a customer's socket where its session lives now, and close it (it reconnects there)."""
        url = self.cluster.ws_url(session.get("node"))
        conn.send_json({"type": "moved", "session_id": session["id"], "ws_url": url,
                        "message": i18n.text("session_moved", conn.language)})
        conn.close(CLOSE_MOVED, "moved")

    async def placement(self, session: dict[str, Any]) -> str:
        """``here``, ``moved`` or ``hold`` for a customer socket opened on this node (cluster.rules)."""
        if self.cluster is None:
            return "here"
        node = session.get("node")
        if node not in (None, self.node_id):
            await self.cluster.check_alive(node)  # the directory read again if it counts the node dead
        return customer_placement(node, self.node_id, self.cluster.alive)

    # -- presence -------------------------------------------------------------------------------------
    def _set_live(self, session: dict[str, Any]) -> None:
        if not self.owns(session):  # another node relays it: nothing of it lives here
            self.live.pop(session["id"], None)
            return
        live = self.live.get(session["id"])
        if live is None:
            self.live[session["id"]] = LiveSession(session["id"], session["agent_id"], session["state"])
        else:
            live.state = session["state"]

    async def customer_attached(self, session_id: str) -> dict[str, Any] | None:
        session = await self.store.sessions.get(session_id)
        if session is None:
            return None
        if session["state"] not in ("online", "connected"):
            return session
        first = not session.get("customer_seen")
        changes: dict[str, Any] = {"customer_seen": True}
        if self.cluster is not None:
            changes["customer_node"] = self.node_id
        if session.get("customer_gone_at"):
            changes["customer_gone_at"] = None
        session = await self.store.sessions.set_fields(session_id, changes)
        await self._notify_agent(session, {"type": "peer", "peer": "customer", "status": "joined" if first else "back"})
        return session

    async def customer_detached(self, session_id: str) -> None:
        session = await self.store.sessions.get(session_id)
        if session is None or session["state"] not in ("online", "connected"):
            return
        changes: dict[str, Any] = {}
        if session["state"] == "connected":  # the grace clock runs only once the agent has accepted
            changes["customer_gone_at"] = self.clock()
        if self.cluster is not None and session.get("customer_node") == self.node_id:
            changes["customer_node"] = None
        if changes:
            session = await self.store.sessions.set_fields(session_id, changes)
        await self._notify_agent(session, {"type": "peer", "peer": "customer", "status": "reconnecting"})

    async def console_attached(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's console opened here. With several nodes its sessions move here with it (the
        other nodes replace an older console and send the customers they hold on to this node)."""
        if self.cluster is not None:
            await self.store.cluster.set_console(agent_id, self.node_id)
            moved = await self.store.sessions.move_agent_sessions(agent_id, self.node_id)
            if moved:
                log.info("%d session(s) of agent %s moved to node %s with its console", len(moved), agent_id,
                         self.node_id)
            await self.cluster.publish("console", agent_id=agent_id, node=self.node_id)
        sessions = await self.store.sessions.list_live(agent_id=agent_id)
        for session in sessions:
            self._set_live(session)
            if session["state"] == "connected" and session.get("agent_gone_at"):
                await self.store.sessions.set_fields(session["id"], {"agent_gone_at": None})
                await self._notify_customer(session, {"type": "peer", "peer": "agent", "status": "back"})
        return sessions

    async def console_detached(self, agent_id: str) -> None:
        if self.cluster is not None:
            await self.store.cluster.clear_console(agent_id, self.node_id)
        for session in await self.store.sessions.list_live(agent_id=agent_id, node=self.node_id):
            if session["state"] == "connected":
                await self.store.sessions.set_fields(session["id"], {"agent_gone_at": self.clock()})
                await self._notify_customer(session, {"type": "peer", "peer": "agent", "status": "reconnecting"})

    async def _notify_agent(self, session: dict[str, Any], message: dict[str, Any]) -> None:
        message = {**message, "session_id": session["id"], "time": self._now_iso()}
        console = self.hub.console(session["agent_id"])
        if console is not None:
            console.send_json(message)
        elif self.cluster is not None:
            await self.cluster.publish("to_console", agent_id=session["agent_id"], message=message)

    async def _notify_customer(self, session: dict[str, Any], message: dict[str, Any]) -> None:
        message = {**message, "session_id": session["id"], "time": self._now_iso()}
        customer = self.hub.customer(session["id"])
        if customer is not None:
            customer.send_json(message)
        elif self.cluster is not None:
            await self.cluster.publish("to_customer", session_id=session["id"], message=message)

    # -- timeouts -------------------------------------------------------------------------------------
    async def sweep(self) -> int:
        now = self.clock()
        nodes = None
        if self.cluster is not None:  # this node's sessions, and those of dead nodes (nobody else holds them)
            nodes = [self.node_id, *await self._dead_nodes(now)]
        due = await self.store.sessions.due_for_expiry(
            offline_before=now - dt.timedelta(seconds=self.config.offline_timeout),
            online_before=now - dt.timedelta(seconds=self.config.waiting_timeout),
            gone_before=now - dt.timedelta(seconds=self.config.reconnect_grace),
            nodes=nodes,
        )
        for session in due:
            if (self.cluster is not None and session["state"] == "connected" and self.owns(session)
                    and await self._still_here(session)):
                continue
            if session["state"] == "offline":
                reason = "code_unused"
            elif session["state"] == "online":
                reason = "waiting_timeout"
            elif session.get("customer_gone_at") and session["customer_gone_at"] < now - dt.timedelta(
                seconds=self.config.reconnect_grace
            ):
                reason = "customer_gone"
            else:
                reason = "agent_gone"
            await self.expire(session["id"], reason)
        return len(due)

    async def _dead_nodes(self, now: dt.datetime) -> list[str]:
        """Nodes recorded on live sessions that no longer beat: their connected sessions' sides count as
        gone from now (the grace clock starts; an agent coming back elsewhere takes its sessions along)."""
        recorded = await self.store.sessions.live_nodes()
        dead = self.cluster.dead_nodes(recorded)
        for node in dead:
            if await self.store.sessions.mark_all_gone(now, node=node):
                log.warning("node %s does not answer: its sessions wait for their agents to come back", node)
        return dead

    async def _still_here(self, session: dict[str, Any]) -> bool:
        """A side recorded gone whose socket is open on this node (a takeover made while this node was
        only slow): the record is put right instead of the session ending."""
        changes = {}
        if session.get("agent_gone_at") and self.hub.has_console(session["agent_id"]):
            changes["agent_gone_at"] = None
        if session.get("customer_gone_at") and self.hub.customer(session["id"]) is not None:
            changes["customer_gone_at"] = None
        if not changes:
            return False
        updated = await self.store.sessions.set_fields(session["id"], changes)
        return not (updated.get("agent_gone_at") or updated.get("customer_gone_at"))

    async def restore(self) -> None:
        """After a (re)start: nobody is connected yet, so connected sessions start their grace clock.
        With several nodes only this node's own: sessions that moved to another node while this one was
        down are not claimed, nor touched."""
        if self.cluster is not None:
            await self.store.cluster.clear_node_consoles(self.node_id)
        await self.store.sessions.mark_all_gone(self.clock(), node=self.node_id)
        for session in await self.store.sessions.list_live(node=self.node_id):
            self._set_live(session)
