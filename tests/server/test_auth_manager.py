"""``AuthManager`` directly: tokens over a real store, dated and expired on a hand-moved clock, and the
login throttle on the same clock. End to end in test_auth.py."""

from __future__ import annotations

import pytest

from anysupport.auth.manager import token_hash
from anysupport.auth.passwords import hash_password
from anysupport.errors import RateLimited, Unauthorized
from tests.support.managers import build_managers


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock, token_ttl=3600, customer_token_ttl=600, login_max_failures=3,
                          login_free_failures=3, login_window=300)


async def make_agent(m, login="kim", password="pw-kim-12345"):
    return await m.store.agents.create(login=login, name=login, role="agent", number=None, settings={},
                                       password_hash=await hash_password(password))


async def test_tokens_expire_on_the_injected_clock(m, clock):
    await make_agent(m)
    token, _agent = await m.auth.login("kim", "pw-kim-12345", ip="10.0.0.1")
    customer = await m.auth.issue_customer_token("0" * 24)
    stored = await m.store.tokens.get(token_hash(token), now=clock())
    assert stored["created_at"] == clock() and (stored["expires_at"] - clock()).total_seconds() == 3600
    clock.advance(599.999)
    assert (await m.auth.authenticate(customer)).session_id == "0" * 24
    clock.advance(0.001)
    assert await m.auth.authenticate(customer) is None  # customer_token_ttl reached
    assert (await m.auth.authenticate(token)).agent["login"] == "kim"
    clock.advance(3000)
    assert await m.auth.authenticate(token) is None  # token_ttl reached
    # an expired token read once is deleted; the others go with the purge, on the same clock
    again, _ = await m.auth.login("kim", "pw-kim-12345", ip="10.0.0.1")
    assert await m.auth.purge_expired() == 0
    clock.advance(3600)
    assert await m.auth.purge_expired() == 1
    assert await m.auth.authenticate(again) is None


async def test_the_login_throttle_counts_on_the_injected_clock(m, clock):
    await make_agent(m)
    for _ in range(3):
        with pytest.raises(Unauthorized) as failed:
            await m.auth.login("kim", "wrong", ip="10.0.0.2")
        assert failed.value.code == "invalid_credentials"
    with pytest.raises(RateLimited) as locked:
        await m.auth.login("kim", "pw-kim-12345", ip="10.0.0.2")
    assert locked.value.retry_after == 300
    clock.advance(300)
    token, _ = await m.auth.login("kim", "pw-kim-12345", ip="10.0.0.2")
    assert token
