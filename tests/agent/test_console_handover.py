"""상담 넘기기 between two real consoles (offscreen) with the headless customer, on the real server (the
consoles and the app speak version 2: the call is sealed from the start and handed over with a new index)."""

from __future__ import annotations

import pytest
from anysupport_agent.texts import Texts

from tests.support.client import admin_api
from tests.support.console import wait_viewer_on

from .conftest import log_in, screenshot
from .test_console_session import auto_connected_call

pytestmark = pytest.mark.slow


def test_hand_over_a_call_to_a_colleague(qtbot, console_factory, customer_factory, new_agent, server, helper_loop):
    ko = Texts("ko")
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent)
    sid = session["id"]
    # both consoles and the app speak version 2: the call is sealed from the start, the codes are the pairs'
    qtbot.waitUntil(lambda: customer.session.agent_code is not None, timeout=15000)
    first_code = customer.session.agent_code
    assert customer.session.media.group.active and customer.session.agent_index == 1
    colleague_login, colleague_password = new_agent(name="이전문")
    other = console_factory()
    other_main = log_in(qtbot, other, colleague_login, colleague_password)

    # 상담 넘기기 on the live session: the colleagues' list, the colleague picked
    tab = main.sessions_tab
    tab.table.selectRow(tab.model.row_of(sid))
    tab.handover_button.click()
    qtbot.waitUntil(lambda: tab.handover_dialog is not None and tab.handover_dialog.isVisible(), timeout=10000)
    dialog = tab.handover_dialog
    assert dialog.choose(colleague_login)
    screenshot(dialog, "handover-pick-ko")
    dialog.hand_button.click()
    qtbot.waitUntil(lambda: "이전문" in tab.message.text(), timeout=10000)
    assert tab.message.text() == ko("handover_offered", name="이전문")

    # the colleague's console shows the offer; 수락 takes the call over
    qtbot.waitUntil(lambda: sid in other_main.handover_offers, timeout=10000)
    offer = other_main.handover_offers[sid]
    assert offer.isVisible() and "홍길동" in offer.text.text()
    screenshot(offer, "handover-offer-ko")
    offer.accept_button.click()

    # the new console has the session, connected, its viewer open with the customer's picture
    viewer = other_main.viewer
    wait_viewer_on(qtbot, other_main, sid)
    before = viewer.view.rendered
    qtbot.waitUntil(lambda: viewer.view.rendered is not None and viewer.view.rendered is not before, timeout=15000)
    live = other.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: live.customer_code is not None and live.frames_decoded > 0, timeout=15000)
    # the new agent has a new index (2) and a new pair with the customer: a new security code, the same on
    # both sides and on the new viewer; the customer's new epoch leaves the old console's keys behind
    qtbot.waitUntil(lambda: customer.session.agent_code is not None and customer.session.agent_code != first_code,
                    timeout=15000)
    assert customer.session.agent_index == 2 and live.index == 2
    assert customer.session.agent_code == live.customer_code
    qtbot.waitUntil(lambda: viewer.sas_label.text() == ko("sas", sas=live.customer_code), timeout=10000)
    assert customer.session.agent_name == "이전문"
    assert other_main.sessions_tab.model.row_of(sid) >= 0
    assert ko("rekey_limited", seconds=1)[:10] not in viewer.message.text()  # a wait it had to make is over
    screenshot(viewer, "handover-viewer-new-agent-ko")

    # the old console no longer has it
    qtbot.waitUntil(lambda: tab.model.row_of(sid) < 0, timeout=10000)
    assert sid not in app.bridge.client.agent_client.live_sessions
    assert tab.message.text() == ko("handover_done", name="이전문")
    assert not main.viewer.isVisible()

    # the record is the new agent's and names both
    async def record():  # as an administrator (a login of the colleague would conflict with its console)
        return (await (await admin_api(server.url)).get(f"/api/v1/sessions/{sid}/record")).json

    answer = helper_loop.run(record(), timeout=30)
    assert [a["login"] for a in answer["agents"]][-1] == colleague_login and len(answer["agents"]) == 2
    assert answer["agent_login"] == colleague_login


def test_a_declined_offer_is_said_to_the_offerer_in_english(qtbot, console_factory, customer_factory, new_agent):
    en = Texts("en")
    app, main, session, _customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent,
                                                        language="en")
    sid = session["id"]
    colleague_login, colleague_password = new_agent(name="Lee Expert")
    other = console_factory("en")
    other_main = log_in(qtbot, other, colleague_login, colleague_password)
    tab = main.sessions_tab
    tab.table.selectRow(tab.model.row_of(sid))
    tab.handover_button.click()
    qtbot.waitUntil(lambda: tab.handover_dialog is not None and tab.handover_dialog.isVisible(), timeout=10000)
    assert tab.handover_dialog.choose(colleague_login)
    tab.handover_dialog.hand_button.click()
    qtbot.waitUntil(lambda: sid in other_main.handover_offers, timeout=10000)
    offer = other_main.handover_offers[sid]
    assert offer.accept_button.text() == en("handover_accept") and offer.decline_button.text() == en("handover_decline")
    screenshot(offer, "handover-offer-en")
    offer.decline_button.click()
    qtbot.waitUntil(lambda: tab.message.text() == en("handover_declined", name="Lee Expert"), timeout=10000)
    assert tab.model.row_of(sid) >= 0 and sid in app.bridge.client.agent_client.live_sessions  # the call stays
    assert other_main.sessions_tab.model.row_of(sid) < 0 and not other_main.handover_offers
