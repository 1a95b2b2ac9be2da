"""Issue 21 on the customer page (headless Chromium, the real server, two Python ``AgentClient``s): once an
expert joined, each agent's chat line starts with its writer's name (the lines kept from the call of two as
well); before, the call of two showed the text alone, and the customer's own lines never carry a name."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.support.browser import invite_expert, start_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 15_000
CALL = "window.anysupportCall"


async def test_the_page_names_each_agent_in_a_call_of_three(server, phone, agents, shot):
    customer = await phone("ko-KR")
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    log = customer.page.locator("#chat-log li")
    session.send_chat("둘만의 문장")
    await expect(log).to_have_text(["둘만의 문장"], timeout=WAIT_MS)  # a call of two: the text alone
    await expect(customer.page.locator("#chat-log .chat-writer")).to_have_count(0)

    expert = await invite_expert(server.url, agents, agent, "이전문")
    await expect(customer.page.locator("#people li")).to_have_count(3, timeout=WAIT_MS)
    await expert.wait_until(lambda: 0 in expert.pair_sas, 10, "the expert's pair with the page")
    await session.wait_until(lambda: 0 in session.pair_sas, 10, "the agent's pair with the page")
    # the page holds both agents' current sender keys (a line sealed before would not open)
    await session.wait_until(lambda: session.media.group.keys is not None, 10, "the agent's sender key")
    await expert.wait_until(lambda: expert.media.group.keys is not None, 10, "the expert's sender key")
    held = f"{CALL}.group.keys && {CALL}.group.keys.highest"
    for _ in range(100):
        want = {1: session.media.group.keys.epoch, 2: expert.media.group.keys.epoch}
        if await customer.value(f"{held} && {held}.get(1) === {want[1]} && {held}.get(2) === {want[2]}"):
            break
        await asyncio.sleep(0.1)  # polling a condition the page cannot signal
    else:
        raise AssertionError("the page never held both agents' sender keys")
    agent_name = agent.client.agent["name"]
    session.send_chat("상담원의 문장")
    await expect(log.last).to_have_text(f"{agent_name}: 상담원의 문장", timeout=WAIT_MS)
    expert.send_chat("전문가의 문장")
    await expect(log.last).to_have_text("이전문: 전문가의 문장", timeout=WAIT_MS)
    await customer.page.fill("#chat-input", "고객의 문장")
    await customer.page.click("#chat-send")
    # the line from the call of two is named too, now that the call had a third
    await expect(log).to_have_text([f"{agent_name}: 둘만의 문장", f"{agent_name}: 상담원의 문장", "이전문: 전문가의 문장",
                                    "고객의 문장"], timeout=WAIT_MS)
    await expect(customer.page.locator("#chat-log .chat-writer")).to_have_text([f"{agent_name}: "] * 2 + ["이전문: "])
    await shot(customer.page, "browser-chat-names-ko")
    await customer.page.click("#chat-history")
    await expect(customer.page.locator("#chat-log")).to_have_class("chat-log open")
    await shot(customer.page, "browser-chat-names-history-ko")
    await customer.assert_no_errors()
