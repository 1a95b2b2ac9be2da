"""Issue 17's small dead ends on the admin and customer pages, walked in headless Chromium as a person
would: the survey's choice names, the administrator's name, the generated password, Enter on "ID 저장".

Screenshots land in test-artifacts/ at the repository root.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.client import Api, admin_api, create_agent, filed_record
from tests.support.server import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

# how many line boxes the text of each matching element takes (a word broken in two takes two)
LINES = """sel => [...document.querySelectorAll(sel)].map(el => {
  const range = document.createRange(); range.selectNodeContents(el);
  const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
  return [el.textContent.trim(), tops.size];
})"""


async def log_in_admin(page, url: str) -> None:
    await page.goto(url + "/admin")
    await page.fill("#login-id", "admin")
    await page.fill("#login-password", ADMIN_PASSWORD)
    await page.click("#login-button")
    await expect(page.locator("#admin-view")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 1024])
async def test_survey_choice_names_are_never_broken(server, open_page, shot, width):
    page, problems = await open_page(locale="en-US")
    await page.set_viewport_size({"width": width, "height": 900})
    await log_in_admin(page, server.url)
    await page.click("[data-tab=survey]")
    await expect(page.locator(".choice-name").nth(2)).to_have_text("Unsatisfied")
    assert await page.evaluate(LINES, ".choice-name") == [["Satisfied", 1], ["Neutral", 1], ["Unsatisfied", 1]]
    await shot(page, f"admin-survey-en-{width}")
    await page.click("[data-lang=ko]")
    await expect(page.locator(".choice-name").nth(2)).to_have_text("불만족")
    assert all(lines == 1 for _, lines in await page.evaluate(LINES, ".choice-name"))
    problems.assert_none()


@pytest.mark.parametrize("locale, intro, both, toggle_text", [
    ("ko-KR", "상담원이 알려준 4자리 인증번호를 입력하세요.", "상담원이 알려준 4자리 인증번호와 세션 번호를 입력하세요.",
     "세션 번호도 함께 입력"),
    ("en-US", "Enter the 4-digit code your support agent gave you.",
     "Enter the 4-digit code and the session number your support agent gave you.", "Also enter the session number"),
])
async def test_entering_the_session_number_keeps_a_sentence(server, open_page, shot, locale, intro, both, toggle_text):
    """Issue 17 #18: "세션 번호도 함께 입력" explains what to type instead of showing the bare label."""
    page, problems = await open_page(locale=locale, phone=True)
    await page.goto(server.url + "/")
    await expect(page.locator("#join-intro")).to_have_text(intro)
    await page.get_by_role("button", name=toggle_text).click()
    await expect(page.locator("#number")).to_be_visible()
    await expect(page.locator("#join-intro")).to_have_text(both)
    await shot(page, f"customer-with-number-{locale}")
    await page.click("#toggle-number")
    await expect(page.locator("#number")).to_be_hidden()
    await expect(page.locator("#join-intro")).to_have_text(intro)
    problems.assert_none()


async def test_administrator_name_and_a_generated_password_to_pass_on(server, open_page, shot, unique):
    """Issue 17 #23: the Korean pages name the administrator "관리자"; a generated password is shown in a
    monospace box with a copy button, and what is copied logs the agent in."""
    page, problems = await open_page(locale="ko-KR")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await log_in_admin(page, server.url)
    await expect(page.locator("#who")).to_contain_text("관리자 (admin)")
    assert "Administrator" not in await page.locator("body").inner_text()

    login = unique("pw")
    await page.fill("#agent-login", login)
    await page.fill("#agent-name", "새 상담원")
    await page.click("#agent-submit")  # no password typed: the server generates one
    secret = page.locator("#status code.secret")
    await expect(secret).to_be_visible()
    await expect(page.locator("#status")).to_contain_text(f"{login}의 새 비밀번호:")
    await expect(page.locator("#status")).to_contain_text("다시 표시되지 않습니다")
    font = await secret.evaluate("el => getComputedStyle(el).fontFamily")
    assert "mono" in font.lower(), font
    # the face Chromium really draws with: every character as wide as the next
    widths = await secret.evaluate("""el => ['IIII', 'llll', 'WWWW', '1111'].map(s => {
        const probe = el.cloneNode(); probe.textContent = s; el.after(probe);
        const w = probe.getBoundingClientRect().width; probe.remove(); return Math.round(w); })""")
    assert len(set(widths)) == 1, widths
    await page.click("#status button.copy-secret")
    await expect(page.locator("#status button.copy-secret")).to_have_text("복사되었습니다.")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == await secret.text_content() and len(copied) >= 8
    await shot(page, "admin-generated-password-ko")
    agent = Api(server.url)
    token, who = await agent.login(login, copied)
    assert who["login"] == login

    # the reset gives the same box; switching the language redraws the sentence around it
    await page.locator(f"#agents-table tbody tr[data-login={login}] .agent-reset").click()
    await expect(page.locator("#status code.secret")).not_to_have_text(copied)
    await page.click("[data-lang=en]")
    await expect(page.locator("#status")).to_contain_text(f"New password of {login}:")
    await expect(page.locator("#status code.secret")).to_be_visible()
    await expect(page.locator("#status button.copy-secret")).to_have_text("Copy")
    problems.assert_none()


async def test_an_english_install_names_its_administrator_in_english(make_server):
    srv = make_server({"default_language": "en"})
    admin = Api(srv.url)
    _token, who = await admin.login("admin", ADMIN_PASSWORD)
    assert who["name"] == "Administrator"


async def test_an_error_goes_once_its_cause_is_corrected(server, open_page, shot, unique):
    """Issue 17 #19: a wrong password's error goes when the password is typed again; an agent ID already
    taken is refused, and the error goes as soon as the ID is edited."""
    page, problems = await open_page(locale="ko-KR")
    await page.goto(server.url + "/admin")
    await page.fill("#login-id", "admin")
    await page.fill("#login-password", "wrong-password")
    await page.click("#login-button")
    await expect(page.locator("#login-error")).not_to_have_text("")
    await page.fill("#login-password", "")
    await page.locator("#login-password").press_sequentially("x")
    await expect(page.locator("#login-error")).to_have_text("")
    await page.fill("#login-password", ADMIN_PASSWORD)
    await page.click("#login-button")
    await expect(page.locator("#admin-view")).to_be_visible()

    await page.fill("#agent-login", "admin")  # taken: the server refuses
    await page.fill("#agent-name", "새 상담원")
    await page.click("#agent-submit")
    await expect(page.locator("#status")).not_to_have_text("")
    error = await page.locator("#status").inner_text()
    await shot(page, "admin-error-before-correcting-ko")
    login = unique("fixed")
    await page.fill("#agent-login", "")
    await expect(page.locator("#status")).to_have_text("")  # edited: the error went
    await page.locator("#agent-login").press_sequentially(login)
    await page.click("#agent-submit")
    await expect(page.locator(f"#agents-table tbody tr[data-login={login}]")).to_have_count(1)
    assert error
    problems.assert_none()


@pytest.mark.parametrize("locale", ["ko-KR", "en-US"])
async def test_team_leads_read_records_and_statistics_and_download_the_workbook(server, open_page, shot, unique,
                                                                                locale, tmp_path):
    """#17.14: the admin pages had no records at all. The 지원 기록·통계 tab opens on the current month
    (server's zone, named), shows the three statistics tables and the latest records of every agent or
    of one, and downloads the same period's workbook."""
    import openpyxl

    admin = await admin_api(server.url)
    name = unique("lead")
    login, password = await create_agent(admin, name, name=f"김상담 {name}")
    await filed_record(server.url, login, password, resolution="solved", customer_name="홍길동")
    await filed_record(server.url, login, password, resolution="pending", customer_name="Jane Roe")
    page, problems = await open_page(locale=locale)
    await page.set_viewport_size({"width": 1366, "height": 768})
    await log_in_admin(page, server.url)
    await page.click("[data-tab=records]")
    ko = locale == "ko-KR"
    await expect(page.locator("#records-intro")).to_contain_text("Asia/Seoul")
    today = await page.evaluate("new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Seoul'}).format(new Date())")
    assert await page.input_value("#records-from") == today[:8] + "01"
    assert await page.input_value("#records-to") == today
    await expect(page.locator("#stats-resolution th >> nth=0")).to_have_text("해결 여부" if ko else "Resolution")
    # one agent's period: exactly the two records filed above
    await page.select_option("#records-agent", login)
    await page.click("#records-show")
    await expect(page.locator("#records-total")).to_have_text("기록 2건" if ko else "2 records")
    solved = page.locator("#stats-resolution tr[data-key=solved] td")
    await expect(solved.nth(1)).to_have_text("1")
    await expect(solved.nth(2)).to_have_text("50.0%")
    rows = page.locator("#records-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator("td").nth(2)).to_have_text("Jane Roe")  # the latest first
    await expect(rows.nth(1).locator("td").nth(4)).to_have_text("해결" if ko else "Solved")
    await shot(page, f"admin-records-{locale[:2]}")
    async with page.expect_download() as info:
        await page.click("#records-export")
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx") and today in download.suggested_filename
    path = tmp_path / download.suggested_filename
    await download.save_as(path)
    book = openpyxl.load_workbook(path)
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert "홍길동" in cells and "Jane Roe" in cells
    await expect(page.locator("#status")).to_contain_text(download.suggested_filename)
    # a period with one day missing is refused in words, not sent
    await page.fill("#records-from", "")
    await page.click("#records-show")
    await expect(page.locator("#status")).to_have_text(
        "시작일과 종료일을 모두 고르거나 '전체 기간'을 선택하세요." if ko else "Choose both days, or 'Whole period'.")
    await page.check("#records-whole")
    await expect(page.locator("#records-from")).to_be_disabled()
    await expect(page.locator("#records-total")).to_have_text("기록 2건" if ko else "2 records")
    problems.assert_none()


async def test_an_admins_stale_record_form_is_refused_and_merged_not_lost(server, open_page, shot, unique):
    """#18.5 on the admin pages: the admin opens a record to edit, the agent's console saves notes and
    해결 meanwhile; the admin's save is refused (412), the form takes the console's fields in, keeps the
    admin's edit, names what changed; the next save lands with both."""
    admin = await admin_api(server.url)
    login, password = await create_agent(admin, unique("edit"))
    sid = await filed_record(server.url, login, password, customer_name="Kim")
    page, problems = await open_page(locale="ko-KR")
    await page.set_viewport_size({"width": 1366, "height": 900})
    await log_in_admin(page, server.url)
    await page.click("[data-tab=records]")
    await page.select_option("#records-agent", login)
    await page.click("#records-show")
    await expect(page.locator("#records-table tbody tr")).to_have_count(1)
    await page.click(f"#records-table tr[data-session='{sid}'] .record-edit")
    await expect(page.locator("#record-customer_name")).to_have_value("Kim")
    # the agent's console saves first, on the version both loaded
    agent = Api(server.url)
    token, _ = await agent.login(login, password, force=True)
    r = await agent.with_token(token).put(f"/api/v1/sessions/{sid}/record",
                                          {"customer_name": "Kim", "content": "공유기 재부팅 안내", "resolution": "solved"},
                                          headers={"If-Match": '"2"'})
    assert r.status == 200, r.body
    await page.fill("#record-customer_name", "김철수")
    await page.click("#record-save")
    note = page.locator("#record-form-note")
    await expect(note).to_contain_text("다른 사람이 이 기록을 저장했습니다")
    await expect(note).to_contain_text("지원 내용")
    await expect(note).to_contain_text("해결 여부")
    await expect(page.locator("#record-customer_name")).to_have_value("김철수")  # the admin's edit kept
    await expect(page.locator("#record-content")).to_have_value("공유기 재부팅 안내")  # the console's taken in
    await expect(page.locator("#record-resolution")).to_have_value("solved")
    await shot(page, "admin-record-changed-ko")
    await page.click("#record-save")
    await expect(page.locator("#status")).to_have_text("지원 기록을 저장했습니다.")
    record = (await agent.with_token(token).get(f"/api/v1/sessions/{sid}/record")).json
    assert (record["customer_name"], record["content"], record["resolution"]) == ("김철수", "공유기 재부팅 안내", "solved")
    problems.assert_none()
