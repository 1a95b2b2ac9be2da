"""``HandoverManager`` and ``SessionManager.hand_over`` directly: a real store (embedded MongoDB),
in-memory connections, a hand-moved clock for the offer's expiry. End to end in test_handover.py."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from anysupport.errors import Conflict, Forbidden, Invalid, NotFound
from anysupport.protocol.messages import validate_server_message
from anysupport.records.manager import record_view
from tests.support.managers import build_managers

CUSTOMER = {"name": "고객", "email": None, "phone": None, "language": "en"}


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock, handover_timeout=60)


async def connected(m):
    """kim's connected session with its customer, and lee's console open: the two consoles and the customer."""
    kim, lee = await m.agent("kim"), await m.agent("lee")
    old, new = await m.open_console(kim), await m.open_console(lee)
    session = await m.sessions.create(kim)
    await m.sessions.join(session["code"], CUSTOMER, "203.0.113.7")
    customer = await m.open_customer(session["id"])
    await m.sessions.connect(kim, session["id"])
    for conn in (old, new, customer):
        conn.sent.clear()
    return kim, lee, session["id"], old, new, customer


def valid(messages):
    for message in messages:
        validate_server_message(json.loads(json.dumps(message, default=str)))
    return messages


async def test_an_offer_reaches_the_target_console_only(m, clock):
    kim, lee, sid, old, new, customer = await connected(m)
    offer = await m.handover.offer(kim, sid, "lee")
    [sent] = valid(new.of_type("handover_offer"))
    assert sent["by"] == {"login": "kim", "name": "Agent kim"} and sent["to"] == {"login": "lee", "name": "Agent lee"}
    assert sent["session"]["id"] == sid and sent["session"]["state"] == "connected"
    assert sent["expires_at"] == (clock() + dt.timedelta(seconds=60)).isoformat(timespec="milliseconds")
    assert offer["expires_at"] == sent["expires_at"] and offer == {k: sent[k] for k in offer}
    assert await m.handover.pending(lee, sid) == offer and await m.handover.pending(kim, sid) == offer
    park = await m.agent("park")
    with pytest.raises(NotFound):  # an agent it does not concern is not even told it exists
        await m.handover.pending(park, sid)
    assert old.of_type("handover_offer") == [] and customer.sent == []  # the customer hears only of a done one


async def test_offer_rules(m):
    kim, lee, sid, _old, _new, _customer = await connected(m)
    park = await m.agent("park")  # no console open
    with pytest.raises(Conflict) as refused:
        await m.handover.offer(kim, sid, "park")
    assert refused.value.code == "agent_not_available" and refused.value.fields == {"name": "Agent park"}
    with pytest.raises(NotFound) as refused:
        await m.handover.offer(kim, sid, "nobody")
    assert refused.value.code == "agent_not_found"
    with pytest.raises(Invalid) as refused:
        await m.handover.offer(kim, sid, "kim")
    assert refused.value.code == "handover_to_self"
    with pytest.raises(NotFound):  # not lee's session, and lee is no administrator
        await m.handover.offer(lee, sid, "park")
    await m.store.agents.update(lee["id"], {"disabled": True})
    with pytest.raises(NotFound):
        await m.handover.offer(kim, sid, "lee")
    await m.store.agents.update(lee["id"], {"disabled": False})
    await m.handover.offer(kim, sid, "lee")
    with pytest.raises(Conflict) as refused:
        await m.handover.offer(kim, sid, "lee")
    assert refused.value.code == "handover_pending"
    waiting = await m.sessions.create(kim)  # not connected
    with pytest.raises(Conflict) as refused:
        await m.handover.offer(kim, waiting["id"], "lee")
    assert refused.value.code == "session_not_connected"
    assert park["login"] == "park"


async def test_an_administrator_may_offer_any_session(m):
    kim, lee, sid, old, new, _customer = await connected(m)
    admin = await m.agent("boss", role="admin")
    await m.handover.offer(admin, sid, "lee")
    assert new.of_type("handover_offer")[0]["by"]["login"] == "boss"
    await m.handover.decline(lee, sid)
    assert valid(old.of_type("handover_declined"))[0]["by"]["login"] == "lee"  # the session's agent hears it


async def test_only_the_target_answers_and_the_offerer_hears_a_decline(m):
    kim, lee, sid, old, new, _customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    with pytest.raises(Forbidden) as refused:
        await m.handover.accept(kim, sid)
    assert refused.value.code == "not_your_handover"
    with pytest.raises(Forbidden):
        await m.handover.decline(kim, sid)
    await m.handover.decline(lee, sid)
    [declined] = valid(old.of_type("handover_declined"))
    assert declined["by"] == {"login": "lee", "name": "Agent lee"}
    with pytest.raises(NotFound) as refused:
        await m.handover.accept(lee, sid)
    assert refused.value.code == "handover_not_found"
    assert (await m.store.sessions.get(sid))["agent_id"] == kim["id"]


async def test_a_cancelled_offer_is_withdrawn_from_the_target(m):
    kim, lee, sid, _old, new, _customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    with pytest.raises(Forbidden):
        await m.handover.cancel(lee, sid)  # the target declines, it does not cancel
    await m.handover.cancel(kim, sid)
    [cancelled] = valid(new.of_type("handover_cancelled"))
    assert cancelled["reason"] == "cancelled"
    with pytest.raises(NotFound):
        await m.handover.accept(lee, sid)


async def test_an_offer_lapses_after_handover_timeout(m, clock):
    kim, lee, sid, old, new, _customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    clock.advance(59.999)
    assert await m.handover.sweep() == 0 and await m.handover.pending(kim, sid)
    clock.advance(0.001)
    with pytest.raises(NotFound):  # past its time nobody may answer it, even before the sweep
        await m.handover.accept(lee, sid)
    assert await m.handover.sweep() == 1
    assert [c["reason"] for c in valid(new.of_type("handover_cancelled"))] == ["expired"]
    assert [c["reason"] for c in old.of_type("handover_cancelled")] == ["expired"]
    await m.handover.offer(kim, sid, "lee")  # a new one may be made


async def test_an_offer_ends_with_its_session(m):
    kim, lee, sid, _old, new, _customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    await m.sessions.end(sid, "customer")
    assert [c["reason"] for c in valid(new.of_type("handover_cancelled"))] == ["session_ended"]
    with pytest.raises(NotFound):
        await m.handover.pending(kim, sid)


async def test_accepting_moves_the_session_its_record_and_the_relay(m, clock):
    kim, lee, sid, old, new, customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    session = await m.handover.accept(lee, sid)
    assert (session["agent_id"], session["agent_login"], session["agent_name"]) == (lee["id"], "lee", "Agent lee")
    assert m.sessions.agent_view(session)["agents"] == [{"login": "kim", "name": "Agent kim"},
                                                       {"login": "lee", "name": "Agent lee"}]
    assert m.sessions.live[sid].agent_id == lee["id"]
    # the old console: the session left it
    [gone] = valid(old.of_type("handed_over"))
    assert gone["to_agent"]["login"] == "lee" and "session" not in gone
    # the new console: it arrived, then state connected with the customer present (its key exchange starts)
    assert new.types()[-2:] == ["handed_over", "state"]
    arrived, state = valid(new.sent[-2:])
    assert arrived["session"]["agent_login"] == "lee"
    assert state["state"] == "connected" and state["session"]["customer_present"] is True
    # the customer: who its agent is now
    [peer] = valid(customer.of_type("peer"))
    assert (peer["peer"], peer["status"], peer["name"]) == ("agent", "handed_over", "Agent lee")
    assert m.sessions.customer_view(await m.store.sessions.get(sid))["agent_name"] == "Agent lee"
    # the lists: the old agent's no longer has it, the new one's does
    assert [s["id"] for s in await m.sessions.list_for_agent(lee)] == [sid]
    assert await m.sessions.list_for_agent(kim) == []
    with pytest.raises(NotFound):  # the old agent may not see it any more
        await m.sessions.get_for_agent(kim, sid)
    assert await m.handover.sweep() == 0
    assert (await m.store.sessions.get(sid))["handover"] is None


async def test_a_second_accept_or_one_after_the_end_is_refused(m):
    kim, lee, sid, _old, _new, _customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    await m.sessions.end(sid, "agent")
    with pytest.raises(NotFound):
        await m.handover.accept(lee, sid)
    with pytest.raises(Conflict) as refused:  # the session's own rule, whatever the offer said
        await m.sessions.hand_over(sid, kim["id"], lee)
    assert refused.value.code == "session_not_connected"


async def test_the_record_follows_names_both_and_counts_once(m):
    kim, lee, sid, _old, _new, _customer = await connected(m)
    admin = await m.agent("boss", role="admin")
    await m.records.update(kim, sid, {"content": "started by kim"})
    await m.handover.offer(kim, sid, "lee")
    await m.handover.accept(lee, sid)
    record = await m.records.update(lee, sid, {"content": "finished by lee", "resolution": "solved"})
    assert (record["agent_login"], record["content"]) == ("lee", "finished by lee")
    with pytest.raises(NotFound):
        await m.records.get_for(kim, sid)  # the record is the new agent's now
    assert record_view(record)["agents"] == [{"login": "kim", "name": "Agent kim"}, {"login": "lee", "name": "Agent lee"}]
    await m.sessions.end(sid, "agent")
    everyone = await m.records.statistics(await m.records.scope(admin), "en")
    assert everyone["total"] == 1
    assert (await m.records.statistics(await m.records.scope(lee), "en"))["total"] == 1
    assert (await m.records.statistics(await m.records.scope(kim), "en"))["total"] == 0
    records, total = await m.records.list(await m.records.scope(admin))
    assert total == 1 and records[0]["ended_at"] is not None


async def test_messages_follow_the_new_agent(m):
    kim, lee, sid, old, new, customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    await m.handover.accept(lee, sid)
    old_peer = m.control.new_peer(role="agent", agent_id=kim["id"], session_id=None, language="en", send=old.send_json)
    new_peer = m.control.new_peer(role="agent", agent_id=lee["id"], session_id=None, language="en", send=new.send_json)
    customer_peer = m.control.new_peer(role="customer", agent_id=None, session_id=sid, language="en",
                                       send=customer.send_json)
    customer.sent.clear()
    await m.control.on_text(old_peer, json.dumps({"type": "chat", "session_id": sid, "text": "still me?"}))
    assert old.of_type("error")[-1]["error"] == "session_not_found" and customer.of_type("chat") == []
    await m.control.on_text(new_peer, json.dumps({"type": "chat", "session_id": sid, "text": "hello, lee here"}))
    assert customer.of_type("chat")[0]["text"] == "hello, lee here"
    await m.control.on_text(customer_peer, json.dumps({"type": "chat", "text": "hi lee"}))
    assert new.of_type("chat")[0]["text"] == "hi lee" and old.of_type("chat") == []


async def test_colleagues_lists_the_other_active_agents(m):
    kim, lee, _sid, _old, _new, _customer = await connected(m)
    await m.agent("park")
    gone = await m.agent("choi")
    await m.store.agents.update(gone["id"], {"disabled": True})
    found = {a["login"]: a for a in await m.handover.colleagues(kim)}
    assert set(found) == {"lee", "park"}
    assert found["lee"]["available"] is True and found["park"]["available"] is False
    assert set(found["lee"]) == {"login", "name", "number", "available"}


async def test_the_workbook_has_one_row_naming_both_agents(m, tmp_path):
    kim, lee, sid, _old, _new, _customer = await connected(m)
    admin = await m.agent("boss", role="admin")
    await m.handover.offer(kim, sid, "lee")
    await m.handover.accept(lee, sid)
    await m.sessions.end(sid, "agent")
    target = tmp_path / "records.xlsx"
    answer = await m.records.export(await m.records.scope(admin), "en", str(target))
    assert answer["total"] == 1
    sheet = openpyxl.load_workbook(target).worksheets[0]
    cells = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    named = [row for row in cells if "Agent kim → Agent lee" in row]
    assert len(named) == 1 and "lee" in named[0]  # one row: the record's agent now, and both names in order


async def test_an_accept_that_cannot_move_the_session_tells_the_offerer(db_store, clock):
    m = build_managers(db_store, clock, handover_timeout=60, agent_max_live_sessions=1)
    kim, lee, sid, old, new, _customer = await connected(m)
    await m.sessions.create(lee)  # lee holds as many sessions as allowed
    await m.handover.offer(kim, sid, "lee")
    with pytest.raises(Conflict) as refused:
        await m.handover.accept(lee, sid)
    assert refused.value.code == "too_many_live_sessions"
    assert [c["reason"] for c in valid(old.of_type("handover_cancelled"))] == ["failed"]
    assert (await m.store.sessions.get(sid))["agent_id"] == kim["id"]


async def sealed_from_the_start(m, kim, sid):
    """Both clients speak version 2 (kim's connected it with versions [1, 2], its customer says so in its
    ``capabilities``): the session speaks version 2 with two participants, as ``ControlChannel`` makes it."""
    session = await m.store.sessions.set_fields(sid, {"agent_versions": [1, 2]})
    m.sessions.set_live(session)
    live = m.sessions.live[sid]
    live.roster.customer_v2 = True
    assert live.roster.start_group()
    await m.services.invitations.start_group(sid)


def lists(conn, sid):
    return [(p["you"], [(x["index"], x["role"], x["name"]) for x in p["participants"]])
            for p in valid(conn.of_type("participants", session_id=sid))]


async def test_a_session_speaking_version_2_is_handed_over_with_a_new_index(m):
    kim, lee, sid, old, new, customer = await connected(m)
    await sealed_from_the_start(m, kim, sid)
    assert lists(customer, sid)[-1] == (0, [(0, "customer", "고객"), (1, "agent", "Agent kim")])
    for conn in (old, new, customer):
        conn.sent.clear()
    await m.handover.offer(kim, sid, "lee")
    moved = await m.handover.accept(lee, sid)
    assert (moved["agent_index"], moved["next_index"]) == (2, 3)  # index 2: never given in this session
    roster = m.sessions.live[sid].roster
    assert sorted(roster.by_index) == [0, 2] and roster.by_agent == {lee["id"]: 2} and roster.agent_index == 2
    assert roster.guests() == ()
    # the customer hears who its agent is now, then the list without index 1: its client starts a new epoch
    assert customer.types()[-2:] == ["state", "participants"]
    assert lists(customer, sid) == [(0, [(0, "customer", "고객"), (2, "agent", "Agent lee")])]
    assert lists(new, sid) == [(2, [(0, "customer", "고객"), (2, "agent", "Agent lee")])]
    assert new.types().index("handed_over") < new.types().index("participants")  # it knows the session first
    assert old.of_type("participants") == [] and valid(old.of_type("handed_over"))  # kim is out: no list
    assert (await m.services.invitations.list(lee, sid))["you"] == 2
    # handed back: kim is a new participant again, with a new index (its old one is never given again)
    await m.handover.offer(lee, sid, "kim")
    back = await m.handover.accept(kim, sid)
    assert (back["agent_index"], back["next_index"]) == (3, 4)
    assert lists(customer, sid)[-1] == (0, [(0, "customer", "고객"), (3, "agent", "Agent kim")])
    await m.sessions.end(sid, "agent")
    assert [a["login"] for a in (await m.store.sessions.get(sid))["agents"]] == ["kim", "lee", "kim"]


async def test_a_session_with_a_guest_is_handed_over_and_the_guest_stays_a_guest(m):
    kim, lee, sid, old, new, customer = await connected(m)
    park = await m.agent("park")
    expert = await m.open_console(park)
    await sealed_from_the_start(m, kim, sid)
    await m.services.invitations.invite(kim, sid, park["id"], "full")
    joined = await m.services.invitations.answer(park, sid, True)
    assert joined["index"] == 2
    with pytest.raises(Conflict) as refused:  # a guest is not offered the session: it stays a guest
        await m.handover.offer(kim, sid, "park")
    assert refused.value.code == "already_participant"
    for conn in (old, new, customer, expert):
        conn.sent.clear()
    await m.handover.offer(kim, sid, "lee")
    moved = await m.handover.accept(lee, sid)
    assert (moved["agent_index"], moved["next_index"]) == (3, 4)
    everyone = [(0, "customer", "고객"), (2, "guest", "Agent park"), (3, "agent", "Agent lee")]
    assert lists(customer, sid) == [(0, everyone)] and lists(expert, sid) == [(2, everyone)]
    assert lists(new, sid) == [(3, everyone)] and old.of_type("participants") == []
    roster = m.sessions.live[sid].roster
    assert roster.guests() == (park["id"],) and roster.index_of("agent", kim["id"]) is None
    # the new agent removes the guest as the session's agent; its own index is not removable
    with pytest.raises(Conflict) as refused:
        await m.services.invitations.remove(lee, sid, 3)
    assert refused.value.code == "participant_not_removable"
    with pytest.raises(NotFound):  # the agent who left may not act on the session any more
        await m.services.invitations.remove(kim, sid, 2)
    await m.services.invitations.remove(lee, sid, 2)
    assert sorted(m.sessions.live[sid].roster.by_index) == [0, 3]


async def test_a_session_of_version_1_keeps_index_1_through_a_hand_over(m):
    kim, lee, sid, _old, new, customer = await connected(m)
    await m.handover.offer(kim, sid, "lee")
    moved = await m.handover.accept(lee, sid)
    assert moved.get("agent_index") is None and moved.get("next_index") is None and not moved.get("media_version")
    assert m.sessions.live[sid].roster.by_agent == {lee["id"]: 1} and not m.sessions.live[sid].roster.group
    assert customer.of_type("participants") == [] and new.of_type("participants") == []  # the page knows it not
