"""``KeyNegotiation``: when the agent starts a fresh key exchange with its peer, event by event.

Every event that can reach the agent's session is here with the answer it must get: ``rekey``,
``resume`` (ask for a keyframe), ``fail`` (show the failure) or nothing (docs/protocol.md, "When the
agent may start the key exchange" and "A customer without keys"). No socket, no media, no loop.
"""

from __future__ import annotations

import pytest
from anysupport_client.session.keying import MAX_KEY_REQUESTS, KeyNegotiation, KeyStep
from hypothesis import given
from hypothesis import strategies as st

from anysupport.protocol.vocabulary import STATES

REKEY, RESUME, FAIL = KeyStep.REKEY, KeyStep.RESUME, KeyStep.FAIL
REFUSALS = ("bad_commitment", "bad_public_key", "unsupported_version", "protocol")


def exchanging() -> KeyNegotiation:
    """Connected, the customer's socket open, our first exchange on its way."""
    negotiation = KeyNegotiation("customer")
    assert negotiation.state("connected", present=True, node="a") is REKEY
    return negotiation


def keyed() -> KeyNegotiation:
    """Connected, keys agreed, media flowing."""
    negotiation = exchanging()
    assert negotiation.agreed_keys() is None
    return negotiation


# -- state ------------------------------------------------------------------------------------------------
def test_connected_with_the_customer_there_starts_an_exchange():
    negotiation = KeyNegotiation("customer")
    assert negotiation.state("connected", present=True) is REKEY
    assert negotiation.exchanging and negotiation.peer == "customer"


def test_connected_without_the_customers_socket_waits_for_it():
    negotiation = KeyNegotiation("customer")
    assert negotiation.state("connected", present=False) is None
    assert negotiation.state("connected") is None  # nothing new about the customer: still not there
    assert negotiation.peer_status("joined") is REKEY


@pytest.mark.parametrize("state", ["offline", "online", "expired"])
def test_no_exchange_outside_connected(state):
    negotiation = KeyNegotiation("customer")
    assert negotiation.state(state, present=True) is None
    assert negotiation.peer_status("joined") is None
    assert negotiation.peer_status("back") is None


def test_a_repeated_connected_starts_no_second_exchange():
    negotiation = exchanging()
    assert negotiation.state("connected", present=True, node="a") is None


def test_connected_again_with_keys_agreed_changes_nothing():
    negotiation = keyed()
    assert negotiation.state("connected", present=True, node="a") is None
    assert negotiation.state("connected") is None


def test_the_session_expiring_answers_nothing():
    assert keyed().state("expired", present=False) is None
    assert exchanging().state("expired") is None


def test_a_session_that_moved_to_another_node_agrees_new_keys():
    negotiation = keyed()
    assert negotiation.state("connected", present=True, node="b") is REKEY


def test_a_moved_session_waits_for_the_customer_then_agrees_new_keys():
    negotiation = keyed()
    assert negotiation.state("connected", present=False, node="b") is None
    assert negotiation.stale
    assert negotiation.peer_status("back") is REKEY  # not RESUME: the keys in use are stale


def test_a_move_while_exchanging_starts_again():
    negotiation = exchanging()
    assert negotiation.state("connected", present=True, node="b") is REKEY


def test_a_node_first_named_is_no_move():
    negotiation = KeyNegotiation("customer")
    assert negotiation.state("online", node="a") is None
    negotiation.state("connected", present=True, node="a")
    negotiation.agreed_keys()
    assert negotiation.state("connected", present=True) is None  # no node named: still on a


# -- the customer's socket ----------------------------------------------------------------------------------
def test_joined_while_an_exchange_is_under_way_starts_no_second_one():
    negotiation = exchanging()
    assert negotiation.peer_status("joined") is None


def test_joined_with_keys_agreed_changes_nothing():
    assert keyed().peer_status("joined") is None


@pytest.mark.parametrize("make", [exchanging, keyed])
def test_reconnecting_answers_nothing_and_the_customer_is_away(make):
    negotiation = make()
    assert negotiation.peer_status("reconnecting") is None
    assert not negotiation.present


def test_back_with_the_keys_in_use_resumes():
    negotiation = keyed()
    negotiation.peer_status("reconnecting")
    assert negotiation.peer_status("back") is RESUME
    assert negotiation.present


def test_back_while_our_exchange_was_under_way_starts_again():
    negotiation = exchanging()  # the commitment may have gone with the old socket
    assert negotiation.peer_status("reconnecting") is None
    assert negotiation.peer_status("back") is REKEY


def test_back_in_a_session_not_connected_answers_nothing():
    negotiation = KeyNegotiation("customer")
    negotiation.state("online", present=True)
    assert negotiation.peer_status("reconnecting") is None
    assert negotiation.peer_status("back") is None


# -- error peer_not_connected (ref key_exchange): our exchange was not delivered -------------------------------
def test_an_undelivered_exchange_starts_again_when_the_customer_is_back():
    negotiation = keyed()
    assert negotiation.rekey() is REKEY  # new keys wanted, but the customer has just dropped
    assert negotiation.undelivered() is None
    assert not negotiation.present and not negotiation.exchanging
    assert negotiation.peer_status("back") is REKEY  # a fresh commitment, not a keyframe request


def test_an_undelivered_first_exchange_starts_again_on_joined():
    negotiation = exchanging()
    assert negotiation.undelivered() is None
    assert negotiation.state("connected") is None  # the customer is not there
    assert negotiation.peer_status("joined") is REKEY


# -- key_exchange_failed from the customer ----------------------------------------------------------------
def test_no_keys_while_our_exchange_is_on_its_way_to_that_socket_is_ignored():
    negotiation = exchanging()  # accepted as the customer's first socket opened: its hello crosses our commitment
    assert negotiation.peer_refused("no_keys") is None
    assert negotiation.requests == 0


def test_no_keys_after_the_customers_socket_went_and_came_gets_a_fresh_exchange():
    negotiation = exchanging()
    negotiation.peer_status("reconnecting")
    assert negotiation.peer_refused("no_keys") is REKEY  # our commitment went with the old socket


def test_no_keys_from_a_restarted_customer_gets_a_fresh_exchange():
    negotiation = keyed()
    negotiation.peer_status("reconnecting")
    assert negotiation.peer_status("back") is RESUME  # the agent cannot tell a restart from a blip…
    assert negotiation.peer_refused("no_keys") is REKEY  # …the customer says it


def test_no_keys_outside_connected_is_ignored():
    negotiation = KeyNegotiation("customer")
    negotiation.state("online", present=True)
    assert negotiation.peer_refused("no_keys") is None
    negotiation.state("expired")
    assert negotiation.peer_refused("no_keys") is None


def test_no_keys_is_answered_at_most_three_times_in_a_row_then_fails():
    negotiation = keyed()
    answers = []
    for _ in range(MAX_KEY_REQUESTS + 1):
        negotiation.peer_status("reconnecting")
        negotiation.peer_status("back")
        answers.append(negotiation.peer_refused("no_keys"))
    assert answers == [REKEY] * MAX_KEY_REQUESTS + [FAIL]
    assert not negotiation.exchanging
    assert negotiation.agreed_keys() is None  # keys agreed again: the count starts over
    negotiation.peer_status("reconnecting")
    negotiation.peer_status("back")
    assert negotiation.peer_refused("no_keys") is REKEY


def test_the_limit_is_a_setting():
    negotiation = KeyNegotiation("customer", connected=True, present=True, max_requests=1)
    assert negotiation.peer_refused("no_keys") is REKEY
    negotiation.peer_status("reconnecting")
    assert negotiation.peer_refused("no_keys") is FAIL


@pytest.mark.parametrize("reason", REFUSALS)
def test_a_refusal_of_our_keys_fails_and_ends_our_exchange(reason):
    negotiation = exchanging()
    assert negotiation.peer_refused(reason) is FAIL
    assert not negotiation.exchanging
    assert negotiation.state("connected", present=True) is REKEY  # the next chance starts one again


@pytest.mark.parametrize("reason", REFUSALS)
def test_a_refusal_with_keys_in_use_fails_too(reason):
    assert keyed().peer_refused(reason) is FAIL


# -- our side of the exchange ------------------------------------------------------------------------------
def test_keys_agreed_answer_nothing_and_end_the_exchange():
    negotiation = exchanging()
    assert negotiation.agreed_keys() is None
    assert negotiation.agreed and not negotiation.exchanging and not negotiation.stale


def test_our_refusal_answers_nothing_and_the_next_chance_starts_again():
    negotiation = exchanging()
    assert negotiation.failed() is None
    assert not negotiation.exchanging
    assert negotiation.peer_status("joined") is REKEY


def test_try_again_always_rekeys():
    assert keyed().rekey() is REKEY
    assert exchanging().rekey() is REKEY
    assert KeyNegotiation("customer").rekey() is REKEY


# -- whatever the order -------------------------------------------------------------------------------------
EVENTS = st.one_of(
    st.tuples(st.just("state"), st.sampled_from(STATES),
              st.sampled_from([None, True, False]), st.sampled_from([None, "a", "b"])),
    st.tuples(st.just("peer_status"), st.sampled_from(["joined", "reconnecting", "back"])),
    st.tuples(st.just("peer_refused"), st.sampled_from(["no_keys", *REFUSALS])),
    st.tuples(st.just("undelivered")),
    st.tuples(st.just("agreed_keys")),
    st.tuples(st.just("failed")),
)


def _apply(negotiation: KeyNegotiation, event: tuple) -> KeyStep | None:
    name, *args = event
    if name == "state":
        state, present, node = args
        return negotiation.state(state, present=present, node=node)
    return getattr(negotiation, name)(*args)


@given(st.lists(EVENTS, max_size=40))
def test_any_sequence_answers_with_a_step_or_nothing_and_never_crosses_two_exchanges(events):
    negotiation = KeyNegotiation("customer")
    granted = 0
    for event in events:
        on_its_way = negotiation.in_flight
        answer = _apply(negotiation, event)
        assert answer is None or isinstance(answer, KeyStep)
        if answer is REKEY:
            assert negotiation.connected and negotiation.exchanging
            if event[0] in ("state", "peer_status"):  # by itself: only once the customer's socket is there
                assert negotiation.present
            if event == ("peer_refused", "no_keys"):
                assert not on_its_way  # two exchanges never cross
                granted += 1
                assert granted <= MAX_KEY_REQUESTS
        if answer is RESUME:
            assert event == ("peer_status", "back") and negotiation.agreed and not negotiation.stale
        if event == ("agreed_keys",):
            granted = 0
