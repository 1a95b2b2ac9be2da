"""The server's managers as ``Services.build`` makes them, around a real store, with one hand-moved
clock for every rule (UTC time and monotonic seconds) and no transport: for direct tests of the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anysupport.auth.manager import AuthManager
from anysupport.catalog.manager import CatalogManager
from anysupport.records.manager import RecordManager
from anysupport.relay.relay import Relay
from anysupport.services import Services
from anysupport.sessions.control import ControlChannel
from anysupport.sessions.handover import HandoverManager
from anysupport.sessions.manager import SessionManager
from anysupport.ws.hub import Hub
from tests.support.connections import Principal, RecordingConnection
from tests.support.store import make_config


@dataclass
class Managers:
    config: Any
    store: Any
    clock: Any
    hub: Hub
    auth: AuthManager
    catalog: CatalogManager
    records: RecordManager
    sessions: SessionManager
    control: ControlChannel
    relay: Relay
    services: Services
    handover: HandoverManager

    @classmethod
    def of(cls, services: Services, clock) -> Managers:
        s = services
        return cls(s.config, s.store, clock, s.hub, s.auth, s.catalog, s.records, s.sessions, s.control, s.relay, s,
                   s.handover)

    async def agent(self, login: str = "kim", *, auto_connect: bool = False, role: str = "agent") -> dict[str, Any]:
        return await self.store.agents.create(login=login, name=f"Agent {login}", role=role, password_hash="x",
                                              number=None, settings={"auto_connect": auto_connect})

    def console(self, agent: dict[str, Any]) -> RecordingConnection:
        """An agent's console as the WebSocket handler attaches it (without the hello)."""
        conn = RecordingConnection(Principal("agent", agent_id=agent["id"]))
        conn.media = self.relay.new_sender(conn)
        self.hub.attach_console(agent["id"], conn)
        return conn

    async def open_console(self, agent: dict[str, Any]) -> RecordingConnection:
        conn = self.console(agent)
        await self.sessions.console_attached(agent["id"])
        return conn

    async def open_customer(self, session_id: str) -> RecordingConnection:
        conn = RecordingConnection(Principal("customer", session_id=session_id))
        conn.media = self.relay.new_sender(conn)
        self.hub.attach_customer(session_id, conn)
        await self.sessions.customer_attached(session_id)
        return conn

    async def close_customer(self, conn: RecordingConnection) -> None:
        if self.hub.detach_customer(conn.principal.session_id, conn):
            await self.sessions.customer_detached(conn.principal.session_id)

    async def close_console(self, conn: RecordingConnection) -> None:
        if self.hub.detach_console(conn.principal.agent_id, conn):
            await self.sessions.console_detached(conn.principal.agent_id)


def build_managers(store, clock, **settings) -> Managers:
    """``Services.build`` with the settings given (over the defaults) and ``clock`` for both of its clocks."""
    services = Services.build(make_config(**settings), store, clock=clock, monotonic=clock.monotonic)
    return Managers.of(services, clock)
