"""Fixtures of the managers' direct tests: a real database (embedded, in this process's test run)."""

from __future__ import annotations

import pytest

from tests.support.clock import ManualClock
from tests.support.store import EmbeddedDatabase, close_store


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    db = EmbeddedDatabase(str(tmp_path_factory.mktemp("unit-db"))).start()
    yield db
    db.stop()


@pytest.fixture
async def db_store(database):
    store = await database.open_store()
    yield store
    await close_store(store)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
