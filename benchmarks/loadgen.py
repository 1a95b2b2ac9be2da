"""Shared pieces of the load generators: a server in another process, and many connected sessions.

Every session is real: an agent account logged in with its own console WebSocket, a customer that
joined with the code, the agent's accept, all over loopback to a server in a separate process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass, field

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.client import Api, Socket  # noqa: E402
from tests.support.server import ADMIN_PASSWORD, ServerProcess  # noqa: E402


@dataclass
class Pair:
    session_id: str
    console: Socket
    customer: Socket
    agent_token: str
    sent: dict = field(default_factory=dict)
    received: dict = field(default_factory=dict)


class TreeServer(ServerProcess):
    """The server of another checkout (its ``anysupport`` package first on the path)."""

    def __init__(self, tree: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tree = tree

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.tree, env.get("PYTHONPATH")) if p)
        return env

    def start(self, timeout: float = 30.0) -> ServerProcess:
        here = os.getcwd()
        os.chdir(self.tree)  # ``python -m`` puts the working directory first on the path
        try:
            return super().start(timeout)
        finally:
            os.chdir(here)


def start_server(settings: dict | None = None, *, cpu: int | None = 0, tree: str | None = None) -> ServerProcess:
    """A server in its own process (pinned to ``cpu`` so the load generator can use the other core);
    ``tree``: run the ``anysupport`` package of that directory instead of this checkout's."""
    data_dir = tempfile.mkdtemp(prefix="anysupport-load-")
    server_class = (lambda *a, **k: TreeServer(tree, *a, **k)) if tree else ServerProcess
    srv = server_class(data_dir, {"log_level": "warning", "sweep_interval": 1.0, "control_rate": 1000,
                                   "control_burst": 2000, "login_ip_max_failures": 100000, **(settings or {})})
    # the readiness line is logged at info level; keep warning for the rest by filtering later
    srv.settings["log_level"] = "info"
    srv.start(timeout=60)
    if cpu is not None and hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        proc = psutil.Process(srv.process.pid)
        for p in [proc, *proc.children(recursive=True)]:
            p.cpu_affinity([cpu])
        os.sched_setaffinity(0, {c for c in range(os.cpu_count()) if c != cpu} or {cpu})
    return srv


async def open_pairs(url: str, ws_base: str, count: int, *, concurrency: int = 20) -> list[Pair]:
    api = Api(url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    run_id = os.urandom(3).hex()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Pair:
        async with gate:
            login = f"load{run_id}{i}"
            r = await admin.post("/api/v1/admin/agents", {"login": login, "name": login, "password": "load-password"})
            assert r.status == 201, r.body
            agent_token, _ = await api.login(login, "load-password")
            agent = api.with_token(agent_token)
            console = await Socket.connect(ws_base, agent_token)
            await console.recv_type("hello")
            session = (await agent.post("/api/v1/sessions")).json
            joined = (await api.post("/api/v1/join", {"code": session["code"]})).json
            customer = await Socket.connect(ws_base, joined["token"])
            await customer.recv_type("hello")
            r = await agent.post(f"/api/v1/sessions/{session['id']}/connect")
            assert r.status == 200, r.body
            await customer.recv_type("state", state="connected")
            return Pair(session["id"], console, customer, agent_token)

    return await asyncio.gather(*(one(i) for i in range(count)))
