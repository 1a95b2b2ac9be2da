"""The customer page with several nodes: it follows ``moved`` (close 4004) and the ``ws_url`` in
``hello`` exactly as ``CustomerSession`` does. Two real nodes on one shared database, each with its own
absolute ``node_url`` (so no load balancer is needed: the page opens each node's socket directly, which
the CSP and the origin rule allow); the agent's console moving from node a to node b sends the page on."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.agent import AgentPeer
from tests.support.browser import start_call
from tests.support.client import Api
from tests.support.cluster import Nodes, SharedDatabase

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture
def two_nodes(tmp_path):
    database = SharedDatabase(str(tmp_path / "db")).start()
    nodes = Nodes(str(tmp_path), database, count=2)
    try:
        for node in nodes.ids:
            proc = nodes.make(node)
            proc.settings["node_url"] = nodes.url(node)
            proc.settings["public_url"] = nodes.url("a")  # the customer page is opened on node a
        for proc in nodes.procs.values():
            proc.spawn()
        for proc in nodes.procs.values():
            proc.wait_listening()
        yield nodes
    finally:
        nodes.stop_all()
        database.stop()


async def node_known(url: str, other: str, timeout: float = 15.0) -> None:
    """Wait until the node at ``url`` lists ``other``'s socket in its pages' CSP (it reads the other
    node's heartbeat from the database; no event tells a client when)."""
    deadline = time.monotonic() + timeout
    while other.replace("http", "ws", 1) not in (await Api(url).get("/")).headers["Content-Security-Policy"]:
        assert time.monotonic() < deadline, f"{url} never heard of {other}"
        await asyncio.sleep(0.1)


async def test_the_page_follows_moved_and_hellos_ws_url_to_the_node_of_the_agents_console(two_nodes, phone, agents):
    a, b = two_nodes.url("a"), two_nodes.url("b")
    await node_known(a, b)
    page = await phone("en-US")
    agent = await start_call(a, agents, page, name="mv")
    assert agent.session["node"] == "a"
    assert await page.value("window.anysupportCall.joined.ws_url") == a.replace("http", "ws", 1) + "/ws"
    old_sas = agent.current.sas_display

    # the agent's console opens on node b (its node a was drained): the session moves with it, and
    # node a sends the page on with `moved`
    moved_agent = agents.keep(AgentPeer(b, token=agent.client.token))
    await moved_agent.start()
    moved_agent.current = moved_agent.client.session(agent.session_id)
    await moved_agent.current.wait_until(lambda: moved_agent.current.media.ready
                                         and moved_agent.current.sas_display != old_sas, 20, "keys on node b")
    assert await page.value("window.anysupportCall.stats.moves") == 1
    await page.wait(f"window.anysupportCall.sas === {moved_agent.current.sas_display!r}", 15_000)
    frames = await moved_agent.wait_frames(10, timeout=15)
    assert frames[-1].number > frames[0].number
    new_url = b.replace("http", "ws", 1) + "/ws"
    assert await page.value("window.anysupportCall.joined.ws_url") == new_url  # hello's, after moved's
    stored = await page.value("JSON.parse(sessionStorage.getItem('anysupport.customer')).ws_url")
    assert stored == new_url  # a reload goes to node b straight away
    moved_agent.chat("다른 서버에서 계속합니다")
    await page.wait("document.body.textContent.includes('다른 서버에서 계속합니다')")
    # while the session moves, a frame the page sent on node b before the session was connected there
    # may be dropped with the documented `frame_dropped` (not_connected); nothing else may be refused
    assert not page.errors, page.errors
    refused = (await page.stats() or {}).get("server_errors", [])
    assert set(refused) <= {"frame_dropped:not_connected"}, refused
