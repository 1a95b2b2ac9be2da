"""The mobile client's texts: ``text(key, language, **fields)``, and why a join failed.

Every text is in the ``mobile`` catalogue (``anysupport/i18n/mobile.json``, Korean and English; see
``anysupport/i18n`` for how to add one)."""

from __future__ import annotations

from typing import Any

from anysupport.i18n import catalogue

TEXTS = catalogue("mobile")
text = TEXTS.text


def join_error_text(failure: dict[str, Any], language: str) -> str:
    """Why a join failed and what to do: our text for the codes a customer meets, else the server's message
    (already in the customer's language), else a general one."""
    if failure.get("error") == "code_format":  # typed wrong: ask again
        return text("join_prompt", language)
    key = f"join_{failure.get('error')}"
    if key in TEXTS:
        return text(key, language)
    return failure.get("message") or text("join_failed", language)
