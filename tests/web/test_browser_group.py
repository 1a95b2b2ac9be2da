"""Issue 21 with the customer page: the page speaks version 2 (docs/protocol.md V2.8) with the session's
agent and an invited expert (Python ``AgentClient``s) over the real server in headless Chromium. The
expert decodes the page's video, the page plays both agents' voices and shows the chat of both, every
chat line is sealed (what the page's socket carried, both ways, holds none of it in clear), the page
shows who is present with each pair's code and a notice on every join and leave; removing the expert
replaces the keys and the expert opens nothing new; a view-only supervisor sees but sends nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from anysupport_client.api import ApiError
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_native import group
from anysupport_native.framing import FrameError
from playwright.async_api import expect

from tests.support.browser import another_agent, invite_expert, sealed_pair_code, start_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CALL = "window.anysupportCall"
WAIT_MS = 15_000  # what follows a message through the server (a loaded machine: generous)


def socket_log(page) -> list[str]:
    """Every text frame the page's WebSockets sent or received: what the server read and relayed."""
    seen: list[str] = []

    def watch(ws) -> None:
        ws.on("framesent", lambda payload: seen.append(payload if isinstance(payload, str) else ""))
        ws.on("framereceived", lambda payload: seen.append(payload if isinstance(payload, str) else ""))

    page.on("websocket", watch)
    return seen


async def test_page_with_an_invited_expert_and_a_supervisor(server, phone, agents, shot):
    customer = await phone("ko-KR")
    wire = socket_log(customer.page)
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    await session.wait_until(lambda: session.capabilities.get("versions") == [1, 2], 10, "the page speaks version 2")
    await agent.wait_frames(3, timeout=15)
    await expect(customer.page.locator("#people li")).to_have_count(2, timeout=WAIT_MS)  # the customer and the agent

    # -- an expert joins with full rights: the page switches to version 2 ---------------------------------
    expert = await another_agent(server.url, agents, "이전문")
    await agent.client.invite(session.id, expert.client.agent["id"], "full")
    await expert.client.wait_for("invitation", session_id=session.id)
    started = time.monotonic()
    xs = await expert.client.accept_invitation(session.id)
    await xs.wait_until(lambda: xs.frames_decoded > 0, 10, "the expert decodes the page's video")
    print(f"\nexpert: the page's first decoded frame {(time.monotonic() - started) * 1000:.0f} ms after accepting")
    await customer.wait(f"{CALL}.group.active && {CALL}.group.sas.size === 2")
    codes = await customer.value(f"Object.fromEntries({CALL}.group.sas)")
    await xs.wait_until(lambda: 0 in xs.pair_sas, 5, "the expert's pair with the page")
    await session.wait_until(lambda: 0 in session.pair_sas, 5, "the agent's pair with the page")
    assert codes["2"].replace(" ", "") == xs.pair_sas[0] and codes["1"].replace(" ", "") == session.pair_sas[0]
    assert codes["1"] != codes["2"]
    people = customer.page.locator("#people li")
    await expect(people).to_have_count(3, timeout=WAIT_MS)
    await expect(people.nth(2)).to_contain_text("이전문", timeout=WAIT_MS)
    await expect(people.nth(2)).to_contain_text("전문가", timeout=WAIT_MS)
    await expect(people.nth(2)).to_contain_text(codes["2"], timeout=WAIT_MS)
    await expect(people.nth(1)).to_contain_text("상담원", timeout=WAIT_MS)
    await expect(people.nth(1)).to_contain_text(codes["1"], timeout=WAIT_MS)
    await expect(customer.page.locator("#people-changed")).to_contain_text("이전문 (전문가) 님이 상담에 참여했습니다", timeout=WAIT_MS)
    # the notice follows the page's language while it is shown, as the changed-code notice does
    await customer.page.evaluate("document.querySelector('[data-lang=en]').click()")
    await expect(customer.page.locator("#people-changed")).to_contain_text("이전문 (expert) joined the session")
    await customer.page.evaluate("document.querySelector('[data-lang=ko]').click()")
    await expect(customer.page.locator("#people-changed")).to_contain_text("이전문 (전문가) 님이 상담에 참여했습니다")
    await expect(customer.page.locator("#sas-badge")).to_contain_text(codes["1"], timeout=WAIT_MS)
    # the agent's code changed with the switch to version 2: said as prominently as any changed code
    await expect(customer.page.locator("#sas-changed")).to_contain_text(codes["1"], timeout=WAIT_MS)
    decoded = session.frames_decoded
    await session.wait_until(lambda: session.frames_decoded > decoded + 5, 10, "the agent decodes under version 2")
    await shot(customer.page, "browser-group-joined-ko")

    # -- chat both ways, sealed: the server relays none of it in clear ----------------------------------
    # a call of three: each agent's line names its writer (issue 21). One line shown before the other is
    # sent: the two come over two sockets (the expert's is its guest socket), so sent back to back they may
    # arrive in either order (a clean CI run saw B8 first)
    session.send_chat("상담원 비밀 문장 A7")
    first = f"{agent.client.agent['name']}: 상담원 비밀 문장 A7"
    await expect(customer.page.locator("#chat-log li")).to_have_text([first], timeout=WAIT_MS)
    xs.send_chat("expert secret line B8")
    await expect(customer.page.locator("#chat-log li")).to_have_text(
        [first, "이전문: expert secret line B8"], timeout=WAIT_MS)
    await customer.page.fill("#chat-input", "고객 비밀 문장 C9")
    await customer.page.click("#chat-send")
    await session.wait_until(lambda: any(c["text"] == "고객 비밀 문장 C9" for c in session.chat), 10, "agent reads")
    await xs.wait_until(lambda: any(c["text"] == "고객 비밀 문장 C9" for c in xs.chat), 10, "expert reads")
    session.annotate("add", {"id": "s1", "shape": "rect", "color": "#ff0000", "width": 8,
                             "points": [[0.3125, 0.4375], [0.6875, 0.8125]]})
    await customer.wait(f"{CALL}.scene.size === 1")
    sealed = [m for m in wire if '"type":"sealed"' in m.replace(" ", "")]
    assert len(sealed) >= 4, wire[-20:]
    # (whole texts with spaces, and decimals: base64url, the sealed frames' alphabet, has neither)
    for secret in ("상담원 비밀 문장 A7", "expert secret line B8", "고객 비밀 문장 C9", "0.3125", "0.6875", "비밀", "secret line"):
        assert not any(secret in m for m in wire), secret
    assert not any('"type":"chat"' in m.replace(" ", "") for m in wire)

    # -- both agents' voices reach the page ----------------------------------------------------------------
    session.agent_video(True, TestPatternTrack(320, 240, 15), ToneTrack(660))
    xs.agent_video(True, TestPatternTrack(320, 240, 15), ToneTrack(880))
    await customer.wait(f"({CALL}.stats.voices || {{}})[1] >= 25 && ({CALL}.stats.voices || {{}})[2] >= 25", 30_000)
    await customer.wait(f"{CALL}.stats.agent_frames >= 10", 15_000)
    played = (await customer.stats())["audio_played"]
    await customer.wait(f"{CALL}.stats.audio_played >= {played + 20}")
    await shot(customer.page, "browser-group-voices-ko")

    # -- the expert removed: new keys at once, nothing new opens for it ----------------------------------
    expert_opener = xs.media.group.keys.opener
    captured: list[bytes] = []
    on_frame = session.on_frame
    session.on_frame = lambda frame: (captured.append(frame), on_frame(frame))
    old = await customer.value(f"{CALL}.group.epoch")
    removing = time.monotonic()
    await session.remove_participant(2)
    await customer.wait(f"{CALL}.group.epoch > {old}")
    await session.wait_until(lambda: session.media.group.keys.highest.get(0, 0) > old, 10,
                             "the agent has the page's new key")
    print(f"page's keys replaced {(time.monotonic() - removing) * 1000:.0f} ms after the removal was asked for")
    await xs.wait_until(lambda: xs.removed, 5, "removed")
    await expect(people).to_have_count(2, timeout=WAIT_MS)
    await expect(customer.page.locator("#people-changed")).to_contain_text("이전문 (전문가) 님이 상담에서 나갔습니다", timeout=WAIT_MS)
    await session.wait_until(lambda: sum(1 for f in captured if f[:1] == b"\x02" and group.parse_header(f).sender == 0
                                         and group.parse_header(f).epoch > old) >= 20, 10, "the page's new frames")
    new = [f for f in captured if f[:1] == b"\x02" and group.parse_header(f).sender == 0
           and group.parse_header(f).epoch > old]
    for frame in new:
        with pytest.raises(FrameError):
            expert_opener.open(frame)
    await shot(customer.page, "browser-group-left-ko")

    # -- a view-only supervisor sees the page's video; the page never receives its media -----------------
    supervisor = await another_agent(server.url, agents, "박관리")
    await agent.client.invite(session.id, supervisor.client.agent["id"], "view")
    await supervisor.client.wait_for("invitation", session_id=session.id)
    ss = await supervisor.client.accept_invitation(session.id)
    await ss.wait_until(lambda: ss.frames_decoded > 0, 10, "the supervisor sees the page's video")
    await expect(people).to_have_count(3, timeout=WAIT_MS)
    await expect(people.nth(2)).to_contain_text("전문가·보기 전용", timeout=WAIT_MS)  # invited by the agent: no supervisor
    ss.agent_video(True, TestPatternTrack(320, 240, 15), ToneTrack(500))
    refused = await supervisor.client.wait_for("error", 10, error="frame_dropped")
    assert refused["field"] == "view_only"
    stats = await customer.stats()
    assert "3" not in (stats.get("v2_from") or {}) and "3" not in (stats.get("voices") or {})
    await shot(customer.page, "browser-group-supervisor-ko")
    await customer.assert_no_errors()


async def test_the_version_1_switch_keeps_a_two_party_call_and_refuses_guests(server, phone, agents):
    """`?versions=1`: the page announces version 1 only, the call works as before, inviting is refused."""
    customer = await phone("en-US")
    agent = await agents.new(server.url, "v1")
    await customer.page.goto(server.url + "/?versions=1")
    await customer.page.fill("#code", agent.session["code"])
    await customer.page.click("#join-button")
    await agent.accept(timeout=15)
    await agent.wait_for_keys(15)
    await customer.wait(f"{CALL} && {CALL}.sas !== null")
    session = agent.current
    await session.wait_until(lambda: session.capabilities.get("versions") == [1], 10, "version 1 only")
    await agent.wait_frames(3, timeout=15)
    expert = await another_agent(server.url, agents, "Expert")
    with pytest.raises(ApiError) as refused:
        await agent.client.invite(session.id, expert.client.agent["id"], "full")
    assert (refused.value.status, refused.value.error) == (409, "customer_not_group_capable")
    session.send_chat("plain version 1")
    await expect(customer.page.locator("#chat-log li")).to_have_text(["plain version 1"], timeout=WAIT_MS)
    assert await customer.value(f"{CALL}.group.active") is False
    await customer.assert_no_errors()


async def test_a_page_reloaded_in_a_version_2_call_gets_new_pairs_and_keys(server, phone, agents):
    """The page reloaded mid-call (a version-2 session): it has no pair and no key; it asks each agent for
    a new pair (`key_exchange_failed` `no_keys` with `to`), and both agents decode its new frames."""
    customer = await phone("en-US")
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    xs = await invite_expert(server.url, agents, agent, "Expert")
    await xs.wait_until(lambda: xs.frames_decoded > 0, 10, "the expert decodes the page's video")
    before = (dict(xs.pair_sas), dict(session.pair_sas))
    await customer.page.reload()
    await customer.wait(f"{CALL} && {CALL}.group.sas.size === 2", 20_000)
    await xs.wait_until(lambda: xs.pair_sas.get(0) != before[0].get(0), 10, "the expert's new pair with the page")
    await session.wait_until(lambda: session.pair_sas.get(0) != before[1].get(0), 10, "the agent's new pair")
    # the two ends of a pair agree once both have finished it (a pair may be redone while the page's
    # re-keys settle): read both sides until they agree, not once
    async def agreed() -> bool:
        codes = await customer.value(f"Object.fromEntries({CALL}.group.sas)")
        return (codes.get("2", "").replace(" ", "") == xs.pair_sas.get(0)
                and codes.get("1", "").replace(" ", "") == session.pair_sas.get(0))

    for _ in range(100):
        if await agreed():
            break
        await asyncio.sleep(0.1)
    assert await agreed()
    decoded = (xs.frames_decoded, session.frames_decoded)
    await xs.wait_until(lambda: xs.frames_decoded > decoded[0] + 5, 10, "the expert decodes the reloaded page")
    await session.wait_until(lambda: session.frames_decoded > decoded[1] + 5, 10, "the agent decodes the reloaded page")
    await customer.assert_no_errors()


async def test_a_call_of_two_whose_agent_speaks_version_2_is_sealed_from_the_start(server, phone, agents):
    """The agent's client says `versions` [1, 2] when it connects the session and the page does too: the
    session speaks version 2 with two participants, so chat and drawings are sealed from the first line:
    what the page's socket carried both ways holds none of them in clear. Handed over, the new agent takes
    index 2 (a new epoch, a new pair): the page shows its code and its name, and their chat is sealed too."""
    customer = await phone("ko-KR")
    wire = socket_log(customer.page)
    agent = await agents.new(server.url, "v2")
    await customer.join(server.url, agent.session["code"])
    await agent.accept(timeout=15, versions=[1, 2])
    session = agent.current
    await sealed_pair_code(customer, session)
    assert session.media.group.active and session.media.keys is not None  # version 2, the version-1 pair unused
    session.send_chat("처음부터 봉인된 문장")
    session.annotate("add", {"id": "z1", "shape": "rect", "color": "#ff0000", "width": 8,
                             "points": [[0.4375, 0.1875], [0.5625, 0.3125]]})
    await expect(customer.page.locator("#chat-log li")).to_have_text(["처음부터 봉인된 문장"], timeout=WAIT_MS)
    await customer.wait(f"{CALL}.scene.size === 1")
    await customer.page.fill("#chat-input", "고객도 봉인된 문장")
    await customer.page.click("#chat-send")
    await session.wait_until(lambda: any(c["text"] == "고객도 봉인된 문장" for c in session.chat), 10, "agent reads")
    assert sum(1 for m in wire if '"type":"sealed"' in m.replace(" ", "")) >= 3
    for secret in ("처음부터 봉인된 문장", "고객도 봉인된 문장", "0.4375", "0.5625", "봉인"):
        assert not any(secret in m for m in wire), secret
    # -- handed over: the new agent takes index 2, the page follows it (its code, its picture, its chat) ------
    other = await another_agent(server.url, agents, "Next")
    await agent.client.offer_handover(session.id, other.login_name)
    await other.client.wait_for("handover_offer", 10, session_id=session.id)
    taken = await other.client.accept_handover(session.id, keys=True, timeout=15)
    await taken.wait_until(lambda: taken.index == 2 and 0 in taken.pair_sas, 15, "the new agent's pair with the page")
    await customer.wait(f"{CALL}.agentIndex === 2 && {CALL}.group.sas.has(2) && !{CALL}.group.sas.has(1)", 15_000)
    code = (await customer.value(f"Object.fromEntries({CALL}.group.sas)"))["2"]
    assert code.replace(" ", "") == taken.pair_sas[0] and await customer.value(f"{CALL}.sas") == code
    await expect(customer.page.locator("#sas-badge")).to_contain_text(code, timeout=WAIT_MS)
    await expect(customer.page.locator("#people li")).to_have_count(2, timeout=WAIT_MS)
    await expect(customer.page.locator("#people")).to_contain_text("Next", timeout=WAIT_MS)
    decoded = taken.frames_decoded
    await taken.wait_until(lambda: taken.frames_decoded > decoded + 5, 15, "the new agent decodes the page")
    taken.send_chat("넘겨받아 봉인된 문장")
    await expect(customer.page.locator("#chat-log li").last).to_have_text("넘겨받아 봉인된 문장", timeout=WAIT_MS)
    assert not any("넘겨받아 봉인된 문장" in m for m in wire)
    await customer.assert_no_errors()
