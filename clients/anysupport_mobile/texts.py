"""Every text the mobile client shows, in Korean and English (Korean where the locale is Korean)."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "title": {"ko": "애니서포트 비디오", "en": "AnySupport Video"},
    "join_prompt": {"ko": "상담원이 알려준 인증번호 4자리를 입력하세요", "en": "Enter the 4-digit code the agent gave you"},
    "join": {"ko": "접속", "en": "Connect"},
    "joining": {"ko": "접속 중…", "en": "Connecting…"},
    "waiting": {"ko": "상담원 연결을 기다리는 중입니다", "en": "Waiting for the agent to connect"},
    "connected": {"ko": "상담 중", "en": "Connected"},
    "reconnecting": {"ko": "연결이 끊겼습니다. 다시 연결하는 중…", "en": "Connection lost. Reconnecting…"},
    "no_speaker": {"ko": "스피커를 열 수 없어 상담원의 목소리가 들리지 않습니다. 소리 설정을 확인하세요.",
                   "en": "The speaker could not be opened, so you cannot hear the agent. Check your sound settings."},
    "key_failed": {"ko": "보안 연결을 만들지 못해 화면과 소리를 보낼 수 없습니다. 상담원에게 알리고 다시 연결해 주세요.",
                   "en": "A secure connection could not be set up, so no picture or sound is sent. "
                         "Tell the agent and connect again."},
    "key_failed_version": {"ko": "이 앱이 서버의 보안 방식을 지원하지 않습니다. 앱을 최신 버전으로 업데이트하세요.",
                           "en": "This app does not support the server's security version. Update the app."},
    "agent_reconnecting": {"ko": "상담원 연결을 다시 기다리는 중…", "en": "Waiting for the agent to come back…"},
    "ended": {"ko": "상담이 종료되었습니다", "en": "The support session has ended"},
    "secure_code": {"ko": "보안 코드 {sas}", "en": "Security code {sas}"},
    "recording": {"ko": "녹화 중", "en": "REC"},
    "paused": {"ko": "영상 전송 정지됨", "en": "Video paused"},
    "menu": {"ko": "메뉴", "en": "Menu"},
    "flash": {"ko": "플래시", "en": "Flash"},
    "speakerphone": {"ko": "스피커폰", "en": "Speakerphone"},
    "camera_switch": {"ko": "카메라 전환", "en": "Switch camera"},
    "not_available": {"ko": "{what} (이 기기에서 지원 안 됨)", "en": "{what} (not on this device)"},
    "language": {"ko": "English", "en": "한국어"},
    "stop": {"ko": "정지", "en": "Stop"},
    "start": {"ko": "시작", "en": "Start"},
    "end": {"ko": "종료", "en": "End"},
    "end_confirm": {"ko": "상담을 종료할까요?", "en": "End the support session?"},
    "agent_camera": {"ko": "상담원", "en": "Agent"},
    "survey_title": {"ko": "만족도 조사", "en": "Satisfaction survey"},
    "feedback": {"ko": "의견 (선택)", "en": "Comments (optional)"},
    "send": {"ko": "보내기", "en": "Send"},
    "thanks": {"ko": "응답해 주셔서 감사합니다", "en": "Thank you for your answer"},
    # why a join failed, keyed by the server's error code, each saying what to do next
    "join_invalid_code": {"ko": "인증번호가 맞지 않습니다. 상담원에게 번호를 다시 확인하세요",
                          "en": "That code is not valid. Check the number with the agent"},
    "join_code_in_use": {"ko": "이미 사용 중인 인증번호입니다. 상담원에게 새 번호를 받으세요",
                         "en": "That code is already in use. Ask the agent for a new one"},
    "join_too_many_attempts": {"ko": "잘못 입력한 횟수가 많습니다. 잠시 후 다시 시도하세요",
                               "en": "Too many wrong codes. Wait a moment and try again"},
    "join_unreachable": {"ko": "서버에 연결할 수 없습니다. 인터넷 연결을 확인하고 다시 시도하세요",
                         "en": "Cannot reach the server. Check your internet connection and try again"},
    "join_failed": {"ko": "접속하지 못했습니다. 잠시 후 다시 시도하세요", "en": "Could not connect. Try again in a moment"},
    "up": {"ko": "위로", "en": "Up"},
    "down": {"ko": "아래로", "en": "Down"},
    "left": {"ko": "왼쪽으로", "en": "Left"},
    "right": {"ko": "오른쪽으로", "en": "Right"},
    "closer": {"ko": "가까이", "en": "Closer"},
    "farther": {"ko": "멀리", "en": "Farther"},
    "rotate_left": {"ko": "왼쪽으로 회전", "en": "Rotate left"},
    "rotate_right": {"ko": "오른쪽으로 회전", "en": "Rotate right"},
    "hold": {"ko": "그대로 멈추세요", "en": "Hold still"},
    "ok": {"ko": "좋습니다", "en": "That's it"},
}

GUIDE_ARROWS = {
    "up": "↑", "down": "↓", "left": "←", "right": "→", "closer": "⊕", "farther": "⊖",
    "rotate_left": "↺", "rotate_right": "↻", "hold": "✋", "ok": "✓",
}


def text(key: str, language: str, **fields: str) -> str:
    entry = TEXTS[key]
    value = entry.get(language) or entry["en"]
    return value.format(**fields) if fields else value


def join_error_text(failure: dict[str, Any], language: str) -> str:
    """Why a join failed and what to do: our text for the codes a customer meets, else the server's message
    (already in the customer's language), else a general one."""
    if failure.get("error") == "code_format":  # typed wrong: ask again
        return text("join_prompt", language)
    key = f"join_{failure.get('error')}"
    if key in TEXTS:
        return text(key, language)
    return failure.get("message") or text("join_failed", language)
