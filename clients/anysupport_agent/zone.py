"""One time zone for every time and day the console shows (issue 17 #21).

The server counts days, statistics and workbooks in its configured zone (``time_zone`` in the
settings); the console showed the PC's time beside them, so the same record read 18:30 in the console
and 19:30 in the workbook. The server names its zone in ``GET /api/v1/me`` (``time_zone``); the console
uses it for every time it shows and for "today", and names it where days are chosen. Until a server has
answered (or for an unknown name) the PC's own zone is used.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

_zone: dt.tzinfo | None = None
_name: str = ""


def use(name: str | None) -> None:
    """Show times in the zone ``name`` (an IANA name such as ``Asia/Seoul``); None or unknown: the PC's."""
    global _zone, _name
    try:
        _zone, _name = (zoneinfo.ZoneInfo(name), name) if name else (None, "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _zone, _name = None, ""


def name() -> str:
    """The zone's name; the PC's zone abbreviation when no server zone is known."""
    return _name or (dt.datetime.now().astimezone().tzname() or "")


def local(instant: dt.datetime) -> dt.datetime:
    """``instant`` (aware) in the shown zone."""
    return instant.astimezone(_zone)


def today() -> dt.date:
    return local(dt.datetime.now(dt.UTC)).date()


def show(iso: str | None, fmt: str, empty: str = "") -> str:
    """An ISO 8601 time from the server formatted in the shown zone; the text itself if it is no time."""
    if not iso:
        return empty
    try:
        return local(dt.datetime.fromisoformat(iso)).strftime(fmt)
    except ValueError:
        return iso
