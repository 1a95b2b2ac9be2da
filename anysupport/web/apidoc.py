"""``docs/api.md`` is generated from the routes' ``@endpoint`` declarations, so it cannot drift:

    .venv/bin/python -m anysupport.web.apidoc > docs/api.md

(a test fails when the file differs from what this prints).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from anysupport.web.app import all_routes
from anysupport.web.openapi import build_openapi

INTRO = """# AnySupport REST API

Generated from the code by `python -m anysupport.web.apidoc`; the server also serves the same
description as OpenAPI 3 at `GET /api/v1/openapi.json`. The real-time WebSocket (`GET /ws`) is in
[protocol.md](protocol.md); statistics and the Excel export are detailed in [reports.md](reports.md).

## Conventions

- JSON in and out (UTF-8); times are ISO 8601 with offset. Dates in queries are `YYYY-MM-DD` in the
  server's `time_zone` (default Asia/Seoul), both ends included.
- Authentication: `Authorization: Bearer <token>`. Agents get a token from `POST /api/v1/auth/login`
  (revoked by logout, expiring after `token_ttl`); customers get one from `POST /api/v1/join` that opens
  their one session and nothing else. *Auth* below says who may call: `public` (anyone), `agent` (any
  logged-in agent, admins included), `admin` (role admin, else 403 `admin_only`), `customer`, `any`.
- Errors: `{"error": "<snake_case_code>", "message": "<text in the requester's language>"}` with a fitting
  status; validation errors add `"field"`, rate limits add `"retry_after"` (and a `Retry-After` header).
  The message follows `Accept-Language` (Korean or English), else the agent's language setting, else the
  server's `default_language`. Every endpoint may answer 400 `invalid_json` / `invalid_field` /
  `json_too_deep`, 413 `body_too_large` (over `max_body_bytes`), 415 `unsupported_media_type`, 503
  `shutting_down`; unknown paths answer 404 `not_found`, wrong methods 405 `method_not_allowed`,
  failures 500 `internal_error`.
- A request body must be sent with `Content-Type: application/json` (`; charset=utf-8` allowed), else
  415 `unsupported_media_type` (so another site's page cannot post to the API from a visitor's
  browser without the browser asking first). An empty body needs no type.
- Request bodies are checked against the JSON Schemas shown below (unknown fields are refused), after
  these rules for any JSON: nesting at most 32 levels (`json_too_deep`); no lone surrogate
  (`"\\ud800"`) in a string or a name, integers within 64 bits, no `NaN`/`Infinity`/`1e999`
  (`invalid_field` naming where). Integer query parameters are within 64 bits, and dates must give a
  day range that exists (`to=9999-12-31` does not: `invalid_query`).
- Every answer carries `X-Content-Type-Options: nosniff` and a `Content-Security-Policy` (JSON and
  static files: `default-src 'none'`), and `Strict-Transport-Security` when the request came over
  HTTPS (see [security.md](security.md)).
"""


def _schema_lines(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    lines = ["| field | type / rule | required |", "| --- | --- | --- |"]
    for name, prop in props.items():
        rule = json.dumps({k: v for k, v in prop.items()}, ensure_ascii=False)
        lines.append(f"| `{name}` | `{rule}` | {'yes' if name in required else ''} |")
    extra = {k: v for k, v in schema.items() if k in ("oneOf", "anyOf", "minProperties")}
    if extra:
        lines.append("")
        lines.append(f"Also: `{json.dumps(extra, ensure_ascii=False)}`")
    return lines


def render() -> str:
    doc = build_openapi(all_routes())
    out = [INTRO]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault((op["tags"] or ["other"])[0], []).append((path, method, op))
    for tag in sorted(by_tag):
        out.append(f"## {tag}\n")
        for path, method, op in by_tag[tag]:
            out.append(f"### `{method.upper()} {path}`\n")
            out.append(f"{op['summary']}.\n")
            out.append(f"Auth: `{op.get('x-anysupport-auth', 'public')}`.\n")
            params = [p for p in op.get("parameters", []) if p["in"] == "query"]
            if params:
                out.append("Query: " + ", ".join(f"`{p['name']}`" for p in params) + ".\n")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out.append("Body:\n")
                out.extend(_schema_lines(body))
                out.append("")
            answers = []
            for status, response in op["responses"].items():
                example = response.get("content", {}).get("application/json", {}).get("example")
                text = f"`{status}`"
                if example is not None:
                    text += f" e.g. `{json.dumps(example, ensure_ascii=False)}`"
                elif response["description"] not in ("OK",):
                    text += f" {response['description']}"
                answers.append(text)
            out.append("Answers: " + "; ".join(answers) + ".\n")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
