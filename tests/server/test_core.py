"""Server core over real HTTP: health, OpenAPI, the JSON error format, limits, proxies."""

import json

import pytest

from anysupport.web.app import all_routes
from anysupport.web.openapi import openapi_path, route_methods


async def test_healthz_reports_database(api):
    r = await api.get("/healthz")
    assert r.status == 200
    assert r.json == {"status": "ok", "db": "ok"}


async def test_openapi_documents_every_route_and_method(api):
    r = await api.get("/api/v1/openapi.json")
    assert r.status == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    for pattern, handler, *_ in all_routes():
        path, _ = openapi_path(pattern)
        assert path in doc["paths"], f"{pattern} missing from the OpenAPI document"
        for method in route_methods(handler):
            assert method in doc["paths"][path], f"{method.upper()} {path} missing from the OpenAPI document"
    for contract in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/sessions", "/api/v1/join",
                     "/api/v1/sessions/{id}/record", "/api/v1/records", "/api/v1/admin/agents", "/healthz"):
        assert contract in doc["paths"]


async def test_unknown_route_is_json_404(api):
    r = await api.get("/no/such/thing")
    assert r.status == 404
    assert r.json["error"] == "not_found" and r.json["message"]


async def test_wrong_method_is_json_405(api):
    r = await api.request("DELETE", "/healthz")
    assert r.status == 405
    assert r.json["error"] == "method_not_allowed"


async def test_malformed_json_is_400(api):
    r = await api.post("/api/v1/auth/login", body=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json["error"] == "invalid_json"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "x"}, "login"),
        ({"login": 5, "password": "x"}, "login"),
        ({"login": "a", "password": "x", "force": "yes"}, "force"),
        ({"login": "a", "password": "x", "extra": 1}, "body"),
        ([1, 2], "body"),
    ],
)
async def test_missing_and_wrong_typed_fields_are_400_naming_the_field(api, body, field):
    r = await api.post("/api/v1/auth/login", body)
    assert r.status == 400
    assert r.json["error"] == "invalid_field"
    assert r.json["field"] == field


async def test_oversize_body_is_413_and_server_keeps_serving(api):
    big = json.dumps({"login": "a", "password": "x" * (1024 * 1024 + 10)})
    r = await api.post("/api/v1/auth/login", body=big, headers={"Content-Type": "application/json"})
    assert r.status == 413 and r.json["error"] == "body_too_large"
    # far over the limit the connection is cut; the server still answers the next request
    try:
        await api.post("/api/v1/auth/login", body=b"x" * (10 * 1024 * 1024))
    except ConnectionError:
        pass
    assert (await api.get("/healthz")).status == 200


async def test_errors_speak_the_requester_language(api):
    r = await api.post("/api/v1/auth/login", {"login": "nobody-here", "password": "x"}, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.status == 401 and r.json["message"] == "Wrong ID or password."
    r = await api.post("/api/v1/auth/login", {"login": "nobody-here", "password": "x"}, headers={"Accept-Language": "ko-KR"})
    assert r.json["message"] == "ID 또는 비밀번호가 올바르지 않습니다."

    # a request Tornado itself refuses (a query value that is not UTF-8) is answered in both languages too
    r = await api.get("/api/v1/site?token=%FF", headers={"Accept-Language": "ko"})
    assert r.status == 400 and r.json["error"] == "bad_request" and r.json["message"] == "요청 형식이 올바르지 않습니다."


async def test_security_headers_and_no_cache(api):
    r = await api.get("/healthz")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"


async def test_forwarded_headers_ignored_without_trusted_proxies(server, admin, api):
    # an untrusted X-Forwarded-For must not change the address the server records
    r = await admin.post("/api/v1/sessions")
    code = r.json["code"]
    joined = await api.post("/api/v1/join", {"code": code}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert joined.status == 200
    session = (await admin.get(f"/api/v1/sessions/{joined.json['session_id']}")).json
    assert session["customer"]["ip"] == "127.0.0.1"


async def test_forwarded_headers_believed_from_trusted_proxy(make_server):
    from tests.support.client import Api
    from tests.support.server import ADMIN_PASSWORD

    srv = make_server({"trusted_proxies": ["127.0.0.1/32"]})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    code = (await admin.post("/api/v1/sessions")).json["code"]
    joined = await api.post("/api/v1/join", {"code": code}, headers={"X-Forwarded-For": "203.0.113.7, 127.0.0.1",
                                                                      "X-Forwarded-Proto": "https"})
    session = (await admin.get(f"/api/v1/sessions/{joined.json['session_id']}")).json
    assert session["customer"]["ip"] == "203.0.113.7"
    me = await admin.get("/api/v1/me", headers={"X-Forwarded-Proto": "https"})
    assert me.json["public_url"].startswith("https://")


def test_every_route_method_declares_its_auth():
    from anysupport.web.app import UnguardedRouteError, check_routes
    from anysupport.web.base import BaseHandler

    class Naked(BaseHandler):
        async def get(self):
            self.send({})

    check_routes(all_routes())
    with pytest.raises(UnguardedRouteError):
        check_routes([(r"/naked", Naked)])


def test_access_log_masks_tokens():
    from anysupport.web.app import redact

    assert redact("/ws?token=abc.def&x=1") == "/ws?token=***&x=1"
    assert redact("/ws?x=1&TOKEN=abc") == "/ws?x=1&TOKEN=***"


def test_api_doc_is_generated_from_the_code():
    import os

    from anysupport.web.apidoc import render

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "api.md")
    with open(path, encoding="utf-8") as fh:
        assert fh.read() == render(), "docs/api.md is stale: run python -m anysupport.web.apidoc > docs/api.md"
