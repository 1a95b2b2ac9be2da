"""The mobile window's call state: the session's events in, what the window shows out (no Qt, an injected clock)."""

import pytest
from anysupport_mobile.call import CHAT_SECONDS, GUIDE_SECONDS, CallState
from anysupport_mobile.texts import TEXTS, join_error_text, text


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def call(clock):
    return CallState(clock=clock)


def test_joining_checks_the_code_and_follows_the_state_to_the_end(call):
    assert call.state is None and not call.joined and call.status_key() is None
    assert call.join(" 12a4") is None and call.join_failure == {"error": "code_format"} and call.state is None
    assert call.join(" 1234 ") == "1234" and call.state == "joining" and call.join_failure is None
    assert call.status_key() == "joining"
    call.apply("join_failed", {"error": "invalid_code", "message": "…"})
    assert call.state is None and call.join_failure["error"] == "invalid_code" and not call.joined
    assert call.join("4321") == "4321"
    call.apply("joined", {"session_id": "s1"})  # no state in it: the session waits for the agent
    assert call.joined and call.state == "online" and call.status_key() == "waiting"
    call.apply("state", {"state": "connected"})
    assert call.status_key() == "connected" and not call.ended
    call.apply("connection", {"status": "reconnecting"})
    assert call.status_key() == "reconnecting"
    call.apply("connection", {"status": "back"})
    assert call.state == "connected"
    call.apply("peer", {"peer": "agent", "status": "reconnecting"})
    assert call.status_key() == "agent_reconnecting"
    call.apply("peer", {"peer": "customer", "status": "joined"})  # not the agent: no change
    assert call.state == "agent_reconnecting"
    call.apply("peer", {"peer": "agent", "status": "back"})
    assert call.state == "connected"
    call.apply("state", {"state": "expired", "reason": "ended_by_customer"})
    assert call.ended and call.status_key() == "ended"
    call.apply("connection", {"status": "reconnecting"})  # a late event does not make the call live again
    assert call.ended


def test_a_page_that_joined_already_hands_over_without_a_code(call):
    assert call.join(None) is None and call.state == "joining" and call.join_failure is None


def test_the_notice_says_the_keys_first_then_the_speaker(call):
    assert call.notice_key() is None
    call.apply("voice", {"on": False, "error": "no speaker"})
    assert call.voice_failed and call.notice_key() == "no_speaker"
    call.apply("keys", {"sas": "123456", "sas_display": "123 456"})
    assert call.sas == "123 456"
    call.apply("key_exchange_failed", {"reason": "bad_commitment", "by": "us"})
    assert call.sas is None and call.notice_key() == "key_failed"
    call.apply("key_exchange_failed", {"reason": "unsupported_version", "by": "peer"})
    assert call.notice_key() == "key_failed_version"
    call.apply("keys", {"sas": "654321", "sas_display": "654 321"})  # a new exchange succeeded
    assert call.sas == "654 321" and call.notice_key() == "no_speaker"
    call.apply("voice", {"on": True})
    assert call.notice_key() is None


def test_what_the_device_can_do_is_true_until_it_says(call):
    assert call.able("flash") and call.able("switch") and call.able("speakerphone")
    call.apply("capabilities", {"flash": True, "cameras": ["back"], "speakerphone": False})
    assert call.able("flash") and not call.able("switch") and not call.able("speakerphone")
    call.apply("capabilities", {"flash": False, "cameras": ["back", "front"], "speakerphone": True})
    assert not call.able("flash") and call.able("switch") and call.able("speakerphone")


def test_the_camera_shows_the_customers_choice_until_the_device_says(call):
    assert not call.paused
    assert call.toggle_video() is False and call.paused
    assert call.toggle_video() is True and not call.paused
    assert call.set_camera("flash", True) is True and call.camera_state["flash"] is True
    call.apply("camera_state", {"video": False, "flash": False, "facing": "back"})  # the flash did not turn on
    assert call.paused and call.camera_state["flash"] is False


def test_chat_lines_and_the_arrow_fade_on_the_clock(call, clock):
    call.apply("chat", {"from": "agent", "text": "one"})
    clock.now += 1
    for word in ("two", "three", "four"):
        call.apply("chat", {"text": word})  # no sender: the agent's
        clock.now += 1
    assert call.chat_shown() == [("agent", "two"), ("agent", "three"), ("agent", "four")]  # the newest three
    clock.now = 1000.0 + CHAT_SECONDS + 1.5  # "one" and "two" are older than the chat's time
    assert call.chat_shown() == [("agent", "three"), ("agent", "four")]
    call.apply("chat", {"from": "customer", "text": "five"})
    assert [line[2] for line in call.chat] == ["three", "four", "five"]  # the faded lines are dropped
    clock.now += CHAT_SECONDS
    assert call.chat_shown() == []

    assert call.guide_shown() is None
    call.apply("guide", {"direction": "left"})
    clock.now += GUIDE_SECONDS - 0.1
    assert call.guide_shown() == "left"
    clock.now += 0.1
    assert call.guide_shown() is None


def test_recording_the_agents_camera_and_the_survey(call):
    call.apply("recording", {"on": True})
    call.apply("agent_video", {"on": True})
    assert call.recording and call.agent_video
    call.apply("recording", {"on": False})
    call.apply("agent_video", {"on": False})
    assert not call.recording and not call.agent_video
    survey = {"question": "만족하셨나요?", "choices": [{"value": "satisfied", "label": "만족"}], "feedback": True}
    call.apply("survey", survey)
    assert call.survey == survey and call.survey_answer is None and not call.survey_saved
    call.answer("satisfied")
    call.apply("survey_saved", {"session_id": "s1"})
    assert call.survey_answer == "satisfied" and call.survey_saved


def test_events_the_window_does_not_show_change_nothing(call):
    before = dict(vars(call))
    for name, data in (("annotation", {"items": 1}), ("moved", {"ws_url": "ws://x"}), ("error", {"error": "x"}),
                       ("camera", {"command": "flash"}), ("closed", {"state": "expired"})):
        call.apply(name, data)
    assert vars(call) == before


def test_a_failed_join_says_what_to_do_in_both_languages():
    for language in ("ko", "en"):
        assert join_error_text({"error": "code_format"}, language) == text("join_prompt", language)
        for code in ("invalid_code", "code_in_use", "too_many_attempts", "unreachable"):
            assert f"join_{code}" in TEXTS
            assert join_error_text({"error": code, "message": "server text"}, language) == text(f"join_{code}", language)
        assert join_error_text({"error": "new_code", "message": "서버의 설명"}, language) == "서버의 설명"
        assert join_error_text({"error": None, "message": ""}, language) == text("join_failed", language)


def test_the_agents_request_to_see_the_stopped_camera_is_shown_until_the_customer_answers(call):
    """#17.6: the customer's stop wins; the agent's start arrives as a request the window shows."""
    call.apply("camera_state", {"video": False, "video_paused_by": "customer"})
    assert call.paused and call.notice_key() is None
    call.apply("video_request", {})
    assert call.notice_key() == "video_requested"
    assert call.toggle_video() is True  # the customer turns it on: the request is answered
    assert call.notice_key() is None
    call.apply("video_request", {})
    call.apply("camera_state", {"video": True})
    assert call.notice_key() is None
