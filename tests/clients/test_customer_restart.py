"""A customer restarted mid-call with its token (the app killed and opened again, or the customer page
reloaded) has no media keys: it says so (``key_exchange_failed`` ``no_keys``) and the agent agrees new
ones, so video flows again with a new security code on both sides."""

from __future__ import annotations

from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import CustomerSession


async def test_a_customer_restarted_with_its_token_gets_new_keys_and_video_flows_again(pair_factory):
    agent, customer, _source = await pair_factory()
    session = agent.current
    await agent.wait_frames(5)
    old_sas = session.sas
    assert customer.sas == session.sas_display

    # the app is killed: no goodbye, the keys are gone with it
    customer.drop_connection(reconnect=False)
    await agent.wait_for("peer", peer="customer", status="reconnecting")

    restarted = CustomerSession(customer.server_url, video=TestPatternTrack(), language="en")
    restarted.resume(customer.session_id, customer.token, "/ws")
    try:
        await restarted.start()
        await restarted.wait_until(lambda: restarted.media is not None and restarted.media.ready, 10,
                                   "keys of the restarted customer")
        await session.wait_until(lambda: session.sas != old_sas, 10, "new keys at the agent")
        assert session.sas_display == restarted.media.keys.sas_display  # the same code read out on both sides
        frames = await agent.wait_frames(10, timeout=10)
        assert frames[-1].number > frames[0].number
        assert session.media.failure is None and restarted.media.failure is None
    finally:
        restarted.drop_connection(reconnect=False)


async def test_a_request_for_keys_while_the_agents_exchange_is_on_its_way_starts_no_second_one(pair_factory):
    """Accepted before the customer's socket opened: the agent starts the exchange on ``peer`` joined and
    the customer's ``no_keys`` from its hello crosses it; only one exchange runs."""
    agent, customer, _source = await pair_factory(accept=False)
    session = agent.current
    await session.wait_until(lambda: session.state == "online", 10, "state online")
    customer.drop_connection(reconnect=False)  # the socket goes; the session waits for it
    await agent.wait_for("peer", peer="customer", status="reconnecting")
    await agent.client.accept(session.id, keys=False, timeout=10)
    restarted = CustomerSession(customer.server_url, video=TestPatternTrack(), language="en")
    restarted.resume(customer.session_id, customer.token, "/ws")
    try:
        await restarted.start()
        await restarted.wait_until(lambda: restarted.media is not None and restarted.media.ready, 10, "keys")
        await agent.wait_frames(5)
        assert session.sas_display == restarted.media.keys.sas_display
        assert session.media.failure is None
        commitments = [m for m in restarted.received() if m.get("type") == "key_exchange" and "commitment" in m]
        assert len(commitments) == 1  # the customer's no_keys crossed the agent's exchange: no second one
        assert [m["reason"] for m in session.received() if m.get("type") == "key_exchange_failed"] == ["no_keys"]
    finally:
        restarted.drop_connection(reconnect=False)
