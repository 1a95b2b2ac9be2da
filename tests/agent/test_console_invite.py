"""초대 between two real consoles (offscreen) with the headless customer (versions [1, 2]) on the real server:
invite with full rights (the expert sees the customer and draws), view-only (nothing can be sent), and removal
(the removed console says so and opens nothing sent afterwards). Issue 21."""

from __future__ import annotations

import time

import pytest
from anysupport_agent.texts import Texts
from anysupport_qt import QPoint, Qt

from tests.support.console import wait_viewer_on

from .conftest import ARTIFACTS, log_in, screenshot
from .test_console_session import auto_connected_call

pytestmark = pytest.mark.slow


def invite(qtbot, main, sid: str, login: str, rights: str):
    tab = main.sessions_tab
    tab.table.selectRow(tab.model.row_of(sid))
    tab.invite_button.click()
    qtbot.waitUntil(lambda: tab.invite_dialog is not None and tab.invite_dialog.isVisible(), timeout=10000)
    dialog = tab.invite_dialog
    assert dialog.choose(login)
    (dialog.view_button if rights == "view" else dialog.full_button).setChecked(True)
    return dialog


def accept_on(qtbot, other_main, sid: str, name: str = "invitation"):
    qtbot.waitUntil(lambda: sid in other_main.invitations, timeout=10000)
    dialog = other_main.invitations[sid]
    assert dialog.isVisible()
    return dialog


def draw_rect(qtbot, view):
    a, b = view.transform.widget_point(0.2, 0.3), view.transform.widget_point(0.6, 0.7)
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(round(a[0]), round(a[1])))
    qtbot.mouseMove(view, QPoint(round((a[0] + b[0]) / 2), round((a[1] + b[1]) / 2)))
    qtbot.mouseMove(view, QPoint(round(b[0]), round(b[1])))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(round(b[0]), round(b[1])))


def test_invite_an_expert_with_full_rights_then_remove(qtbot, console_factory, customer_factory, new_agent):
    ko = Texts("ko")
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent)
    sid = session["id"]
    expert_login, expert_password = new_agent(name="이전문")
    other = console_factory()
    other_main = log_in(qtbot, other, expert_login, expert_password)

    dialog = invite(qtbot, main, sid, expert_login, "full")
    screenshot(dialog, "invite-pick-ko")
    dialog.hand_button.click()
    qtbot.waitUntil(lambda: main.sessions_tab.message.text() == ko("invite_sent", name="이전문"), timeout=10000)

    offer = accept_on(qtbot, other_main, sid)
    assert "홍길동" in offer.text.text() and ko("rights_full") in offer.text.text()
    screenshot(offer, "invite-invitation-ko")
    accepted_at = time.monotonic()
    offer.accept_button.click()

    # the expert's viewer opens on the call and shows the customer's picture
    viewer = other_main.viewer
    wait_viewer_on(qtbot, other_main, sid)
    live = other.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: live.frames_decoded > 0, timeout=15000)
    first_frame_s = time.monotonic() - accepted_at
    print(f"accept -> first decoded frame: {first_frame_s * 1000:.0f} ms")
    qtbot.waitUntil(lambda: viewer.view.rendered is not None, timeout=15000)
    # a guest learns the customer's name only (not the contact details)
    assert viewer.session.get("customer") == {"name": "홍길동"}

    # the participants, on both consoles and the customer's: three, each pair with its code
    panel = viewer.participants
    qtbot.waitUntil(lambda: len(panel.participants) == 3 and bool(panel.code_of(0) and panel.code_of(1)), timeout=15000)
    assert [(p["index"], p["role"], p["rights"]) for p in panel.participants] == [
        (0, "customer", "full"), (1, "agent", "full"), (2, "guest", "full")]
    host_panel = main.viewer.participants
    qtbot.waitUntil(lambda: len(host_panel.participants) == 3 and bool(host_panel.code_of(2)), timeout=15000)
    assert host_panel.code_of(2) == panel.code_of(1)  # the same pair, the same code on both sides
    assert main.viewer.message.text() == ko("participant_joined", name="이전문", role=ko("role_guest"))
    qtbot.waitUntil(lambda: len(customer.session.participants) == 3, timeout=10000)
    assert customer.session.participants[2]["name"] == "이전문"
    viewer.side_tabs.setCurrentWidget(panel)
    screenshot(viewer, "invite-expert-viewer-ko")

    # the expert draws: the customer receives it
    assert viewer.drawing_bar.isEnabled() and viewer.panel.send_button.isEnabled()
    assert not viewer.end_button.isEnabled()  # the call is its agent's to end
    viewer.drawing_bar.shape_buttons["rect"].click()
    draw_rect(qtbot, viewer.view)
    qtbot.waitUntil(lambda: len(customer.session.scene) == 1, timeout=10000)

    # the session's agent removes the expert: the expert's console says so and opens nothing more
    main.viewer.side_tabs.setCurrentWidget(host_panel)
    host_panel.select(2)
    assert host_panel.remove_button.isEnabled()
    host_panel.remove_button.click()
    qtbot.waitUntil(lambda: live.removed, timeout=10000)
    qtbot.waitUntil(lambda: viewer.view.notice == ko("removed_from_call"), timeout=10000)
    qtbot.waitUntil(lambda: other_main.sessions_tab.model.row_of(sid) < 0, timeout=10000)
    assert not viewer.drawing_bar.isEnabled() and not panel.participants
    qtbot.waitUntil(lambda: main.viewer.message.text() == ko("participant_left", name="이전문"), timeout=10000)
    assert [p["index"] for p in host_panel.participants] == [0, 1]
    screenshot(viewer, "invite-expert-removed-ko")
    decoded = live.frames_decoded
    host = app.bridge.client.agent_client.live_sessions[sid]
    host_before = host.frames_decoded
    qtbot.waitUntil(lambda: host.frames_decoded > host_before + 20, timeout=15000)  # the call goes on
    assert live.frames_decoded == decoded  # nothing sent after the removal opened in the removed console


def test_view_only_guest_has_no_controls_in_english(qtbot, console_factory, customer_factory, new_agent):
    en = Texts("en")
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent,
                                                       language="en")
    sid = session["id"]
    watcher_login, watcher_password = new_agent(name="Kim Watcher")
    other = console_factory("en")
    other_main = log_in(qtbot, other, watcher_login, watcher_password)
    # this time from the viewer's Participants tab
    host_panel = main.viewer.participants
    assert host_panel.invite_button.isEnabled()  # a call of two: no list yet, but its agent may invite
    main.viewer.side_tabs.setCurrentWidget(host_panel)
    assert host_panel.invite_button.text() == en("participant_invite")
    host_panel.invite_button.click()
    tab = main.sessions_tab
    qtbot.waitUntil(lambda: tab.invite_dialog is not None and tab.invite_dialog.isVisible(), timeout=10000)
    dialog = tab.invite_dialog
    assert dialog.choose(watcher_login)
    dialog.view_button.setChecked(True)
    assert dialog.view_button.text() == en("rights_view")
    dialog.hand_button.click()
    qtbot.waitUntil(lambda: main.viewer.message.text() == en("invite_sent", name="Kim Watcher"), timeout=10000)
    offer = accept_on(qtbot, other_main, sid)
    assert en("rights_view") in offer.text.text()
    screenshot(offer, "invite-invitation-view-en")
    offer.accept_button.click()
    viewer = other_main.viewer
    wait_viewer_on(qtbot, other_main, sid)
    live = other.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: live.frames_decoded > 0 and viewer.view.rendered is not None, timeout=15000)
    # no drawing, camera, voice, directions or chat: all greyed
    assert not viewer.drawing_bar.isEnabled() and not viewer.camera_bar.isEnabled()
    assert not viewer.camera_bar.agent_video_button.isEnabled() or not viewer.camera_bar.isEnabled()
    assert not viewer.panel.send_button.isEnabled() and not viewer.panel.chat_edit.isEnabled()
    assert not any(b.isEnabled() for b in viewer.panel.direction_buttons.values())
    panel = viewer.participants
    qtbot.waitUntil(lambda: len(panel.participants) == 3, timeout=10000)
    assert panel.participants[2]["rights"] == "view" and not panel.remove_button.isEnabled()
    viewer.side_tabs.setCurrentWidget(panel)
    screenshot(viewer, "invite-view-only-en")
    # even asked directly, nothing reaches the customer (the server refuses a view-only sender)
    refused: list[dict] = []
    other.bridge.client.agent_client.listeners.append(
        lambda name, data: refused.append(data) if name == "error" and data.get("error") == "view_only" else None)
    other.bridge.call(lambda: other.bridge.client.chat(sid, "hello"))
    qtbot.waitUntil(lambda: len(refused) >= 1, timeout=10000)
    other.bridge.call(lambda: other.bridge.client.annotate(sid, "add", {
        "id": "v1", "shape": "rect", "color": "#ff0000", "width": 4, "points": [[0.1, 0.1], [0.3, 0.3]]}))
    host = app.bridge.client.agent_client.live_sessions[sid]
    marker = "from the agent"
    app.bridge.call(lambda: app.bridge.client.chat(sid, marker))  # the agent's line arrives; the guest's never did
    qtbot.waitUntil(lambda: any(c.get("text") == marker for c in customer.session.chat), timeout=10000)
    assert not any(c.get("text") == "hello" for c in customer.session.chat)
    assert len(customer.session.scene) == 0
    assert host.state == "connected"
    # the guest leaves by itself: everyone's list drops it
    assert panel.leave_button.isVisible() and not panel.invite_button.isVisible()
    panel.leave_button.click()
    qtbot.waitUntil(lambda: live.removed, timeout=10000)
    qtbot.waitUntil(lambda: viewer.view.notice == en("left_call"), timeout=10000)
    assert not viewer._left_myself  # said once: a later removal from another call is the host's doing
    qtbot.waitUntil(lambda: [p["index"] for p in host_panel.participants] == [0, 1], timeout=10000)
    assert main.viewer.message.text() == en("participant_left", name="Kim Watcher")


class AdminPage:
    """The admin pages in headless Chromium, driven from the helper loop's thread (Qt owns the test's)."""

    def __init__(self, loop, url: str):
        self.loop, self.url = loop, url

    async def open(self, login: str, password: str) -> None:
        from playwright.async_api import async_playwright

        from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

        self.pw = await async_playwright().start()
        self.chromium = await self.pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.page = await (await self.chromium.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
                           ).new_page()
        await self.page.goto(self.url + "/admin")
        await self.page.fill("#login-id", login)
        await self.page.fill("#login-password", password)
        await self.page.click("#login-button")
        await self.page.wait_for_selector("#admin-view", state="visible")
        await self.page.click("[data-tab=live]")

    async def close(self) -> None:
        await self.chromium.close()
        await self.pw.stop()


def test_an_administrator_supervises_from_the_admin_pages(qtbot, console_factory, customer_factory, new_agent, server,
                                                          helper_loop):
    from playwright.async_api import expect

    ko = Texts("ko")
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent)
    sid = session["id"]
    lead = f"lead{sid[-8:]}"
    helper_loop.run(_make_admin(server.url, lead), timeout=30)
    page = AdminPage(helper_loop, server.url)
    helper_loop.run(page.open(lead, "pw-" + lead), timeout=60)
    try:
        # the lead's console is closed: the page says so and 참관 cannot be pressed
        async def closed_notice():
            row = page.page.locator(f"#live-table tbody tr[data-id='{sid}']")
            await expect(row).to_contain_text("홍길동")
            await expect(row).to_contain_text("상담 중")
            await expect(page.page.locator("#live-console-closed")).to_be_visible()
            await expect(row.locator("button.supervise")).to_be_disabled()
            await page.page.screenshot(path=str(ARTIFACTS / "admin-live-console-closed-ko.png"), full_page=True)

        helper_loop.run(closed_notice(), timeout=30)
        lead_app = console_factory()
        lead_main = log_in(qtbot, lead_app, lead, "pw-" + lead)

        async def supervise():
            await page.page.click("#live-refresh")
            await expect(page.page.locator("#live-console-closed")).to_be_hidden()
            row = page.page.locator(f"#live-table tbody tr[data-id='{sid}']")
            await page.page.screenshot(path=str(ARTIFACTS / "admin-live-ko.png"), full_page=True)
            await row.locator("button.supervise").click()
            await expect(page.page.locator("#status")).to_contain_text("참관합니다")
            await expect(row).to_contain_text("참관 중")
            await page.page.screenshot(path=str(ARTIFACTS / "admin-live-supervising-ko.png"), full_page=True)
            await page.page.click("button[data-lang=en]")  # the tab redrawn in the other language
            await expect(row).to_contain_text("Supervising")
            await expect(row).to_contain_text("In a call")
            await page.page.screenshot(path=str(ARTIFACTS / "admin-live-supervising-en.png"), full_page=True)

        helper_loop.run(supervise(), timeout=30)
        # the lead's console opens the viewer on the call, view-only, with no question asked
        viewer = lead_main.viewer
        wait_viewer_on(qtbot, lead_main, sid)
        live = lead_app.bridge.client.agent_client.live_sessions[sid]
        qtbot.waitUntil(lambda: live.frames_decoded > 0 and viewer.view.rendered is not None, timeout=15000)
        assert viewer.message.text() == ko("supervising")
        assert not viewer.drawing_bar.isEnabled() and not viewer.panel.send_button.isEnabled()
        assert not viewer.camera_bar.isEnabled()
        # nobody hidden: the customer sees the supervisor
        qtbot.waitUntil(lambda: len(customer.session.participants) == 3, timeout=10000)
        assert (customer.session.participants[2]["rights"], customer.session.participants[2]["role"]) == ("view",
                                                                                                         "supervisor")
        viewer.side_tabs.setCurrentWidget(viewer.participants)
        qtbot.waitUntil(lambda: len(viewer.participants.participants) == 3, timeout=10000)
        # its own row says what it is: 참관자, with view rights (the panel's role and rights columns)
        panel = viewer.participants
        row = panel.row_of(2)
        assert (panel.model.item(row, 1).text(), panel.model.item(row, 2).text()) == (ko("role_supervisor"),
                                                                                       ko("rights_view"))
        # an invited participant like any guest: it may leave, not invite nor remove
        assert not panel.leave_button.isHidden() and panel.invite_button.isHidden() and panel.remove_button.isHidden()
        screenshot(viewer, "supervise-viewer-ko")

        async def counted():  # refreshed, the page counts the supervisor among those present
            await page.page.click("#live-refresh")
            await expect(page.page.locator(f"#live-table tbody tr[data-id='{sid}'] td").nth(4)).to_have_text("3")

        helper_loop.run(counted(), timeout=30)
    finally:
        helper_loop.run(page.close(), timeout=30)


async def _make_admin(url: str, login: str) -> None:
    from tests.support.client import admin_api, create_agent

    await create_agent(await admin_api(url, client="web"), login, "pw-" + login, name="팀장 " + login[-4:],
                       role="admin")


def expert_joins(qtbot, console_factory, new_agent, main, sid: str, rights: str = "full"):
    """From ``main``'s console, 이전문 (a new agent with a console of its own) is invited into ``sid`` with
    ``rights`` and accepts; its viewer is on the call: (its app, its main window, its login and password)."""
    expert_login, expert_password = new_agent(name="이전문")
    other = console_factory()
    other_main = log_in(qtbot, other, expert_login, expert_password)
    invite(qtbot, main, sid, expert_login, rights).hand_button.click()
    accept_on(qtbot, other_main, sid).accept_button.click()
    wait_viewer_on(qtbot, other_main, sid)
    return other, other_main, expert_login, expert_password


def call_with_guest(qtbot, console_factory, customer_factory, new_agent, rights: str):
    """A connected call whose agent invited 이전문 with ``rights``, who accepted and whose viewer is on it:
    (app, main, session, customer, the guest's app, its main window, its login and password)."""
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent)
    return (app, main, session, customer,
            *expert_joins(qtbot, console_factory, new_agent, main, session["id"], rights))


def test_a_restarted_guest_console_finds_the_call_again(qtbot, console_factory, customer_factory, new_agent):
    app, main, session, customer, other, other_main, expert_login, expert_password = call_with_guest(
        qtbot, console_factory, customer_factory, new_agent, "view")
    sid = session["id"]
    other.shutdown()  # the console closes (or crashes) mid-call

    again = console_factory()
    again_main = log_in(qtbot, again, expert_login, expert_password)
    viewer = again_main.viewer
    wait_viewer_on(qtbot, again_main, sid)
    assert viewer.session.get("guest") and viewer.session.get("rights") == "view"
    assert viewer.session.get("customer") == {"name": "홍길동"}
    live = again.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: live.frames_decoded > 0 and viewer.view.rendered is not None, timeout=15000)
    assert not viewer.drawing_bar.isEnabled() and not viewer.panel.send_button.isEnabled()
    qtbot.waitUntil(lambda: len(viewer.participants.participants) == 3, timeout=10000)
    screenshot(viewer, "invite-guest-restarted-ko")
    # the call is listed, but inviting, handing over or ending it is its agent's
    tab = again_main.sessions_tab
    tab.table.selectRow(tab.model.row_of(sid))
    for button in (tab.invite_button, tab.handover_button, tab.end_button):
        tab.message.clear_message()
        button.click()
        assert tab.message.text() == Texts("ko")("guest_not_yours")
    assert live.state == "connected"


def test_a_guest_socket_that_cannot_open_is_said_in_the_viewer(qtbot, console_factory, customer_factory, new_agent):
    """A call on another node whose guest socket could not be opened (its node unreachable): the invited
    agent's viewer says so, in its language, and what to do (the client's ``guest_socket`` event, forwarded)."""
    _app, _main, session, _customer, other, other_main, _login, _password = call_with_guest(
        qtbot, console_factory, customer_factory, new_agent, "full")
    other.bridge.client.agent_client.emit("guest_socket", {"session_id": session["id"], "status": "failed",
                                                           "error": "connection refused"})
    qtbot.waitUntil(lambda: other_main.viewer.message.text() == Texts("ko")("guest_socket_failed"), timeout=5000)
