"""Who is present, as the customer's app shows it (issue 21): the session's events in, the list and the
join/leave notices out (no Qt, an injected clock)."""

import pytest
from anysupport_mobile.presence import NOTICE_LINES, NOTICE_SECONDS, ROLE_KEYS, Presence
from anysupport_mobile.texts import TEXTS

from tests.clients.test_mobile_call import Clock


def _p(index, role, name, rights="full", present=True):
    return {"index": index, "role": role, "name": name, "rights": rights, "present": present}


CUSTOMER, AGENT = _p(0, "customer", "홍길동"), _p(1, "agent", "김상담")
EXPERT, SUPERVISOR = _p(2, "guest", "이전문"), _p(3, "supervisor", "박팀장", "view")


def _listed(presence):
    return [(p.index, p.name, p.role_key, p.present) for p in presence.people()]


def _said(presence):
    return [(n.key, n.person.name) for n in presence.notices_shown()]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def presence(clock):
    return Presence(clock=clock)


def test_a_two_party_call_lists_the_customer_and_the_agent_once_connected(presence):
    assert presence.people() == []
    presence.apply("state", {"state": "online"}, agent_name="김상담")
    assert presence.people() == []  # nobody else is there yet
    presence.apply("state", {"state": "connected", "reason": None}, agent_name="김상담")
    assert _listed(presence) == [(0, "", "people_customer", True), (1, "김상담", "people_agent", True)]
    assert _said(presence) == []
    assert [presence.code(p) for p in presence.people()] == [None, None]
    presence.apply("keys", {"sas": "123456", "sas_display": "123 456", "generation": 1})
    assert [presence.code(p) for p in presence.people()] == [None, "123 456"]  # version 1: the agent's code
    presence.apply("key_exchange_failed", {"reason": "bad_commitment", "by": "us"})
    assert presence.code(presence.people()[1]) is None
    presence.apply("peer", {"peer": "agent", "status": "handed_over", "name": "최인계"})  # a hand-over: same place
    assert _listed(presence)[1][1] == "최인계"
    presence.apply("state", {"state": "expired", "reason": "ended_by_agent"})
    assert presence.people() == []


def test_joins_and_leaves_are_said_by_index_and_fade_on_the_clock(presence, clock):
    presence.apply("state", {"state": "connected"}, agent_name="김상담")
    # an expert invited into a version-1 call: the first list, compared with the two shown so far
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, EXPERT], "version": 2, "you": 0})
    assert [p[0] for p in _listed(presence)] == [0, 1, 2] and presence.version == 2
    assert _said(presence) == [("people_joined", "이전문")]
    clock.now += 5
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, EXPERT, SUPERVISOR], "version": 2})
    assert _said(presence) == [("people_joined", "이전문"), ("people_joined", "박팀장")]
    # a dropped socket is no leave: listed, marked absent
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, {**EXPERT, "present": False}, SUPERVISOR],
                                    "version": 2})
    assert _listed(presence)[2] == (2, "이전문", "people_guest", False) and len(_said(presence)) == 2
    clock.now += NOTICE_SECONDS - 4  # the first join fades, the second is still said
    assert _said(presence) == [("people_joined", "박팀장")]
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, SUPERVISOR], "version": 2})
    assert _said(presence) == [("people_joined", "박팀장"), ("people_left", "이전문")]
    assert [p[0] for p in _listed(presence)] == [0, 1, 3]
    clock.now += NOTICE_SECONDS
    assert _said(presence) == []


def test_the_first_list_of_a_call_sealed_from_the_start_is_no_news(presence):
    # version 2 from the start: the list may come before the call is connected, and says nobody joined
    presence.apply("participants", {"participants": [AGENT, CUSTOMER], "version": 2, "you": 0})
    assert [p[0] for p in _listed(presence)] == [0, 1] and _said(presence) == []
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, EXPERT, SUPERVISOR], "version": 2})
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, EXPERT, _p(4, "guest", "정", "view")],
                                    "version": 2})
    # only the last few are said at once, the newest last
    assert len(_said(presence)) == NOTICE_LINES
    assert _said(presence)[-2:] == [("people_joined", "정"), ("people_left", "박팀장")]


def test_each_pair_code_is_shown_next_to_its_participant_and_forgotten_when_it_leaves(presence):
    presence.apply("keys", {"sas": "999999", "sas_display": "999 999", "generation": 1})
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, EXPERT], "version": 2, "you": 0})
    assert [presence.code(p) for p in presence.people()] == [None, None, None]  # version 2: the pairs' codes only
    presence.apply("pair_keys", {"peer": 1, "sas": "111222", "sas_display": "111 222"})
    presence.apply("pair_keys", {"peer": 2, "sas": "333444", "sas_display": "333 444"})
    people = presence.people()
    assert [presence.code(p) for p in people] == [None, "111 222", "333 444"]  # none with ourselves
    presence.apply("participants", {"participants": [CUSTOMER, AGENT], "version": 2})
    presence.apply("participants", {"participants": [CUSTOMER, AGENT, _p(2, "guest", "이전문")], "version": 2})
    assert presence.code(presence.people()[2]) is None  # back (not possible today: indexes are not reused)


def test_every_role_has_its_text_and_nothing_unknown_is_hidden(presence):
    assert set(ROLE_KEYS.values()) <= set(TEXTS)
    for key in [*ROLE_KEYS.values(), "people_title", "people_away", "people_code", "people_joined", "people_left"]:
        assert TEXTS.text(key, "ko") != TEXTS.text(key, "en"), key
    assert TEXTS.text("people_supervisor", "ko") == "참관자" and TEXTS.text("people_supervisor", "en") == "supervisor"
    presence.apply("participants", {"participants": [
        CUSTOMER, AGENT, _p(2, "guest", "보기", "view"), _p(3, "supervisor", "감독", "view"),
        _p(4, "observer", "새역할"), {"index": 5}, "not a participant"], "version": 2})
    assert [p.role_key for p in presence.people()] == [
        "people_customer", "people_agent", "people_guest_view", "people_supervisor", "people_guest", "people_guest"]
    presence.apply("participants", {"participants": "nobody", "version": 2})  # a bad list: everyone left
    assert presence.people() == [] and {n.key for n in presence.notices_shown()} == {"people_left"}
