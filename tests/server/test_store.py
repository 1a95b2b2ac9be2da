"""Contract tests of the store layer, through the real driver: against the embedded nx-27017 server,
and against a real MongoDB when ANYSUPPORT_TEST_MONGO_URI is set."""

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from pymongo import AsyncMongoClient

from anysupport.errors import DatabaseUnavailable
from anysupport.store import DatabaseLost, Store
from anysupport.store.agents import DuplicateAgent
from anysupport.store.common import utcnow
from anysupport.store.embedded import (
    DataDirInUse,
    DataDirLock,
    EmbeddedDatabaseError,
    EmbeddedMongo,
    RestartPolicy,
    free_port,
)
from tests.support.processes import alive


@pytest.fixture
def store(db_store):
    """The shared test database (tests/conftest.py), under a database name of this test's own."""
    return db_store


async def new_agent(store, login="kim", number=None):
    return await store.agents.create(login=login, name="Kim", role="agent", password_hash="x", number=number,
                                     settings={"auto_connect": False})


async def test_agents_unique_login_and_number(store):
    a = await new_agent(store, "kim")
    assert a["number"] == 1 and a["created_at"].tzinfo is not None
    b = await new_agent(store, "lee")
    assert b["number"] == 2
    with pytest.raises(DuplicateAgent) as info:
        await new_agent(store, "kim")
    assert info.value.field == "login"
    with pytest.raises(DuplicateAgent) as info:
        await new_agent(store, "park", number=2)
    assert info.value.field == "number"
    assert [x["login"] for x in await store.agents.list()] == ["kim", "lee"]
    updated = await store.agents.update(a["id"], {"name": "김", "settings": {"auto_connect": True}})
    assert updated["name"] == "김" and updated["settings"]["auto_connect"] is True
    assert updated["updated_at"] >= a["updated_at"]
    assert await store.agents.by_id("not-an-id") is None
    assert await store.agents.delete(b["id"]) and await store.agents.by_login("lee") is None


async def test_tokens_expire_and_revoke(store):
    await store.tokens.add("h1", kind="agent", ttl=3600, agent_id="a1")
    await store.tokens.add("h2", kind="agent", ttl=3600, agent_id="a1")
    await store.tokens.add("h3", kind="customer", ttl=3600, session_id="s1")
    assert (await store.tokens.get("h1"))["expires_at"] > utcnow()
    assert await store.tokens.revoke_agent("a1", keep="h2") == 1
    assert await store.tokens.get("h1") is None and await store.tokens.get("h2") is not None
    await store.tokens.add("old", kind="agent", ttl=60, agent_id="a2")
    await store.tokens.col.update_one({"_id": "old"}, {"$set": {"expires_at": 0}})
    assert await store.tokens.get("old") is None
    assert await store.tokens.revoke_session("s1") == 1


async def test_codes_are_claimed_once_until_released(store):
    assert await store.sessions.claim_code("1234")
    assert not await store.sessions.claim_code("1234")
    await store.sessions.release_code("1234")
    assert await store.sessions.claim_code("1234")


async def test_session_transitions_are_conditional_and_keep_times(store):
    agent = await new_agent(store)
    s = await store.sessions.create(code="4321", agent=agent)
    assert s["state"] == "offline" and s["number"] >= 1
    now = utcnow()
    online = await store.sessions.transition(s["id"], ("offline",), {"state": "online", "online_at": now})
    assert online["online_at"] == now and isinstance(online["online_at"], dt.datetime)
    assert await store.sessions.transition(s["id"], ("offline",), {"state": "online"}) is None
    later = now - dt.timedelta(seconds=10)
    due = await store.sessions.due_for_expiry(offline_before=later, online_before=now + dt.timedelta(seconds=1),
                                              gone_before=later)
    assert [d["id"] for d in due] == [s["id"]]
    assert await store.sessions.list_live(agent_id=agent["id"])


async def test_records_range_and_stats(store):
    base = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    docs = []
    for i, (tt, res, sat) in enumerate([("a", "solved", "satisfied"), ("a", None, None), ("b", "pending", "neutral")]):
        docs.append({"session_id": f"s{i}", "agent_id": "x", "trouble_type": tt, "resolution": res,
                     "satisfaction": sat, "started_at": base + dt.timedelta(days=i), "ended_at": base})
    assert await store.records.insert_many(docs) == 3
    got = await store.records.list(start=base, end=base + dt.timedelta(days=2))
    assert [r["session_id"] for r in got] == ["s0", "s1"]
    assert got[0]["started_at"] == base
    stats = await store.records.stats()
    assert {d["_id"]: d["count"] for d in stats["resolution"]} == {"solved": 1, "unchecked": 1, "pending": 1}
    assert {d["_id"]: d["count"] for d in stats["satisfaction"]} == {"satisfied": 1, "no_answer": 1, "neutral": 1}
    assert stats["total"][0]["n"] == 3
    updated = await store.records.update_by_session("s1", {"ended_at": base + dt.timedelta(hours=1)})
    assert updated["ended_at"] == base + dt.timedelta(hours=1)


async def test_settings_documents(store):
    assert await store.settings.get("survey") is None
    await store.settings.put("survey", {"enabled": False})
    assert await store.settings.get("survey") == {"enabled": False}


async def test_indexes_exist(store):
    info = await store.db.agents.index_information()
    assert any(v.get("unique") and v["key"] == [("login", 1)] for v in info.values())


async def test_embedded_database_that_dies_is_reported(tmp_path):
    embedded = EmbeddedMongo(str(tmp_path))
    s = await Store.open(data_dir=str(tmp_path / "x"))
    try:
        assert await s.healthy()
        s.embedded.process.kill()
        s.embedded.process.wait()
        assert not await s.healthy()
        with pytest.raises(DatabaseUnavailable):
            await s.ping()
        with pytest.raises(DatabaseUnavailable):  # every repository refuses at once while it is known down
            await s.agents.list()
    finally:
        await s.close()
    assert embedded.process is None


async def test_supervisor_restarts_a_killed_database_and_nothing_written_is_lost(tmp_path):
    s = await Store.open(data_dir=str(tmp_path))
    supervisor = asyncio.ensure_future(s.supervise(interval=0.05))
    try:
        for i in range(50):
            await new_agent(s, f"agent{i}")
        base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        await s.records.insert_many([{"session_id": f"s{i}", "agent_id": "x", "started_at": base + dt.timedelta(seconds=i)}
                                     for i in range(500)])
        port, pid = s.embedded.port, s.embedded.process.pid
        os.kill(pid, signal.SIGKILL)
        s.embedded.process.wait()  # blocks the loop: the supervisor has not seen it yet
        with pytest.raises(DatabaseUnavailable):
            await s.ping()  # sees the dead child first, before any await: known down from here
        with pytest.raises(DatabaseUnavailable):
            await s.agents.list()
        await asyncio.wait_for(s.wait_available(), 30)
        assert s.restarts == 1 and s.embedded.process.pid != pid and s.embedded.port == port
        assert len(await s.agents.list()) == 50
        assert len(await s.records.list(start=base, end=base + dt.timedelta(days=1))) == 500
        await new_agent(s, "after")  # and it takes new writes
    finally:
        supervisor.cancel()
        await s.close()


async def test_supervisor_gives_up_after_its_attempts_with_a_clear_reason(tmp_path):
    s = await Store.open(data_dir=str(tmp_path))
    try:
        db_dir = tmp_path / "db"
        os.rename(db_dir, tmp_path / "db.moved")
        db_dir.write_text("not a directory")  # so no restart can succeed
        s.embedded.process.kill()
        s.embedded.process.wait()
        policy = RestartPolicy(2, first_delay=0.01)
        with pytest.raises(DatabaseLost, match=r"exited with code -9 and could not be restarted in 2 attempts"):
            await asyncio.wait_for(s.supervise(interval=0.01, policy=policy), 30)
        assert not s.available and policy.used == 2
    finally:
        await s.close()


async def test_unreachable_database_answers_at_once_once_known_down():
    port = free_port()
    client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1500)
    s = Store(client, "anysupport")
    try:
        with pytest.raises(DatabaseUnavailable):  # the driver's ServerSelectionTimeoutError, translated
            await s.agents.list()
        assert not s.available
        t0 = time.monotonic()
        for _ in range(20):
            with pytest.raises(DatabaseUnavailable):
                await s.tokens.get("x")
        assert time.monotonic() - t0 < 1.5  # twenty refusals together take less than one driver timeout
        assert not await s.healthy()
    finally:
        await s.close()


async def test_unreachable_database_is_marked_available_when_it_answers_again(tmp_path):
    port = free_port()
    client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1500)
    s = Store(client, "anysupport")  # as with a real MongoDB: nothing to restart, only to watch
    database = EmbeddedMongo(str(tmp_path))
    supervisor = asyncio.ensure_future(s.supervise(interval=0.05))
    try:
        with pytest.raises(DatabaseUnavailable):
            await s.agents.list()
        database.port = port
        await database.restart()  # the database comes (back) on its address
        await asyncio.wait_for(s.wait_available(), 30)
        assert await s.agents.list() == [] and await s.healthy()
    finally:
        supervisor.cancel()
        await s.close()
        await database.stop()


def test_restart_policy_bounds_attempts_and_forgives_a_stable_run():
    now = [0.0]
    policy = RestartPolicy(3, first_delay=0.5, max_delay=1.5, stable_after=60, clock=lambda: now[0])
    assert [policy.failed(), policy.failed(), policy.failed(), policy.failed()] == [0.5, 1.0, 1.5, None]
    policy = RestartPolicy(2, first_delay=1, stable_after=60, clock=lambda: now[0])
    assert policy.failed() == 1
    policy.started()
    now[0] = 10.0  # died again soon after: the count goes on
    assert policy.failed() == 2
    policy.started()
    now[0] = 100.0  # stayed up a minute: a new death starts a new count
    assert policy.failed() == 1 and policy.used == 1


def test_data_dir_lock_is_exclusive_and_names_the_holder(tmp_path):
    first, second = DataDirLock(str(tmp_path)), DataDirLock(str(tmp_path))
    first.acquire()
    with pytest.raises(DataDirInUse) as info:
        second.acquire()
    assert info.value.pid == os.getpid() and f"PID {os.getpid()}" in str(info.value)
    assert str(tmp_path) in str(info.value)
    first.release()
    second.acquire()  # released: the next one gets it
    assert second.held
    second.release()


async def test_embedded_store_holds_the_data_dir_until_closed(tmp_path):
    s = await Store.open(data_dir=str(tmp_path))
    try:
        with pytest.raises(DataDirInUse):
            await Store.open(data_dir=str(tmp_path))
    finally:
        await s.close()
    again = await Store.open(data_dir=str(tmp_path))
    await again.close()


async def test_embedded_start_failure_is_clear(tmp_path, monkeypatch):
    embedded = EmbeddedMongo(str(tmp_path), start_timeout=1)
    monkeypatch.setattr("anysupport.store.embedded._LAUNCH", "import sys; sys.exit(3)")
    with pytest.raises(EmbeddedDatabaseError, match="exited with code 3"):
        await embedded.start()


def test_a_database_child_whose_server_is_gone_ends_by_itself(tmp_path):
    """The watcher of ``launch_program``: its server gone (here a parent that sets no PR_SET_PDEATHSIG, so
    the child gets no SIGTERM at all), the database child ends ``grace`` seconds later."""
    parent = (
        "import os, subprocess, sys\n"
        "from anysupport.store.embedded import launch_program, free_port\n"
        "d = sys.argv[1]\n"
        "child = subprocess.Popen([sys.executable, '-c', launch_program(os.getpid(), 1.0), '--data-dir', d,\n"
        "    '--host', '127.0.0.1', '--port', str(free_port()), '--log-file', os.path.join(d, 'nx.log'),\n"
        "    '--pid-file', os.path.join(d, 'nx.pid')], start_new_session=True,\n"
        "    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", parent, str(tmp_path)], capture_output=True, text=True, timeout=30)
    child = int(out.stdout)
    gone_at = time.monotonic()
    while alive(child) and time.monotonic() - gone_at < 20:
        time.sleep(0.05)
    if alive(child):
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the database child outlived its server by 20 s")
    assert time.monotonic() - gone_at >= 0.5  # it ran on, in order, for its grace first


async def test_a_stale_pid_file_of_the_database_does_not_block_its_start(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "nx-27017.pid").write_text(str(os.getpid()))  # a live process: what a reused PID looks like
    s = await Store.open(data_dir=str(tmp_path))
    try:
        assert await s.healthy()
    finally:
        await s.close()


async def test_records_from_before_versions_are_version_1_after_a_start(store):
    """#18.5: saves match a record's version exactly; a record written before versions existed gets
    version 1 when the store starts, so the console's first conditional save applies to it."""
    await store.records.col.insert_one({"session_id": "old1", "content": "before versions"})
    await store.records.ensure_indexes()
    old = await store.records.by_session("old1")
    assert old["version"] == 1
    saved = await store.records.save_fields("old1", {"content": "after"}, version=1)
    assert saved["version"] == 2 and saved["content"] == "after"
    assert await store.records.save_fields("old1", {"content": "stale"}, version=1) is None
