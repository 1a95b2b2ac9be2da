"""The control channel: what the server does with each text message a client sends.

Transport-free: the WebSocket handler passes in a ``Peer`` (who sent it, how to answer) and the raw
text. Size, JSON, schema, sender and rate checks come first; a failing message gets an ``error``
naming the problem and the connection stays up, until ``control_max_invalid`` bad messages or a
flood past twice the rate budget, which close that one connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anysupport import errors, i18n
from anysupport.protocol.messages import (
    GROUP_TYPES,
    MAX_JSON_DEPTH,
    RELAYED_TYPES,
    ProtocolError,
    parse_json,
    validate_client_message,
)
from anysupport.ratelimit import TokenBucket
from anysupport.sessions.group_control import named_session_id, route_group_message
from anysupport.store.common import utcnow

# what the customer says of its camera and client, given to every agent taking part (not only its own)
CUSTOMER_STATE_TYPES = frozenset({"camera_state", "capabilities"})
# a measurement, stale at once and replaced by the next: for a peer whose socket is away (reconnecting) it is
# dropped without the error, which its sender could do nothing with (docs/protocol.md, media_report)
DROPPED_WHEN_AWAY = frozenset({"media_report"})

log = logging.getLogger("anysupport.control")


@dataclass
class Peer:
    """One live connection as the control channel sees it."""

    role: str  # "agent" | "customer"
    agent_id: str | None
    session_id: str | None  # a customer's one session
    language: str
    send: Any  # callable(dict) -> None
    bucket: TokenBucket = field(repr=False, default=None)
    invalid: int = 0
    flooded: int = 0
    close_reason: str | None = None


class ControlChannel:
    """``clock`` (UTC time) stamps the messages, ``monotonic`` refills each peer's rate budget; tests
    inject both."""

    def __init__(self, sessions, records, hub, config, *, clock: Callable[[], dt.datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic):
        self.sessions = sessions
        self.records = records
        self.hub = hub
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.on_group_start = None  # async (session_id): tell every participant (Invitations.start_group)

    def new_peer(self, *, role: str, agent_id: str | None, session_id: str | None, language: str, send) -> Peer:
        return Peer(role, agent_id, session_id, language, send,
                    TokenBucket(self.config.control_rate, self.config.control_burst, clock=self.monotonic))

    def _now_iso(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")

    def error(self, peer: Peer, code: str, *, detail: str = "", field: str | None = None,
              ref: Any = None, session_id: str | None = None, **fields) -> None:
        text_key = "invalid_message" if code == "invalid_json" else code  # the REST text speaks of a request body
        message = {"type": "error", "error": code, "message": i18n.text(text_key, peer.language, detail=detail, **fields),
                   "time": self._now_iso()}
        if field:
            message["field"] = field[:300]  # a field name echoes the client's key: keep it bounded
        if ref is not None:
            message["ref"] = str(ref)[:40]
        if session_id:
            message["session_id"] = session_id
        peer.send(message)

    def _strike(self, peer: Peer) -> None:
        peer.invalid += 1
        if peer.invalid >= self.config.control_max_invalid:
            peer.close_reason = "too_many_invalid_messages"

    async def on_text(self, peer: Peer, text: str) -> None:
        """Handle one text message; sets ``peer.close_reason`` when the connection must go."""
        if not peer.bucket.take():
            # over budget: the message is dropped; say so now and then, and cut off a sustained flood
            peer.flooded += 1
            if peer.flooded == 1 or peer.flooded % 50 == 0:
                self.error(peer, "rate_limited")
            if peer.flooded > self.config.control_burst:
                peer.close_reason = "flooding"
            return
        peer.flooded = 0
        limit = self.config.control_max_bytes
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit):
            self.error(peer, "message_too_large", limit=self.config.control_max_bytes)
            self._strike(peer)
            return
        try:
            message = parse_json(text)
            validate_client_message(message, peer.role)
        except ProtocolError as exc:
            self.error(peer, exc.code, detail=exc.detail, field=exc.field, limit=MAX_JSON_DEPTH)
            self._strike(peer)
            return
        try:
            await self.dispatch(peer, message)
        except errors.DomainError as exc:
            self.error(peer, exc.code, ref=message.get("type"), session_id=message.get("session_id"), **exc.fields)

    async def _session_of(self, peer: Peer, message: dict[str, Any]):
        session_id = named_session_id(peer, message)
        live = self.sessions.live.get(session_id)
        if peer.role == "customer":
            return session_id, live
        if live is None or live.agent_id != peer.agent_id:
            # not live in memory: it may exist but be expired (or be someone else's)
            if not await self.sessions.belongs_to(peer.agent_id, session_id):
                raise errors.NotFound("session_not_found")
        return session_id, live

    def tell_guests(self, live, relayed: dict[str, Any]) -> None:
        """The customer's ``camera_state`` or ``capabilities``: kept on the live session and given to every
        invited agent whose socket is here (the guest socket, else the console), as to the session's agent."""
        live.customer_state[relayed["type"]] = relayed
        for agent_id in live.roster.guests():
            conn = self.hub.participant(live.id, agent_id)
            if conn is not None:
                conn.send_json(relayed)

    def catch_up_guest(self, session_id: str, agent_id: str) -> None:
        """An invited agent's socket is there now: the customer's last camera and capabilities, which it
        missed (it joined after the customer sent them)."""
        live = self.sessions.live.get(session_id)
        conn = self.hub.participant(session_id, agent_id)
        if live is None or conn is None or agent_id not in live.roster.guests():
            return
        for relayed in list(live.customer_state.values()):
            conn.send_json(relayed)

    async def dispatch(self, peer: Peer, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            peer.send({"type": "pong", **({"id": message["id"]} if "id" in message else {}), "time": self._now_iso()})
            return
        if kind in GROUP_TYPES or "to" in message:  # version 2: routed by participant index
            await route_group_message(self, peer, message)
            return
        session_id, live = await self._session_of(peer, message)
        if kind == "capabilities" and live is not None:
            live.roster.customer_v2 = 2 in message.get("versions", ())
            if peer.role == "customer":  # kept, so that a node not holding the session may invite into it
                await self.sessions.store.sessions.set_fields(session_id, {"customer_versions": message.get("versions", [])})
            if live.roster.start_group() and self.on_group_start is not None:
                await self.on_group_start(session_id)  # both speak version 2: everything sealed from now on
        if kind == "survey":
            await self.records.save_survey(session_id, message["answer"], message.get("feedback"))
            peer.send({"type": "survey_saved", "session_id": session_id, "time": self._now_iso()})
            self.sessions.survey_done(session_id)
            return
        if kind == "end":
            if live is None:
                raise errors.Conflict("session_not_connected")
            await self.sessions.end(session_id, peer.role)
            return
        if kind in RELAYED_TYPES:
            if live is None or live.state != "connected":
                raise errors.Conflict("session_not_connected")
            target = self.hub.customer(session_id) if peer.role == "agent" else self.hub.console(live.agent_id)
            relayed = {**message, "session_id": session_id, "from": peer.role, "time": self._now_iso()}
            if peer.role == "customer" and kind in CUSTOMER_STATE_TYPES:
                self.tell_guests(live, relayed)  # the invited agents' consoles follow the camera too
            if target is None:
                if kind in DROPPED_WHEN_AWAY:
                    return
                raise errors.Conflict("peer_not_connected")
            target.send_json(relayed)
            return
        raise errors.Invalid("unknown_type", detail=kind)  # a type in the schemas but not routed: a bug
