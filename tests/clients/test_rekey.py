"""Issue 18 #7: the security code cannot be searched for. A malicious server asking for new keys again
and again (new commitments to the customer, fake ``no_keys`` to the agent) gets a handful, not thousands:
``RekeyLimit`` (the rule, with a hand-moved clock) and the two sides' sessions carrying it out."""

from __future__ import annotations

import asyncio

from anysupport_client.e2e import KeyExchange
from anysupport_client.session import SessionMedia
from anysupport_client.session.rekey import RekeyLimit

from anysupport.protocol.vocabulary import REKEY
from tests.support.clock import ManualClock

SESSION = "65a1f0c2e4b5d6a7b8c9d0e1"


def test_each_new_key_waits_twice_as_long_as_the_last_and_the_history_fades():
    clock = ManualClock()
    limit = RekeyLimit(clock=clock.monotonic)
    waits = []
    for _ in range(12):
        waits.append(limit.wait())
        clock.advance(limit.wait())
        limit.agreed()
    assert waits == [0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert limit.wait() == 900
    clock.advance(REKEY["memory_s"] + 1)  # an hour without new keys: a fresh start
    assert limit.wait() == 0
    answering = RekeyLimit(clock=clock.monotonic, slack=REKEY["answer_slack"])
    answering.agreed()
    assert answering.wait() == 1.0 and answering.retry_after() == 1


def commitment() -> dict:
    """What a (malicious) server standing in for the agent sends: a commitment to a fresh key."""
    agent = KeyExchange("agent", SESSION)
    return {"type": "key_exchange", **agent.start()}


def test_the_customer_answers_a_handful_of_new_commitments_not_thousands():
    clock = ManualClock()
    sent: list[dict] = []
    events: list[tuple[str, dict]] = []
    media = SessionMedia("customer", SESSION, send_json=lambda m: sent.append(m) or True,
                         send_frame=lambda _b: True, emit=lambda n, d: events.append((n, d)), monotonic=clock.monotonic)
    answered = refused = 0
    for _ in range(1000):  # one every 10 ms for 10 s, as the attack in the issue (5 727 answered in 10 s)
        before = len(sent)
        media.on_key_exchange(commitment())
        reply = sent[before:]
        if reply and "public_key" in reply[0]:
            answered += 1
        elif reply and reply[0] == {"type": "key_exchange_failed", "reason": "rekey_limit",
                                    "retry_after": reply[0].get("retry_after")}:
            refused += 1
        clock.advance(0.01)
    assert answered <= 5 and answered + refused == 1000
    failure = [d for n, d in events if n == "key_exchange_failed"][-1]
    assert failure["reason"] == "rekey_limit" and failure["by"] == "us" and failure["retry_after"] >= 1
    # the first exchange of a call is never held up, and a real re-key minutes later goes through
    clock.advance(600)
    before = len(sent)
    media.on_key_exchange(commitment())
    assert "public_key" in sent[before]


def test_a_refused_exchange_is_one_the_agent_starts_again_when_allowed():
    """The agent hears rekey_limit with retry_after and keeps no failure for longer than that."""
    sent: list[dict] = []
    media = SessionMedia("agent", SESSION, send_json=lambda m: sent.append(m) or True, send_frame=lambda _b: True,
                         emit=lambda n, d: None)
    media.on_key_exchange_failed({"type": "key_exchange_failed", "reason": "rekey_limit", "retry_after": 3})
    assert media.failure == {"reason": "rekey_limit", "by": "peer", "code": "rekey_limit", "retry_after": 3,
                             "session_id": SESSION}


async def test_the_agents_session_starts_the_refused_exchange_again_after_retry_after():
    from tests.clients.conftest import wait_until
    from tests.clients.test_session_units import _agent_client

    client = _agent_client()
    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "joined"})
    assert "commitment" in client.socket.sent[-1]
    session = client.session(SESSION)
    started = asyncio.get_running_loop().time()
    client.on_message({"type": "key_exchange_failed", "session_id": SESSION, "reason": "rekey_limit",
                       "retry_after": 2, "from": "customer"})
    assert session.media.failure["reason"] == "rekey_limit"
    before = len(client.socket.sent)
    await wait_until(lambda: any("commitment" in m for m in client.socket.sent[before:]), 10)
    assert asyncio.get_running_loop().time() - started >= 2  # not before the customer allows it
