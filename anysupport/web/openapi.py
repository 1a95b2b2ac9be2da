"""The OpenAPI 3 document, built from the routes and their ``@endpoint`` declarations."""

from __future__ import annotations

import re
from typing import Any

import tornado.web

from anysupport import __version__

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


def route_methods(handler) -> dict[str, Any]:
    """The HTTP methods a handler class implements itself, with their endpoint specs (or None)."""
    out = {}
    for method in METHODS:
        func = getattr(handler, method, None)
        if func is None:
            continue
        base = getattr(tornado.web.RequestHandler, method)
        if func is base:
            continue
        out[method] = getattr(func, "endpoint_spec", None)
    return out


def openapi_path(pattern: str) -> tuple[str, list[str]]:
    names = []

    def name_for(match: re.Match) -> str:
        inner = match.group(1)
        if "0-9a-f" in inner:
            name = "id"
        elif "A-Za-z0-9._-" in inner:
            name = "login"
        elif re.fullmatch(r"[a-z_]+(\|[a-z_]+)+", inner):  # a choice of words, e.g. (accept|decline)
            name = "action"
        elif inner.startswith("[0-9]"):
            name = "index"
        else:
            name = f"p{len(names)}"
        if name in names:
            name = f"{name}{len(names)}"
        names.append(name)
        return "{" + name + "}"

    path = re.sub(r"\(([^)]*)\)", name_for, pattern.rstrip("$"))
    return path, names


def build_openapi(routes) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for pattern, handler, *_ in routes:
        path, params = openapi_path(pattern)
        entry = paths.setdefault(path, {})
        for method, spec in route_methods(handler).items():
            if spec is None:
                continue
            op: dict[str, Any] = {
                "summary": spec.summary,
                "operationId": f"{method}_{handler.__name__}",
                "tags": list(spec.tags),
                "responses": {},
            }
            if spec.auth != "public":
                op["security"] = [{"bearer": []}]
                op["x-anysupport-auth"] = spec.auth
            if params:
                op["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
                ]
            if spec.query:
                op.setdefault("parameters", []).extend(
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in spec.query.get("properties", {}).items()
                )
            if spec.body:
                op["requestBody"] = {
                    "required": bool(spec.body.get("required")),
                    "content": {"application/json": {"schema": spec.body}},
                }
            for status, example in spec.responses.items():
                response: dict[str, Any] = {"description": example if isinstance(example, str) else "OK"}
                if status >= 400:
                    response["content"] = {"application/json": {"schema": ERROR_SCHEMA}}
                    response["description"] = f"error: {example}" if isinstance(example, str) else "error"
                elif isinstance(example, dict):
                    response["content"] = {"application/json": {"example": example}}
                op["responses"][str(status)] = response
            if spec.auth != "public":
                op["responses"].setdefault("401", {"description": "error: unauthorized",
                                                   "content": {"application/json": {"schema": ERROR_SCHEMA}}})
            if spec.auth in ("admin", "agent", "customer"):
                op["responses"].setdefault("403", {"description": "error: forbidden",
                                                   "content": {"application/json": {"schema": ERROR_SCHEMA}}})
            entry[method] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "AnySupport API",
            "version": __version__,
            "description": "REST API of the AnySupport server. Errors are {\"error\", \"message\"}. "
            "The WebSocket protocol (/ws) is in docs/protocol.md.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
