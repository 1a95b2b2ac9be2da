"""Support records: read and filled by their agent (or an admin)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from anysupport.errors import Invalid
from anysupport.records.manager import RESOLUTIONS, record_view
from anysupport.web.base import BaseHandler, endpoint

RECORD_BODY = {
    "type": "object",
    "properties": {
        "customer_name": {"type": ["string", "null"], "maxLength": 100},
        "email": {"type": ["string", "null"], "maxLength": 254},
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "trouble_type": {"type": ["string", "null"], "maxLength": 64},
        "content": {"type": ["string", "null"], "maxLength": 10000},
        "resolution": {"enum": [*RESOLUTIONS, None]},
    },
    "additionalProperties": False,
}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
# the period and whose records: shared by the list, the statistics and the export
SCOPE_QUERY = {
    "type": "object",
    "properties": {
        "from": DATE,
        "to": DATE,
        "agent": {"type": "string", "maxLength": 64},
        "lang": {"enum": ["ko", "en"]},
    },
}
RANGE_QUERY = {
    "type": "object",
    "properties": {
        **SCOPE_QUERY["properties"],
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
        "skip": {"type": "integer", "minimum": 0},
    },
}


def day_range(query: dict, tz_name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``from``/``to`` days (both included) in the server's time zone, as UTC instants [start, end)."""
    tz = zoneinfo.ZoneInfo(tz_name)

    def parse(name: str) -> dt.date | None:
        if name not in query:
            return None
        try:
            return dt.date.fromisoformat(query[name])
        except ValueError:
            raise Invalid("invalid_query", field=name, detail="not a date (YYYY-MM-DD)") from None

    first, last = parse("from"), parse("to")
    if first and last and first > last:
        raise Invalid("invalid_query", field="from", detail="'from' is after 'to'")
    try:  # 0001-01-01 in a zone east of UTC, or the day after 9999-12-31, is no datetime
        start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC) if first else None
    except OverflowError:
        raise Invalid("invalid_query", field="from", detail="the date is out of range") from None
    try:
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC) if last else None
    except OverflowError:
        raise Invalid("invalid_query", field="to", detail="the date is out of range") from None
    return start, end


class RecordScopeMixin:
    async def scope(self) -> tuple[dt.datetime | None, dt.datetime | None, str | None]:
        """The date range and whose records: an agent's own; an admin's everyone's or one agent's."""
        start, end = day_range(self.query, self.config.time_zone)
        if not self.principal.is_admin:
            return start, end, self.agent["id"]
        if self.query.get("agent"):
            agent = await self.services.agents.get(self.query["agent"])
            return start, end, agent["id"]
        return start, end, None


class SessionRecordHandler(BaseHandler):
    @endpoint(auth="agent", summary="The support record of a session", tags=("records",),
              responses={200: None, 404: "record_not_found"})
    async def get(self, session_id: str) -> None:
        self.send(record_view(await self.services.records.get_for(self.agent, session_id)))

    @endpoint(auth="agent", summary="Save the support record fields (during or after the session)",
              body=RECORD_BODY, tags=("records",), responses={200: None, 400: "invalid_field", 404: "record_not_found"})
    async def put(self, session_id: str) -> None:
        self.send(record_view(await self.services.records.update(self.agent, session_id, self.body)))


class RecordsHandler(RecordScopeMixin, BaseHandler):
    @endpoint(auth="agent", summary="Records whose session started in [from, to] (days in the server's time zone)",
              query=RANGE_QUERY, tags=("records",))
    async def get(self) -> None:
        start, end, agent_id = await self.scope()
        records = await self.store.records.list(
            start=start, end=end, agent_id=agent_id, limit=self.query.get("limit", 1000), skip=self.query.get("skip", 0)
        )
        total = await self.store.records.count(start=start, end=end, agent_id=agent_id)
        self.send({"records": [record_view(r) for r in records], "total": total})


default_handlers = [
    (r"/api/v1/sessions/([0-9a-f]{24})/record", SessionRecordHandler),
    (r"/api/v1/records", RecordsHandler),
]
