"""Handing a live session over to another agent: the offer, its answer, its expiry. No Tornado in here.

An agent (the session's own, or an administrator) offers a ``connected`` session to another agent whose
console is open (on any node); that agent accepts or declines, the offerer may cancel, and an
offer left unanswered for ``handover_timeout`` seconds lapses. One offer per session at a time. Accepting
moves the session (``SessionManager.hand_over``): it leaves the old agent's console and arrives in the new
one's, the customer is told who its agent is now, and the record follows. A session speaking version 2
(sealed from the start, or with invited agents) is handed over too: the new agent takes a new index and
every client starts a new epoch of its sender key (docs/protocol.md, "Handing a session over").

The offer is kept on the session in the store (``handover``), so that whichever node a REST call reaches
may make or answer it, and one conditional update decides who wins (an accept, a decline, a cancel or the
sweep). The consoles are told through ``Presence.send`` (here, or on the node holding the console);
docs/protocol.md, "Handing a session over", says what each is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from anysupport.auth.access import is_admin
from anysupport.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from anysupport.sessions.participants import agent_ref, guest_of
from anysupport.sessions.presence import Participant
from anysupport.store.common import utcnow

log = logging.getLogger("anysupport.handover")


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def offer_view(session_id: str, offer: dict[str, Any]) -> dict[str, Any]:
    """An offer as the API and the ``handover_offer`` message show it."""
    return {"session_id": session_id, "by": agent_ref(offer["by"]), "to": agent_ref(offer["to"]),
            "offered_at": iso(offer["offered_at"]), "expires_at": iso(offer["expires_at"])}


def concerned(offer: dict[str, Any]) -> set[str]:
    """The agents an offer concerns: who offered it, the session's agent, the agent offered it."""
    return {offer["by"]["id"], offer["owner_id"], offer["to"]["id"]}


class HandoverManager:
    """``consoles`` answers ``console_live(agent_id)`` (the hub, or the cluster's view of every node);
    ``clock`` gives the UTC time offers expire on (tests inject a hand-moved one)."""

    def __init__(self, store, config, sessions, consoles, *, clock: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.config = config
        self.sessions = sessions
        self.consoles = consoles
        self.clock = clock
        sessions.expiry_hooks.append(self._session_expired)

    async def colleagues(self, agent: dict[str, Any]) -> list[dict[str, Any]]:
        """The agents ``agent`` may hand a session to, as any agent may see them: every other active
        agent with its login, name, number and whether its console is open now (``available``)."""
        found = []
        for other in await self.store.agents.list():
            if other["id"] == agent["id"] or other.get("disabled"):
                continue
            found.append({**agent_ref(other), "number": other.get("number"),
                          "available": await self.consoles.console_live(other["id"])})
        return found

    # -- asking -------------------------------------------------------------------------------------
    async def offer(self, agent: dict[str, Any], session_id: str, target_login: str) -> dict[str, Any]:
        """Offer the session to ``target_login``; returns the offer's view."""
        session = await self.sessions.get_for_agent(agent, session_id)  # its own, or any for an admin
        if session["state"] != "connected":
            raise Conflict("session_not_connected")
        pending = self._pending(session)
        if pending is not None:
            raise Conflict("handover_pending", name=pending["to"]["name"])
        target = await self.store.agents.by_login(target_login)
        if target is None or target.get("disabled"):
            raise NotFound("agent_not_found", login=target_login)
        if target["id"] == session["agent_id"]:
            raise Invalid("handover_to_self")
        if guest_of(session, target["id"]) is not None:  # an invited agent stays a guest (it may leave first)
            raise Conflict("already_participant")
        if not await self.consoles.console_live(target["id"]):
            raise Conflict("agent_not_available", name=target["name"])
        now = self.clock()
        offer = {"by": {"id": agent["id"], **agent_ref(agent)}, "owner_id": session["agent_id"],
                 "to": {"id": target["id"], **agent_ref(target)}, "offered_at": now,
                 "expires_at": now + dt.timedelta(seconds=self.config.handover_timeout)}
        session = await self.store.sessions.offer_handover(session_id, session["agent_id"], offer, now)
        if session is None:  # another offer, an end or a hand-over came first
            current = await self.store.sessions.get(session_id)
            if current is not None and current["state"] == "connected" and self._pending(current):
                raise Conflict("handover_pending", name=current["handover"]["to"]["name"])
            raise Conflict("session_not_connected")
        view = offer_view(session_id, offer)
        log.info("session %s offered by %s to %s", session_id, agent["login"], target["login"])
        await self._tell(session, target["id"], {"type": "handover_offer", **view,
                                                 "session": self.sessions.agent_view(session)})
        return view

    async def pending(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        """The offer pending on the session, for an agent it concerns (or an administrator)."""
        session = await self.store.sessions.get(session_id)
        offer = self._pending(session) if session is not None else None
        if offer is None or (agent["id"] not in concerned(offer) and not is_admin(agent)):
            raise NotFound("handover_not_found")
        return offer_view(session_id, offer)

    async def cancel(self, agent: dict[str, Any], session_id: str) -> None:
        """The offerer (or the session's agent, or an administrator) takes the offer back."""
        offer = await self._offer_for(session_id)
        if agent["id"] not in (offer["by"]["id"], offer["owner_id"]) and not is_admin(agent):
            raise Forbidden("not_your_handover")
        await self._drop(session_id, "cancelled")

    # -- answering ------------------------------------------------------------------------------------
    async def _take_offer_to(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        """The offer made to ``agent`` (only it may answer), taken off the session."""
        offer = await self._offer_for(session_id)
        if agent["id"] != offer["to"]["id"]:
            raise Forbidden("not_your_handover")
        offer = await self.store.sessions.take_handover(session_id, now=self.clock())
        if offer is None:
            raise NotFound("handover_not_found")
        return offer

    async def decline(self, agent: dict[str, Any], session_id: str) -> None:
        offer = await self._take_offer_to(agent, session_id)
        log.info("hand-over of session %s declined by %s", session_id, agent["login"])
        session = await self.store.sessions.get(session_id)
        message = {"type": "handover_declined", "session_id": session_id, "by": agent_ref(agent), "time": iso(self.clock())}
        for agent_id in {offer["by"]["id"], offer["owner_id"]}:
            await self._tell(session, agent_id, message)

    async def accept(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        """Only the agent offered the session; the session moves to it (and its console must be open)."""
        offer = await self._take_offer_to(agent, session_id)
        try:
            target = await self.store.agents.by_id(agent["id"])  # its name as it is now
            if target is None or target.get("disabled"):
                raise NotFound("agent_not_found", login=agent["login"])
            return await self.sessions.hand_over(session_id, offer["owner_id"], target)
        except DomainError:
            # the offer is used up and the session stays where it was: the offerer must not wait for an answer
            session = await self.store.sessions.get(session_id)
            for agent_id in concerned(offer) - {agent["id"]}:
                await self._tell(session, agent_id, self._cancelled(session_id, "failed"))
            raise

    # -- lapsing --------------------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Offers past their ``expires_at``: dropped, and the consoles told (by whichever node clears it
        first). Returns how many this node dropped."""
        dropped = 0
        for session in await self.store.sessions.due_handovers(self.clock()):
            dropped += await self._drop(session["id"], "expired", due=True)
        return dropped

    async def _session_expired(self, session: dict[str, Any]) -> None:
        """The session ended while offered: the consoles must forget the offer."""
        offer = session.get("handover")
        if offer is not None and offer["expires_at"] > self.clock():
            message = self._cancelled(session["id"], "session_ended")
            for agent_id in concerned(offer) - {session["agent_id"]}:  # its own agent hears the end itself
                await self._tell(session, agent_id, message)

    # -- helpers --------------------------------------------------------------------------------------
    def _pending(self, session: dict[str, Any]) -> dict[str, Any] | None:
        offer = session.get("handover")
        if offer is None or session["state"] != "connected" or offer["expires_at"] <= self.clock():
            return None  # past its time: the sweep tells the consoles, nobody may answer it any more
        return offer

    async def _offer_for(self, session_id: str) -> dict[str, Any]:
        session = await self.store.sessions.get(session_id)
        offer = self._pending(session) if session is not None else None
        if offer is None:
            raise NotFound("handover_not_found")
        return offer

    def _cancelled(self, session_id: str, reason: str) -> dict[str, Any]:
        return {"type": "handover_cancelled", "session_id": session_id, "reason": reason, "time": iso(self.clock())}

    async def _drop(self, session_id: str, reason: str, *, due: bool = False) -> int:
        offer = await self.store.sessions.take_handover(session_id, now=self.clock(), due=due)
        if offer is None:
            if due:
                return 0  # another node's sweep, or an answer, came first
            raise NotFound("handover_not_found")
        log.info("hand-over of session %s to %s %s", session_id, offer["to"]["login"], reason)
        session = await self.store.sessions.get(session_id)
        message = self._cancelled(session_id, reason)
        for agent_id in concerned(offer):
            await self._tell(session, agent_id, message)
        return 1

    async def _tell(self, session: dict[str, Any] | None, agent_id: str, message: dict[str, Any]) -> None:
        """A message for an agent's console, here or (through the cluster) on the node that holds it."""
        await self.sessions.presence.send(session or {"id": message["session_id"]}, Participant("agent", agent_id),
                                          message)
