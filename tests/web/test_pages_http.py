"""The pages and their public JSON endpoints over plain HTTP: headers, languages, escaping."""

from __future__ import annotations

import json
import re

from anysupport.protocol import vocabulary
from tests.support.client import Api

PAGES = ("/", "/survey", "/admin")


async def test_pages_are_html_with_security_headers(api):
    for path in PAGES:
        r = await api.get(path)
        assert r.status == 200, path
        assert r.headers["Content-Type"].startswith("text/html")
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        html = r.body.decode()
        # no inline script: every <script> either loads a file or is a JSON data block
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert "set-cookie" not in {k.lower() for k in r.headers}
        # WebAssembly (Opus for older iPhones) on the customer page only, and never eval of JavaScript
        assert ("'wasm-unsafe-eval'" in csp) == (path == "/") and "'unsafe-eval'" not in csp


async def test_pages_follow_the_browser_language(api):
    ko = (await api.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})).body.decode()
    assert '<html lang="ko">' in ko and "고객 접속" in ko
    en = (await api.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})).body.decode()
    assert '<html lang="en">' in en and "Customer connection" in en
    forced = (await api.get("/admin?lang=en", headers={"Accept-Language": "ko"})).body.decode()
    assert "Administrator login" in forced
    # the server's default language (ko) when the browser names none of ours
    assert '<html lang="ko">' in (await api.get("/survey", headers={"Accept-Language": "fr"})).body.decode()


async def test_admin_slash_redirects(server):
    import tornado.httpclient

    r = await tornado.httpclient.AsyncHTTPClient().fetch(server.url + "/admin/", follow_redirects=False,
                                                         raise_error=False)
    assert r.code == 301 and r.headers["Location"] == "/admin"


async def test_static_files_are_served(api):
    for name in ("common.js", "admin.js", "customer.js", "survey.js", "anysupport.css", "customer/vocabulary.js"):
        r = await api.get(f"/static/{name}")
        assert r.status == 200, name


async def test_brand_and_site_endpoint_escape_nothing_twice(make_server):
    from tests.support.server import ADMIN_PASSWORD

    srv = make_server()
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = api.with_token(token)
    site = await api.get("/api/v1/site")
    assert site.status == 200 and site.json == {"brand_name": "AnySupport", "public_url": srv.url}
    brand = '<script>alert("x")</script> 센터'
    assert (await admin.put("/api/v1/admin/site", {"brand_name": brand, "public_url": "https://help.example.com"})).status == 200
    assert (await api.get("/api/v1/site")).json == {"brand_name": brand, "public_url": "https://help.example.com"}
    html = (await api.get("/")).body.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 센터" in html


async def test_survey_text_in_the_requester_language(make_server):
    from tests.support.server import ADMIN_PASSWORD

    srv = make_server()
    api = Api(srv.url)
    ko = (await api.get("/api/v1/survey", headers={"Accept-Language": "ko-KR"})).json
    assert ko == {
        "enabled": True, "language": "ko", "question": "상담에 만족하셨습니까?",
        "choices": [{"value": "satisfied", "label": "만족"}, {"value": "neutral", "label": "보통"},
                    {"value": "unsatisfied", "label": "불만족"}],
        "feedback": True, "feedback_prompt": "의견을 남겨 주세요 (선택).",
    }
    en = (await api.get("/api/v1/survey?lang=en", headers={"Accept-Language": "ko"})).json
    assert en["question"] == "Were you satisfied with the support?" and en["choices"][2]["label"] == "Unsatisfied"
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    r = await api.with_token(token).put("/api/v1/admin/survey", {"enabled": False, "question": {"ko": "질문", "en": "Q"}})
    assert r.status == 200
    off = (await api.get("/api/v1/survey", headers={"Accept-Language": "en"})).json
    assert off["enabled"] is False and off["question"] == "Q"


async def test_pages_and_endpoints_are_in_the_openapi_document(api):
    doc = (await api.get("/api/v1/openapi.json")).json
    for path in ("/", "/survey", "/admin", "/api/v1/site", "/api/v1/survey"):
        assert path in doc["paths"], path
    assert "security" not in doc["paths"]["/api/v1/survey"]["get"]


async def test_texts_block_cannot_close_the_script(api):
    html = (await api.get("/")).body.decode()
    block = re.search(r'<script type="application/json" id="as-texts">(.*?)</script>', html, re.S).group(1)
    assert json.loads(block)["customer_title"] == {"ko": "고객 접속", "en": "Customer connection"}


async def test_every_page_carries_the_servers_vocabulary(api):
    """The pages' states, close codes, survey answers and guide glyphs are the server's (AS.vocabulary)."""
    for path in PAGES:
        html = (await api.get(path)).body.decode()
        block = re.search(r'<script type="application/json" id="as-vocabulary">(.*?)</script>', html, re.S).group(1)
        assert json.loads(block) == vocabulary.page_data(), path
