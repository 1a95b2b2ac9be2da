"""The admin pages, the customer connection page and the survey page, driven in headless Chromium.

Screenshots land in test-artifacts/ at the repository root.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


async def admin_api(url: str) -> Api:
    client = Api(url)
    token, _ = await client.login("admin", ADMIN_PASSWORD)
    return client.with_token(token)


async def used_trouble_type(admin: Api, type_id: str) -> None:
    """Make a support record use a trouble type (so deleting it retires it)."""
    session = (await admin.post("/api/v1/sessions")).json
    joined = await Api(admin.base_url).post("/api/v1/join", {"code": session["code"]})
    assert joined.status == 200, joined.body
    assert (await admin.post(f"/api/v1/sessions/{session['id']}/connect")).status == 200
    r = await admin.put(f"/api/v1/sessions/{session['id']}/record", {"trouble_type": type_id, "resolution": "solved"})
    assert r.status == 200, r.body
    assert (await admin.delete(f"/api/v1/sessions/{session['id']}")).status == 204


async def test_admin_pages(make_server, open_page, shot):
    srv = make_server()
    admin = await admin_api(srv.url)
    r = await admin.post("/api/v1/admin/agents", {"login": "kim", "name": "김상담", "password": "kim-password"})
    assert r.status == 201
    page, problems = await open_page(locale="ko-KR")
    await page.goto(srv.url + "/admin")
    await expect(page.locator("#login-view h1")).to_have_text("관리자 로그인")
    await shot(page, "admin-login-ko")

    # an agent cannot log in here
    await page.fill("#login-id", "kim")
    await page.fill("#login-password", "kim-password")
    await page.click("#login-button")
    await expect(page.locator("#login-error")).to_have_text(re.compile("관리자 계정만 로그인할 수 있습니다"))
    await expect(page.locator("#admin-view")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('anysupport.admin')") is None
    await shot(page, "admin-agent-refused")

    # a wrong password shows the API's message
    await page.fill("#login-id", "admin")
    await page.fill("#login-password", "not-the-password")
    await page.click("#login-button")
    await expect(page.locator("#login-error")).to_have_text("ID 또는 비밀번호가 올바르지 않습니다.")

    await page.fill("#login-password", ADMIN_PASSWORD)
    await page.click("#login-button")
    await expect(page.locator("#admin-view")).to_be_visible()
    await expect(page.locator("#who")).to_contain_text("(admin)")

    # agents: create, edit, disable, reset the password
    await expect(page.locator("#agents-table tbody tr[data-login=kim]")).to_contain_text("김상담")
    await page.fill("#agent-login", "lee")
    await page.fill("#agent-name", "이지원 <b>상담</b>")
    await page.fill("#agent-number", "77")
    await page.fill("#agent-password", "lee-password")
    await page.click("#agent-submit")
    row = page.locator("#agents-table tbody tr[data-login=lee]")
    await expect(row).to_contain_text("이지원 <b>상담</b>")  # shown as text, not markup
    await expect(row).to_contain_text("77")
    await expect(page.locator("#status")).to_have_text("상담원 lee을(를) 추가했습니다.")
    await row.locator(".agent-edit").click()
    await expect(page.locator("#agent-form-title")).to_have_text("상담원 수정: lee")
    await page.fill("#agent-name", "이지원")
    await page.fill("#agent-number", "78")
    await page.click("#agent-submit")
    await expect(row.locator("td").nth(1)).to_have_text("이지원")
    await expect(row.locator("td").nth(2)).to_have_text("78")
    await row.locator(".agent-toggle").click()
    await expect(row.locator("td").nth(4)).to_have_text("사용 중지")
    await row.locator(".agent-reset").click()
    await expect(page.locator("#status")).to_have_text(re.compile(r"lee의 새 비밀번호: \S+"))
    lee = (await admin.get("/api/v1/admin/agents/lee")).json["agent"]
    assert (lee["name"], lee["number"], lee["disabled"]) == ("이지원", 78, True)
    # a taken number is refused with the API's message
    await page.fill("#agent-login", "park")
    await page.fill("#agent-name", "박")
    await page.fill("#agent-number", "78")
    await page.click("#agent-submit")
    await expect(page.locator("#status")).to_have_text("상담원 번호 78은(는) 이미 사용 중입니다.")
    await shot(page, "admin-agents")

    # trouble types: a fresh install has the default tree; cleared here to build one by hand
    defaults = (await admin.get("/api/v1/admin/trouble-types")).json["trouble_types"]
    assert {"네트워크 오류", "고객관리"} <= {t["name"] for t in defaults}  # a Korean install: Korean names
    for t in sorted(defaults, key=lambda t: t["parent_id"] is None):  # children first
        assert (await admin.delete(f"/api/v1/admin/trouble-types/{t['id']}")).status == 200
    # add, add a child, rename, move, delete, retire one in use
    await page.click("[data-tab=types]")
    await page.fill("#type-add-name", "네트워크")
    await page.click("#type-add")
    await expect(page.locator("#types-tree .type-node", has_text="네트워크")).to_be_visible()
    await page.fill("#type-add-name", "와이파이")
    await page.select_option("#type-add-parent", label="네트워크")
    await page.click("#type-add")
    await expect(page.locator("#types-tree .type-node", has_text="와이파이")).to_be_visible()
    await page.fill("#type-add-name", "전원")
    await page.select_option("#type-add-parent", value="")
    await page.click("#type-add")
    await expect(page.locator("#types-tree > ul > li > ul .type-node")).to_have_text("와이파이")
    await page.locator("#types-tree .type-node", has_text="와이파이").click()
    await page.fill("#type-edit-name", "무선랜")
    await page.select_option("#type-edit-parent", value="")
    await page.click("#type-save")
    await expect(page.locator("#types-tree > ul > li > .type-node")).to_have_text(["네트워크", "무선랜", "전원"])
    listed = {t["name"]: t for t in (await admin.get("/api/v1/admin/trouble-types")).json["trouble_types"]}
    assert listed["무선랜"]["parent_id"] is None
    await used_trouble_type(admin, listed["전원"]["id"])
    await page.locator("#types-tree .type-node", has_text="전원").click()
    await page.click("#type-delete")
    await expect(page.locator("#status")).to_have_text("'전원'은(는) 기록에서 사용 중이라 삭제하지 않고 사용 중지했습니다.")
    await expect(page.locator("#types-tree li.retired")).to_contain_text("사용 중지됨")
    await page.locator("#types-tree .type-node", has_text="무선랜").click()
    await page.click("#type-delete")
    await expect(page.locator("#status")).to_have_text("장애 유형 '무선랜'을(를) 삭제했습니다.")
    await expect(page.locator("#types-tree .type-node")).to_have_text(["네트워크", "전원"])
    await page.locator("#types-tree .type-node", has_text="네트워크").click()
    await shot(page, "admin-trouble-types")

    # the survey, with its preview
    await page.click("[data-tab=survey]")
    await expect(page.locator("#survey-question-ko")).to_have_value("상담에 만족하셨습니까?")
    await page.fill("#survey-question-ko", "오늘 상담은 어떠셨나요?")
    await page.fill("#survey-question-en", "How was your support today?")
    await page.fill("#survey-neutral-ko", "그저 그래요")
    await expect(page.locator("#preview-question")).to_have_text("오늘 상담은 어떠셨나요?")
    await expect(page.locator("#preview-choices")).to_contain_text("그저 그래요")
    await page.uncheck("#survey-feedback")
    await expect(page.locator("#preview-feedback")).to_be_hidden()
    await page.click("#survey-save")
    await expect(page.locator("#status")).to_have_text("만족도 조사를 저장했습니다.")
    await shot(page, "admin-survey")
    survey = (await Api(srv.url, language="ko").get("/api/v1/survey")).json
    assert survey["question"] == "오늘 상담은 어떠셨나요?" and survey["feedback"] is False
    assert [c["label"] for c in survey["choices"]] == ["만족", "그저 그래요", "불만족"]

    # default canned phrases
    await page.click("[data-tab=phrases]")
    await expect(page.locator("#phrases-table tbody tr")).to_have_count(5)
    await page.fill("#phrase-add-text", "사진을 한 장 더 찍어 주세요.")
    await page.fill("#phrase-add-shortcut", "F6")
    await page.click("#phrase-add")
    await expect(page.locator("#phrases-table tbody tr")).to_have_count(6)
    phrases = (await admin.get("/api/v1/admin/phrases")).json["phrases"]
    assert {"text": "사진을 한 장 더 찍어 주세요.", "shortcut": "F6"}.items() <= phrases[-1].items()

    # customer page URL and branding (escaped wherever it is shown)
    await page.click("[data-tab=site]")
    await expect(page.locator("#site-current")).to_have_text(f"현재 고객 접속 주소: {srv.url}")
    await page.fill("#site-url", "https://help.example.com")
    await page.fill("#site-brand", "<i>한빛</i> 고객센터")
    await page.click("#site-save")
    await expect(page.locator("#site-current")).to_have_text("현재 고객 접속 주소: https://help.example.com")
    assert (await Api(srv.url).get("/api/v1/site")).json["brand_name"] == "<i>한빛</i> 고객센터"

    # the language switch
    await page.click("[data-lang=en]")
    await expect(page.locator("[data-tab=site]")).to_have_text("Customer page")
    await page.click("[data-tab=agents]")
    await expect(page.locator("#agents-table thead th").nth(2)).to_have_text("Agent number")
    await expect(page.locator("#agents-table tbody tr[data-login=lee] td").nth(4)).to_have_text("Disabled")
    await shot(page, "admin-agents-en")

    # log out: the token is revoked and forgotten
    token = await page.evaluate("JSON.parse(sessionStorage.getItem('anysupport.admin')).token")
    await page.click("#logout")
    await expect(page.locator("#login-view")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('anysupport.admin')") is None
    assert (await admin.with_token(token).get("/api/v1/admin/agents")).status == 401

    # the customer page shows the new brand as text
    await page.goto(srv.url + "/")
    await expect(page.locator("#brand")).to_have_text("<i>한빛</i> 고객센터")
    problems.assert_none()


async def test_customer_joins_then_answers_the_survey(server, agent_factory, open_page, shot):
    agent, agent_info, _ = await agent_factory()
    stale = (await agent.post("/api/v1/sessions")).json
    assert (await agent.delete(f"/api/v1/sessions/{stale['id']}")).status == 204
    session = (await agent.post("/api/v1/sessions")).json

    page, problems = await open_page(locale="ko-KR", phone=True)
    # a browser without WebCodecs: the page continues in the mobile app (tests/web/test_browser_client.py
    # covers the call in the page itself)
    await page.add_init_script("delete window.VideoEncoder;")
    await page.goto(server.url + "/")
    await expect(page.locator("#join-view h1")).to_have_text("고객 접속")
    await page.fill("#code", "12")
    await page.click("#join-button")
    await expect(page.locator("#join-error")).to_have_text("인증번호는 숫자 4자리입니다.")
    await page.fill("#code", stale["code"])
    await page.click("#join-button")
    await expect(page.locator("#join-error")).to_have_text(
        "잘못되었거나 만료된 인증번호입니다. 상담원이 알려준 4자리 번호를 확인하세요.")
    await shot(page, "customer-wrong-code")

    await page.fill("#code", session["code"])
    await page.fill("#customer-name", "홍길동")
    await page.click("#join-button")
    await expect(page.locator("#joined-view")).to_be_visible()
    await expect(page.locator("#joined-reason")).to_contain_text("이 브라우저는 영상 전송(WebCodecs)을 지원하지 않습니다.")
    await expect(page.locator("#joined-agent")).to_have_text(f"상담원 {agent_info['name']} · 세션 번호 {session['number']}")
    await expect(page.locator("#joined-state")).to_have_text("상담원이 연결을 수락하기를 기다리는 중입니다.")
    link = await page.locator("#app-link").get_attribute("href")
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("anysupport", "join")
    assert query["server"] == [server.url] and query["code"] == [session["code"]]
    assert query["session"] == [session["id"]] and query["token"]
    await expect(page.locator("#app-command")).to_have_text(f'anysupport-mobile "{link}"')
    await shot(page, "customer-joined")
    seen = (await agent.get(f"/api/v1/sessions/{session['id']}")).json
    assert seen["state"] == "online" and seen["customer"]["name"] == "홍길동"

    # the agent accepts, then ends the session: the page follows, and the survey opens
    await agent.post(f"/api/v1/sessions/{session['id']}/connect")
    await expect(page.locator("#joined-state")).to_have_text("상담원과 연결되었습니다.")
    await agent.delete(f"/api/v1/sessions/{session['id']}")
    await expect(page.locator("#joined-state")).to_have_text("상담이 종료되었습니다.")
    await page.click("#survey-link")
    await expect(page.locator("#survey-question")).to_have_text("상담에 만족하셨습니까?")
    assert "token" not in page.url  # the fragment is taken out of the address bar
    await page.click("#survey-submit")
    await expect(page.locator("#survey-error")).to_have_text("답을 하나 고르세요.")
    await page.locator("label.choice", has_text="만족").first.click()
    await page.fill("#survey-feedback", "빠르게 해결해 주셔서 감사합니다.")
    await shot(page, "survey-ko")
    await page.click("#survey-submit")
    await expect(page.locator("#survey-notice")).to_have_text("응답해 주셔서 감사합니다.")
    await shot(page, "survey-thanks")
    record = (await agent.get(f"/api/v1/sessions/{session['id']}/record")).json
    assert record["satisfaction"] == "satisfied" and record["feedback"] == "빠르게 해결해 주셔서 감사합니다."

    # opened again without a token, the page says where to answer
    await page.reload()
    await expect(page.locator("#survey-notice")).to_have_text(re.compile("상담을 받은 기기에서"))
    problems.assert_none()


async def test_customer_page_in_english_with_the_rate_limit(make_server, open_page, shot):
    srv = make_server({"join_max_attempts": 2, "join_window": 30})
    admin = await admin_api(srv.url)
    session = (await admin.post("/api/v1/sessions")).json
    wrong = "0000" if session["code"] != "0000" else "0001"
    page, problems = await open_page(locale="en-US", phone=True)
    await page.goto(srv.url + "/")
    await expect(page.locator("#join-view h1")).to_have_text("Customer connection")
    for _ in range(2):
        await page.fill("#code", wrong)
        await page.click("#join-button")
        await expect(page.locator("#join-error")).to_have_text(re.compile("Wrong or expired code"))
    await page.fill("#code", session["code"])
    await page.click("#join-button")
    await expect(page.locator("#join-error")).to_have_text(
        re.compile(r"Too many attempts\. Try again in \d+ seconds\. Time left: \d+ s\."))
    await expect(page.locator("#join-button")).to_be_disabled()
    await shot(page, "customer-rate-limited-en")

    # the language switch redraws the page's own texts; joining by session number is offered too
    await page.click("[data-lang=ko]")
    await expect(page.locator("#join-view h1")).to_have_text("고객 접속")
    await page.click("#toggle-number")
    await expect(page.locator("#number")).to_be_visible()
    await expect(page.locator("#toggle-number")).to_have_text("4자리 인증번호로 접속")
    problems.assert_none()
