"""Which language a desktop program starts in: Korean where the user's locale is Korean, else English.

Both desktop programs (the console and the mobile client) ask this one function; their ``--lang``
flags and settings override it.
"""

from __future__ import annotations

import locale
import os


def default_language() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    try:
        current = locale.getlocale()[0] or ""
    except ValueError:
        current = ""
    return "ko" if current.lower().startswith("ko") else "en"
