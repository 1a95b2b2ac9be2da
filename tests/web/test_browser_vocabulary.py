"""The page's vocabulary and texts in real Chromium: what its modules import is the server's declaration,
and its one text lookup (AS.t) answers as the Python one does."""

from __future__ import annotations

import pytest

from anysupport.i18n import catalogue
from anysupport.protocol import vocabulary

pytestmark = pytest.mark.browser

READ = """async () => {
    const v = await import('/static/customer/vocabulary.js');
    const page = {};
    for (const name of Object.keys(v)) page[name] = v[name];
    return {module: page, common: AS.vocabulary, frozen: Object.isFrozen(AS.vocabulary.CLOSE)};
}"""


@pytest.mark.parametrize("path", ["/", "/admin", "/survey"])
async def test_the_pages_modules_get_the_servers_vocabulary(server, open_page, path):
    page, problems = await open_page()
    await page.goto(server.url + path)
    got = await page.evaluate(READ)
    expected = vocabulary.page_data()
    assert got["common"] == expected and got["frozen"]
    assert got["module"] == {name: value for name, value in expected.items() if name in got["module"]}
    assert set(got["module"]) == {"LANGUAGES", "STATE", "STATES", "CLOSE", "FINAL_CLOSE_CODES", "SATISFACTION",
                                  "DIRECTIONS", "GUIDE_GLYPHS", "REKEY", "SEALED_WAIT", "PEER_HANDED_OVER"}
    problems.assert_none()


async def test_the_pages_text_lookup_answers_as_the_python_one(server, open_page):
    page, problems = await open_page(locale="en-US")
    await page.goto(server.url + "/?lang=en")
    cases = [("retry_in", {"seconds": 7}), ("joined_agent", {"name": "김상담", "number": 12}), ("copied", None),
             ("joined_agent", {"name": "x"}),  # a field missing: the others filled, it stays as written
             ("no_such_text", None), ("state_connected", {"unused": 1})]
    pages = catalogue("pages")
    for lang in ("en", "ko"):
        await page.evaluate("(lang) => document.querySelector(`[data-lang=${lang}]`).click()", lang)
        for key, fields in cases:
            got = await page.evaluate("([key, fields]) => AS.t(key, fields || undefined)", [key, fields])
            assert got == pages.text(key, lang, **(fields or {})), (lang, key)
    problems.assert_none()
