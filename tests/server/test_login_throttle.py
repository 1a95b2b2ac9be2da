"""The password-guessing policy (``LoginThrottle`` / ``Backoff``) with an injected clock, then end to end."""

import re
from pathlib import Path

from anysupport.auth.manager import LoginThrottle
from anysupport.config import load_config
from anysupport.ratelimit import Backoff
from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock, **settings) -> LoginThrottle:
    return LoginThrottle(load_config(environ={}, overrides=settings), clock=clock)


def test_backoff_free_then_doubling_then_locked():
    clock = Clock()
    b = Backoff(limit=6, free=2, delay=1.0, window=300, clock=clock)
    waits = []
    for _ in range(6):
        assert b.wait("k") == 0
        b.fail("k")
        waits.append(b.wait("k"))
        clock.now += waits[-1]  # the client waits exactly as told
    assert waits == [0, 0, 1, 2, 4, 300]  # free, free, then 1 s doubling, then the lock (the window)


def test_backoff_a_try_too_early_is_refused_and_the_wait_counts_down():
    clock = Clock()
    b = Backoff(limit=5, free=0, delay=8.0, window=300, clock=clock)
    b.fail("k")
    assert b.wait("k") == 8
    clock.now += 5.5
    assert b.wait("k") == 3  # whole seconds, rounded up
    clock.now += 2.5
    assert b.wait("k") == 0


def test_backoff_delay_never_exceeds_the_window_and_failures_age_out():
    clock = Clock()
    b = Backoff(limit=100, free=0, delay=1.0, window=60, clock=clock)
    for _ in range(20):
        b.fail("k")
    assert b.wait("k") == 60  # 2**19 s capped at the window
    clock.now += 60.001
    assert b.failures("k") == 0 and b.wait("k") == 0


def test_backoff_lock_ends_after_the_window_and_reset_forgets():
    clock = Clock()
    b = Backoff(limit=3, free=3, delay=1.0, window=60, clock=clock)
    for _ in range(3):
        assert b.wait("k") == 0
        b.fail("k")
    assert b.wait("k") == 60
    clock.now += 59
    assert b.wait("k") == 1
    clock.now += 1.001
    assert b.wait("k") == 0 and b.failures("k") == 0
    b.fail("k")
    b.reset("k")
    assert b.failures("k") == 0


def test_backoff_memory_is_bounded():
    clock = Clock()
    b = Backoff(limit=5, free=2, delay=0, window=10, clock=clock)
    for i in range(1000):
        b.fail(f"k{i}")
        b.fail("same")
    assert len(b._stamps["same"]) == 5
    clock.now += 11
    b.wait("other")  # a use after the window drops the aged keys
    assert len(b._stamps) == 0


def test_failures_at_one_address_never_lock_the_owner_at_another():
    clock = Clock()
    t = throttle(clock, login_max_failures=5, login_ip_max_failures=30, login_window=300)
    for _ in range(5):
        clock.now += t.wait("admin", "10.0.0.66")
        t.failed("admin", "10.0.0.66")
    assert t.wait("admin", "10.0.0.66") == 300  # the attacker's address is locked for this login
    assert t.wait("admin", "10.0.0.7") == 0  # the owner, elsewhere, is not slowed at all
    assert t.wait("someone", "10.0.0.66") == 0  # other logins from that address: below the address limit
    assert t.wait("ADMIN", "10.0.0.66") == 300  # login names are compared without case


def test_one_address_trying_many_logins_is_slowed_then_locked():
    clock = Clock()
    t = throttle(clock, login_max_failures=5, login_ip_max_failures=10, login_window=300, login_free_failures=2)
    waits = []
    for i in range(10):
        clock.now += t.wait(f"user{i}", "10.0.0.66")
        t.failed(f"user{i}", "10.0.0.66")
        waits.append(t.wait(f"user{i + 1}", "10.0.0.66"))
    # half the address limit answered at once, then 1 s doubling, then the lock
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 300]
    assert t.wait("admin", "10.0.0.7") == 0


def test_a_success_clears_the_pair_but_not_the_address():
    clock = Clock()
    t = throttle(clock, login_max_failures=5, login_ip_max_failures=8, login_window=300, login_free_failures=1)
    t.failed("me", "10.0.0.1")
    t.failed("me", "10.0.0.1")
    assert t.wait("me", "10.0.0.1") == 1
    clock.now += 1
    t.succeeded("me", "10.0.0.1")
    assert t.pair.failures("me\x0010.0.0.1") == 0
    assert t.address.failures("10.0.0.1") == 2  # a valid account does not wash an address's guesses


def test_no_slowdown_when_the_delay_is_zero():
    clock = Clock()
    t = throttle(clock, login_max_failures=4, login_delay=0.0)
    for _ in range(3):
        t.failed("x", "a")
        assert t.wait("x", "a") == 0
    t.failed("x", "a")
    assert t.wait("x", "a") == 300


# -- end to end: the addresses come from a trusted proxy's X-Forwarded-For ---------------------------------------
# (the growth of the wait is timed above with the injected clock; here no test waits on the wall clock)
async def attempt(srv, password: str, address: str, login: str = "admin", lang: str = "en"):
    return await Api(srv.url, language=lang).post("/api/v1/auth/login", {"login": login, "password": password},
                                                 headers={"X-Forwarded-For": address})


async def test_guessing_is_slowed_down_at_that_address_only(make_server):
    srv = make_server({"trusted_proxies": ["127.0.0.1/32"], "login_max_failures": 4, "login_free_failures": 1,
                       "login_delay": 30.0, "login_window": 120})
    assert (await attempt(srv, "guess1", "203.0.113.9")).status == 401
    assert (await attempt(srv, "guess2", "203.0.113.9")).status == 401
    # the slowdown: the next try must wait, and is refused unchecked (even with the right password)
    early = await attempt(srv, ADMIN_PASSWORD, "203.0.113.9")
    assert early.status == 429 and early.json["error"] == "too_many_attempts"
    assert 25 <= early.json["retry_after"] <= 30 and early.headers["Retry-After"] == str(early.json["retry_after"])
    assert early.json["message"] == f"Too many attempts. Try again in {early.json['retry_after']} seconds."
    ko = await attempt(srv, "guess3", "203.0.113.9", lang="ko")
    assert ko.status == 429 and ko.json["message"].endswith("초 후에 다시 시도하세요.")
    # meanwhile the owner logs in from their own address, at once
    assert (await attempt(srv, ADMIN_PASSWORD, "198.51.100.20")).status == 200


async def test_a_locked_out_attacker_never_locks_out_the_admin_elsewhere(make_server):
    srv = make_server({"trusted_proxies": ["127.0.0.1/32"], "login_max_failures": 4, "login_delay": 0.0,
                       "login_window": 120})
    for i in range(4):
        assert (await attempt(srv, f"guess{i}", "203.0.113.9")).status == 401
    locked = await attempt(srv, ADMIN_PASSWORD, "203.0.113.9")
    assert locked.status == 429 and 115 <= locked.json["retry_after"] <= 120
    # the lock is for that login at that address: the owner elsewhere still gets in
    assert (await attempt(srv, ADMIN_PASSWORD, "198.51.100.20")).status == 200
    assert (await attempt(srv, ADMIN_PASSWORD, "2001:db8::1")).status == 200
    # and other logins from the attacker's address are only counted against the address
    assert (await attempt(srv, "x", "203.0.113.9", login="nobody")).status == 401


def test_the_shipped_policy():
    """Defaults: five failures at full speed (as before this policy), then 1, 2, 4, 8 s, then the lock."""
    clock = Clock()
    t = throttle(clock)
    waits = []
    for _ in range(10):
        assert t.wait("admin", "10.0.0.66") == 0
        t.failed("admin", "10.0.0.66")
        waits.append(t.wait("admin", "10.0.0.66"))
        clock.now += waits[-1]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 300]


ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


async def test_the_documented_example_is_what_the_server_does(make_server):
    """docs/security.md's worked example (N 401s at full speed, the next try at once a 429), against
    a server with the shipped settings, every try sent at once."""
    doc = " ".join((Path(__file__).parents[2] / "docs" / "security.md").read_text().split())
    m = re.search(r"(\w+) 401s at full speed; the (\w+) try at once is a 429 \(`retry_after` (\d+)\)", doc)
    assert m, "the worked example is missing from docs/security.md"
    free, refused, retry_after = NUMBERS[m[1]], ORDINALS[m[2]], int(m[3])
    assert refused == free + 1
    srv = make_server()
    statuses = [(await attempt(srv, f"guess{i}", "")).status for i in range(free)]
    early = await attempt(srv, ADMIN_PASSWORD, "")
    assert statuses == [401] * free
    assert early.status == 429 and early.json["retry_after"] == retry_after
