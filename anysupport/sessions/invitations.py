"""Inviting another agent into a live session, and removing a participant (issue 21).

The session's agent (or an administrator) invites an agent with ``full`` or ``view`` rights; the
invited agent's console gets an ``invitation`` message and the agent accepts or declines by REST. On
accepting it becomes a participant with the next index (``participants``: never reused), and every
participant gets a ``participants`` message, the customer included: nobody is present unseen. A
removal (by the session's agent, an administrator, or the guest itself leaving) is the same message
without the removed one, who gets ``removed``; the relay stops routing to it at once, and the clients
start a new epoch of their sender keys (docs/protocol.md, V2.3).

Across nodes (the session lives on the node of its agent's console; docs/protocol.md, "The guest
socket"): any node takes the REST calls. What they need is read from the store, not from memory (the
customer's ``customer_versions``; ``invitations`` and ``guests``, changed in turn through
``roster_version`` so that two nodes cannot both give one index); the invited agent's console is
reached through ``Presence.send`` wherever it is, and a change made on another node is applied by the
session's node (``Placement.roster_changed``), which holds every participant's socket: an invited agent
whose console is elsewhere opens a *guest socket* there for that one session (``Hub.guest``).

Rules only: no Tornado; the clock is injected; sockets are the hub's connections.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

from anysupport.auth.access import is_admin, may_see
from anysupport.errors import Conflict, Forbidden, NotFound
from anysupport.protocol.vocabulary import (
    CUSTOMER_INDEX,
    MAX_PARTICIPANT_INDEX,
    OBJECT_ID_PATTERN,
)
from anysupport.sessions.participants import (
    Member,
    agent_index,
    guest_of,
    members,
    next_index,
    speaks_version_2,
)
from anysupport.sessions.presence import CUSTOMER, Participant

log = logging.getLogger("anysupport.sessions")


ROSTER_TRIES = 5  # another node's change between our read and our write: read again, this many times


def open_invitation(session: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
    return (session.get("invitations") or {}).get(agent_id)


class Invitations:
    """``consoles`` answers ``console_live(agent_id)`` (the hub, or the cluster's view of every node)."""

    def __init__(self, store, sessions, hub, *, consoles=None, clock: Callable[[], dt.datetime]):
        self.store = store
        self.sessions = sessions
        self.hub = hub
        self.consoles = consoles if consoles is not None else hub
        self.clock = clock
        self.announced_hooks: list[Callable[[str, str], None]] = []  # (session id, invited agent id)
        sessions.placement.on_roster(self.apply)  # a change made through another node

    def _now_iso(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")

    # -- telling them -------------------------------------------------------------------------------------
    def connection(self, session: dict[str, Any], member: Member):
        """The member's socket here: the customer's, an agent's guest socket for the session, its console."""
        return self.hub.participant(session["id"], member.agent_id)

    async def tell_console(self, session: dict[str, Any], agent_id: str, message: dict[str, Any]) -> None:
        """A message for an agent's console, on this node or on the one that holds it."""
        await self.sessions.presence.send(session, Participant("agent", agent_id), message)

    def participants_message(self, session: dict[str, Any], you: int) -> dict[str, Any]:
        live = self.sessions.live.get(session["id"])
        # on another node than the session's (a REST call): the same rule, from the document
        group = live.roster.group if live is not None else speaks_version_2(session)
        return {"type": "participants", "session_id": session["id"], "you": you, "version": 2 if group else 1,
                "participants": [{**m.view(), "present": self.connection(session, m) is not None}
                                 for m in members(session)],
                "time": self._now_iso()}

    def announce(self, session: dict[str, Any]) -> None:
        """Every participant with a socket here gets the list, each with its own index as ``you``; then the
        ``announced_hooks`` are called for each invited agent among them (the control channel gives it the
        customer's camera and capabilities, sent before it joined)."""
        for member in members(session):
            conn = self.connection(session, member)
            if conn is not None:
                conn.send_json(self.participants_message(session, member.index))
                if member.agent_id is not None and member.role != "agent":
                    for hook in self.announced_hooks:
                        hook(session["id"], member.agent_id)

    async def start_group(self, session_id: str) -> None:
        """The session now speaks version 2 (its customer's and agent's clients both do): the list, with
        ``version`` 2, to both, which switch (docs/protocol.md V2.8)."""
        session = await self.store.sessions.set_fields(session_id, {"media_version": 2})
        if session is not None:
            self.announce(session)

    def sockets_changed(self, *, session_id: str | None = None, agent_id: str | None = None) -> None:
        """A participant's socket opened or closed here: in sessions that have had a third participant,
        everyone gets the list again with its ``present`` flags (from memory: no database read). Two-party
        sessions get nothing (the customer page does not know the message)."""
        if session_id is not None:
            lives = [self.sessions.live.get(session_id)]
        else:
            lives = [live for live in self.sessions.live.values() if agent_id in live.roster.by_agent]
        for live in lives:
            if live is None or not live.roster.group:
                continue
            session = {"id": live.id}
            listed = sorted(live.roster.by_index.values(), key=lambda m: m.index)
            view = [{**m.view(), "present": self.connection(session, m) is not None} for m in listed]
            for member in listed:
                conn = self.connection(session, member)
                if conn is not None:
                    conn.send_json({"type": "participants", "session_id": live.id, "you": member.index,
                                    "version": 2, "participants": view, "time": self._now_iso()})

    # -- changing who takes part (any node) ----------------------------------------------------------------
    async def _change(self, session_id: str, build: Callable[[dict[str, Any] | None], dict[str, Any]]
                      ) -> dict[str, Any]:
        """Apply ``build(session)``'s changes to ``invitations``/``guests``, on the session as stored: under
        this node's lock, and only if no other node changed them since it was read (``roster_version``).
        ``build`` checks the rules on what it is given (and raises their errors)."""
        async with self.sessions.lock(session_id):
            for _ in range(ROSTER_TRIES):
                session = await self.store.sessions.get(session_id)
                changes = build(session)
                version = session.get("roster_version")
                updated = await self.store.sessions.set_fields_if(
                    session_id, {"roster_version": version}, {**changes, "roster_version": (version or 0) + 1})
                if updated is not None:
                    return updated
        raise Conflict("participants_busy")

    async def apply(self, session: dict[str, Any], removed: dict[str, Any] | None = None) -> None:
        """Who takes part changed (here, or on another node): the node holding the session updates its
        roster, tells a removed guest's socket here and closes it, and gives everyone here the list."""
        if session["id"] not in self.sessions.live:
            return  # the session lives on another node (which applies it), or has ended
        self.sessions.set_live(session)
        if removed is not None:
            guest_socket = self.hub.guest(session["id"], removed["agent_id"])
            if guest_socket is not None:
                guest_socket.send_json(self.removed_message(session["id"], removed["index"]))
                self.hub.end_guest(session["id"], removed["agent_id"], "removed")
        self.announce(session)

    async def _changed(self, session: dict[str, Any], removed: dict[str, Any] | None = None) -> None:
        await self.apply(session, removed)
        await self.sessions.placement.roster_changed(session, removed)

    def group_capable(self, session: dict[str, Any]) -> bool:
        """The customer's client said it speaks version 2: in memory on the session's node, and kept in the
        store (``customer_versions``) for the others."""
        live = self.sessions.live.get(session["id"])
        return bool(live is not None and live.roster.customer_v2) or 2 in (session.get("customer_versions") or ())

    # -- inviting ----------------------------------------------------------------------------------------
    async def invite(self, agent: dict[str, Any], session_id: str, invitee_id: str | None, rights: str, *,
                     login: str | None = None, supervise: bool = False) -> dict[str, Any]:
        """Invite by agent id, or by login (what ``GET /api/v1/agents`` shows an agent who is no administrator)."""
        session = await self.sessions.get_for_agent(agent, session_id)
        if session["state"] != "connected":
            raise Conflict("session_not_connected")
        invitee = await (self.store.agents.by_login(login) if invitee_id is None else self.store.agents.by_id(invitee_id))
        if invitee is None or invitee.get("disabled"):
            raise NotFound("invitee_not_found")
        invitee_id = invitee["id"]
        console_live = await self.consoles.console_live(invitee_id)
        invitation = {"agent_id": invitee_id, "rights": rights, "by": agent["id"], "at": self.clock()}
        if supervise:  # the guest it makes is listed as ``supervisor`` (participants.members)
            invitation["supervise"] = True

        def build(current: dict[str, Any] | None) -> dict[str, Any]:
            if current is None or current["state"] != "connected":
                raise Conflict("session_not_connected")
            if invitee_id == current["agent_id"] or guest_of(current, invitee_id):
                raise Conflict("already_participant")
            if next_index(current) > MAX_PARTICIPANT_INDEX:
                raise Conflict("too_many_participants")
            if not self.group_capable(current):
                raise Conflict("customer_not_group_capable")
            if not console_live:
                raise Conflict("invitee_not_online")
            return {"invitations": {**(current.get("invitations") or {}), invitee_id: invitation}}

        build(session)  # refused before the lock when the rules say no
        session = await self._change(session_id, build)
        message = {"type": "invitation", "session_id": session_id, "status": "open", "rights": rights,
                   "by": agent["name"], "number": session["number"],
                   "customer": (session.get("customer") or {}).get("name") or "", "time": self._now_iso()}
        if supervise:  # asked for from the admin pages by this console's own agent: it accepts by itself
            message["supervise"] = True
        await self.tell_console(session, invitee_id, message)  # here, or on the node that holds it
        log.info("session %s: %s invited agent %s (%s)", session_id, agent["login"], invitee["login"], rights)
        return self.invitation_view(session_id, invitation)

    # -- supervising (the admin pages' 참관) ----------------------------------------------------------------
    async def live_sessions(self, admin: dict[str, Any]) -> list[dict[str, Any]]:
        """The team's live sessions for the admin pages: agent, customer name, state, since when, and who
        else takes part; only what a supervisor needs to choose one (no contact details)."""
        found = await self.store.sessions.list_live()
        out = []
        for session in sorted(found, key=lambda s: s.get("connected_at") or s.get("online_at") or s["created_at"]):
            since = session.get("connected_at") or session.get("online_at") or session["created_at"]
            out.append({"id": session["id"], "number": session["number"], "state": session["state"],
                        "agent_name": session.get("agent_name") or session.get("agent_login") or "",
                        "agent_login": session.get("agent_login") or "",
                        "customer": (session.get("customer") or {}).get("name") or "",
                        "since": since.isoformat(timespec="seconds") if hasattr(since, "isoformat") else since,
                        "participants": len(members(session)),
                        # a guest already, or invited (its console accepts a 참관 by itself)
                        "supervising": guest_of(session, admin["id"]) is not None
                        or open_invitation(session, admin["id"]) is not None,
                        "group_capable": self.group_capable(session)})
        return out

    async def supervise(self, admin: dict[str, Any], session_id: str) -> dict[str, Any]:
        """참관: the administrator invites itself with view rights; its console (which must be open, on any
        node) accepts by itself and opens the viewer. Everyone, the customer first, sees it in the participants
        with the role ``supervisor``."""
        if not is_admin(admin):
            raise Forbidden("forbidden")
        if not await self.consoles.console_live(admin["id"]):
            raise Conflict("console_not_open")
        return await self.invite(admin, session_id, admin["id"], "view", supervise=True)

    @staticmethod
    def invitation_view(session_id: str, invitation: dict[str, Any]) -> dict[str, Any]:
        return {"session_id": session_id, "agent_id": invitation["agent_id"], "rights": invitation["rights"],
                "invited_at": invitation["at"]}

    async def answer(self, agent: dict[str, Any], session_id: str, accept: bool) -> dict[str, Any]:
        """The invited agent accepts (it becomes a participant) or declines (the inviter is told). Any node
        takes the answer; ``ws_url`` names the session's node, and ``guest_socket`` says whether the
        agent's console is elsewhere (its client then opens a guest socket there)."""
        taken: dict[str, Any] = {}
        console_live = accept and await self.consoles.console_live(agent["id"])

        def build(session: dict[str, Any] | None) -> dict[str, Any]:
            invitation = open_invitation(session or {}, agent["id"])
            if session is None or invitation is None:
                raise NotFound("invitation_not_found")
            invitations = {k: v for k, v in session["invitations"].items() if k != agent["id"]}
            taken["invitation"] = invitation
            if not accept:
                return {"invitations": invitations}
            if session["state"] != "connected":
                raise Conflict("session_not_connected")
            if not console_live:
                raise Conflict("guest_console_not_open")
            index = next_index(session)
            taken["guest"] = guest = {"index": index, "agent_id": agent["id"], "name": agent["name"],
                                      "rights": invitation["rights"], "joined_at": self.clock()}
            if invitation.get("supervise"):
                guest["supervisor"] = True
            return {"invitations": invitations, "guests": [*(session.get("guests") or ()), guest],
                    "next_index": index + 1}

        session = await self._change(session_id, build)
        invitation = taken["invitation"]
        if not accept:
            await self.tell_console(session, session["agent_id"], {
                "type": "invitation", "session_id": session_id, "status": "declined", "rights": invitation["rights"],
                "by": agent["name"], "number": session["number"], "time": self._now_iso()})
            return {"session_id": session_id, "status": "declined"}
        guest = taken["guest"]
        log.info("session %s: agent %s joined as participant %d (%s)", session_id, agent["login"], guest["index"],
                 invitation["rights"])
        await self._changed(session)
        return {"session_id": session_id, "status": "accepted", "index": guest["index"], "rights": guest["rights"],
                "session": self.guest_view(session), **await self.where(session, agent["id"])}

    async def where(self, session: dict[str, Any], agent_id: str) -> dict[str, Any]:
        """Where a guest reaches ``session``: its node's ``ws_url``, and ``guest_socket`` when the agent's
        console is not open there (a single node: never)."""
        node = session.get("node")
        console = await self.sessions.placement.console_node(agent_id) if node is not None else None
        return {"ws_url": self.sessions.ws_url(session), "guest_socket": node is not None and console != node}

    def guest_view(self, session: dict[str, Any]) -> dict[str, Any]:
        """What an invited agent learns of the session: the customer's name only. The contact details and
        the device (phone, e-mail, IP) are for the agent who took the call and writes its record; a guest
        (an expert, a supervisor) needs to know whom it sees, not how to reach them (docs/security.md)."""
        view = self.sessions.agent_view(session)
        view["customer"] = {"name": (session.get("customer") or {}).get("name") or ""}
        return view

    def _guest_entry(self, session: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
        guest = guest_of(session, agent_id)
        if guest is None or session["state"] != "connected" or session["agent_id"] == agent_id:
            return None
        return {**self.guest_view(session), "guest": True, "index": guest["index"], "rights": guest["rights"],
                "ws_url": self.sessions.ws_url(session)}

    async def guest_sessions(self, agent_id: str) -> list[dict[str, Any]]:
        """The live sessions this agent is a guest in, on any node, for its console's ``hello`` (a restarted
        console finds the calls it was invited into): each the guest view with ``guest``, ``index``,
        ``rights``, ``ws_url`` (the session's node) and ``guest_socket`` (it lives on another node than
        this console's: the client opens a guest socket there)."""
        out = []
        for session in await self.store.sessions.list_live(guest_id=agent_id):
            entry = self._guest_entry(session, agent_id)
            if entry is not None:
                out.append({**entry, "guest_socket": not self.sessions.placement.owns(session)})
        return out

    # -- the guest socket (its console is on another node than the session) -------------------------------
    async def check_guest_socket(self, agent_id: str, session_id: str) -> dict[str, Any] | None:
        """May the agent open a guest socket for ``session_id`` here: it is a guest of the live session.
        None when the session lives here; the session when it lives on another live node (the socket is
        then sent there with ``moved``, as a customer's is: its node changed since the client was told);
        ``session_elsewhere`` when it lives nowhere that could take it now (its node is not answering)."""
        session = await self.store.sessions.get(session_id) if re.fullmatch(OBJECT_ID_PATTERN, session_id) else None
        if session is None or self._guest_entry(session, agent_id) is None:
            raise NotFound("session_not_found")
        placement = self.sessions.placement
        if placement.owns(session) and session_id in self.sessions.live:
            return None
        if not placement.owns(session) and await placement.lives_elsewhere(session):
            return session
        raise Conflict("session_elsewhere")

    async def guest_session(self, agent_id: str, session_id: str) -> dict[str, Any] | None:
        """The guest view of the session for the guest socket's ``hello`` (None: no guest of it any more)."""
        session = await self.store.sessions.get(session_id)
        entry = self._guest_entry(session, agent_id) if session is not None else None
        return None if entry is None else {**entry, "guest_socket": True}

    # -- removing ---------------------------------------------------------------------------------------
    def removed_message(self, session_id: str, index: int) -> dict[str, Any]:
        return {"type": "removed", "session_id": session_id, "index": index, "time": self._now_iso()}

    async def remove(self, agent: dict[str, Any], session_id: str, index: int) -> None:
        """The session's agent or an administrator removes a guest; a guest may remove itself (it leaves)."""
        taken: dict[str, Any] = {}

        def build(session: dict[str, Any] | None) -> dict[str, Any]:
            if session is None:
                raise NotFound("session_not_found")
            own_guest = guest_of(session, agent["id"])
            if not may_see(agent, session["agent_id"]) and own_guest is None:
                raise NotFound("session_not_found")
            if index in (CUSTOMER_INDEX, agent_index(session)):
                raise Conflict("participant_not_removable")
            guest = next((g for g in session.get("guests") or () if g["index"] == index), None)
            if guest is None:
                raise NotFound("participant_not_found")
            if (session["agent_id"] != agent["id"] and not is_admin(agent)
                    and (own_guest is None or own_guest["index"] != index)):
                raise Forbidden("not_your_session")
            taken["guest"] = guest
            return {"guests": [g for g in session["guests"] if g["index"] != index]}

        session = await self._change(session_id, build)
        guest = taken["guest"]
        log.info("session %s: participant %d removed by %s", session_id, index, agent["login"])
        removed = {"agent_id": guest["agent_id"], "index": index}
        # its console hears it wherever it is; its guest socket (on the session's node) from ``apply``
        await self.tell_console(session, guest["agent_id"], self.removed_message(session_id, index))
        await self._changed(session, removed)

    async def list(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = await self.store.sessions.get(session_id)
        if session is None or not (may_see(agent, session["agent_id"]) or guest_of(session, agent["id"])):
            raise NotFound("session_not_found")
        you = agent_index(session) if session["agent_id"] == agent["id"] else (guest_of(session, agent["id"]) or {}).get("index")
        message = self.participants_message(session, you if you is not None else -1)
        listed = message["participants"]
        if session_id not in self.sessions.live:
            # asked on another node than the session's, which holds the sockets: the customer as the session
            # records it, an agent present when its console is open on some node (its guest socket, if it
            # needs one, is not recorded anywhere)
            agents = {m.index: m.agent_id for m in members(session) if m.agent_id is not None}
            for entry in listed:
                agent_id = agents.get(entry["index"])
                entry["present"] = (await self.consoles.console_live(agent_id) if agent_id is not None
                                    else self.sessions.presence.present(session, CUSTOMER))
        return {"session_id": session_id, "you": you, "version": message["version"], "participants": listed}
