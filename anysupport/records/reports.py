"""Routes of the record statistics and the Excel export (docs/reports.md).

Both take the range and scope of the record list (``RecordManager.scope``): days in the server's
time zone, an agent's own records, an admin's everyone's or ``?agent=LOGIN``'s. Labels follow the
requester's language: ``?lang=ko|en``, else Accept-Language, else the agent's. The answers are the
records manager's (``statistics``, ``export``); these handlers read the query and send the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from typing import Any

from tornado.iostream import StreamClosedError

from anysupport.records.export import XLSX_MIME
from anysupport.records.handlers import SCOPE_QUERY, RecordScopeMixin
from anysupport.web.base import BaseHandler, endpoint

REPORT_QUERY = SCOPE_QUERY
CHUNK_BYTES = 64 * 1024


def _row(key: str, label: str, count: int, ratio: float) -> dict[str, Any]:
    return {"key": key, "label": label, "count": count, "ratio": ratio}


STATS_EXAMPLE = {
    "from": "2024-03-01", "to": "2024-03-31", "time_zone": "Asia/Seoul", "agent": None, "language": "ko",
    "total": 4,
    "trouble_type": {"title": "장애 유형", "rows": [_row("65f0c1d2e3a4b5c6d7e8f901", "네트워크 / 와이파이", 3, 0.75),
                                                 _row("unspecified", "미지정", 1, 0.25)],
                     "total": {"label": "전체", "count": 4, "ratio": 1.0}},
    "resolution": {"title": "해결 여부", "rows": [_row("solved", "해결", 2, 0.5), _row("pending", "보류", 1, 0.25),
                                              _row("onsite_needed", "직접 지원 필요", 0, 0.0),
                                              _row("unchecked", "미체크", 1, 0.25)],
                   "total": {"label": "전체", "count": 4, "ratio": 1.0}},
    "satisfaction": {"title": "고객 만족도", "rows": [_row("satisfied", "만족", 2, 0.5), _row("neutral", "보통", 0, 0.0),
                                                 _row("unsatisfied", "불만족", 1, 0.25),
                                                 _row("no_answer", "무응답", 1, 0.25)],
                     "total": {"label": "전체", "count": 4, "ratio": 1.0}},
}


class ReportHandler(RecordScopeMixin, BaseHandler):
    @property
    def report_language(self) -> str:
        return self.query.get("lang") or self.language


class RecordStatsHandler(ReportHandler):
    @endpoint(auth="agent", summary="Counts and ratios of records by trouble type, resolution and satisfaction "
              "in [from, to] (days in the server's time zone; none = all time)", query=REPORT_QUERY,
              tags=("records",), responses={200: STATS_EXAMPLE, 400: "invalid_query", 404: "agent_not_found"})
    async def get(self) -> None:
        self.send(await self.services.records.statistics(await self.scope(), self.report_language))


def export_filename(first: str, last: str, agent: str | None) -> str:
    """``anysupport-records_<first day>_<last day>[_<login>].xlsx``: the range the workbook covers."""
    parts = ["anysupport-records", first, last]
    if agent:
        parts.append(re.sub(r"[^A-Za-z0-9._-]", "_", agent))
    return "_".join(parts) + ".xlsx"


class RecordExportHandler(ReportHandler):
    @endpoint(auth="agent", summary="The records of [from, to] and their statistics as an Excel workbook (.xlsx)",
              query=REPORT_QUERY, tags=("records",),
              responses={200: "an .xlsx workbook (attachment)", 400: "invalid_query", 404: "agent_not_found"})
    async def get(self) -> None:
        scope = await self.scope()
        fd, path = tempfile.mkstemp(prefix="anysupport-export-", suffix=".xlsx")
        os.close(fd)
        try:
            answer = await self.services.records.export(scope, self.report_language, path)
            first, last = await self.services.records.named_range(scope)
            self.set_header("Content-Type", XLSX_MIME)
            self.set_header("Content-Disposition",
                            f'attachment; filename="{export_filename(first, last, answer["agent"])}"')
            self.set_header("Content-Length", os.path.getsize(path))
            with open(path, "rb") as fh, contextlib.suppress(StreamClosedError):
                while chunk := fh.read(CHUNK_BYTES):
                    self.write(chunk)
                    await self.flush()  # one chunk in memory at a time, whatever the file's size
                self.finish()
        finally:
            os.unlink(path)


default_handlers = [
    (r"/api/v1/records/stats", RecordStatsHandler),
    (r"/api/v1/records/export.xlsx", RecordExportHandler),
]
