"""The mobile window's call state: the session's events in, what the window shows out (no Qt, an injected clock)."""

import pytest
from anysupport_mobile.call import AGENT_CHANGED_SECONDS, CHAT_SECONDS, GUIDE_SECONDS, CallState
from anysupport_mobile.presence import Person
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


def test_a_hand_over_says_who_the_agent_is_now_for_a_while(call, clock):
    call.apply("state", {"state": "connected"})
    call.apply("keys", {"sas_display": "111 111"})
    assert call.agent_changed_shown() is None
    call.apply("peer", {"peer": "agent", "status": "handed_over", "name": "이전문"})
    assert call.agent_changed_shown() == "이전문" and call.status_key() == "connected"
    assert text("agent_changed", "ko", name="이전문") == "상담원이 바뀌었습니다: 이전문"
    assert text("agent_changed", "en", name="Lee") == "Your agent is now Lee."
    call.apply("keys", {"sas_display": "222 222"})  # the new agent's key exchange: its code
    assert call.sas == "222 222"
    clock.now += AGENT_CHANGED_SECONDS - 0.5
    assert call.agent_changed_shown() == "이전문"
    clock.now += 0.5
    assert call.agent_changed_shown() is None


def test_in_version_2_the_code_is_the_pair_with_the_session_agent_whoever_it_is_now(call):
    """Sealed from the start (version 2): the code is that of the pair with the session's agent (index 1),
    not the unused version-1 one; after a hand-over the new agent has another index, and its pair's code
    replaces the old one."""
    people = [{"index": 0, "role": "customer"}, {"index": 1, "role": "agent"}]
    call.apply("state", {"state": "connected"})
    call.apply("keys", {"sas_display": "111 111"})  # version 1 before the switch
    call.apply("participants", {"version": 2, "participants": people})
    call.apply("pair_keys", {"peer": 1, "sas_display": "333 333"})
    call.apply("keys", {"sas_display": "444 444"})  # a version-1 exchange still runs: not the code compared
    assert call.sas == "333 333"
    call.apply("peer", {"peer": "agent", "status": "handed_over", "name": "이전문"})
    call.apply("participants", {"version": 2, "participants": [people[0], {"index": 2, "role": "agent"}]})
    assert call.sas is None and call.agent_index == 2
    call.apply("pair_keys", {"peer": 1, "sas_display": "333 333"})  # (a late one of the old pair: ignored)
    call.apply("pair_keys", {"peer": 2, "sas_display": "555 555"})
    assert call.sas == "555 555"


def test_chat_lines_name_their_writer_once_a_third_took_part(call, clock):
    """Issue 21: in a call that had an expert, each agent's line names its writer (its role when nameless);
    a two-party call's lines name nobody."""
    two = [{"index": 0, "role": "customer", "name": "", "rights": "full"},
           {"index": 1, "role": "agent", "name": "박상담", "rights": "full"}]
    call.apply("participants", {"participants": two, "you": 0, "version": 2})
    call.apply("chat", {"from": "agent", "from_index": 1, "text": "하나"})
    assert call.chat_shown() == [("agent", "하나")] and call.chat_writers_shown() == [None]
    call.apply("participants", {"participants": [*two, {"index": 2, "role": "guest", "name": "", "rights": "view"}],
                                "you": 0, "version": 2})
    call.apply("chat", {"from": "agent", "from_index": 2, "text": "둘"})
    call.apply("chat", {"from": "customer", "from_index": 0, "text": "셋"})
    writers = call.chat_writers_shown()
    assert [w and w["name"] for w in writers] == ["박상담", "", None]  # the customer's own line: no name
    assert Person.from_message(writers[1]).role_key == "people_guest_view"
    assert text(Person.from_message(writers[1]).role_key, "ko") == "전문가·보기 전용"
    clock.now += CHAT_SECONDS
    assert call.chat_writers_shown() == [] and call.chat_shown() == []
