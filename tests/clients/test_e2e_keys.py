"""A key pair derives once (docs/protocol.md §3: "never derive twice from the same two keys").

Deriving again from the same two keys would make a new sealer at sequence 0 under a key already
used, repeating nonces. A repeated ``public_key`` is ignored; another one in the same exchange is
refused with ``key_exchange_failed`` ``protocol``; a new exchange (new pairs) is always allowed.
Plain parts first, then through ``SessionMedia``, then the agent's restart after
``peer_not_connected`` against the real server.
"""

import pytest
from anysupport_client.e2e import KeyExchange, KeyExchangeError
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import AgentClient, CustomerSession, SessionMedia
from anysupport_native import framing, keys

from tests.support.clock import ManualClock

SESSION = "65a1f0c2e4b5d6a7b8c9d0e1"


def run(agent: KeyExchange, customer: KeyExchange, first: dict, limit: int = 10) -> int:
    """Deliver messages both ways until nobody answers; returns how many went over (``limit`` stops a loop)."""
    to_customer, to_agent, count = [first], [], 0
    while (to_customer or to_agent) and count < limit:
        if to_customer:
            to_agent += customer.receive(to_customer.pop(0))
            count += 1
        if to_agent:
            to_customer += agent.receive(to_agent.pop(0))
            count += 1
    return count


def public_of(exchange: KeyExchange) -> str:
    return exchange._public


# -- the plain state machine ------------------------------------------------------------------------------
def test_committed_mode_a_repeated_reveal_is_ignored_and_the_sealer_keeps_counting():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    assert run(agent, customer, agent.start()) == 3  # commitment, public key, reveal
    keys_in_use = customer.keys
    opener = agent.keys.opener
    first = keys_in_use.sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"one")
    reveal = {"type": "key_exchange", "version": 1, "session_id": SESSION, "public_key": public_of(agent)}
    assert customer.receive(reveal) == []  # no answer, no new derivation
    assert customer.keys is keys_in_use and customer.generation == 1
    second = customer.keys.sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"two")
    assert [opener.open(f)[0].sequence for f in (first, second)] == [0, 1]  # never sequence 0 twice


def test_plain_mode_two_reference_sides_agree_in_two_messages_and_stop():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    opening = agent.start(commit=False)
    assert "public_key" in opening and "commitment" not in opening
    assert run(agent, customer, opening) == 2  # the agent's key, the customer's key: no loop
    assert agent.keys.sas == customer.keys.sas and agent.generation == customer.generation == 1
    sealed = customer.keys.sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"hello")
    assert agent.keys.opener.open(sealed)[1] == b"hello"


def test_plain_mode_a_repeated_agent_key_is_ignored_not_answered():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    opening = agent.start(commit=False)
    run(agent, customer, opening)
    keys_in_use = customer.keys
    assert customer.receive(opening) == []  # the old code derived again at sequence 0 and answered again
    assert customer.keys is keys_in_use and customer.generation == 1


def test_plain_mode_a_new_agent_key_is_a_new_exchange_with_a_new_customer_pair():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    run(agent, customer, agent.start(commit=False))
    old_public, old_sas = public_of(customer), customer.keys.sas
    assert run(agent, customer, agent.start(commit=False)) == 2
    assert public_of(customer) != old_public and customer.keys.sas == agent.keys.sas != old_sas
    assert customer.generation == agent.generation == 2


def test_the_agent_ignores_a_repeated_answer_and_refuses_a_second_one():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    commitment = agent.start()
    answer = customer.receive(commitment)[0]
    reveal = agent.receive(answer)
    assert len(reveal) == 1 and agent.generation == 1
    assert agent.receive(answer) == []  # no second reveal, no second derivation
    other = {"type": "key_exchange", "version": 1, "public_key": keys.encode_public_key(keys.generate_private_key())}
    with pytest.raises(KeyExchangeError) as refused:
        agent.receive(other)
    assert refused.value.code == "protocol" and agent.generation == 1


def test_the_customer_refuses_a_second_different_reveal():
    agent, customer = KeyExchange("agent", SESSION), KeyExchange("customer", SESSION)
    run(agent, customer, agent.start())
    other = {"type": "key_exchange", "version": 1, "public_key": keys.encode_public_key(keys.generate_private_key())}
    with pytest.raises(KeyExchangeError) as refused:
        customer.receive(other)
    assert refused.value.code == "protocol" and customer.generation == 1


def test_an_agent_refuses_a_customer_key_that_comes_first():
    agent = KeyExchange("agent", SESSION)
    with pytest.raises(KeyExchangeError) as refused:
        agent.receive({"type": "key_exchange", "version": 1, "public_key": public_of(KeyExchange("customer", SESSION))})
    assert refused.value.code == "protocol" and agent.keys is None


# -- through SessionMedia ------------------------------------------------------------------------------
def _media(side: str):
    sent: list[dict] = []
    events: list[tuple[str, dict]] = []
    frames: list[bytes] = []
    media = SessionMedia(side, SESSION, send_json=sent.append, send_frame=lambda f: frames.append(f) or True,
                         emit=lambda name, data: events.append((name, data)))
    return media, sent, events, frames


def _agree(agent, to_customer, customer, to_agent):
    while to_customer or to_agent:
        if to_customer:
            customer.on_key_exchange(to_customer.pop(0))
        if to_agent:
            agent.on_key_exchange(to_agent.pop(0))


def test_session_media_a_duplicate_reveal_changes_nothing_and_media_keeps_flowing():
    agent, to_customer, agent_events, _ = _media("agent")
    customer, to_agent, customer_events, customer_frames = _media("customer")
    agent.start_key_exchange()
    reveal_log: list[dict] = []
    while to_customer or to_agent:
        if to_customer:
            message = to_customer.pop(0)
            reveal_log.append(message)
            customer.on_key_exchange(message)
        if to_agent:
            agent.on_key_exchange(to_agent.pop(0))
    assert customer.ready and agent.ready
    assert customer.seal_and_send(framing.STREAM_CUSTOMER_VIDEO, b"a", False, 1)
    keys_events = [e for e in customer_events if e[0] == "keys"]
    customer.on_key_exchange(reveal_log[-1])  # the reveal again
    assert to_agent == [] and [e for e in customer_events if e[0] == "keys"] == keys_events
    assert customer.failure is None
    assert customer.seal_and_send(framing.STREAM_CUSTOMER_VIDEO, b"b", False, 2)
    sequences = [agent.keys.opener.open(f)[0].sequence for f in customer_frames]
    assert sequences == [0, 1]


def test_session_media_plain_mode_between_two_reference_sides_ends():
    agent, to_customer, _, _ = _media("agent")
    customer, to_agent, customer_events, _ = _media("customer")
    to_customer.append(agent.exchange.start(commit=False))
    delivered = 0
    while (to_customer or to_agent) and delivered < 10:
        if to_customer:
            customer.on_key_exchange(to_customer.pop(0))
            delivered += 1
        if to_agent:
            agent.on_key_exchange(to_agent.pop(0))
            delivered += 1
    assert delivered == 2 and agent.keys.sas == customer.keys.sas
    assert [name for name, _ in customer_events] == ["keys"]


def test_session_media_refuses_a_second_answer_with_protocol_and_keeps_the_keys():
    agent, to_customer, agent_events, _ = _media("agent")
    customer, to_agent, _, _ = _media("customer")
    agent.start_key_exchange()
    _agree(agent, to_customer, customer, to_agent)
    keys_in_use = agent.keys
    to_customer.clear()
    stranger = KeyExchange("customer", SESSION)
    stranger.receive({"type": "key_exchange", "version": 1, "commitment": "x" * 43})
    agent.on_key_exchange({"type": "key_exchange", "version": 1, "public_key": public_of(stranger)})
    assert to_customer == [{"type": "key_exchange_failed", "session_id": SESSION, "reason": "protocol"}]
    assert agent_events[-1][0] == "key_exchange_failed" and agent_events[-1][1]["by"] == "us"
    assert agent.keys is keys_in_use  # the keys in use stay in use


# -- the agent restarts after peer_not_connected ------------------------------------------------------------
def _agent_session(client: AgentClient, *, present: bool):
    return client._session(SESSION, {"id": SESSION, "state": "connected", "customer_present": present})


def test_an_undelivered_key_exchange_starts_again_when_the_customer_is_back():
    clock = ManualClock()
    client = AgentClient("http://127.0.0.1:9", clock=clock.monotonic)
    sent: list[dict] = []
    session = _agent_session(client, present=True)
    session.send = lambda message: sent.append(message) or True
    session.media.send_json = session.send
    customer = KeyExchange("customer", SESSION)
    session.rekey()
    session.on_message({"type": "key_exchange", "session_id": SESSION, **customer.receive(sent.pop())[0]})
    customer.receive(sent.pop())
    assert session.ready and session.sas == customer.keys.sas
    clock.advance(10)  # later than the re-key limit asks
    session.rekey()  # new keys wanted, but the customer has just dropped: the server refuses the message
    session.on_message({"type": "error", "error": "peer_not_connected", "ref": "key_exchange", "session_id": SESSION,
                        "message": "The other side is not connected right now."})
    sent.clear()
    clock.advance(10)
    session.on_message({"type": "peer", "peer": "customer", "status": "back", "session_id": SESSION})
    assert len(sent) == 1 and "commitment" in sent[0]  # a fresh commitment, not a keyframe request
    session.on_message({"type": "key_exchange", "session_id": SESSION, **customer.receive(sent.pop())[0]})
    customer.receive(sent.pop())
    assert session.sas == customer.keys.sas and session.media.keys.generation == 2


@pytest.mark.slow
async def test_agent_peer_keys_up_after_peer_not_connected(server, agent_factory):
    """The agent's key_exchange reaches no customer socket (joined by REST only): the server refuses it with
    peer_not_connected; when the customer's socket opens, the agent starts again and the keys agree."""
    from tests.support.agent import AgentPeer

    api, _agent, _ = await agent_factory()
    agent = AgentPeer(api.base_url, token=api.token)
    await agent.start()
    customer = CustomerSession(api.base_url, video=TestPatternTrack(), language="en")
    try:
        info = await agent.create_session()
        await customer.join(info["code"], name="Tester")
        session = agent.current
        await session.wait_until(lambda: session.state == "online", 10, "state online")
        mark = agent.mark()
        await agent.client.accept(session.id, keys=False)
        assert not session.customer_present
        session.rekey()  # too early: no customer socket to deliver to
        refused = await agent.wait_for("error", since=mark, error="peer_not_connected", ref="key_exchange")
        assert refused["session_id"] == session.id
        await customer.start()
        await agent.wait_for_keys(10)
        await customer.wait_until(lambda: customer.media is not None and customer.media.ready, 10, "customer keys")
        assert session.sas == customer.media.keys.sas
        await agent.wait_frames(2)
    finally:
        await customer.close()
        await agent.close()
