"""``GET /api/v1/metrics``: relay and session counters in the Prometheus text format."""

from __future__ import annotations

from anysupport.web.base import BaseHandler, endpoint


class MetricsHandler(BaseHandler):
    @endpoint(auth="admin", summary="Relay counters (frames and bytes in, out, dropped by reason) in the "
              "Prometheus text format, in total and per live session", tags=("server",),
              responses={200: "text/plain; version=0.0.4"})
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.services.relay.metrics_text())


default_handlers = [(r"/api/v1/metrics", MetricsHandler)]
