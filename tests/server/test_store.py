"""Contract tests of the store layer, through the real driver: against the embedded nx-27017 server,
and against a real MongoDB when ANYSUPPORT_TEST_MONGO_URI is set."""

import datetime as dt
import os
import uuid

import pytest

from anysupport.store import Store, StoreError
from anysupport.store.agents import DuplicateAgent
from anysupport.store.common import utcnow
from anysupport.store.embedded import EmbeddedDatabaseError, EmbeddedMongo


@pytest.fixture
async def store(tmp_path):
    uri = os.environ.get("ANYSUPPORT_TEST_MONGO_URI", "")
    db_name = f"anysupport_contract_{uuid.uuid4().hex[:8]}"
    s = await Store.open(mongo_uri=uri, db_name=db_name, data_dir=str(tmp_path))
    yield s
    if uri:
        await s.client.drop_database(db_name)
    await s.close()


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
        with pytest.raises(StoreError):
            await s.ping()
    finally:
        await s.close()
    assert embedded.process is None


async def test_embedded_start_failure_is_clear(tmp_path, monkeypatch):
    embedded = EmbeddedMongo(str(tmp_path), start_timeout=1)
    monkeypatch.setattr("anysupport.store.embedded._LAUNCH", "import sys; sys.exit(3)")
    with pytest.raises(EmbeddedDatabaseError, match="exited with code 3"):
        await embedded.start()
