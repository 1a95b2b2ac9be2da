"""The hub remembers revocations for sockets still opening (their token was checked just before it was
revoked): tested directly with an injected clock; the end-to-end cases are in test_auth.py."""

from anysupport.auth.manager import Principal
from anysupport.ws.hub import REVOKED_MEMORY, Hub


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def agent(token_hash: str, agent_id: str = "a1") -> Principal:
    return Principal("agent", token_hash, agent={"id": agent_id, "role": "agent"})


def test_a_token_revoked_after_it_was_checked_is_caught_on_attach():
    clock = Clock()
    hub = Hub(clock=clock)
    checked = clock.now
    clock.now += 0.01
    assert hub.close_token("t1", "logged_out") == 0  # no socket attached yet
    assert hub.revoked_since(agent("t1"), checked) == "logged_out"
    assert hub.revoked_since(agent("t2"), checked) is None
    # a socket whose token was checked after the revocation is a new login: not caught
    assert hub.revoked_since(agent("t1"), clock.now + 1) is None


def test_a_password_change_catches_the_agents_other_tokens_only():
    clock = Clock()
    hub = Hub(clock=clock)
    checked = clock.now
    hub.close_agent_logins("a1", "password_changed", keep="kept")
    assert hub.revoked_since(agent("other", "a1"), checked) == "password_changed"
    assert hub.revoked_since(agent("kept", "a1"), checked) is None
    assert hub.revoked_since(agent("other", "a2"), checked) is None
    customer = Principal("customer", "c1", session_id="s1")
    assert hub.revoked_since(customer, checked) is None


def test_revocations_are_forgotten_after_a_while():
    clock = Clock()
    hub = Hub(clock=clock)
    hub.close_token("t1", "logged_out")
    clock.now += REVOKED_MEMORY + 1
    hub.close_token("t2", "logged_out")  # each revocation drops the old ones
    assert "t1" not in hub._revoked_tokens and "t2" in hub._revoked_tokens


def test_one_token_opens_at_most_open_max_sockets_in_the_window():
    """#18.2: each new socket of a token replaces the last, so a loop of opens only makes the server
    hold closing ones: a token may open ``open_max`` in ``open_window`` seconds, others are not held up."""
    clock = Clock()
    hub = Hub(clock=clock, open_max=3, open_window=10.0)
    assert [hub.opening("t1") for _ in range(3)] == [0, 0, 0]
    assert hub.opening("t1") == 10 and hub.opening("t2") == 0
    clock.now += 9.5
    assert hub.opening("t1") == 1
    clock.now += 0.6
    assert hub.opening("t1") == 0
