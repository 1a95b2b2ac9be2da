"""Issue 21 on the customer page, three gaps: a supervisor who joined from the admin pages (참관) is listed
as 참관자 / supervisor (not as an invited agent); an invited expert's drawings show on the page as the
session's agent's do; and a call sealed from the start (version 2 from the first message) shows one
security code, the version-2 pair's, with no "code changed" notice for a version-1 code it never used.
Real server, real Python agents (``AgentClient``), headless Chromium."""

from __future__ import annotations

import pytest
from anysupport_client.media.sources import TestPatternTrack
from playwright.async_api import expect

from tests.support.browser import another_agent, invite_expert, sealed_pair_code, start_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CALL = "window.anysupportCall"
WAIT_MS = 15_000

# every security code the badge showed, in order, and every "code changed" notice: what the customer saw
CODE_WATCH = """
window.codesShown = []; window.codeNotices = [];
document.addEventListener("DOMContentLoaded", () => {
  const badge = document.getElementById("sas-badge"), changed = document.getElementById("sas-changed");
  const seen = () => {
    const text = badge.hidden ? "" : badge.textContent;
    if (text && window.codesShown[window.codesShown.length - 1] !== text) window.codesShown.push(text);
    if (!changed.hidden && !window.codeNotices.includes(changed.textContent)) window.codeNotices.push(changed.textContent);
  };
  const options = {attributes: true, childList: true, characterData: true, subtree: true};
  new MutationObserver(seen).observe(badge, options);
  new MutationObserver(seen).observe(changed, options);
});
"""

# the page's `capabilities` held back until the test lets them go (a slow uplink): the agent's
# version-1 pair is agreed before the server switches the call to version 2 at that message, which is when a
# version-1 code could show and then "change"
HOLD_CAPABILITIES = """
// every capabilities message waits until releaseCapabilities() sends them in order: the page sends one on
// each "connected" and each agent "back", and one let through would switch the call to version 2 early
const send = WebSocket.prototype.send;
const held = [];
let released = false;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string" && data.includes('"type":"capabilities"') && !released) {
    held.push([this, data]);
    return undefined;
  }
  return send.call(this, data);
};
window.releaseCapabilities = () => {
  released = true;
  for (const [socket, data] of held.splice(0)) if (socket.readyState === WebSocket.OPEN) send.call(socket, data);
};
"""


async def test_an_experts_drawing_and_a_supervisor_on_the_page(server, phone, agents, shot):
    customer = await phone("ko-KR")
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    await agent.wait_frames(3, timeout=15)

    # -- an expert with full rights draws: the page draws it beside the agent's drawing ----------------
    xs = await invite_expert(server.url, agents, agent, "이전문")
    await customer.wait(f"{CALL}.group.ready && {CALL}.group.sas.size === 2", 20_000)
    await xs.wait_until(lambda: xs.media.group.ready, 10, "the expert's keys")
    await session.wait_until(lambda: session.media.group.ready, 10, "the agent's keys")
    # the page holds both agents' sender keys (a sealed message before its key is refused, as any frame)
    await customer.wait(f"{CALL}.group.keys.opener.epochs(1).length > 0 && {CALL}.group.keys.opener.epochs(2).length > 0",
                        WAIT_MS)
    session.annotate("add", {"id": "agent-1", "shape": "rect", "color": "#ff0000", "width": 8,
                             "points": [[0.10, 0.10], [0.40, 0.40]]})
    xs.annotate("add", {"id": "expert-1", "shape": "ellipse", "color": "#00c0ff", "width": 10,
                        "points": [[0.55, 0.55], [0.90, 0.90]]})
    await customer.wait(f"{CALL}.scene.size === 2", WAIT_MS)
    await customer.wait("(window.anysupportOverlay || {drawn: []}).drawn.length === 2", WAIT_MS)
    drawn = await customer.value("window.anysupportOverlay.drawn.map((d) => d.id).sort()")
    assert drawn == ["agent-1", "expert-1"]
    # each drawing is its sender's: the expert's undo takes its own last one, never the agent's
    session.annotate("add", {"id": "agent-2", "shape": "arrow", "color": "#ff0000", "width": 8,
                             "points": [[0.50, 0.20], [0.70, 0.35]]})
    await customer.wait(f"{CALL}.scene.size === 3", WAIT_MS)
    xs.annotate("add", {"id": "expert-2", "shape": "line", "color": "#00c0ff", "width": 8,
                        "points": [[0.20, 0.70], [0.45, 0.85]]})
    await customer.wait(f"{CALL}.scene.size === 4", WAIT_MS)
    session.annotate("undo")
    await customer.wait(f"{CALL}.scene.size === 3", WAIT_MS)
    assert sorted(await customer.value(f"{CALL}.scene.order")) == ["agent-1", "expert-1", "expert-2"]
    xs.annotate("undo")
    await customer.wait(f"{CALL}.scene.size === 2", WAIT_MS)
    assert sorted(await customer.value(f"{CALL}.scene.order")) == ["agent-1", "expert-1"]
    await customer.wait("window.anysupportOverlay.drawn.length === 2", WAIT_MS)
    await shot(customer.page, "browser-roles-expert-drawing-ko")

    # -- an administrator supervises (참관): listed as 참관자, not as an expert --------------------------
    lead = await another_agent(server.url, agents, "박팀장", role="admin")
    answer = await lead.client.rest.request("POST", f"/api/v1/admin/sessions/{session.id}/supervise")
    assert answer["rights"] == "view"
    invitation = await lead.client.wait_for("invitation", session_id=session.id)
    assert invitation.get("supervise") is True
    ss = await lead.client.accept_invitation(session.id)
    await ss.wait_until(lambda: ss.frames_decoded > 0, 15, "the supervisor sees the page's video")
    people = customer.page.locator("#people li")
    await expect(people).to_have_count(4, timeout=WAIT_MS)
    await expect(people.nth(3)).to_contain_text("박팀장", timeout=WAIT_MS)
    await expect(people.nth(3).locator(".role")).to_have_text("참관자", timeout=WAIT_MS)
    await expect(people.nth(2).locator(".role")).to_have_text("전문가", timeout=WAIT_MS)
    await expect(customer.page.locator("#people-changed")).to_contain_text("박팀장 (참관자) 님이 상담에 참여했습니다",
                                                                          timeout=WAIT_MS)
    listed = await customer.value(f"{CALL}.participants.map((p) => [p.index, p.role, p.rights])")
    assert listed == [[0, "customer", "full"], [1, "agent", "full"], [2, "guest", "full"], [3, "supervisor", "view"]]
    await shot(customer.page, "browser-roles-supervisor-ko")
    await customer.assert_no_errors()


async def test_the_page_in_english_says_supervisor(server, phone, agents, shot):
    customer = await phone("en-US")
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    lead = await another_agent(server.url, agents, "Lead Park", role="admin")
    await lead.client.rest.request("POST", f"/api/v1/admin/sessions/{session.id}/supervise")
    await lead.client.wait_for("invitation", session_id=session.id)
    await lead.client.accept_invitation(session.id)
    people = customer.page.locator("#people li")
    await expect(people).to_have_count(3, timeout=WAIT_MS)
    await expect(people.nth(2).locator(".role")).to_have_text("supervisor", timeout=WAIT_MS)
    await expect(customer.page.locator("#people-changed")).to_contain_text("Lead Park (supervisor) joined",
                                                                          timeout=WAIT_MS)
    await shot(customer.page, "browser-roles-supervisor-en")
    await customer.assert_no_errors()


async def test_a_call_sealed_from_the_start_shows_one_code_and_no_change(server, phone, agents, shot):
    """Both clients say version 2 at connect: the agent's client still agrees a version-1 pair, but the page
    shows only the version-2 pair's code, from the first code shown on, and never says it changed."""
    customer = await phone("ko-KR", init_script=CODE_WATCH + HOLD_CAPABILITIES)
    agent = await agents.new(server.url, "sealed")
    await customer.join(server.url, agent.session["code"])
    await agent.accept(timeout=15, versions=[1, 2])
    session = agent.current
    # the version-1 pair is agreed while the capabilities wait: the page has its keys, and shows no code
    await customer.wait(f"{CALL} && {CALL}.keys.sas !== null", 15_000)
    await expect(customer.page.locator("#sas-badge")).to_be_hidden()
    assert await customer.value("window.codesShown") == [] and not await customer.value(f"{CALL}.mediaReady()")
    await customer.value("window.releaseCapabilities()")
    code = await sealed_pair_code(customer, session)
    assert await customer.value(f"{CALL}.keys.sas") is not None  # a version-1 pair was agreed, and not shown
    shown = await customer.value("window.codesShown")
    assert len(shown) == 1 and shown[0].endswith(code), shown  # the badge's label, then the one code
    assert await customer.value("window.codeNotices") == []
    await expect(customer.page.locator("#sas-changed")).to_be_hidden()
    await shot(customer.page, "browser-roles-sealed-start-ko")
    await customer.assert_no_errors()



async def test_an_experts_picture_shows_while_the_agent_shows_none(server, phone, agents, shot):
    """One picture on a phone: the session's agent's while its video is on; while it is off, an invited
    expert's (full rights) who sends one, asked for a keyframe with `to`; the agent's video on takes the
    screen back, and the expert's picture stopping frees it."""
    customer = await phone("ko-KR")
    agent = await start_call(server.url, agents, customer)
    session = agent.current
    xs = await invite_expert(server.url, agents, agent, "이전문")
    await customer.wait(f"{CALL}.group.ready && {CALL}.group.keys.opener.epochs(2).length > 0", 20_000)
    assert await customer.value(f"{CALL}.pictureFrom") is None
    xs.agent_video(True, TestPatternTrack(320, 240, 15))
    await customer.wait(f"{CALL}.pictureFrom === 2 && {CALL}.stats.agent_frames >= 5", WAIT_MS)
    await expect(customer.page.locator("#agent-video")).to_be_visible(timeout=WAIT_MS)
    await shot(customer.page, "browser-roles-expert-picture-ko")
    # the session's agent shows its own: the screen is its
    session.agent_video(True, TestPatternTrack(320, 240, 15))
    await customer.wait(f"{CALL}.pictureFrom === 1 && {CALL}.guestPicture === null", WAIT_MS)
    shown = await customer.value(f"{CALL}.stats.agent_frames")
    await customer.wait(f"{CALL}.stats.agent_frames >= {shown} + 5", WAIT_MS)
    # the agent's off again: the expert's picture comes back; the expert stops: no picture (after its idle time)
    session.agent_video(False)
    await customer.wait(f"{CALL}.pictureFrom === 2", WAIT_MS)
    xs.agent_video(False)
    await customer.wait(f"{CALL}.pictureFrom === null", WAIT_MS)
    await expect(customer.page.locator("#agent-video")).to_be_hidden(timeout=WAIT_MS)
    await customer.assert_no_errors()
