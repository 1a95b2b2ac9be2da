"""Security headers on every answer (API, pages, static files, errors), and the static file handler.

- ``Strict-Transport-Security`` when the request came over TLS (the server's own, or a trusted proxy's
  ``X-Forwarded-Proto: https``), so a browser never again tries plain HTTP for this site.
- ``X-Content-Type-Options: nosniff`` everywhere: a file is only what its ``Content-Type`` says.
- A ``Content-Security-Policy`` where the handler set none: nothing may load or frame from a JSON
  answer or a static file (the HTML pages set their own, stricter-for-them policy).

Written as a Tornado output transform so that no handler (Tornado's own static and error handlers
included) can forget them. See docs/security.md.
"""

from __future__ import annotations

from typing import Any

import tornado.httputil
import tornado.web

from anysupport import i18n
from anysupport.web.base import SafeLogMixin, client_address, dumps

HSTS = "max-age=31536000"
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(trusted_networks) -> type[tornado.web.OutputTransform]:
    """The transform class for ``Application(transforms=...)`` (it needs the trusted proxies)."""
    class SecurityHeaders(tornado.web.OutputTransform):
        def __init__(self, request: tornado.httputil.HTTPServerRequest):
            super().__init__(request)
            self.https = client_address(request, trusted_networks)[1] == "https"

        def transform_first_chunk(self, status_code: int, headers: tornado.httputil.HTTPHeaders, chunk: bytes,
                                  finishing: bool) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
            if self.https:
                headers["Strict-Transport-Security"] = HSTS
            headers["X-Content-Type-Options"] = "nosniff"
            if "Content-Security-Policy" not in headers:
                headers["Content-Security-Policy"] = DEFAULT_CSP
            return status_code, headers, chunk

    return SecurityHeaders


class StaticHandler(SafeLogMixin, tornado.web.StaticFileHandler):
    """``/static/``: Tornado's file handler, refusing names no file can have, answering errors as our
    JSON ``{"error", "message"}``, and logging only masked URIs."""

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if "\x00" in absolute_path:  # os.stat() raises ValueError on it: a 500 otherwise
            raise tornado.web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        if "\x00" in path:
            raise tornado.web.HTTPError(404)
        return super().get_absolute_path(root, path)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(status_code, "internal_error")
        if status_code >= 500:
            status_code = 500
        config = self.settings["config"]
        language = i18n.browser_language(self, config.default_language)
        self.clear()
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps({"error": code, "message": i18n.text(code, language)}))


__all__ = ["DEFAULT_CSP", "HSTS", "StaticHandler", "security_headers"]
