"""The customer page when its call is handed over to another agent (docs/protocol.md, "Handing a session over"):
it says who its agent is now, agrees new keys with the new agent and announces the new security code, and
its camera reaches the new agent."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import expect

from anysupport.i18n import catalogue
from tests.support.browser import start_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.mark.parametrize("locale,lang", [("ko-KR", "ko"), ("en-US", "en")])
async def test_the_page_shows_the_new_agent_and_the_new_code(server, phone, agents, shot, locale, lang):
    pages = catalogue("pages")
    customer = await phone(locale)
    first = await start_call(server.url, agents, customer)
    sid = first.session_id
    first_code = await customer.value("window.anysupportCall.sas")
    second = await agents.new(server.url, "ho")
    name = second.client.agent["name"]

    # a hand-over some time into the call (the page's re-key gap after its first keys has passed), as a real one is
    await customer.wait("window.anysupportCall.keys.peers.get('agent').rekeys.wait() === 0", timeout=15_000)
    await first.client.offer_handover(sid, second.client.agent["login"])
    await second.wait_for("handover_offer", session_id=sid)
    began = time.monotonic()
    session = await second.client.accept_handover(sid, keys=True, timeout=15)
    await session.wait_until(lambda: session.frames_decoded > 0, 15, "the new agent's first frame")
    took = time.monotonic() - began
    print(f"hand-over ({lang}): accept to the new agent's first decoded frame {took * 1000:.0f} ms")
    assert took < 3.0  # measured 58–94 ms on one machine (issue 21: an invited expert's goal is ≤ 1 s)

    banner = customer.page.locator("#agent-changed")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text(pages.text("agent_changed", lang, name=name))
    await customer.wait(f"window.anysupportCall.sas !== null && window.anysupportCall.sas !== {first_code!r}",
                        timeout=20_000)
    code = await customer.value("window.anysupportCall.sas")
    assert code in (session.sas, session.sas_display)
    await expect(customer.page.locator("#sas-changed")).to_have_text(pages.text("sas_changed", lang, code=code))
    assert await customer.value("window.anysupportCall.agentName") == name
    # the page's camera reaches the new agent under the new keys
    decoded = session.frames_decoded
    await session.wait_until(lambda: session.frames_decoded > decoded + 3, 15, "frames from the page")
    await shot(customer.page, f"browser-handover-{lang}")
    assert customer.errors == []
