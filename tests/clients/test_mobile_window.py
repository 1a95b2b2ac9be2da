"""The mobile client's PyQt5 window, offscreen, against the real server and a scripted agent."""

import os
from pathlib import Path

import pytest
from anysupport_client.loop import LoopThread
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import CustomerSession
from anysupport_mobile.bridge import SessionBridge
from anysupport_mobile.texts import join_error_text, text
from anysupport_mobile.window import MobileWindow, setup_application
from anysupport_qt import QColor, Qt, qt_text_renderer

from tests.support.agent import AgentPeer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def _agent(url, token):
    agent = AgentPeer(url, token=token)
    await agent.start()
    await agent.create_session()
    return agent


def _red(color: QColor) -> bool:
    return color.red() > 180 and color.green() < 90 and color.blue() < 90


@pytest.mark.slow
async def test_mobile_window_shows_what_the_agent_sends_and_takes_the_survey(server, agent_factory, qtbot):
    client, _, _ = await agent_factory()
    agent_thread = LoopThread("agent").start()
    window = None
    try:
        agent: AgentPeer = agent_thread.run(_agent(server.url, client.token), timeout=15)
        _app, family = setup_application()
        bridge = SessionBridge(lambda: CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(),
                                                       language="ko", text_renderer=qt_text_renderer(family)))
        window = MobileWindow(bridge, language="ko")
        qtbot.addWidget(window)
        window.show()
        assert window.join_panel.isVisible() and window.join_panel.label.text().startswith("상담원이")
        qtbot.keyClicks(window.join_panel.code_edit, agent.session["code"])
        qtbot.mouseClick(window.join_panel.button, Qt.LeftButton)
        agent_thread.run(agent.accept(), timeout=15)
        qtbot.waitUntil(lambda: window.call.sas is not None and window.view.image is not None, timeout=10000)
        assert not window.join_panel.isVisible() and window.call.state == "connected"
        assert window.call.sas == bridge.session.sas

        # the menu reflects what this device can do, and its flash reaches the agent
        assert window.flash_action.isEnabled() and "지원 안 됨" not in window.flash_action.text()
        assert "지원 안 됨" in window.speaker_action.text()  # no loudspeaker routing here, said honestly
        window.flash_action.trigger()
        agent_thread.run(agent.wait_for("camera_state", flash=True), timeout=10)

        agent_thread.call(agent.chat, "카메라를 제품 뒷면으로 비춰 주세요")
        agent_thread.call(agent.guide, "left")
        agent_thread.call(agent.recording, True)
        agent_thread.call(agent.annotate, "add", {"id": "a1", "shape": "arrow", "color": "#ff0000", "width": 6,
                                                  "points": [[0.15, 0.85], [0.45, 0.55]]})
        agent_thread.call(agent.annotate, "add", {"id": "t1", "shape": "text", "color": "#ffff00", "width": 1,
                                                  "points": [[0.5, 0.4]], "text": "이 나사를 푸세요", "size": 28})
        agent_thread.call(agent.agent_video, True, TestPatternTrack(320, 240, 15))
        qtbot.waitUntil(lambda: window.call.recording and bool(window.call.chat) and window.call.guide is not None
                        and window.view.agent_image is not None and len(bridge.session.scene) == 2, timeout=10000)

        # the arrow is in the composited preview, at its normalised place
        def arrow_shown() -> bool:
            image = window.view.image
            x, y = int(0.30 * image.width()), int(0.70 * image.height())
            return _red(QColor(image.pixel(x, y)))

        qtbot.waitUntil(arrow_shown, timeout=5000)
        image = window.view.image
        assert not _red(QColor(image.pixel(int(0.8 * image.width()), int(0.7 * image.height()))))

        ARTIFACTS.mkdir(exist_ok=True)
        window.view.repaint()
        path = ARTIFACTS / "mobile-window.png"
        assert window.grab().save(str(path))
        assert path.stat().st_size > 10_000

        # stop / start from the big button reaches the agent
        qtbot.mouseClick(window.video_button, Qt.LeftButton)
        agent_thread.run(agent.wait_for("camera_state", video=False), timeout=10)
        assert window.video_button.text() == "시작" and window.call.paused
        qtbot.mouseClick(window.video_button, Qt.LeftButton)
        agent_thread.run(agent.wait_for("camera_state", video=True), timeout=10)

        # the end, then the survey
        qtbot.mouseClick(window.end_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: window.survey_panel.isVisible() and bool(window.survey_panel.buttons), timeout=10000)
        assert window.call.state == "expired"
        window.toggle_language()  # English on the fly, the survey included
        assert window.end_button.text() == "End"
        qtbot.wait(200)  # widgets added to a shown panel appear on the next turn of the event loop
        window.grab().save(str(ARTIFACTS / "mobile-survey.png"))
        qtbot.mouseClick(window.survey_panel.buttons["satisfied"], Qt.LeftButton)
        qtbot.waitUntil(lambda: bridge.session.survey_answer == "satisfied", timeout=5000)
        record = agent_thread.run(agent.wait_for("state", state="expired"), timeout=10)
        assert record["reason"] == "ended_by_customer"

        # the server answers survey_saved once the answer is stored: then one read of the record
        qtbot.waitUntil(lambda: any(m.get("type") == "survey_saved" for m in list(bridge.session.inbox)), timeout=10000)
        record = agent_thread.run(agent.rest.record(agent.session_id), timeout=10)
        assert record["satisfaction"] == "satisfied"
    finally:
        if window is not None:
            window.close()
        if agent_thread.running:
            agent_thread.run(agent.close(), timeout=10)
            agent_thread.stop()
    assert os.path.exists(ARTIFACTS / "mobile-window.png")


def test_mobile_window_says_why_a_join_failed_and_what_to_do(qtbot):
    _app, _family = setup_application()
    # nothing listens on the discard port: the join fails as it would with no network
    bridge = SessionBridge(lambda: CustomerSession("http://127.0.0.1:9", video=TestPatternTrack(), language="ko"))
    window = MobileWindow(bridge, language="ko")
    qtbot.addWidget(window)
    try:
        window.join("1234")
        qtbot.waitUntil(lambda: window.join_panel.button.isEnabled(), timeout=10000)
        assert window.join_panel.error.text() == text("join_unreachable", "ko")
        assert window.call.state is None
        assert join_error_text({"error": "invalid_code", "message": "ignored"}, "ko") == text("join_invalid_code", "ko")
        assert join_error_text({"error": "some_new_code", "message": "서버의 설명"}, "ko") == "서버의 설명"
        assert join_error_text({"error": None, "message": ""}, "ko") == text("join_failed", "ko")
    finally:
        window.close()


@pytest.mark.slow
async def test_mobile_window_plays_the_agents_voice(server, agent_factory, qtbot, pulse):
    from anysupport_client.media.speaker import VoiceOutput

    from tests.support.audio import dominant_frequency

    client, _, _ = await agent_factory()
    agent_thread = LoopThread("agent").start()
    window = None
    try:
        agent: AgentPeer = agent_thread.run(_agent(server.url, client.token), timeout=15)
        _app, _family = setup_application()
        bridge = SessionBridge(lambda: CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(),
                                                       language="ko", voice=VoiceOutput("customer_speaker")))
        window = MobileWindow(bridge, language="ko", code=agent.session["code"])
        qtbot.addWidget(window)
        agent_thread.run(agent.accept(), timeout=15)
        qtbot.waitUntil(lambda: window.call.sas is not None, timeout=10000)
        assert not window.call.voice_failed and window.view.notice == ""
        agent_thread.call(agent.agent_video, True, TestPatternTrack(320, 240, 15), "low", ToneTrack(660.0))
        heard = agent_thread.run(pulse.record("customer_speaker", 1.0), timeout=25)
        frequency, purity = dominant_frequency(heard)
        assert abs(frequency - 660) <= 3 and purity > 0.75, (frequency, purity)
    finally:
        if window is not None:
            window.close()
        if agent_thread.running:
            agent_thread.run(agent.close(), timeout=10)
            agent_thread.stop()


def test_mobile_window_says_when_the_speaker_cannot_be_opened(qtbot, pulse):
    from anysupport_client.media.speaker import VoiceOutput

    _app, _family = setup_application()
    bridge = SessionBridge(lambda: CustomerSession("http://127.0.0.1:9", video=TestPatternTrack(), language="en",
                                                   voice=VoiceOutput("no-such-speaker")))
    window = MobileWindow(bridge, language="en")
    qtbot.addWidget(window)
    try:
        window.on_event("voice", {"on": bridge.session.voice.start(), "error": bridge.session.voice.error})
        assert window.call.voice_failed and window.view.notice == text("no_speaker", "en")
        window.toggle_language()
        assert window.view.notice == text("no_speaker", "ko")
    finally:
        window.close()


def test_mobile_window_says_when_the_secure_connection_failed(qtbot):
    _app, _family = setup_application()
    bridge = SessionBridge(lambda: CustomerSession("http://127.0.0.1:9", video=TestPatternTrack(), language="ko"))
    window = MobileWindow(bridge, language="ko")
    qtbot.addWidget(window)
    try:
        window.on_event("keys", {"sas": "123456", "sas_display": "123 456"})
        window.on_event("key_exchange_failed", {"reason": "bad_commitment", "by": "us"})
        assert window.call.sas is None and window.view.notice == text("key_failed", "ko")
        window.on_event("key_exchange_failed", {"reason": "unsupported_version", "by": "peer"})
        assert window.view.notice == text("key_failed_version", "ko")
        window.toggle_language()
        assert window.view.notice == text("key_failed_version", "en")
        window.on_event("keys", {"sas": "654321", "sas_display": "654 321"})
        assert window.view.notice == "" and window.call.sas == "654 321"
    finally:
        window.close()


def test_the_survey_panel_asks_the_administrators_comment_prompt(qtbot):
    """#17.16: the comment field shows the prompt the server sends (the admin's), else our own text."""
    from anysupport_mobile.survey import SurveyPanel

    panel = SurveyPanel()
    qtbot.addWidget(panel)
    survey = {"question": "만족하셨나요?", "choices": [{"value": "satisfied", "label": "만족"}], "feedback": True,
              "feedback_prompt": "개선할 점을 적어 주세요."}
    panel.show_survey(survey, "ko")
    assert panel.feedback_edit.placeholderText() == "개선할 점을 적어 주세요."
    panel.show_survey({**survey, "feedback_prompt": ""}, "en")
    assert panel.feedback_edit.placeholderText() == text("feedback", "en")


@pytest.mark.slow
async def test_mobile_window_says_who_took_the_call_over_and_shows_the_new_code(server, agent_factory, qtbot):
    first_client, _, _ = await agent_factory()
    second_client, second, _ = await agent_factory()
    agent_thread = LoopThread("agents").start()
    window = None
    try:
        first: AgentPeer = agent_thread.run(_agent(server.url, first_client.token), timeout=15)
        taker = AgentPeer(server.url, token=second_client.token)
        agent_thread.run(taker.start(), timeout=15)
        _app, family = setup_application()
        bridge = SessionBridge(lambda: CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(),
                                                       language="ko", text_renderer=qt_text_renderer(family)))
        window = MobileWindow(bridge, language="ko")
        qtbot.addWidget(window)
        window.show()
        qtbot.keyClicks(window.join_panel.code_edit, first.session["code"])
        qtbot.mouseClick(window.join_panel.button, Qt.LeftButton)
        agent_thread.run(first.accept(), timeout=15)
        qtbot.waitUntil(lambda: window.call.sas is not None, timeout=10000)
        before = window.call.sas
        sid = first.session_id
        agent_thread.run(first.client.offer_handover(sid, second["login"]), timeout=15)
        taken = agent_thread.run(taker.client.accept_handover(sid, keys=True, timeout=15), timeout=20)
        qtbot.waitUntil(lambda: window.call.agent_changed_shown() == second["name"], timeout=10000)
        qtbot.waitUntil(lambda: window.call.sas is not None and window.call.sas != before, timeout=15000)
        assert window.call.sas == taken.sas_display and bridge.session.agent_name == second["name"]
        window.view.repaint()
        ARTIFACTS.mkdir(exist_ok=True)
        assert window.grab().save(str(ARTIFACTS / "mobile-handover-ko.png"))
        assert text("agent_changed", "ko", name=second["name"]).startswith("상담원이 바뀌었습니다")
    finally:
        if window is not None:
            window.close()
        if agent_thread.running:
            agent_thread.run(first.close(), timeout=10)
            agent_thread.run(taker.close(), timeout=10)
            agent_thread.stop()
