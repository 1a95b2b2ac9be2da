"""The console's texts in the user's language: ``Texts(language)(key, **fields)``.

Every text is in the ``console`` catalogue (``anysupport/i18n/console.json``, Korean and English; see
``anysupport/i18n`` for how to add one). Server errors arrive with a ``message`` already in the
agent's language (the client sends ``Accept-Language``); ``error_text`` prefers that, and falls back to
our own text for the codes the console knows, so the user never sees a bare code.
"""

from __future__ import annotations

from typing import Any

from anysupport.i18n import LANGUAGES, catalogue

TEXTS = catalogue("console")


class Texts:
    """The texts in one language: ``texts(key, name=value)``."""

    def __init__(self, language: str = "ko"):
        self.language = language if language in LANGUAGES else "ko"

    def __call__(self, key: str, **fields: Any) -> str:
        return TEXTS.text(key, self.language, **fields)

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
