"""Every text the console shows, in Korean and English (Korean where the locale is Korean).

Server errors arrive with a ``message`` already in the agent's language (the client sends
``Accept-Language``); ``error_text`` prefers that, and falls back to our own text for the codes the
console knows, so the user never sees a bare code.
"""

from __future__ import annotations

from typing import Any

from anysupport_client.language import LANGUAGES

TEXTS: dict[str, dict[str, str]] = {
    "app": {"ko": "애니서포트 비디오 상담원", "en": "AnySupport Video Agent"},
    # login (로그인)
    "upgrade_available": {"ko": "서버가 새 버전({server})입니다. 이 상담원 프로그램은 {console}입니다.\n"
                                "업데이트하세요: {command}",
                          "en": "The server runs a newer version ({server}); this console is {console}.\n"
                                "Update it: {command}"},
    "login_title": {"ko": "애니서포트 비디오 - 로그인", "en": "AnySupport Video - Log in"},
    "login_id": {"ko": "ID", "en": "ID"},
    "password": {"ko": "PASSWORD", "en": "Password"},
    "remember_id": {"ko": "ID 저장", "en": "Remember ID"},
    "remember_password": {"ko": "PASSWORD 저장", "en": "Remember password"},
    "login": {"ko": "로그인", "en": "Log in"},
    "logging_in": {"ko": "로그인 중…", "en": "Logging in…"},
    "preferences": {"ko": "환경설정", "en": "Preferences"},
    "server_url": {"ko": "서버 주소", "en": "Server address"},
    "language": {"ko": "언어", "en": "Language"},
    "lang_ko": {"ko": "한국어", "en": "한국어 (Korean)"},
    "lang_en": {"ko": "English (영어)", "en": "English"},
    "need_id_password": {"ko": "ID와 PASSWORD를 입력하세요.", "en": "Enter your ID and password."},
    "wrong_password": {"ko": "ID 또는 PASSWORD가 맞지 않습니다. 다시 입력하세요.",
                       "en": "The ID or password is wrong. Enter them again."},
    "locked_out": {"ko": "로그인 실패가 너무 많습니다. {wait} 후에 다시 시도하세요.",
                   "en": "Too many failed logins. Try again in {wait}."},
    "duplicate_title": {"ko": "중복 로그인", "en": "Already logged in"},
    "duplicate_text": {"ko": "ID '{login}'(으)로 다른 곳에서 이미 로그인되어 있습니다.\n"
                             "그 상담원 프로그램을 종료하고 여기서 로그인하거나, 다른 ID를 입력하세요.",
                       "en": "The ID '{login}' is already logged in elsewhere.\n"
                             "Take over here (the other console is closed), or enter another ID."},
    "take_over": {"ko": "여기서 로그인", "en": "Take over"},
    "other_id": {"ko": "다른 ID 입력", "en": "Enter another ID"},
    "unreachable": {"ko": "서버에 연결할 수 없습니다. 환경설정의 서버 주소와 네트워크를 확인하세요.",
                    "en": "Cannot reach the server. Check the server address in Preferences and your network."},
    "saved_login_expired": {"ko": "저장된 로그인이 만료되었습니다. PASSWORD를 입력하세요.",
                            "en": "The saved login has expired. Enter your password."},
    "kicked_title": {"ko": "연결 종료", "en": "Disconnected"},
    "server_reconnecting": {"ko": "서버 연결이 끊겼습니다. 다시 연결하는 중…",
                            "en": "The connection to the server dropped. Reconnecting…"},
    "connection_lost": {"ko": "서버와의 연결이 끊어졌습니다. 다시 로그인하세요.",
                        "en": "The connection to the server was lost. Log in again."},
    "seconds": {"ko": "{n}초", "en": "{n} s"},
    "minutes": {"ko": "{m}분", "en": "{m} min"},
    "minutes_seconds": {"ko": "{m}분 {s}초", "en": "{m} min {s} s"},
    # main window
    "window_title": {"ko": "애니서포트 비디오 상담원 - ID : {login}", "en": "AnySupport Video Agent - ID : {login}"},
    "id_header": {"ko": "ID : {login}", "en": "ID : {login}"},
    "tab_sessions": {"ko": "세션", "en": "Sessions"},
    "tab_records": {"ko": "지원 기록 관리", "en": "Support records"},
    "logout": {"ko": "로그아웃", "en": "Log out"},
    "settings": {"ko": "설정", "en": "Settings"},
    # sessions tab (세션)
    "col_code": {"ko": "세션", "en": "Session"},
    "col_state": {"ko": "상태", "en": "State"},
    "col_created": {"ko": "생성 시각", "en": "Created"},
    "col_number": {"ko": "번호", "en": "Number"},
    "state_offline": {"ko": "Offline", "en": "Offline"},
    "state_online": {"ko": "Online", "en": "Online"},
    "state_connected": {"ko": "Connected", "en": "Connected"},
    "state_expired": {"ko": "Expired", "en": "Expired"},
    "expired_leaves_list": {"ko": "종료된 세션은 {minutes}분 후 목록에서 사라집니다. 기록은 지원 기록 관리에 남습니다.",
                            "en": "Ended sessions leave this list after {minutes} minutes; their records stay under Support records."},
    "create_session": {"ko": "세션 생성", "en": "Create session"},
    "delete_session": {"ko": "세션 삭제", "en": "Delete session"},
    "connect": {"ko": "접속", "en": "Connect"},
    "auto_connect": {"ko": "세션 상태 Online시 자동 접속", "en": "Connect automatically when Online"},
    "customer_page": {"ko": "고객접속페이지", "en": "Customer page"},
    "copy": {"ko": "복사", "en": "Copy"},
    "copied": {"ko": "주소를 복사했습니다.", "en": "Address copied."},
    "select_session": {"ko": "세션을 선택하세요.", "en": "Select a session."},
    "not_online": {"ko": "고객이 접속한(Online) 세션만 연결할 수 있습니다.",
                   "en": "Only a session whose customer is waiting (Online) can be connected."},
    "delete_confirm": {"ko": "세션 {code}을(를) 삭제할까요? 고객 연결이 끊어집니다.",
                       "en": "Delete session {code}? The customer is disconnected."},
    # record form (원격 지원 기록)
    "record": {"ko": "원격 지원 기록", "en": "Support record"},
    "customer_name": {"ko": "고객 이름", "en": "Customer name"},
    "email": {"ko": "E-mail", "en": "E-mail"},
    "phone": {"ko": "전화번호", "en": "Phone"},
    "ip": {"ko": "IP", "en": "IP"},
    "started_at": {"ko": "원격 지원 시작", "en": "Support started"},
    "ended_at": {"ko": "원격 지원 종료", "en": "Support ended"},
    "trouble_type": {"ko": "장애유형", "en": "Trouble type"},
    "content": {"ko": "지원 내용", "en": "Support content"},
    "resolution": {"ko": "장애 해결 여부", "en": "Resolution"},
    "solved": {"ko": "해결", "en": "Solved"},
    "pending": {"ko": "보류", "en": "Pending"},
    "onsite_needed": {"ko": "직접 지원 필요", "en": "On-site support needed"},
    "save_all": {"ko": "모두 저장", "en": "Save all"},
    "saved": {"ko": "저장했습니다.", "en": "Saved."},
    "record_unavailable": {"ko": "고객과 연결된 세션에서 기록을 작성할 수 있습니다.",
                           "en": "A record can be written once the session has been connected."},
    "too_long": {"ko": "{field}: {max}자 이내로 입력하세요.", "en": "{field}: at most {max} characters."},
    "bad_email": {"ko": "E-mail 주소 형식이 맞지 않습니다 (예: name@example.com).",
                  "en": "The e-mail address is not valid (for example name@example.com)."},
    "bad_phone": {"ko": "전화번호는 숫자, 공백, +, -, ( ) 만 쓸 수 있습니다.",
                  "en": "A phone number may only contain digits, spaces, +, - and ( )."},
    "unsaved_title": {"ko": "저장하지 않은 기록", "en": "Unsaved record"},
    "unsaved_text": {"ko": "원격 지원 기록에 저장하지 않은 내용이 있습니다. 저장할까요?",
                     "en": "The support record has unsaved changes. Save them?"},
    "save": {"ko": "저장", "en": "Save"},
    "discard": {"ko": "저장 안 함", "en": "Don't save"},
    "cancel": {"ko": "취소", "en": "Cancel"},
    "draft_restored": {"ko": "저장하지 않았던 기록을 복원했습니다.", "en": "Unsaved record restored."},
    # record management (지원 기록 관리)
    "from": {"ko": "시작일", "en": "From"},
    "to": {"ko": "종료일", "en": "To"},
    "whole_period": {"ko": "전체 기간", "en": "Whole period"},
    "show": {"ko": "보기", "en": "Show"},
    "export": {"ko": "전체 기록 보기 (Excel)", "en": "All records (Excel)"},
    "exporting": {"ko": "Excel 파일을 만드는 중…", "en": "Building the Excel file…"},
    "export_save": {"ko": "Excel 파일 저장", "en": "Save the Excel file"},
    "export_done": {"ko": "저장했습니다: {path}", "en": "Saved: {path}"},
    "export_failed": {"ko": "파일을 저장하지 못했습니다: {error}", "en": "Could not save the file: {error}"},
    "stats_title": {"ko": "원격 지원 기록 통계", "en": "Support record statistics"},
    "col_item": {"ko": "항목", "en": "Item"},
    "col_count": {"ko": "발생수", "en": "Count"},
    "col_ratio": {"ko": "발생 비율", "en": "Ratio"},
    "records_total": {"ko": "기록 {n}건", "en": "{n} records"},
    # viewer
    "viewer": {"ko": "영상", "en": "Video"},
    "waiting_video": {"ko": "고객 영상을 기다리는 중…", "en": "Waiting for the customer's video…"},
    "no_session": {"ko": "연결된 세션이 없습니다", "en": "No connected session"},
    "customer_reconnecting": {"ko": "고객 연결이 끊겼습니다. 다시 연결하는 중…",
                              "en": "The customer's connection dropped. Reconnecting…"},
    "video_paused": {"ko": "영상 전송 일시 정지됨", "en": "Video paused"},
    "session_ended": {"ko": "상담이 종료되었습니다", "en": "The support session has ended"},
    "zoom_in": {"ko": "확대", "en": "Zoom in"},
    "zoom_out": {"ko": "축소", "en": "Zoom out"},
    "rotate": {"ko": "회전", "en": "Rotate"},
    "pause": {"ko": "일시 정지", "en": "Pause"},
    "resume": {"ko": "영상 시작", "en": "Resume"},
    "quality": {"ko": "화질", "en": "Quality"},
    "high": {"ko": "고화질", "en": "High"},
    "medium": {"ko": "중화질", "en": "Medium"},
    "low": {"ko": "저화질", "en": "Low"},
    "flash": {"ko": "플래시", "en": "Flash"},
    "focus": {"ko": "포커스", "en": "Focus"},
    "focus_hint": {"ko": "영상에서 초점을 맞출 곳을 클릭하세요", "en": "Click the point to focus on"},
    "camera_switch": {"ko": "카메라 스위치", "en": "Switch camera"},
    "speakerphone": {"ko": "스피커폰", "en": "Speakerphone"},
    "agent_video": {"ko": "상담원 화면 보기", "en": "Show agent camera"},
    "record_customer": {"ko": "고객영상만 녹화", "en": "Record customer video"},
    "record_screen": {"ko": "전체화면 녹화", "en": "Record whole view"},
    "record_pause": {"ko": "일시정지", "en": "Pause"},
    "record_resume": {"ko": "녹화 계속", "en": "Continue"},
    "record_stop": {"ko": "정지", "en": "Stop"},
    "recording_on": {"ko": "녹화 중", "en": "Recording"},
    "recording_saved": {"ko": "녹화 파일을 저장했습니다: {path}", "en": "Recording saved: {path}"},
    "capture": {"ko": "영상 캡쳐", "en": "Capture"},
    "capture_drawings": {"ko": "그리기 포함", "en": "With drawings"},
    "capture_saved": {"ko": "캡쳐를 저장했습니다: {path}", "en": "Capture saved: {path}"},
    "no_frame": {"ko": "아직 받은 영상이 없습니다.", "en": "No video received yet."},
    "cap_no_flash": {"ko": "고객 기기에 플래시가 없습니다", "en": "The customer's device has no flash"},
    "cap_no_focus": {"ko": "고객 기기는 원격 초점을 지원하지 않습니다",
                     "en": "The customer's device has no remote focus"},
    "cap_one_camera": {"ko": "고객 기기에 카메라가 하나뿐입니다", "en": "The customer's device has only one camera"},
    "cap_no_speakerphone": {"ko": "고객 기기는 스피커폰 전환을 지원하지 않습니다",
                            "en": "The customer's device cannot switch the speakerphone"},
    "cap_no_quality": {"ko": "고객 기기가 이 화질을 보낼 수 없습니다", "en": "The customer's device cannot send this quality"},
    "cap_no_audio": {"ko": "고객 기기는 음성을 지원하지 않습니다", "en": "The customer's device has no audio"},
    "voice_unavailable": {"ko": "스피커를 열 수 없어 고객 음성을 들을 수 없습니다. 설정에서 스피커를 확인하세요.",
                          "en": "The speaker could not be opened, so the customer's voice cannot be heard. "
                                "Check the speaker in Settings."},
    "sas": {"ko": "보안 코드 {sas}", "en": "Security code {sas}"},
    "sas_tip": {"ko": "고객 화면의 보안 코드와 같은지 확인하세요", "en": "Check that the customer sees the same code"},
    "link_stats_no_rtt": {"ko": "{kbps} kb/s · {fps} fps", "en": "{kbps} kb/s · {fps} fps"},
    "link_stats": {"ko": "{kbps} kb/s · {fps} fps · 지연 {ms} ms", "en": "{kbps} kb/s · {fps} fps · latency {ms} ms"},
    # drawing (그리기)
    "draw": {"ko": "그리기", "en": "Draw"},
    "shape_stroke": {"ko": "펜", "en": "Pen"},
    "shape_line": {"ko": "직선", "en": "Line"},
    "shape_arrow": {"ko": "화살표", "en": "Arrow"},
    "shape_rect": {"ko": "사각형", "en": "Rectangle"},
    "shape_ellipse": {"ko": "원", "en": "Ellipse"},
    "shape_text": {"ko": "글자", "en": "Text"},
    "thickness": {"ko": "굵기", "en": "Thickness"},
    "colour": {"ko": "색상", "en": "Colour"},
    "undo": {"ko": "실행 취소", "en": "Undo"},
    "clear": {"ko": "모두 지우기", "en": "Clear"},
    "text_prompt": {"ko": "영상에 쓸 글자를 입력하세요", "en": "Text to write on the video"},
    # chat, directions, canned phrases
    "chat": {"ko": "채팅", "en": "Chat"},
    "chat_placeholder": {"ko": "메시지 입력 후 Enter", "en": "Message, then Enter"},
    "send": {"ko": "보내기", "en": "Send"},
    "me": {"ko": "상담원", "en": "Agent"},
    "customer": {"ko": "고객", "en": "Customer"},
    "directions": {"ko": "안내버튼", "en": "Directions"},
    "up": {"ko": "위로", "en": "Up"},
    "down": {"ko": "아래로", "en": "Down"},
    "left": {"ko": "왼쪽으로", "en": "Left"},
    "right": {"ko": "오른쪽으로", "en": "Right"},
    "closer": {"ko": "가까이", "en": "Closer"},
    "farther": {"ko": "멀리", "en": "Farther"},
    "rotate_left": {"ko": "왼쪽 회전", "en": "Turn left"},
    "rotate_right": {"ko": "오른쪽 회전", "en": "Turn right"},
    "hold": {"ko": "그대로", "en": "Hold still"},
    "ok": {"ko": "좋습니다", "en": "OK"},
    "phrases": {"ko": "상용문구", "en": "Canned phrases"},
    "phrase_add": {"ko": "추가", "en": "Add"},
    "phrase_edit": {"ko": "수정", "en": "Edit"},
    "phrase_delete": {"ko": "삭제", "en": "Delete"},
    "phrase_up": {"ko": "위로", "en": "Up"},
    "phrase_down": {"ko": "아래로", "en": "Down"},
    "phrase_text": {"ko": "문구", "en": "Phrase"},
    "phrase_shortcut": {"ko": "단축키 (예: Ctrl+1, F2)", "en": "Shortcut (e.g. Ctrl+1, F2)"},
    "col_phrase": {"ko": "문구", "en": "Phrase"},
    "col_shortcut": {"ko": "단축키", "en": "Shortcut"},
    # settings (설정)
    "settings_title": {"ko": "설정", "en": "Settings"},
    "guidance_panel": {"ko": "안내 기능 (채팅·안내버튼) 보이기", "en": "Show the chat and guidance panel"},
    "background": {"ko": "배경색 설정", "en": "Background colour"},
    "bg_dark": {"ko": "어두운 색", "en": "Dark"},
    "bg_grey": {"ko": "회색", "en": "Grey"},
    "bg_light": {"ko": "밝은 색", "en": "Light"},
    "record_folder": {"ko": "녹화 폴더", "en": "Recording folder"},
    "capture_folder": {"ko": "캡쳐 폴더", "en": "Capture folder"},
    "browse": {"ko": "찾아보기…", "en": "Browse…"},
    "audio_input": {"ko": "마이크", "en": "Microphone"},
    "audio_output": {"ko": "스피커", "en": "Speaker"},
    "default_device": {"ko": "기본 장치", "en": "Default device"},
    "ok_button": {"ko": "확인", "en": "OK"},
    "language_restart": {"ko": "언어는 다시 로그인하면 바뀝니다.", "en": "The language changes at the next login."},
    # errors
    "error_title": {"ko": "오류", "en": "Error"},
    "error_generic": {"ko": "요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요.",
                      "en": "The request failed. Try again in a moment."},
    "error_session_not_online": {"ko": "고객이 접속한(Online) 세션만 연결할 수 있습니다.",
                                 "en": "Only a session whose customer is waiting (Online) can be connected."},
    "error_session_not_found": {"ko": "해당 세션이 없습니다. 목록을 새로 고치세요.",
                                "en": "That session no longer exists."},
    "error_record_not_found": {"ko": "이 세션에는 지원 기록이 없습니다. 고객과 연결된 뒤에 저장하세요.",
                               "en": "This session has no support record yet; save it once connected."},
    "error_account_disabled": {"ko": "사용이 중지된 계정입니다. 관리자에게 문의하세요.",
                               "en": "This account is disabled. Ask your administrator."},
}


class Texts:
    """The texts in one language: ``t("key", name=value)``."""

    def __init__(self, language: str = "ko"):
        self.language = language if language in LANGUAGES else "ko"

    def __call__(self, key: str, **fields: Any) -> str:
        entry = TEXTS[key]
        text = entry.get(self.language) or entry["en"]
        return text.format(**fields) if fields else text

    def duration(self, seconds: float) -> str:
        seconds = max(0, int(round(seconds)))
        if seconds < 60:
            return self("seconds", n=seconds)
        if seconds % 60 == 0:
            return self("minutes", m=seconds // 60)
        return self("minutes_seconds", m=seconds // 60, s=seconds % 60)

    def error_text(self, failure: BaseException | dict[str, Any]) -> str:
        """What to tell the user about a failed request (an ``ApiError`` or the bridge's ``error_event``
        dict): the server's own text, which is in the user's language, else ours; never a bare code."""
        if isinstance(failure, dict):
            code, message = failure.get("error"), failure.get("message") or ""
        else:
            code, message = getattr(failure, "error", None), getattr(failure, "message", "")
        if code == "unreachable":
            return self("unreachable")
        if message:
            return message
        key = f"error_{code}"
        return self(key) if key in TEXTS else self("error_generic")
