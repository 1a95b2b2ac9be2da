"""Issue 21 "Nobody hidden" in the customer's app: the real window (offscreen, then the real program under
Xvfb with the xcb platform) against the real server, the session's agent and an invited expert: the app
lists who is present with their roles in Korean and says each join and leave."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from anysupport_client.loop import LoopThread
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import CustomerSession
from anysupport_mobile.bridge import SessionBridge
from anysupport_mobile.presence_view import NOTICE_FILL, notice_lines, people_rows
from anysupport_mobile.texts import text
from anysupport_mobile.window import MobileWindow, setup_application
from anysupport_qt import QColor, QImage, qt_text_renderer

from tests.support.agent import AgentPeer
from tests.support.processes import assert_ran_cleanly, end_process
from tests.support.xvfb import Xvfb

from .test_mobile_window import ARTIFACTS


@dataclass
class Cast:
    """The session's agent (with a new session) and another agent whose console is open (it can be invited),
    both on their own loop thread."""

    thread: LoopThread
    agent: AgentPeer
    expert: AgentPeer
    agent_info: dict[str, Any]
    expert_info: dict[str, Any]


@contextlib.asynccontextmanager
async def _cast(server, agent_factory):
    agent_api, agent_info, _ = await agent_factory()
    expert_api, expert_info, _ = await agent_factory()
    thread = LoopThread("agents").start()
    started: list[AgentPeer] = []

    async def start(token: str) -> AgentPeer:
        peer = AgentPeer(server.url, token=token)
        started.append(peer)
        await peer.start()
        return peer

    try:
        agent = thread.run(start(agent_api.token), timeout=15)
        thread.run(agent.create_session(), timeout=15)
        expert = thread.run(start(expert_api.token), timeout=15)
        yield Cast(thread, agent, expert, agent_info, expert_info)
    finally:
        for peer in started:
            thread.run(peer.close(), timeout=10)
        thread.stop()


def open_window(server, qtbot, code: str) -> MobileWindow:
    """The customer's app window (offscreen, Korean, test pattern and tone) joining ``code``, shown."""
    _app, family = setup_application()
    bridge = SessionBridge(lambda: CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(),
                                                   language="ko", text_renderer=qt_text_renderer(family)))
    window = MobileWindow(bridge, language="ko", code=code)
    qtbot.addWidget(window)
    window.show()
    return window


async def _invite(agent: AgentPeer, expert: AgentPeer, expert_id: str):
    await agent.client.invite(agent.session_id, expert_id, "full")
    await expert.client.wait_for("invitation", session_id=agent.session_id)
    return await expert.client.accept_invitation(agent.session_id)


@pytest.mark.slow
async def test_the_app_lists_the_agents_with_their_roles_and_says_who_joined_and_left(server, agent_factory, qtbot):
    window = None
    async with _cast(server, agent_factory) as cast:
        thread, agent, expert = cast.thread, cast.agent, cast.expert
        agent_info, expert_info = cast.agent_info, cast.expert_info
        try:
            window = open_window(server, qtbot, agent.session["code"])
            bridge = window.bridge
            thread.run(agent.accept(), timeout=15)
            qtbot.waitUntil(lambda: window.call.sas is not None, timeout=10000)
            # a call of two: the customer and the agent, as the page lists them, and no notice
            qtbot.waitUntil(lambda: len(window.presence.people()) == 2, timeout=5000)
            rows = people_rows(window.presence, window.view.t)
            assert [r[:2] for r in rows] == [("", "나"), (agent_info["name"], "상담원")]
            assert notice_lines(window.presence, window.view.t) == []

            thread.run(_invite(agent, expert, expert_info["id"]), timeout=20)
            qtbot.waitUntil(lambda: len(window.presence.people()) == 3, timeout=10000)
            rows = people_rows(window.presence, window.view.t)
            assert [r[:2] for r in rows] == [("", "나"), (agent_info["name"], "상담원"), (expert_info["name"], "전문가")]
            assert all(present for *_, present in rows)
            joined = text("people_joined", "ko", name=expert_info["name"], role="전문가")
            assert notice_lines(window.presence, window.view.t) == [joined]
            assert "님이 상담에 참여했습니다" in joined
            # each agent's line carries the code of the customer's pair with it, the one the agent sees
            qtbot.waitUntil(lambda: set(window.presence.codes) == {1, 2}, timeout=10000)
            pairs = bridge.session.pair_sas
            assert [r[2] for r in people_rows(window.presence, window.view.t)] == [
                "", text("people_code", "ko", sas=window.presence.codes[1]), text("people_code", "ko", sas=window.presence.codes[2])]
            assert window.presence.codes[2].replace(" ", "") == pairs[2].replace(" ", "")
            assert window.call.sas == window.presence.codes[1]  # the code pill and the agent's line agree
            window.view.repaint()
            ARTIFACTS.mkdir(exist_ok=True)
            assert window.grab().save(str(ARTIFACTS / "mobile-people-ko.png"))

            # removed by the session's agent: gone from the list, and said
            thread.run(agent.current.remove_participant(2), timeout=10)
            qtbot.waitUntil(lambda: len(window.presence.people()) == 2, timeout=10000)
            left = text("people_left", "ko", name=expert_info["name"], role="전문가")
            assert notice_lines(window.presence, window.view.t) == [joined, left] and "상담에서 나갔습니다" in left
            assert 2 not in window.presence.codes
            window.toggle_language()  # English on the fly
            assert notice_lines(window.presence, window.view.t)[-1] == f"{expert_info['name']} (expert) left the session."
            window.view.repaint()
            assert window.grab().save(str(ARTIFACTS / "mobile-people-left-en.png"))
        finally:
            if window is not None:
                window.close()


def _notice_pixels(path) -> int:
    """How many pixels of the shot have the join/leave notice's colour."""
    image = QImage(str(path))
    fill = NOTICE_FILL
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = QColor(image.pixel(x, y))
            if abs(c.red() - fill.red()) < 12 and abs(c.green() - fill.green()) < 12 and abs(c.blue() - fill.blue()) < 16:
                count += 1
    return count


@pytest.mark.slow
async def test_the_app_under_xcb_shows_who_is_present(server, agent_factory):
    """The real program (``python -m anysupport_mobile``, Korean) in a real X server with Qt's xcb platform:
    once the expert has joined, the list and the notice are painted; the window's shot is saved."""
    program = None
    async with _cast(server, agent_factory) as cast:
        thread, agent, expert = cast.thread, cast.agent, cast.expert
        try:
            with Xvfb(1366, 768) as display:
                program = subprocess.Popen(
                    [sys.executable, "-m", "anysupport_mobile", "--server", server.url, "--code", agent.session["code"],
                     "--name", "홍길동", "--lang", "ko", "--audio", "none", "--speaker", "none"],
                    env=display.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True)
                display.wait_window(text("title", "ko"), alive=program)
                thread.run(agent.accept(), timeout=15)
                guest = thread.run(_invite(agent, expert, cast.expert_info["id"]), timeout=20)
                # the customer's pair with the expert agreed: the app has had the list with the expert in it
                thread.run(guest.wait_until(lambda: 0 in guest.pair_sas, 10, "the expert's pair with the customer"),
                           timeout=15)
                shot = ARTIFACTS / "mobile-people-xcb-ko.png"
                for _ in range(20):  # the window repaints on its 250 ms ticker: look until the notice is there
                    display.screenshot(shot)
                    if _notice_pixels(shot) > 500:
                        break
                else:
                    raise AssertionError(f"no join notice painted (see {shot})")
                assert program.poll() is None
        finally:
            if program is not None:
                end_process(program, 15)
    assert_ran_cleanly(program.stderr.read())


def test_the_window_lists_a_supervisor_and_marks_the_absent(qtbot):
    """The roles the server may send (a supervisor from the admin pages' 참관, a view-only expert) and a dropped
    socket, fed to the real window as the session would: each listed with its text, the absent greyed."""
    _app, _family = setup_application()
    bridge = SessionBridge(lambda: CustomerSession("http://127.0.0.1:9", video=TestPatternTrack(), language="ko"))
    window = MobileWindow(bridge, language="ko")
    qtbot.addWidget(window)
    try:
        people = [{"index": 0, "role": "customer", "name": "홍길동", "rights": "full", "present": True},
                  {"index": 1, "role": "agent", "name": "김상담", "rights": "full", "present": True},
                  {"index": 2, "role": "guest", "name": "이전문", "rights": "full", "present": False},
                  {"index": 3, "role": "guest", "name": "최보기", "rights": "view", "present": True}]
        window.on_event("state", {"state": "connected", "reason": None})
        window.on_event("participants", {"participants": people, "version": 2, "you": 0})
        window.on_event("pair_keys", {"peer": 1, "sas": "111222", "sas_display": "111 222"})
        supervisor = {"index": 4, "role": "supervisor", "name": "박팀장", "rights": "view", "present": True}
        window.on_event("participants", {"participants": [*people, supervisor], "version": 2, "you": 0})
        assert [r[:2] for r in people_rows(window.presence, window.view.t)] == [
            ("홍길동", "나"), ("김상담", "상담원"), ("이전문", "전문가 · 연결 끊김"), ("최보기", "전문가·보기 전용"),
            ("박팀장", "참관자")]
        assert [r[3] for r in people_rows(window.presence, window.view.t)] == [True, True, False, True, True]
        assert notice_lines(window.presence, window.view.t) == [text("people_joined", "ko", name="박팀장", role="참관자")]
        window.toggle_language()
        assert [r[1] for r in people_rows(window.presence, window.view.t)][-3:] == [
            "expert · disconnected", "expert, view only", "supervisor"]
        window.toggle_language()
        window.show()
        window.view.repaint()
        ARTIFACTS.mkdir(exist_ok=True)
        assert window.grab().save(str(ARTIFACTS / "mobile-people-roles-ko.png"))
    finally:
        window.close()
