"""Every long-lived service of one server process, built in one place and handed to handlers
through the application settings (never module globals)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anysupport.agents.manager import AgentManager
from anysupport.auth.manager import AuthManager
from anysupport.catalog.manager import CatalogManager, SiteSettings
from anysupport.cluster.bus import Cluster
from anysupport.cluster.consoles import ClusterConsoles
from anysupport.cluster.placement import ClusterPlacement
from anysupport.records.manager import RecordManager
from anysupport.relay.relay import Relay
from anysupport.sessions.control import ControlChannel
from anysupport.sessions.handover import HandoverManager
from anysupport.sessions.invitations import Invitations
from anysupport.sessions.manager import SessionManager
from anysupport.sessions.placement import SingleNode
from anysupport.store.common import utcnow
from anysupport.ws.hub import Hub

log = logging.getLogger("anysupport")


@dataclass
class Services:
    config: Any
    store: Any
    hub: Hub
    auth: AuthManager
    agents: AgentManager
    catalog: CatalogManager
    site: SiteSettings
    records: RecordManager
    sessions: SessionManager
    control: ControlChannel
    relay: Relay
    cluster: Cluster
    handover: HandoverManager
    invitations: Invitations
    tasks: set = field(default_factory=set)

    @classmethod
    def build(cls, config, store, *, clock: Callable[[], dt.datetime] = utcnow,
              monotonic: Callable[[], float] = time.monotonic) -> Services:
        """Every manager of one process, wired once. ``clock`` is the UTC time (stored times, token
        expiry, timeouts), ``monotonic`` the seconds that rate limits and heartbeats count; tests pass
        one hand-moved clock for both (``tests/support/clock.py``)."""
        hub = Hub(clock=monotonic, open_max=config.ws_open_max, open_window=config.ws_open_window)
        cluster = Cluster(store, config, clock=monotonic)  # several nodes (config.cluster): else it does nothing
        consoles = ClusterConsoles(hub, cluster, store) if cluster.enabled else hub
        auth = AuthManager(store, config, consoles, clock=clock, monotonic=monotonic)
        agents = AgentManager(store, config, consoles)
        catalog = CatalogManager(store, language=config.default_language, phrases_max=config.phrases_max,
                                 trouble_type_max_depth=config.trouble_type_max_depth)
        records = RecordManager(store, config, catalog, agents, clock=clock)
        placement = ClusterPlacement(cluster, store, hub) if cluster.enabled else SingleNode(config.node_url)
        sessions = SessionManager(store, config, hub, auth, records, placement=placement, clock=clock,
                                  monotonic=monotonic)
        control = ControlChannel(sessions, records, hub, config, clock=clock, monotonic=monotonic)
        relay = Relay(config, hub, sessions, clock=monotonic)
        sessions.expired_listeners.append(relay.forget_session)
        site = SiteSettings(store, config)
        handover = HandoverManager(store, config, sessions, consoles, clock=clock)
        invitations = Invitations(store, sessions, hub, consoles=consoles, clock=clock)
        invitations.announced_hooks.append(control.catch_up_guest)  # an invited agent gets the customer's camera
        control.on_group_start = invitations.start_group  # both clients speak version 2: sealed from the start
        sessions.members_hooks.append(invitations.announce)  # a hand-over in version 2: who is present now
        return cls(config, store, hub, auth, agents, catalog, site, records, sessions, control, relay, cluster,
                   handover, invitations)

    def spawn(self, coro) -> asyncio.Task:
        """Run background work tied to this server; failures are logged, never lost silently."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self.tasks.discard(t)
            if t.cancelled() or t.exception() is None:
                return
            if self.store.translate(t.exception()) is not None:  # an outage: the store logs it once
                log.warning("background task stopped: the database is unavailable")
            else:
                log.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task
