"""Issue 21 end to end with the Python clients over the real server: when an expert joins, the agent
starts a new epoch; a chat line it seals at once reaches the customer before the agent's new key (held
back here by a hook in the test) and is shown when that key arrives, once, not lost."""

from __future__ import annotations

from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import CustomerSession

from tests.clients.test_group_call import _call, _console


async def test_a_chat_line_sealed_before_the_customer_has_the_key_is_shown_when_it_arrives(server, agent_factory):
    agent_client, _ = await _console(server, agent_factory)
    expert_client, expert = await _console(server, agent_factory)
    customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
    try:
        session = await _call(agent_client, customer)

        # the test's hook: the agent's sender keys for the customer are held back until released
        held: list[dict] = []
        deliver = customer._on_sender_key
        customer._on_sender_key = lambda m: held.append(m) if m.get("from_index") == 1 else deliver(m)

        await agent_client.invite(session.id, expert["id"], "full")
        await expert_client.wait_for("invitation", session_id=session.id)
        xs = await expert_client.accept_invitation(session.id)
        await xs.wait_until(lambda: len(xs.pair_sas) == 2, 10, "the expert's pairs")
        epoch = session.media.group.epoch
        await customer.wait_until(lambda: any(m["epoch"] == epoch for m in held), 5, "the agent's new key, held")

        assert session.send_chat("새 키로 봉인된 줄")
        await customer.wait_until(lambda: len(customer.media.group.waiting) == 1, 5, "the line waiting for its key")
        assert not any(c["text"] == "새 키로 봉인된 줄" for c in customer.chat)
        refused = customer.media.group.refused

        customer._on_sender_key = deliver
        for message in held:
            deliver(message)
        assert [c["text"] for c in customer.chat if c["text"] == "새 키로 봉인된 줄"] == ["새 키로 봉인된 줄"]
        assert len(customer.media.group.waiting) == 0 and customer.media.group.refused == refused
    finally:
        await customer.close()
        for client in (agent_client, expert_client):
            await client.close()
