"""What an attacker from another site, or a passive one on the network, could use: content types,
security headers, secrets in logs."""

import json

import pytest

from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD

LOGIN = json.dumps({"login": "admin", "password": ADMIN_PASSWORD})


# -- JSON bodies must say they are JSON (another site's page can send text/plain without asking) --------------
@pytest.mark.parametrize("content_type", [
    None, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
    "application/json-patch+json", "application/jsonx", "application/json; charset=latin-1",
])
async def test_json_endpoints_refuse_other_content_types_with_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    for lang, text in (("en", "Send the request body as JSON with the header 'Content-Type: application/json'."),
                       ("ko", "요청 본문은 'Content-Type: application/json' 헤더와 함께 JSON으로 보내세요.")):
        r = await Api(server.url, language=lang).post("/api/v1/auth/login", body=LOGIN, headers=headers)
        assert r.status == 415, (content_type, r.status, r.body)
        assert r.json == {"error": "unsupported_media_type", "message": text}


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
    'application/json; charset="utf-8"',
])
async def test_json_content_type_with_or_without_charset_is_accepted(api, content_type):
    r = await api.post("/api/v1/auth/login", body=LOGIN, headers={"Content-Type": content_type})
    assert r.status == 200, r.body


async def test_a_text_plain_guess_never_counts_as_a_failed_login(make_server):
    srv = make_server({"login_max_failures": 2, "login_window": 60})
    api = Api(srv.url)
    for _ in range(5):
        r = await api.post("/api/v1/auth/login", body='{"login": "admin", "password": "guess"}',
                           headers={"Content-Type": "text/plain"})
        assert r.status == 415
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    assert token


async def test_an_empty_body_needs_no_content_type(agent_factory):
    client, _agent, _ = await agent_factory()
    r = await client.post("/api/v1/sessions", body=b"")
    assert r.status == 201, r.body


# -- headers ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/static/common.js", "/static/anysupport.css", "/static/customer/vocabulary.js",
                                  "/static/missing.js", "/api/v1/site", "/healthz", "/no/such/path", "/customer"])
async def test_every_answer_has_nosniff_and_a_csp(api, path):
    r = await api.get(path)
    assert r.headers["X-Content-Type-Options"] == "nosniff", path
    csp = r.headers["Content-Security-Policy"]
    assert "default-src" in csp and "frame-ancestors 'none'" in csp, (path, csp)
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: HSTS would mean nothing


async def test_static_files_may_not_run_or_load_anything(api):
    r = await api.get("/static/common.js")
    assert r.status == 200 and r.headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_hsts_only_over_https_from_a_trusted_proxy(make_server):
    srv = make_server({"trusted_proxies": ["127.0.0.1/32"]})
    api = Api(srv.url)
    r = await api.get("/api/v1/site", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    r = await api.get("/static/common.js", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in (await api.get("/api/v1/site")).headers


async def test_hsts_not_believed_from_an_untrusted_client(api):
    r = await api.get("/api/v1/site", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in r.headers


async def test_every_endpoint_with_a_body_refuses_text_plain(admin):
    import re

    from anysupport.web.app import all_routes
    from anysupport.web.openapi import route_methods

    checked = 0
    for pattern, handler, *_ in all_routes():
        path = re.sub(r"\(\[0-9a-f\]\{24\}\)", "0" * 24, pattern)
        path = re.sub(r"\([^)]*\)", "nobody", path)
        for method, spec in route_methods(handler).items():
            if spec is None or spec.body is None:
                continue
            r = await admin.request(method.upper(), path, body='{"x": 1}', headers={"Content-Type": "text/plain"})
            if spec.auth == "customer":  # an agent's token is refused first
                assert r.status == 403, (method, path, r.status)
                continue
            assert r.status == 415 and r.error == "unsupported_media_type", (method, path, r.status, r.body)
            checked += 1
    assert checked >= 10
