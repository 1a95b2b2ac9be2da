"""``RecordManager`` directly: support records and the survey over a real store, with a hand-moved
clock. End to end (REST and WebSocket) in test_records.py and test_sessions.py."""

from __future__ import annotations

import asyncio
import zoneinfo

import pytest

from anysupport.errors import Conflict, Forbidden, Invalid, NotFound
from tests.support.managers import build_managers

CUSTOMER = {"name": "코이노", "email": "cs@example.com", "phone": "02-2002-2750", "language": "ko"}


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock)


async def connected_session(m, agent, customer=CUSTOMER):
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], customer, "203.0.113.7")
    return await m.sessions.connect(agent, session["id"])


async def test_a_record_opens_on_connect_and_closes_on_expiry_at_the_clock_times(m, clock):
    agent = await m.agent()
    session = await connected_session(m, agent)
    started = clock()
    record = await m.store.records.by_session(session["id"])
    assert record["started_at"] == started and record["ended_at"] is None
    assert (record["customer_name"], record["email"], record["phone"], record["ip"]) == (
        "코이노", "cs@example.com", "02-2002-2750", "203.0.113.7")
    assert record["agent_login"] == agent["login"] and record["satisfaction"] is None
    clock.advance(192)
    await m.sessions.expire(session["id"], "ended_by_agent")
    record = await m.store.records.by_session(session["id"])
    assert record["ended_at"] - record["started_at"] == clock() - started
    # opening twice (a retried connect) keeps the one record
    again = await m.records.open_for(await m.store.sessions.get(session["id"]))
    assert again["id"] == record["id"]


async def test_update_checks_every_field_and_who_may_edit(m):
    agent, other = await m.agent("kim"), await m.agent("lee")
    admin = await m.agent("boss", role="admin")
    session = await connected_session(m, agent)
    sid = session["id"]
    for fields, field in (({"email": "nope"}, "email"), ({"phone": "call me"}, "phone"),
                          ({"resolution": "fixed"}, "resolution"), ({"trouble_type": "0" * 24}, "trouble_type")):
        with pytest.raises(Invalid) as refused:
            await m.records.update(agent, sid, fields)
        assert refused.value.fields["field"] == field
    with pytest.raises(NotFound) as hidden:
        await m.records.update(other, sid, {"content": "mine"})
    assert hidden.value.code == "session_not_found"  # another agent's record is not even said to exist
    parent = await m.catalog.add_trouble_type("Network Error")
    child = await m.catalog.add_trouble_type("Wi-Fi", parent["id"])
    saved = await m.records.update(agent, sid, {"content": "  공유기 재부팅  ", "trouble_type": child["id"],
                                                "resolution": "solved", "ip": "1.2.3.4"})
    assert saved["content"] == "공유기 재부팅" and saved["trouble_type_name"] == "Network Error / Wi-Fi"
    assert saved["ip"] == "203.0.113.7"  # not an editable field
    cleared = await m.records.update(admin, sid, {"trouble_type": "", "resolution": None})
    assert cleared["trouble_type"] is None and cleared["trouble_type_name"] is None and cleared["resolution"] is None


async def test_a_session_never_connected_has_no_record(m):
    agent = await m.agent()
    session = await m.sessions.create(agent)
    with pytest.raises(NotFound) as missing:
        await m.records.get_for(agent, session["id"])
    assert missing.value.code == "record_not_found"
    with pytest.raises(NotFound) as missing:
        await m.records.save_survey(session["id"], "satisfied", None)
    assert missing.value.code == "record_not_found"


async def test_the_survey_opens_at_the_end_in_the_customer_language(m, clock):
    agent = await m.agent()
    session = await connected_session(m, agent, {**CUSTOMER, "language": "en"})
    with pytest.raises(Forbidden) as early:
        await m.records.save_survey(session["id"], "satisfied", None)
    assert early.value.code == "survey_not_open"
    expired = await m.sessions.expire(session["id"], "ended_by_customer")
    message = await m.records.survey_message(expired)
    assert message["question"] == "Were you satisfied with the support?"
    assert [c["label"] for c in message["choices"]] == ["Satisfied", "Neutral", "Unsatisfied"]
    assert message["time"] == clock().isoformat(timespec="milliseconds")
    with pytest.raises(Invalid):
        await m.records.save_survey(session["id"], "great", None)
    saved = await m.records.save_survey(session["id"], "neutral", "  빨랐어요 ")
    assert saved["satisfaction"] == "neutral" and saved["feedback"] == "빨랐어요"
    assert await m.records.survey_message(expired) is None  # answered: not offered again


class ReadsMeetFirst:
    """The real record store, except that each ``by_session`` waits until all the answers being
    tested have read: the worst interleaving, where every answer passes the checks before any writes.
    (Left alone, one event loop often runs the first answer to its end before the others read.)"""

    def __init__(self, inner, parties: int):
        self.inner = inner
        self.barrier = asyncio.Barrier(parties)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def by_session(self, session_id):
        record = await self.inner.by_session(session_id)
        await self.barrier.wait()
        return record


async def test_ten_concurrent_answers_store_exactly_one(m):
    agent = await m.agent()
    session = await connected_session(m, agent)
    await m.sessions.expire(session["id"], "ended_by_customer")
    answers = ["satisfied", "neutral", "unsatisfied", "neutral", "satisfied"] * 2
    real = m.store.records
    m.store.records = ReadsMeetFirst(real, len(answers))
    try:
        results = await asyncio.gather(*(m.records.save_survey(session["id"], a, f"#{i}")
                                         for i, a in enumerate(answers)), return_exceptions=True)
    finally:
        m.store.records = real
    saved = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(saved) == 1 and len(refused) == 9, results
    assert all(r.code == "survey_answered" for r in refused)
    winner = results.index(saved[0])
    stored = await m.store.records.by_session(session["id"])
    assert stored["satisfaction"] == answers[winner] and stored["feedback"] == f"#{winner}"


async def test_the_store_admits_one_answer_even_without_the_managers_checks(m):
    agent = await m.agent()
    session = await connected_session(m, agent)
    attempts = await asyncio.gather(*(m.store.records.answer_survey(session["id"], {"satisfaction": a})
                                      for a in ("satisfied", "neutral", "unsatisfied") * 4))
    assert sum(1 for a in attempts if a is not None) == 1
    assert await m.store.records.answer_survey("0" * 24, {"satisfaction": "neutral"}) is None


async def test_a_disabled_survey_is_neither_offered_nor_taken(m):
    agent = await m.agent()
    session = await connected_session(m, agent)
    expired = await m.sessions.expire(session["id"], "deleted")
    await m.store.settings.put("survey", {"enabled": False})
    assert await m.records.survey_message(expired) is None
    with pytest.raises(Forbidden) as off:
        await m.records.save_survey(session["id"], "satisfied", None)
    assert off.value.code == "survey_disabled"


async def test_who_may_read_which_records_is_the_managers_rule(m, clock):
    kim, lee = await m.agent("kim"), await m.agent("lee")
    admin = await m.agent("boss", role="admin")
    mine, theirs = await connected_session(m, kim), await connected_session(m, lee)
    assert (await m.records.get_for(admin, theirs["id"]))["agent_id"] == lee["id"]  # an admin reads any
    with pytest.raises(NotFound):
        await m.records.get_for(kim, theirs["id"])

    own = await m.records.scope(kim, login="lee")  # an agent's scope is its own, whatever it asks
    assert (own.agent_id, own.agent_login) == (kim["id"], "kim")
    records, total = await m.records.list(own)
    assert total == 1 and [r["session_id"] for r in records] == [mine["id"]]
    assert set(records[0]) >= {"id", "session_id", "agent_login", "started_at"}  # the API's view

    everyone = await m.records.scope(admin)
    assert everyone.agent_id is None and (await m.records.list(everyone))[1] == 2
    one = await m.records.scope(admin, login="lee")
    assert [r["session_id"] for r in (await m.records.list(one))[0]] == [theirs["id"]]
    with pytest.raises(NotFound) as unknown:
        await m.records.scope(admin, login="nobody")
    assert unknown.value.code == "agent_not_found"


async def test_a_scope_is_whole_days_in_the_server_time_zone(m, clock):
    admin = await m.agent("boss", role="admin")
    day = clock().astimezone(zoneinfo.ZoneInfo(m.config.time_zone)).date().isoformat()
    scope = await m.records.scope(admin, first=day, last=day)
    assert scope.start <= clock() < scope.end and (scope.end - scope.start).total_seconds() == 86400
    for first, last, field in (("2024-13-01", None, "from"), ("2024-03-02", "2024-03-01", "from"),
                               (None, "9999-12-31", "to")):
        with pytest.raises(Invalid) as bad:
            await m.records.scope(admin, first=first, last=last)
        assert bad.value.code == "invalid_query" and bad.value.fields["field"] == field


async def test_statistics_are_answered_by_the_manager_in_the_asked_language(m):
    kim = await m.agent("kim")
    session = await connected_session(m, kim)
    await m.records.update(kim, session["id"], {"resolution": "solved"})
    stats = await m.records.statistics(await m.records.scope(kim, first="2026-05-01"), "en")
    assert (stats["from"], stats["to"], stats["agent"], stats["language"]) == ("2026-05-01", None, "kim", "en")
    assert stats["total"] == 1 and stats["time_zone"] == m.config.time_zone
    solved = next(r for r in stats["resolution"]["rows"] if r["key"] == "solved")
    assert solved == {"key": "solved", "label": "Solved", "count": 1, "ratio": 1.0}


async def test_the_survey_settings_change_through_the_manager(m):
    changed = await m.records.update_survey({"enabled": False, "feedback": False})
    assert changed["enabled"] is False and changed["question"]["ko"] == "상담에 만족하셨습니까?"  # the rest kept
    assert (await m.records.survey_settings())["feedback"] is False
