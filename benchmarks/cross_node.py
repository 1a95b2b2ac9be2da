"""Several nodes: how long one node takes to hear another, and how long a session takes to come back
after its node is killed.

    .venv/bin/python benchmarks/cross_node.py --joins 100 --kills 3 [--events poll|change_stream]

Starts a standalone nx-27017, three nodes (``cluster = true``) on it and Debian's nginx in front, as
the cluster tests do (``tests/support/cluster.py``).

1. **Notification delay.** An agent's console is open on node a (directly). For each of ``--joins``
   sessions created on a, a customer joins through node b; the delay is from the join answer (b has
   published the event by then) to the console's ``state`` ``online``, which a sends once it has read
   the event (0 when it came first), and from the join request to it. The same measured for joins
   through a itself is the same-node baseline.
2. **Recovery.** A real agent client and a headless customer (test pattern) talk through nginx; the
   session's node is killed with SIGKILL; the times from the kill until the console's new ``hello``,
   the new keys on both sides, and the first frame decoded by the agent afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_client.media.adaptation import Adapter  # noqa: E402
from anysupport_client.media.sources import TestPatternTrack  # noqa: E402
from anysupport_client.session import CustomerSession  # noqa: E402

from benchmarks.harness import percentile  # noqa: E402
from tests.support.agent import AgentPeer  # noqa: E402
from tests.support.client import Api, Socket  # noqa: E402
from tests.support.cluster import Nginx, Nodes, SharedDatabase  # noqa: E402
from tests.support.server import ADMIN_PASSWORD  # noqa: E402


def figures(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 1), "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1) if values else float("nan")}


async def new_agent(api: Api, n: int) -> tuple[str, str]:
    token, _ = await api.login("admin", ADMIN_PASSWORD, force=True)
    login, password = f"bench{n}", f"pw-bench-{n}"
    r = await api.with_token(token).post("/api/v1/admin/agents",
                                         {"login": login, "name": login, "password": password, "role": "agent"})
    assert r.status == 201, r.body
    return login, password


async def notification_delay(nodes: Nodes, joins: int) -> dict:
    login, password = await new_agent(Api(nodes.url("a")), 1)
    token, _ = await Api(nodes.url("a")).login(login, password)
    agent = Api(nodes.url("a"), token)
    console = await Socket.connect(nodes.url("a").replace("http", "ws", 1), token)
    await console.recv_type("hello")
    out = {}
    for through in ("a", "b"):
        delays, totals = [], []
        for _ in range(joins):
            session = (await agent.post("/api/v1/sessions")).json
            await console.recv_type("state", session_id=session["id"], state="offline")
            sent = time.perf_counter()
            joined = await Api(nodes.url(through)).post("/api/v1/join", {"code": session["code"]})
            answered = time.perf_counter()
            assert joined.status == 200, joined.body
            await console.recv_type("state", session_id=session["id"], state="online", timeout=10)
            delays.append(max(0.0, time.perf_counter() - answered) * 1000)
            totals.append((time.perf_counter() - sent) * 1000)
            await agent.delete(f"/api/v1/sessions/{session['id']}")
            await console.recv_type("state", session_id=session["id"], state="expired")
        where = "same_node" if through == "a" else "cross_node"
        out[where] = {"after_join_answer": figures(delays), "from_join_request": figures(totals)}
    console.close()
    return out


async def one_kill(nodes: Nodes, nginx: Nginx, n: int) -> tuple[float, float, float]:
    """Kill the node of one live session; ms until the console's hello, the new keys, a new frame."""
    login, password = await new_agent(Api(nginx.url), 100 + n)
    token, _ = await Api(nginx.url).login(login, password)
    agent = AgentPeer(nginx.url, token=token)
    await agent.start()
    customer = CustomerSession(nginx.url, video=TestPatternTrack(), level="low", language="en", adapter=Adapter("low"))
    try:
        session = await agent.create_session()
        await customer.start(session["code"])
        await agent.accept()
        await agent.wait_frames(5, timeout=20)
        home, sas, mark = session["node"], agent.current.sas_display, agent.mark()
        killed = time.perf_counter()
        nodes.kill(home)
        await agent.wait_for("hello", timeout=30, since=mark)
        hello = (time.perf_counter() - killed) * 1000
        live = agent.current
        await live.wait_until(lambda: live.media.ready and live.sas_display != sas and customer.sas == live.sas_display,
                              30, "new keys")
        keys = (time.perf_counter() - killed) * 1000
        decoded = live.frames_decoded  # frames decoded from here on are under the new keys
        await live.wait_until(lambda: live.frames_decoded > decoded, 30, "a new frame")
        frame = (time.perf_counter() - killed) * 1000
    finally:
        await customer.close()
        await agent.close()
    nodes.start(home)
    return hello, keys, frame


async def recovery(nodes: Nodes, nginx: Nginx, kills: int) -> dict:
    runs = [await one_kill(nodes, nginx, n) for n in range(kills)]
    return {"console_back": figures([r[0] for r in runs]), "new_keys": figures([r[1] for r in runs]),
            "first_frame": figures([r[2] for r in runs])}


async def run(args) -> dict:
    folder = tempfile.mkdtemp(prefix="anysupport-cross-node-")
    database = SharedDatabase(os.path.join(folder, "db")).start()
    nodes = Nodes(folder, database, cluster_events=args.events, session_create_max=100000)
    nginx = None
    try:
        nodes.start_all()
        nginx = Nginx(os.path.join(folder, "nginx"), {n: nodes.address(n) for n in nodes.ids}).start()
        result = {"events": args.events, "poll_interval_s": nodes.procs["a"].settings.get("cluster_poll_interval", 0.05)}
        result["notification"] = await notification_delay(nodes, args.joins)
        if args.kills:
            result["recovery"] = await recovery(nodes, nginx, args.kills)
        return result
    finally:
        if nginx is not None:
            nginx.stop()
        nodes.stop_all()
        database.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joins", type=int, default=100)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--events", choices=("poll", "change_stream"), default="poll")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
