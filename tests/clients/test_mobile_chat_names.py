"""Issue 21 in the customer's app (the real window, offscreen, against the real server): once an expert joined,
each agent's chat line over the picture starts with its writer's name; in the call of two it did not."""

from __future__ import annotations

import pytest

from .test_mobile_people import _cast, _invite, open_window
from .test_mobile_window import ARTIFACTS


@pytest.mark.slow
async def test_the_app_names_each_agent_once_an_expert_joined(server, agent_factory, qtbot):
    window = None
    async with _cast(server, agent_factory) as cast:
        thread, agent = cast.thread, cast.agent
        try:
            window = open_window(server, qtbot, agent.session["code"])
            thread.run(agent.accept(), timeout=15)
            qtbot.waitUntil(lambda: window.call.sas is not None, timeout=10000)
            thread.call(agent.chat, "둘만의 문장")
            qtbot.waitUntil(lambda: window.view.chat_lines() == [("agent", "둘만의 문장")], timeout=10000)

            guest = thread.run(_invite(agent, cast.expert, cast.expert_info["id"]), timeout=20)
            qtbot.waitUntil(lambda: len(window.presence.people()) == 3 and set(window.presence.codes) == {1, 2},
                            timeout=10000)
            # the app holds both agents' current sender keys (a line sealed before would not open)
            held = window.bridge.session.media.group
            qtbot.waitUntil(lambda: all(held.keys is not None and held.keys.highest.get(i) == s.media.group.keys.epoch
                                        for i, s in ((1, agent.current), (2, guest))), timeout=10000)
            thread.call(agent.chat, "상담원의 문장")
            qtbot.waitUntil(lambda: window.view.chat_lines()[-1][1].endswith("상담원의 문장"), timeout=10000)
            thread.call(guest.send_chat, "전문가의 문장")
            qtbot.waitUntil(lambda: window.view.chat_lines()[-1][1].endswith("전문가의 문장"), timeout=10000)
            assert window.view.chat_lines() == [
                ("agent", f"{cast.agent_info['name']}: 둘만의 문장"),  # shown again: named now too
                ("agent", f"{cast.agent_info['name']}: 상담원의 문장"),
                ("agent", f"{cast.expert_info['name']}: 전문가의 문장")]
            window.view.repaint()
            ARTIFACTS.mkdir(exist_ok=True)
            assert window.grab().save(str(ARTIFACTS / "mobile-chat-names-ko.png"))
        finally:
            if window is not None:
                window.close()
