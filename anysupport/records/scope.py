"""Which records a request covers: a period of days and whose records. No HTTP in here.

The record list, the statistics and the Excel export all read a ``RecordScope``, made by
``RecordManager.scope`` (which applies who may see whose records).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from anysupport.errors import Invalid


@dataclass(frozen=True)
class RecordScope:
    start: dt.datetime | None  # UTC, included (None: since the first record)
    end: dt.datetime | None  # UTC, excluded (None: up to now)
    agent_id: str | None  # whose records (None: every agent's)
    agent_login: str | None  # whose, as the answers name it (None: every agent's)
    first: str | None = None  # the days asked for (YYYY-MM-DD), as the answers name them
    last: str | None = None


def day_range(first: str | None, last: str | None, tz_name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``first``/``last`` days (both included) in the server's time zone, as UTC instants [start, end)."""
    tz = zoneinfo.ZoneInfo(tz_name)

    def parse(name: str, text: str | None) -> dt.date | None:
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise Invalid("invalid_query", field=name, detail="not a date (YYYY-MM-DD)") from None

    start_day, end_day = parse("from", first), parse("to", last)
    if start_day and end_day and start_day > end_day:
        raise Invalid("invalid_query", field="from", detail="'from' is after 'to'")
    try:  # 0001-01-01 in a zone east of UTC, or the day after 9999-12-31, is no datetime
        start = dt.datetime.combine(start_day, dt.time(), tz).astimezone(dt.UTC) if start_day else None
    except OverflowError:
        raise Invalid("invalid_query", field="from", detail="the date is out of range") from None
    try:
        end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC) if end_day else None
    except OverflowError:
        raise Invalid("invalid_query", field="to", detail="the date is out of range") from None
    return start, end
