"""Fixtures for the client tests: a headless customer and a scripted agent over the real server."""

from __future__ import annotations

import asyncio

import pytest
from anysupport_client.media.adaptation import Adapter
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import CustomerSession

from tests.support.agent import AgentPeer
from tests.support.audio import pulse  # noqa: F401 (the fixture)
from tests.support.client import Api, admin_api, create_agent

_numbers = iter(range(1, 10**6))


async def wait_until(condition, timeout: float = 10.0, interval: float = 0.01):
    """Poll ``condition`` for state nothing emits an event about (the clients' own ``wait_until`` is preferred:
    it is re-checked on their events). The agent console's tests import it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met in {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture
def pair_factory(agent_factory):
    """make(server, **customer options) → (agent, customer, source), connected and keyed."""
    made: list[tuple[AgentPeer, CustomerSession]] = []

    async def make(server=None, *, source=None, level="medium", adapter=None, audio=None, accept=True, customer_url=None, **kw):
        if server is None:
            client, _agent, _ = await agent_factory()
            base, token = client.base_url, client.token
        else:  # a server of its own: make an agent there
            base = server.url
            login, _password = await create_agent(await admin_api(base), f"agent{next(_numbers)}")
            token, _ = await Api(base).login(login, "pw-" + login)
        agent = AgentPeer(base, token=token)
        await agent.start()
        session = await agent.create_session()
        source = source or TestPatternTrack()
        customer = CustomerSession(customer_url or base, video=source, audio=audio, level=level, language="en",
                                   adapter=adapter or Adapter(level), **kw)
        made.append((agent, customer))
        await customer.start(session["code"], name="Tester")
        if accept:
            await agent.accept()
            await customer.wait_until(lambda: customer.media is not None and customer.media.ready, 10, "customer keys")
        return agent, customer, source

    yield make
    return_values = made
    for agent, customer in return_values:
        customer.drop_connection(reconnect=False)
        agent.socket and agent.socket.close()


@pytest.fixture
async def pair(pair_factory):
    return await pair_factory()
