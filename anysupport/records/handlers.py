"""Support records: read and filled by their agent (or an admin)."""

from __future__ import annotations

from typing import Any

from anysupport.protocol.vocabulary import LANGUAGES, OBJECT_ID_ROUTE
from anysupport.records.manager import RESOLUTIONS, record_version, record_view
from anysupport.records.scope import RecordScope
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
        "lang": {"enum": list(LANGUAGES)},
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


class RecordScopeMixin:
    async def scope(self) -> RecordScope:
        """The days and whose records the query asks for, as the asker may see them."""
        q = self.query
        return await self.services.records.scope(self.agent, first=q.get("from"), last=q.get("to"), login=q.get("agent"))


def etag(record: dict[str, Any]) -> str:
    return f'"{record_version(record)}"'


def if_match_versions(header: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header names: None without one (or ``*``); an empty set for tags that
    are none of this record's versions (so the save fails with 412, as RFC 9110 asks)."""
    if header is None or header.strip() == "*":
        return None
    tags = (tag.strip().removeprefix("W/").strip('"') for tag in header.split(","))
    return frozenset(int(tag) for tag in tags if tag.isdigit())


RECORD_EXAMPLE = {
    "id": "65a1f3d0e4b5d6a7b8c9d0f2", "session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "agent_login": "kim",
    "agent_name": "김상담", "customer_name": "홍길동", "email": None, "phone": "010-1234-5678", "ip": "203.0.113.7",
    "trouble_type": "65f0c1d2e3a4b5c6d7e8f901", "trouble_type_name": "네트워크 / 와이파이",
    "content": "공유기 재부팅으로 해결", "resolution": "solved", "satisfaction": "satisfied", "feedback": None,
    "started_at": "2026-05-18T01:21:30+00:00", "ended_at": "2026-05-18T01:40:00+00:00",
    "updated_at": "2026-05-18T01:39:12+00:00", "version": 3}


class SessionRecordHandler(BaseHandler):
    @endpoint(auth="agent", summary="The support record of a session; its ETag (also its `version`) makes a "
              "save conditional", tags=("records",), responses={200: RECORD_EXAMPLE, 404: "record_not_found"})
    async def get(self, session_id: str) -> None:
        record = await self.services.records.get_for(self.agent, session_id)
        self.set_header("ETag", etag(record))
        self.send(record_view(record))

    @endpoint(auth="agent", summary="Save the support record fields (during or after the session); with "
              "`If-Match` (the ETag the form was loaded with) only if nobody saved since. The console and the "
              "admin page always send it (a console draft kept from before versions is first compared with the "
              "current record); a save without it applies to the current record, for scripts that read and "
              "write in one step and for consoles older than versions",
              body=RECORD_BODY, tags=("records",),
              responses={200: None, 400: "invalid_field", 404: "record_not_found",
                         412: "record_changed (another save came first: `record` is the current one)"})
    async def put(self, session_id: str) -> None:
        record = await self.services.records.update(self.agent, session_id, self.body,
                                                    if_match=if_match_versions(self.request.headers.get("If-Match")))
        self.set_header("ETag", etag(record))
        self.send(record_view(record))


class RecordsHandler(RecordScopeMixin, BaseHandler):
    @endpoint(auth="agent", summary="Records whose session started in [from, to] (days in the server's time zone)",
              query=RANGE_QUERY, tags=("records",))
    async def get(self) -> None:
        records, total = await self.services.records.list(await self.scope(), limit=self.query.get("limit", 1000),
                                                          skip=self.query.get("skip", 0))
        self.send({"records": records, "total": total})


default_handlers = [
    (rf"/api/v1/sessions/{OBJECT_ID_ROUTE}/record", SessionRecordHandler),
    (r"/api/v1/records", RecordsHandler),
]
