"""Liveness and the API description."""

from __future__ import annotations

from anysupport import __version__
from anysupport.web.base import BaseHandler, endpoint


class HealthHandler(BaseHandler):
    @endpoint(auth="public", summary="Is the server up and its database answering?", tags=("server",),
              responses={200: {"status": "ok", "db": "ok"}, 503: {"status": "degraded", "db": "down"}})
    async def get(self) -> None:
        ok = await self.services.store.healthy()
        if self.settings.get("shutting_down"):
            self.send({"status": "shutting_down", "db": "ok" if ok else "down"}, 503)
        else:
            self.send({"status": "ok" if ok else "degraded", "db": "ok" if ok else "down"}, 200 if ok else 503)


class OpenAPIHandler(BaseHandler):
    @endpoint(auth="public", summary="This OpenAPI 3 description of every REST endpoint", tags=("server",))
    async def get(self) -> None:
        self.send(self.settings["openapi"])


class VersionHandler(BaseHandler):
    @endpoint(auth="public", summary="The server's version: consoles compare theirs with it at start",
              tags=("server",), responses={200: {"version": "0.1.0"}})
    async def get(self) -> None:
        self.send({"version": __version__})


default_handlers = [
    (r"/healthz", HealthHandler),
    (r"/api/v1/version", VersionHandler),
    (r"/api/v1/openapi.json", OpenAPIHandler),
]
