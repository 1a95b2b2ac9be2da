"""The plumbing every handler shares, written once.

- ``prepare()`` loads the caller from the bearer token (async, so it happens here).
- ``@endpoint(...)`` on every HTTP method says who may call it, validates the JSON body and query
  against schemas, and documents the method for OpenAPI. The application factory refuses a route
  whose method lacks it, so authorization cannot be forgotten.
- ``write_error`` answers every error, 404 and 500 included, as ``{"error", "message"}``.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import logging
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import jsonschema
import tornado.web

from anysupport import errors, i18n
from anysupport.auth.manager import Principal
from anysupport.protocol.messages import INT_MAX, INT_MIN, MAX_JSON_DEPTH, JsonProblem, loads_checked

log = logging.getLogger("anysupport.web")

AUTH_LEVELS = ("public", "agent", "admin", "customer", "any")


class UnsupportedMediaType(errors.DomainError):
    status = 415


_JSON_TYPE = re.compile(r"^application/json\s*(;\s*charset\s*=\s*\"?utf-8\"?\s*)?$", re.IGNORECASE)


def is_json_content_type(value: str) -> bool:
    """``application/json``, optionally with ``charset=utf-8`` (the only charset JSON has)."""
    return bool(_JSON_TYPE.match(value.strip()))


_SECRET_NAMES = ("token", "password", "secret")


def redact(uri: str) -> str:
    """A request URI fit for a log: the query is decoded as the server reads it (``tok%65n`` is
    ``token``), values of parameters whose name speaks of a token, password or secret are masked,
    and the query is encoded again. The raw query never reaches a log."""
    path, sep, query = uri.partition("?")
    if not sep:
        return path
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    masked = [(k, "***" if any(s in k.lower() for s in _SECRET_NAMES) else v) for k, v in pairs]
    return path + "?" + urllib.parse.urlencode(masked, safe="*")


class SafeLogMixin:
    """Tornado logs failures with the request's URI (and, for a 500, the request's repr, which holds
    the raw URI and headers): log them with the masked URI only."""

    def _request_summary(self) -> str:
        return f"{self.request.method} {redact(self.request.uri or '')} ({self.request.remote_ip})"

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)  # a warning line built from _request_summary
        else:
            log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, default=json_default, ensure_ascii=False, separators=(",", ":"))


def _schema_error_detail(error: jsonschema.ValidationError) -> tuple[str, str]:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return (f"{path}.{missing}" if path else missing) or "body", "is required"
    # the message may quote the value sent: keep it short
    return path or "body", error.message if len(error.message) <= 300 else error.message[:300] + "…"


def validate_with(schema: dict[str, Any], data: Any, *, code: str = "invalid_field") -> None:
    validator = _validators.get(id(schema))
    if validator is None:
        validator = _validators[id(schema)] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        field, detail = _schema_error_detail(error)
        raise errors.Invalid(code, field=field, detail=detail)


_validators: dict[int, jsonschema.Draft202012Validator] = {}


class EndpointSpec:
    def __init__(self, auth: str, summary: str, body: dict | None, query: dict | None, responses: dict,
                 tags: tuple[str, ...]):
        if auth not in AUTH_LEVELS:
            raise ValueError(f"unknown auth level {auth!r}")
        self.auth = auth
        self.summary = summary
        self.body = body
        self.query = query
        self.responses = responses
        self.tags = tags


def endpoint(*, auth: str, summary: str, body: dict | None = None, query: dict | None = None,
             responses: dict[int, Any] | None = None, tags: tuple[str, ...] = ()) -> Callable:
    """Declare who may call an HTTP method, what it takes and what it answers."""
    spec = EndpointSpec(auth, summary, body, query, responses or {200: None}, tags)

    def decorate(method):
        @functools.wraps(method)
        async def wrapper(self: BaseHandler, *args, **kwargs):
            self.authorize(spec.auth)
            if spec.query is not None:
                self.query = self.parse_query(spec.query)
            if spec.body is not None:
                self.require_json_content_type()
                self.body = self.get_json_body()
                if self.body is None and not spec.body.get("required"):
                    self.body = {}
                validate_with(spec.body, self.body)
            return await method(self, *args, **kwargs)

        wrapper.endpoint_spec = spec
        return wrapper

    return decorate


class BaseHandler(SafeLogMixin, tornado.web.RequestHandler):
    principal: Principal | None = None
    body: Any = None
    query: dict[str, Any] | None = None

    # services, from the application settings (never module globals); handlers reach the database only
    # through the managers, so there is no ``store`` here
    @property
    def config(self):
        return self.settings["config"]

    @property
    def services(self):
        return self.settings["services"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    @property
    def language(self) -> str:
        if self.principal and self.principal.agent:
            lang = self.principal.agent.get("settings", {}).get("language")
            if lang in i18n.LANGUAGES and not self.request.headers.get("Accept-Language"):
                return lang
        return i18n.browser_language(self, self.config.default_language)

    # -- the caller ---------------------------------------------------------------------------------
    def bearer_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        return self.get_query_argument("token", None)

    async def prepare(self) -> None:
        if self.request.body and len(self.request.body) > self.config.max_body_bytes:
            raise errors.TooLarge("body_too_large", limit=self.config.max_body_bytes)
        if self.settings.get("shutting_down"):
            raise errors.Unavailable("shutting_down")
        self.principal = await self.services.auth.authenticate(self.bearer_token())

    def authorize(self, level: str) -> None:
        p = self.principal
        if level == "public":
            return
        if p is None:
            raise errors.Unauthorized("unauthorized")
        if level == "any":
            return
        if level == "customer":
            if p.kind != "customer":
                raise errors.Forbidden("forbidden")
            return
        if p.kind != "agent":
            raise errors.Forbidden("forbidden")
        if level == "admin" and not p.is_admin:
            raise errors.Forbidden("admin_only")

    @property
    def agent(self) -> dict[str, Any]:
        assert self.principal is not None and self.principal.agent is not None
        return self.principal.agent

    @property
    def base_url(self) -> str:
        """This server's URL as the caller reached it (scheme from a trusted proxy when there is one)."""
        _ip, scheme = client_address(self.request, self.settings["trusted_networks"])
        return f"{scheme}://{self.request.host}"

    @property
    def client_ip(self) -> str:
        return client_address(self.request, self.settings["trusted_networks"])[0]

    # -- input --------------------------------------------------------------------------------------
    def require_json_content_type(self) -> None:
        """A body must say it is JSON: a page of another site can send ``text/plain`` (or a form) to us
        without asking the browser first, but never ``application/json``."""
        if not self.request.body:
            return
        if not is_json_content_type(self.request.headers.get("Content-Type", "")):
            raise UnsupportedMediaType("unsupported_media_type")

    def get_json_body(self) -> Any:
        try:
            return loads_checked(self.request.body or b"null")
        except JsonProblem as exc:
            if exc.code == "json_too_deep":
                raise errors.Invalid("json_too_deep", limit=MAX_JSON_DEPTH) from None
            raise errors.Invalid("invalid_field", field=exc.field or "body", detail=exc.detail) from None
        except (ValueError, UnicodeDecodeError):
            raise errors.Invalid("invalid_json") from None

    def parse_query(self, schema: dict[str, Any]) -> dict[str, Any]:
        props = schema.get("properties", {})
        values: dict[str, Any] = {}
        for name, prop in props.items():
            raw = self.get_query_argument(name, None)
            if raw is None:
                continue
            kind = prop.get("type")
            try:
                if kind == "integer":
                    values[name] = int(raw)
                    if not INT_MIN <= values[name] <= INT_MAX:
                        raise errors.Invalid("invalid_query", field=name, detail="is out of range (64-bit integers only)")
                elif kind == "boolean":
                    values[name] = raw.lower() in ("1", "true", "yes")
                else:
                    values[name] = raw
            except ValueError:
                raise errors.Invalid("invalid_query", field=name, detail=f"{raw!r} is not a {kind}") from None
        validate_with(schema, values, code="invalid_query")
        return values

    # -- output -------------------------------------------------------------------------------------
    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(dumps(data))

    def no_content(self) -> None:
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()

    def send_error_json(self, status: int, code: str, message: str, **extra: Any) -> None:
        self.clear()
        self.set_default_headers()  # a page's (or the socket's) own headers, but the body is always JSON
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_status(status)
        if "retry_after" in extra:
            self.set_header("Retry-After", str(extra["retry_after"]))
        self.finish(dumps({"error": code, "message": message, **extra}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, errors.DomainError):
            extra: dict[str, Any] = {}
            if isinstance(exc, errors.RateLimited):
                extra["retry_after"] = exc.retry_after
            if exc.code in ("invalid_field", "invalid_query"):
                extra["field"] = exc.fields.get("field")
            if isinstance(exc, errors.PreconditionFailed):  # what is current now, to merge with
                extra.update(exc.fields)
            self.send_error_json(exc.status, exc.code, i18n.text(exc.code, self.language, **exc.fields), **extra)
            return
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
            415: "unsupported_media_type",
            503: "database_unavailable",
        }.get(status_code, "internal_error")
        if status_code >= 500 and code == "internal_error":
            status_code = 500
        self.send_error_json(status_code, code, i18n.text(code, self.language, limit=self.config.max_body_bytes))

    def _handle_request_exception(self, e: BaseException) -> None:
        if not isinstance(e, errors.DomainError) and "services" in self.settings:
            e = self.services.store.translate(e) or e  # the database unreachable: 503 database_unavailable
        if isinstance(e, errors.DomainError):
            if self._finished:
                return
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def client_address(request, trusted_networks) -> tuple[str, str]:
    """The caller's address and scheme; forwarded headers count only from a trusted proxy."""
    remote = request.remote_ip or ""
    scheme = request.protocol
    if trusted_networks and _in_networks(remote, trusted_networks):
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        # walk from the nearest hop back, skipping our own proxies
        for hop in reversed(forwarded):
            remote = hop
            if not _in_networks(hop, trusted_networks):
                break
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
    return remote, scheme


def _in_networks(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class NotFoundHandler(BaseHandler):
    """Unknown routes answer our JSON 404 (Tornado's ``default_handler_class``)."""

    async def prepare(self) -> None:
        raise errors.NotFound("not_found")
