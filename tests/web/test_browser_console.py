"""The real agent console (PyQt5, offscreen) with the customer page in headless Chromium, on the real
server: the console accepts, the page's camera frames show in the console's viewer under the same
security code, and a chat typed in the console appears in the page."""

from __future__ import annotations

import pytest
from anysupport_qt import Qt

from tests.agent import conftest as console_fixtures
from tests.support.browser import write_pattern_y4m
from tests.support.console_page import Chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# the agent console's fixtures (tests/agent/conftest.py), used here by name
console_home = console_fixtures.console_home
console_factory = console_fixtures.console_factory
helper_loop = console_fixtures.helper_loop
new_agent = console_fixtures.new_agent
log_in, screenshot, ARTIFACTS = console_fixtures.log_in, console_fixtures.screenshot, console_fixtures.ARTIFACTS


@pytest.fixture
def chromium(helper_loop, tmp_path):
    browser = Chromium(helper_loop, write_pattern_y4m(tmp_path / "pattern.y4m"))
    yield browser
    browser.close()


def test_the_console_shows_the_pages_camera_and_its_chat_shows_in_the_page(qtbot, console_factory, new_agent,
                                                                           chromium, server):
    login, password = new_agent()
    app = console_factory()
    main = log_in(qtbot, app, login, password)
    tab = main.sessions_tab
    before = {r["id"] for r in tab.model.rows}
    tab.create_button.click()
    qtbot.waitUntil(lambda: len(tab.model.rows) > len(before), timeout=10000)
    session = next(r for r in tab.model.rows if r["id"] not in before)

    page = chromium.page()
    chromium.run(page.join(server.url, session["code"]))

    def state_is(state):
        row = tab.model.row_of(session["id"])
        return row >= 0 and tab.model.rows[row].get("state") == state

    qtbot.waitUntil(lambda: state_is("online"), timeout=15000)
    tab.table.selectRow(tab.model.row_of(session["id"]))
    tab.connect_button.click()
    qtbot.waitUntil(lambda: state_is("connected"), timeout=15000)

    viewer = main.viewer
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.session_id == session["id"], timeout=5000)
    viewer.resize(1180, 760)
    view = viewer.view
    # the page's camera (the stamped test pattern, encoded by WebCodecs) decoded and shown in the viewer
    qtbot.waitUntil(lambda: view.rendered is not None and view.rendered.frame_size[0] > 0, timeout=20000)
    # the console speaks version 2 and so does the page: the call is sealed from the start, and the viewer shows
    # the code of its pair with the page, the one the page shows
    chromium.run(page.wait("window.anysupportCall.group.active && window.anysupportCall.sas !== null"))
    sas = chromium.run(page.value("window.anysupportCall.sas"))
    assert sas
    qtbot.waitUntil(lambda: sas in viewer.sas_label.text(), timeout=10000)
    sent = chromium.run(page.stats())["video_sent"]
    assert sent > 0
    first = view.rendered

    def showing_new_frames():
        return view.rendered is not first

    qtbot.waitUntil(showing_new_frames, timeout=10000)  # the picture keeps coming
    # the page's capabilities reached the console: the fake camera reports no flash
    qtbot.waitUntil(lambda: not viewer.camera_bar.flash_button.isEnabled(), timeout=5000)

    viewer.panel.chat_edit.setFocus()
    viewer.panel.chat_edit.setText("화면이 잘 보입니다")
    qtbot.keyClick(viewer.panel.chat_edit, Qt.Key_Return)

    def page_shows_chat():
        return chromium.run(page.value("document.getElementById('chat-log').textContent"), 5).count("화면이 잘 보입니다")

    qtbot.waitUntil(page_shows_chat, timeout=10000)
    screenshot(viewer, "viewer-browser-customer-ko")
    chromium.run(page.page.screenshot(path=str(ARTIFACTS / "browser-console-chat-ko.png")))
    chromium.run(page.assert_no_errors())
