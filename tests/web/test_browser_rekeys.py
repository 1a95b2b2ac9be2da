"""The page against a server in the middle (issue 18 #7, docs/protocol.md "How often new keys may be agreed").

The issue stood in for a malicious server and made the customer page answer 5,727 new key commitments in
10 s: about half an hour to find a key pair whose 6-digit security code matches. Here the test *is* the
page's server as far as its WebSocket goes (Playwright's ``route_web_socket``, the real server behind it
for everything until the attack): it keeps the page's key messages to itself and sends commitment after
commitment, revealing each one the page answers as a server in the middle would. The page answers one or
two of a fast burst (the rule is time: 1 s after the call's keys, then 2 s more) and refuses the rest
with ``rekey_limit`` and a ``retry_after``; once the limit's gap
has passed (waited on through the page's own limit, not a clock) it agrees once more, announces the new
code prominently, and the next gap is longer. ``test_browser_client.py`` has the same search through the
real server from a scripted console, in Korean; this one is in English.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from anysupport_client.e2e import KeyExchange
from playwright.async_api import expect

from anysupport.i18n import catalogue
from tests.support.browser import start_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

BURST = 20
LIMIT_WAIT = "window.anysupportCall.keys.peers.get('agent').rekeys.wait()"


class ServerInTheMiddle:
    """The customer page's WebSocket, routed through the test: everything passes between the page and the
    real server until ``attacking``; from then on the page's key messages stay here, and each commitment
    sent with ``commit()`` is revealed if the page answers it with a key."""

    def __init__(self) -> None:
        self.page_side = None
        self.envelope: dict = {}  # how the server relays an agent's key_exchange (from, session_id, time)
        self.attacking = False
        self.pending: list[KeyExchange] = []  # our commitments, in the order the page handles them
        self.answers: list[dict] = []  # the page's key messages since the attack began
        self.arrived = asyncio.Event()

    def route(self, ws) -> None:
        self.page_side = ws
        upstream = ws.connect_to_server()
        ws.on_message(lambda message: self._from_page(message, upstream))
        upstream.on_message(self._from_server)

    def _from_server(self, message) -> None:
        if isinstance(message, str) and not self.envelope:
            data = json.loads(message)
            if data.get("type") == "key_exchange":
                self.envelope = {k: data[k] for k in ("from", "session_id", "time") if k in data}
        self.page_side.send(message)

    def _from_page(self, message, upstream) -> None:
        if self.attacking and isinstance(message, str):
            data = json.loads(message)
            if data.get("type") in ("key_exchange", "key_exchange_failed"):
                self.answers.append(data)
                ours = self.pending.pop(0)  # one answer (a key or a refusal) per commitment, in order
                if data.get("public_key"):
                    for reveal in ours.receive(data):
                        self.send(reveal)
                self.arrived.set()
                return
        upstream.send(message)

    def send(self, message: dict) -> None:
        self.page_side.send(json.dumps({**message, **self.envelope}))

    async def exchange(self) -> dict:
        """One fresh commitment; the page's answer to it."""
        ours = KeyExchange("agent", self.envelope["session_id"])
        self.pending.append(ours)
        count = len(self.answers)
        self.send(ours.start())
        while len(self.answers) == count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)
        return self.answers[count]


async def test_a_server_in_the_middle_gets_one_new_code_at_most_per_gap_and_each_is_announced(server, phone,
                                                                                              agents, shot):
    pages = catalogue("pages")
    customer = await phone("en-US")
    page = customer.page
    middle = ServerInTheMiddle()
    await page.context.route_web_socket(lambda url: "/ws" in url, middle.route)
    await start_call(server.url, agents, customer)  # the call's first keys, through the middle untouched
    assert middle.envelope.get("from") == "agent"
    middle.attacking = True

    burst = [await middle.exchange() for _ in range(BURST)]  # as fast as the page answers
    keyed = [a for a in burst if a.get("public_key")]
    refused = [a for a in burst if a.get("type") == "key_exchange_failed"]
    # the burst takes well under 3 s, within which the page's gaps (1 s, then 2 s) let two through at most
    assert len(keyed) <= 2 and len(keyed) + len(refused) == BURST, burst
    assert all(r["reason"] == "rekey_limit" and r["retry_after"] >= 1 for r in refused)
    await expect(page.locator("#call-status")).to_have_text(pages.text("rekey_limited", "en"))
    assert (await customer.stats())["rekeys_refused"] == len(refused)

    # once the page's own limit lets a new key through, the middle gets exactly one more code…
    before = await customer.value("window.anysupportCall.sas")
    await customer.wait(f"{LIMIT_WAIT} === 0", timeout=30_000)
    answer = await middle.exchange()
    assert answer.get("public_key"), answer
    await customer.wait(f"window.anysupportCall.sas !== {before!r}")
    code = await customer.value("window.anysupportCall.sas")
    banner = page.locator("#sas-changed")  # …and the page announces it, with the code
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text(pages.text("sas_changed", "en", code=code))
    await expect(page.locator("#sas-badge")).to_have_class("badge sas changed")
    await shot(page, "browser-sas-changed-middle-en")
    # …and the next one waits longer than the burst was told
    again = await middle.exchange()
    assert again == {"type": "key_exchange_failed", "reason": "rekey_limit",
                     "retry_after": again["retry_after"]} and again["retry_after"] > max(
                         (r["retry_after"] for r in refused), default=0)
    assert await customer.value("window.anysupportCall.sas") == code
    await customer.assert_no_errors()
