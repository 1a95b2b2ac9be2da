"""Support records: validation, who may edit, listing by date."""

import asyncio
import datetime as dt

import pytest

from tests.support.client import Api
from tests.support.sessions import open_session


@pytest.fixture
async def finished(server, agent_factory):
    """A session that was connected and has ended (its record closed)."""
    client, agent, session, joined, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    await client.delete(f"/api/v1/sessions/{session['id']}")
    await console.recv_type("state", state="expired", session_id=session["id"])
    console.close()
    customer.close()
    return client, agent, session


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me maybe"}, "phone"),
        ({"resolution": "fixed"}, "resolution"),
        ({"trouble_type": "0123456789abcdef01234567"}, "trouble_type"),
        ({"content": 5}, "content"),
        ({"ip": "1.2.3.4"}, "body"),
        ({"customer_name": "x" * 101}, "customer_name"),
    ],
)
async def test_invalid_record_fields(finished, fields, field):
    client, _agent, session = finished
    r = await client.put(f"/api/v1/sessions/{session['id']}/record", fields)
    assert r.status == 400, r.body
    assert r.json["field"] == field


async def test_record_edited_after_the_end_by_its_agent_or_an_admin_only(finished, agent_factory, admin):
    client, agent, session = finished
    r = await client.put(f"/api/v1/sessions/{session['id']}/record", {"content": "후속 조치 완료", "resolution": "pending",
                                                                      "email": "kim@example.co.kr", "phone": "+82 10-1234-5678"})
    assert r.status == 200 and r.json["resolution"] == "pending" and r.json["ended_at"]
    other, _o, _ = await agent_factory()
    assert (await other.put(f"/api/v1/sessions/{session['id']}/record", {"content": "mine now"})).status == 404
    r = await admin.put(f"/api/v1/sessions/{session['id']}/record", {"resolution": "onsite_needed"})
    assert r.status == 200 and r.json["resolution"] == "onsite_needed" and r.json["content"] == "후속 조치 완료"
    r = await client.put(f"/api/v1/sessions/{session['id']}/record", {"resolution": None})
    assert r.status == 200 and r.json["resolution"] is None


async def test_session_never_connected_has_no_record(agent_factory):
    client, _agent, _ = await agent_factory()
    session = (await client.post("/api/v1/sessions")).json
    r = await client.get(f"/api/v1/sessions/{session['id']}/record")
    assert r.status == 404 and r.json["error"] == "record_not_found"


async def test_records_listed_by_date_range_and_owner(finished, admin):
    client, agent, session = finished
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # server time zone Asia/Seoul
    r = await client.get(f"/api/v1/records?from={today}&to={today}")
    assert r.status == 200
    assert [rec["session_id"] for rec in r.json["records"]] == [session["id"]]
    r = await client.get("/api/v1/records?from=2001-01-01&to=2001-01-02")
    assert r.json["records"] == []
    r = await admin.get(f"/api/v1/records?agent={agent['login']}")
    assert [rec["session_id"] for rec in r.json["records"]] == [session["id"]]
    for bad in ("from=2020-13-01", "from=yesterday", "from=2020-01-05&to=2020-01-01", "limit=0"):
        r = await client.get(f"/api/v1/records?{bad}")
        assert r.status == 400 and r.json["error"] == "invalid_query", bad


async def test_survey_answer_over_rest(server, agent_factory):
    client, _agent, session, joined, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    cust = Api(server.url, joined["token"])
    r = await cust.post("/api/v1/customer/survey", {"answer": "neutral"})
    assert r.status == 403 and r.json["error"] == "survey_not_open"
    await customer.send({"type": "end"})
    await customer.recv_type("survey")
    r = await cust.post("/api/v1/customer/survey", {"answer": "neutral", "feedback": "ok"})
    assert r.status == 204
    assert (await cust.post("/api/v1/customer/survey", {"answer": "satisfied"})).status == 409
    assert (await client.get(f"/api/v1/sessions/{session['id']}/record")).json["satisfaction"] == "neutral"


async def test_survey_cannot_be_answered_when_turned_off(server, agent_factory, admin):
    await admin.put("/api/v1/admin/survey", {"enabled": False})
    try:
        client, _agent, session, joined, console, customer = await open_session(server, agent_factory)
        await client.post(f"/api/v1/sessions/{session['id']}/connect")
        await customer.send({"type": "end"})
        await customer.recv_type("state", state="expired")
        r = await Api(server.url, joined["token"]).post("/api/v1/customer/survey", {"answer": "satisfied"})
        assert r.status == 403 and r.json["error"] == "survey_disabled"
    finally:
        await admin.put("/api/v1/admin/survey", {"enabled": True})


async def test_ten_concurrent_survey_answers_store_exactly_one(server, agent_factory):
    client, _agent, session, joined, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    await client.delete(f"/api/v1/sessions/{session['id']}")
    await customer.recv_type("survey")
    answers = ["satisfied", "neutral", "unsatisfied"] * 3 + ["neutral"]
    cust = Api(server.url, joined["token"])
    replies = await asyncio.gather(*(cust.post("/api/v1/customer/survey", {"answer": a, "feedback": f"#{i}"})
                                     for i, a in enumerate(answers)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [204] + [409] * 9, [(r.status, r.body) for r in replies]
    assert all(r.json["error"] == "survey_answered" for r in replies if r.status == 409)
    winner = answers[[r.status for r in replies].index(204)]
    record = (await client.get(f"/api/v1/sessions/{session['id']}/record")).json
    assert record["satisfaction"] == winner and record["feedback"] == f"#{[r.status for r in replies].index(204)}"
    console.close()
    customer.close()
