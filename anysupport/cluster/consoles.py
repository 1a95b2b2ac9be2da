"""``ClusterConsoles``: the consoles of every node, as the login and account rules see them.

A forced login, a logout, an admin's reset, disable or delete must reach the agent's console on
whichever node holds it: this node's own sockets are closed at once, and the other nodes are told
through the cluster's events (each closes the sockets it holds). Same methods as ``ws.hub.Hub``.
"""

from __future__ import annotations

import logging

log = logging.getLogger("anysupport.cluster")


class ClusterConsoles:
    def __init__(self, hub, cluster, store):
        self.hub = hub
        self.cluster = cluster
        self.store = store
        cluster.on("kick", self._on_kick)
        cluster.on("close_token", self._on_close_token)
        cluster.on("close_agent_logins", self._on_close_agent_logins)

    def has_console(self, agent_id: str) -> bool:
        return self.hub.has_console(agent_id)

    async def console_live(self, agent_id: str) -> bool:
        """The agent's console is open on this node or on another live one."""
        if self.hub.has_console(agent_id):
            return True
        node = await self.store.cluster.console_node(agent_id)
        return node is not None and node != self.cluster.node_id and await self.cluster.check_alive(node)

    async def kick(self, agent_id: str, reason: str) -> None:
        await self.hub.kick(agent_id, reason)
        await self.cluster.publish("kick", agent_id=agent_id, reason=reason)

    async def revoke_token(self, token_hash: str, reason: str) -> int:
        closed = self.hub.close_token(token_hash, reason)
        await self.cluster.publish("close_token", token_hash=token_hash, reason=reason)
        return closed

    async def revoke_agent_logins(self, agent_id: str, reason: str, *, keep: str | None = None) -> int:
        closed = self.hub.close_agent_logins(agent_id, reason, keep=keep)
        await self.cluster.publish("close_agent_logins", agent_id=agent_id, reason=reason, keep=keep)
        return closed

    # -- what the other nodes asked ----------------------------------------------------------------------
    async def _on_kick(self, event: dict) -> None:
        await self.hub.kick(event["agent_id"], event["reason"])

    async def _on_close_token(self, event: dict) -> None:
        self.hub.close_token(event["token_hash"], event["reason"])

    async def _on_close_agent_logins(self, event: dict) -> None:
        self.hub.close_agent_logins(event["agent_id"], event["reason"], keep=event.get("keep"))
