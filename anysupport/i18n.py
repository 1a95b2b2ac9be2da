"""Every text a person reads, in Korean and English.

Texts are looked up by a snake_case key (the same key as the ``error`` code of an error answer)
and formatted with ``str.format`` fields. Korean is the default where the requester's language is
Korean or unknown and the server's ``default_language`` is ``ko``.
"""

from __future__ import annotations

LANGUAGES = ("ko", "en")

TEXTS: dict[str, dict[str, str]] = {
    # errors of the REST API and the WebSocket
    "bad_request": {"en": "The request is malformed.", "ko": "요청 형식이 올바르지 않습니다."},
    "invalid_json": {"en": "The request body is not valid JSON.", "ko": "요청 본문이 올바른 JSON이 아닙니다."},
    "invalid_field": {"en": "Field '{field}' is invalid: {detail}", "ko": "'{field}' 항목이 올바르지 않습니다: {detail}"},
    "invalid_query": {"en": "Query parameter '{field}' is invalid: {detail}", "ko": "조회 조건 '{field}'이(가) 올바르지 않습니다: {detail}"},
    "body_too_large": {"en": "The request body is larger than {limit} bytes.", "ko": "요청 본문이 {limit}바이트보다 큽니다."},
    "not_found": {"en": "There is nothing at this address.", "ko": "요청한 주소를 찾을 수 없습니다."},
    "method_not_allowed": {"en": "This method is not allowed here.", "ko": "이 주소에서 허용되지 않는 요청 방식입니다."},
    "internal_error": {"en": "The server failed to handle the request.", "ko": "서버에서 요청을 처리하지 못했습니다."},
    "unauthorized": {"en": "Log in first (missing or expired token).", "ko": "먼저 로그인하세요(토큰이 없거나 만료되었습니다)."},
    "forbidden": {"en": "You may not do this.", "ko": "이 작업을 할 권한이 없습니다."},
    "admin_only": {"en": "Only an administrator may do this.", "ko": "관리자만 할 수 있는 작업입니다."},
    "invalid_credentials": {"en": "Wrong ID or password.", "ko": "ID 또는 비밀번호가 올바르지 않습니다."},
    "account_disabled": {"en": "This account is disabled. Ask your administrator.", "ko": "사용이 중지된 계정입니다. 관리자에게 문의하세요."},
    "already_logged_in": {
        "en": "ID '{login}' is already logged in on another console. Log in with force to take over, or use another ID.",
        "ko": "ID '{login}'은(는) 다른 곳에서 이미 로그인 중입니다. 강제 로그인하거나 다른 ID로 로그인하세요.",
    },
    "too_many_attempts": {"en": "Too many attempts. Try again in {retry_after} seconds.", "ko": "시도 횟수가 너무 많습니다. {retry_after}초 후에 다시 시도하세요."},
    "login_taken": {"en": "ID '{login}' is already used.", "ko": "ID '{login}'은(는) 이미 사용 중입니다."},
    "number_taken": {"en": "Agent number {number} is already used.", "ko": "상담원 번호 {number}은(는) 이미 사용 중입니다."},
    "agent_not_found": {"en": "There is no agent '{login}'.", "ko": "상담원 '{login}'이(가) 없습니다."},
    "last_admin": {"en": "The last active administrator cannot be removed or demoted.", "ko": "마지막 관리자 계정은 삭제하거나 권한을 낮출 수 없습니다."},
    "wrong_password": {"en": "The current password is wrong.", "ko": "현재 비밀번호가 올바르지 않습니다."},
    "password_too_short": {"en": "The password must have at least {min} characters.", "ko": "비밀번호는 {min}자 이상이어야 합니다."},
    "database_unavailable": {"en": "The database is not answering. Try again in a moment.",
                             "ko": "데이터베이스가 응답하지 않습니다. 잠시 후 다시 시도해 주세요."},
    "shutting_down": {"en": "The server is shutting down.", "ko": "서버가 종료 중입니다."},
    "web_login_not_console": {
        "en": "This login is for the admin pages and cannot open the agent console. Log in from the console.",
        "ko": "관리자 페이지용 로그인으로는 상담원 콘솔을 열 수 없습니다. 콘솔에서 로그인하세요.",
    },
    "origin_not_allowed": {"en": "This page's origin may not open a connection.", "ko": "이 페이지에서는 연결할 수 없습니다."},
    # the ``message`` of a ``kicked`` WebSocket message, by its ``reason``
    "kicked_logged_in_elsewhere": {"en": "You were logged out because the same ID logged in elsewhere.", "ko": "같은 ID로 다른 곳에서 로그인하여 연결이 끊어졌습니다."},
    "kicked_account_changed": {
        "en": "An administrator disabled this account or reset its password. Log in again, or ask your administrator.",
        "ko": "관리자가 이 계정의 사용을 중지했거나 비밀번호를 바꿨습니다. 다시 로그인하거나 관리자에게 문의하세요.",
    },
    "kicked_account_deleted": {"en": "An administrator deleted this account.", "ko": "관리자가 이 계정을 삭제했습니다."},
    "kicked_replaced": {"en": "A newer connection of the same user took over this one.", "ko": "같은 사용자의 새 연결로 바뀌어 이 연결은 끊어졌습니다."},
    # hardening: bad input, content type, revoked tokens, slow readers (docs/security.md)
    "json_too_deep": {"en": "The JSON is nested more than {limit} levels deep.", "ko": "JSON이 {limit}단계보다 깊게 중첩되어 있습니다."},
    "unsupported_media_type": {
        "en": "Send the request body as JSON with the header 'Content-Type: application/json'.",
        "ko": "요청 본문은 'Content-Type: application/json' 헤더와 함께 JSON으로 보내세요.",
    },
    "kicked_logged_out": {"en": "You logged out, so this connection was closed. Log in again to continue.", "ko": "로그아웃하여 연결을 닫았습니다. 계속하려면 다시 로그인하세요."},
    "kicked_password_changed": {
        "en": "The password of this account was changed in another login. Log in again with the new password.",
        "ko": "다른 로그인에서 이 계정의 비밀번호가 바뀌었습니다. 새 비밀번호로 다시 로그인하세요.",
    },
}


def pick_language(accept_language: str | None, default: str = "ko") -> str:
    """The best of our languages for an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return default
    best, best_q = None, -1.0
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best or default


def text(key: str, lang: str = "ko", **fields) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**fields)
    except (KeyError, IndexError):
        return template


def register(texts: dict[str, dict[str, str]]) -> None:
    """Feature packages add their texts here at import time (keys must be new and bilingual)."""
    for key, entry in texts.items():
        if key in TEXTS:
            raise ValueError(f"text {key!r} defined twice")
        if set(entry) != set(LANGUAGES):
            raise ValueError(f"text {key!r} must exist in {LANGUAGES}")
        TEXTS[key] = entry
