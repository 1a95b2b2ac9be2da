"""Fixtures: the real server (child process, embedded MongoDB) and clients talking to it."""

from __future__ import annotations

import os

import pytest

from tests.support.audio import PulseServer, shared_pulse
from tests.support.client import Api, create_agent
from tests.support.server import ADMIN_PASSWORD, ServerProcess
from tests.support.store import EmbeddedDatabase, close_store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FAST = {"sweep_interval": 0.1}


def pytest_collection_finish(session):
    """Start this process's PulseAudio before any test runs when one of its tests uses it.

    SoundCard binds to the audio server of ``PULSE_SERVER`` when first imported, and any client test
    may import it first; under pytest-xdist a worker's order is not the file order, so waiting for the
    ``pulse`` fixture's first test would leave the voice tests without their speakers.
    """
    if PulseServer.missing() is None and any("pulse" in getattr(item, "fixturenames", ()) for item in session.items):
        shared_pulse()


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (``-n 2 --dist loadgroup``, README "Development") the browser tests run one
    after another in one worker: two Chromiums and their servers at once on a 2-core machine miss the
    pages' 10 s waits, while one beside the other worker's tests does not."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the tests that do not need special settings.

    Every test reaches it from 127.0.0.1, so the per-address login lock would add up the wrong
    passwords of the whole suite: it is raised here, and tested on servers of its own.
    """
    proc = ServerProcess(str(tmp_path_factory.mktemp("server")), {**FAST, "login_max_failures": 5, "login_ip_max_failures": 10000}).start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path):
    """Start servers with particular settings; all are stopped after the test."""
    started: list[ServerProcess] = []

    def make(settings=None, *, data_dir=None, **kw) -> ServerProcess:
        proc = ServerProcess(str(data_dir or tmp_path / f"server{len(started)}"), {**FAST, **(settings or {})}, **kw)
        started.append(proc.start())
        return proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
def api(server) -> Api:
    return Api(server.url)


@pytest.fixture
async def admin(server) -> Api:
    client = Api(server.url)
    token, _ = await client.login("admin", ADMIN_PASSWORD)
    return client.with_token(token)


_counter = iter(range(1, 10**6))


@pytest.fixture
def unique():
    """A fresh name each call, so tests sharing one server never collide."""
    return lambda prefix="u": f"{prefix}{os.getpid()}x{next(_counter)}"


@pytest.fixture
async def agent_factory(admin, unique):
    """Create an agent via the admin API and log it in: returns (Api with token, agent dict, password)."""

    async def make(*, role: str = "agent", auto_connect: bool = False, **fields):
        login = unique("agent")
        password = "pw-" + login
        await create_agent(admin, login, password, name=f"Agent {login}", role=role, auto_connect=auto_connect, **fields)
        client = Api(admin.base_url)
        token, agent = await client.login(login, password)
        return client.with_token(token), agent, password

    return make


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """One real database for every direct test of a manager or store (embedded, or ANYSUPPORT_TEST_MONGO_URI's)."""
    db = EmbeddedDatabase(str(tmp_path_factory.mktemp("unit-db"))).start()
    yield db
    db.stop()


@pytest.fixture
async def db_store(database):
    """A store on a database of its own, dropped after the test."""
    store = await database.open_store()
    yield store
    await close_store(store)
