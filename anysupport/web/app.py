"""The application factory: production and tests build the app the same way."""

from __future__ import annotations

import ipaddress
import logging
import os

import tornado.web

from anysupport.agents import handlers as agents_handlers
from anysupport.auth import handlers as auth_handlers
from anysupport.catalog import handlers as catalog_handlers
from anysupport.pages import handlers as pages_handlers
from anysupport.records import handlers as records_handlers
from anysupport.records import reports as records_reports
from anysupport.relay import handlers as relay_handlers
from anysupport.sessions import group_handlers
from anysupport.sessions import handlers as sessions_handlers
from anysupport.web import download, health
from anysupport.web.base import NotFoundHandler, redact
from anysupport.web.headers import StaticHandler, security_headers
from anysupport.web.openapi import build_openapi, route_methods
from anysupport.ws import handler as ws_handler

access_log = logging.getLogger("anysupport.access")
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ROUTE_MODULES = (
    health,
    auth_handlers,
    agents_handlers,
    sessions_handlers,
    group_handlers,
    records_reports,
    records_handlers,
    catalog_handlers,
    pages_handlers,
    download,
    relay_handlers,
    ws_handler,
)


def all_routes() -> list[tuple]:
    routes = []
    for module in ROUTE_MODULES:
        routes.extend(module.default_handlers)
    return routes


class UnguardedRouteError(RuntimeError):
    pass


def check_routes(routes) -> None:
    """Refuse to start with an HTTP method that does not declare who may call it (``@endpoint``)."""
    for pattern, handler, *_ in routes:
        for method, spec in route_methods(handler).items():
            if spec is None:
                raise UnguardedRouteError(f"{handler.__name__}.{method} ({pattern}) has no @endpoint declaration")


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log without secrets: tokens in query strings are masked, bodies are never logged."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    access_log.log(level, "%d %s %s (%s) %.1fms", status, request.method, redact(request.uri or ""),
                   request.remote_ip, 1000.0 * request.request_time())


def make_app(services, extra_routes=()) -> tornado.web.Application:
    config = services.config
    routes = [*all_routes(), *extra_routes]
    check_routes(routes)
    trusted = [ipaddress.ip_network(n, strict=False) for n in config.trusted_proxies]
    return tornado.web.Application(
        routes,
        transforms=[tornado.web.GZipContentEncoding, security_headers(trusted)],
        default_handler_class=NotFoundHandler,
        services=services,
        config=config,
        openapi=build_openapi(routes),
        trusted_networks=trusted,
        websocket_max_message_size=config.ws_max_message_bytes,
        websocket_ping_interval=None,  # the socket handler pings itself (anysupport.ws.heartbeat)
        log_function=log_request,
        template_path=os.path.join(PACKAGE_DIR, "templates"),
        static_path=os.path.join(PACKAGE_DIR, "static"),
        static_url_prefix="/static/",
        static_handler_class=StaticHandler,
        xsrf_cookies=False,
    )
