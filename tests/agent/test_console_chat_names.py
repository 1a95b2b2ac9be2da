"""Issue 21: in a call of three, every chat line on both real consoles (offscreen) says who wrote it: 나 for the
console's own lines, the customer by name, the other agent by name and role; before the expert joined, the call
of two showed 상담원 / 고객 as always. The headless customer (versions [1, 2]) on the real server."""

from __future__ import annotations

import pytest
from anysupport_agent.texts import Texts

from .conftest import screenshot
from .test_console_invite import expert_joins
from .test_console_session import auto_connected_call

pytestmark = pytest.mark.slow


def lines(viewer) -> list[str]:
    model = viewer.panel.chat_model
    return [model.index(i).data() for i in range(model.rowCount())]


def type_chat(qtbot, viewer, text: str) -> None:
    viewer.panel.chat_edit.setText(text)
    qtbot.keyClick(viewer.panel.chat_edit, "\r")


def test_both_consoles_name_each_line_in_a_call_of_three(qtbot, console_factory, customer_factory, new_agent):
    ko = Texts("ko")
    app, main, session, customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent)
    sid = session["id"]
    host = main.viewer
    agent_name = app.bridge.client.agent_client.agent["name"]
    type_chat(qtbot, host, "둘이서 한 말")
    qtbot.waitUntil(lambda: any(c["text"] == "둘이서 한 말" for c in customer.session.chat), timeout=10000)
    qtbot.waitUntil(lambda: lines(host) == ["상담원: 둘이서 한 말"], timeout=10000)  # a call of two keeps its look

    other, other_main, _login, _password = expert_joins(qtbot, console_factory, new_agent, main, sid)
    viewer = other_main.viewer
    live = other.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: len(viewer.participants.participants) == 3 and 0 in live.pair_sas and 1 in live.pair_sas,
                    timeout=15000)
    qtbot.waitUntil(lambda: len(host.participants.participants) == 3 and bool(host.participants.code_of(2)),
                    timeout=15000)
    qtbot.waitUntil(lambda: len(customer.session.participants) == 3, timeout=10000)
    # every participant holds the others' current sender keys (a line sealed before would not open)
    mine = app.bridge.client.agent_client.live_sessions[sid]
    holders = {0: customer.session.media, 1: mine.media, 2: live.media}
    senders = {1: mine.media, 2: live.media}

    def keys_held() -> bool:
        return all(h.group.keys is not None and s.group.keys is not None
                   and h.group.keys.highest.get(i) == s.group.keys.epoch
                   for j, h in holders.items() for i, s in senders.items() if i != j)

    qtbot.waitUntil(keys_held, timeout=10000)
    # the line from before is named too, now that the call had a third
    assert lines(host) == ["나: 둘이서 한 말"]

    type_chat(qtbot, host, "상담원이 씁니다")
    qtbot.waitUntil(lambda: any(e.get("text") == "상담원이 씁니다" for e in viewer.panel.chat_model.entries),
                    timeout=10000)
    qtbot.waitUntil(lambda: len(host.panel.chat_model.entries) == 2, timeout=10000)
    type_chat(qtbot, viewer, "전문가가 씁니다")
    qtbot.waitUntil(lambda: any(e.get("text") == "전문가가 씁니다" for e in host.panel.chat_model.entries),
                    timeout=10000)
    customer.loop.call(customer.session.send_chat, "고객이 씁니다")
    for console in (host, viewer):
        qtbot.waitUntil(lambda c=console: any(e.get("text") == "고객이 씁니다" for e in c.panel.chat_model.entries),
                        timeout=10000)
    expert = f"이전문 ({ko('role_guest')})"
    assert ko("role_guest") == "전문가"
    assert lines(host)[1:] == ["나: 상담원이 씁니다", f"{expert}: 전문가가 씁니다", "홍길동: 고객이 씁니다"]
    assert lines(viewer)[-3:] == [f"{agent_name} (상담원): 상담원이 씁니다", "나: 전문가가 씁니다",
                                  "홍길동: 고객이 씁니다"]
    qtbot.waitUntil(lambda: viewer.view.rendered is not None, timeout=15000)  # the picture in the shots
    host.side_tabs.setCurrentIndex(0)
    viewer.side_tabs.setCurrentIndex(0)
    screenshot(host, "chat-names-agent-ko")
    screenshot(viewer, "chat-names-expert-ko")
