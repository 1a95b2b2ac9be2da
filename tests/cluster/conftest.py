"""A cluster of its own for each test: one shared nx-27017, three nodes (a, b, c), nginx in front."""

from __future__ import annotations

import pytest

from tests.support.client import Api, create_agent
from tests.support.cluster import Nginx, Nodes, SharedDatabase
from tests.support.server import ADMIN_PASSWORD


class Cluster:
    def __init__(self, database: SharedDatabase, nodes: Nodes, nginx: Nginx):
        self.database = database
        self.nodes = nodes
        self.nginx = nginx
        self._agents = 0

    @property
    def url(self) -> str:
        return self.nginx.url

    def api(self, node: str | None = None, token: str | None = None) -> Api:
        return Api(self.nodes.url(node) if node else self.url, token)

    async def admin(self, node: str | None = None) -> Api:
        token, _ = await self.api(node).login("admin", ADMIN_PASSWORD, force=True)
        return self.api(node, token)

    async def new_agent(self, *, auto_connect: bool = False, node: str | None = None) -> tuple[str, str]:
        """A new agent account; returns (login, password)."""
        self._agents += 1
        login, password = f"agent{self._agents}", f"pw-agent-{self._agents}"
        return await create_agent(await self.admin(node), login, password, auto_connect=auto_connect)

    def logs(self) -> str:
        return "\n".join(f"--- node {n}\n" + "".join(p.lines[-40:]) for n, p in self.nodes.procs.items())


@pytest.fixture
def cluster(tmp_path, request):
    """Nodes hear each other by polling the events collection unless the test asks for change streams
    (``indirect`` parameter): nx-27017 answers ``watch`` too, but a plain MongoDB server does not."""
    events = getattr(request, "param", "poll")
    database = SharedDatabase(str(tmp_path / "db")).start()
    nodes = Nodes(str(tmp_path), database, cluster_events=events)
    nginx = None
    try:
        nodes.start_all()
        nginx = Nginx(str(tmp_path / "nginx"), {n: nodes.address(n) for n in nodes.ids}).start()
        made = Cluster(database, nodes, nginx)
        made.events = events
        yield made
    finally:
        if nginx is not None:
            nginx.stop()
        nodes.stop_all()
        database.stop()
