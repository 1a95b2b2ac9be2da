"""``GET /api/v1/metrics``: the relay's totals for Prometheus; ``GET /api/v1/admin/relay/sessions``:
the per-session counters, for an administrator looking at one node."""

from __future__ import annotations

from anysupport.relay.metrics import exposition, node_label
from anysupport.web.base import BaseHandler, endpoint

SESSION_COUNTERS_EXAMPLE = {
    "node": "",
    "sessions": [{"session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "frames_in": 2400, "bytes_in": 9_411_200,
                  "frames_out": 2398, "bytes_out": 9_403_400, "dropped": {"rate": 2}}],
}


class MetricsHandler(BaseHandler):
    @endpoint(auth="admin", summary="Relay totals (frames and bytes in and out, dropped by reason, queued bytes) and "
              "live sessions by state, in the Prometheus text format (OpenMetrics when the Accept header asks "
              "for it); a `node` label on a node of a cluster. Per-session counters: "
              "GET /api/v1/admin/relay/sessions", tags=("server",),
              responses={200: "text/plain; version=0.0.4"})
    async def get(self) -> None:
        services = self.services
        body, content_type = exposition(services.relay, self.request.headers.get("Accept", ""),
                                        getattr(services, "cluster", None))
        self.set_header("Content-Type", content_type)
        self.finish(body)


class RelaySessionsHandler(BaseHandler):
    @endpoint(auth="admin", summary="Media counters of every live session on this node that has sent media "
              "(frames and bytes in and out, drops by reason)", tags=("admin",),
              responses={200: SESSION_COUNTERS_EXAMPLE})
    async def get(self) -> None:
        relay = self.services.relay
        self.send({"node": node_label(self.config, getattr(self.services, "cluster", None)),
                   "sessions": relay.session_counters()})


default_handlers = [
    (r"/api/v1/metrics", MetricsHandler),
    (r"/api/v1/admin/relay/sessions", RelaySessionsHandler),
]
