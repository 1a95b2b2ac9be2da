"""The text catalogues (anysupport/i18n/*.json), the one lookup, and which language a request gets.

Every catalogue has every text in every language; every key a program looks up by name, and every
key it builds from a vocabulary value, exists in its catalogue.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.testing
import tornado.web

from anysupport import i18n
from anysupport.i18n import CATALOGUES, Catalogue, catalogue
from anysupport.protocol.vocabulary import DIRECTIONS, LANGUAGES, PARTICIPANT_ROLES, SATISFACTION, STATES

ROOT = Path(__file__).resolve().parents[2]


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


# -- the catalogues ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CATALOGUES)
def test_every_text_exists_in_korean_and_english_with_the_same_placeholders(name):
    sections = json.loads((ROOT / "anysupport" / "i18n" / f"{name}.json").read_text(encoding="utf-8"))
    keys = [key for texts in sections.values() for key in texts]
    assert keys and len(keys) == len(set(keys)), "a key written twice"
    for texts in sections.values():
        for key, entry in texts.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
            assert list(entry) == list(LANGUAGES), key  # Korean first, then English, and nothing else
            assert all(isinstance(t, str) and t.strip() for t in entry.values()), key
            assert len({frozenset(placeholders(t)) for t in entry.values()}) == 1, key
    assert len(catalogue(name)) == len(keys)


def test_the_pages_texts_have_only_placeholders_the_page_fills():
    """AS.t (static/common.js) fills {name}; a format spec such as {n:02d} is Python's alone."""
    for key, entry in catalogue("pages").items():
        for template in entry.values():
            assert not re.search(r"\{[^}]*[^\w}][^}]*\}", template), (key, template)


def test_the_languages_tornado_chooses_among_are_ours():
    assert sorted(p.stem for p in (ROOT / "anysupport" / "i18n" / "locale").glob("*.csv")) == sorted(LANGUAGES)


def test_a_catalogue_refuses_a_text_missing_a_language_or_written_twice():
    with pytest.raises(ValueError, match="'hello' needs a text in each of ko, en"):
        Catalogue("test", {"greetings": {"hello": {"ko": "안녕하세요"}}})
    with pytest.raises(ValueError, match="'hello' needs a text"):
        Catalogue("test", {"greetings": {"hello": {"ko": "안녕하세요", "en": ""}}})
    with pytest.raises(ValueError, match="'hello' is written twice"):
        Catalogue("test", {"a": {"hello": {"ko": "안녕", "en": "Hi"}}, "b": {"hello": {"ko": "안녕", "en": "Hi"}}})
    with pytest.raises(ValueError, match="no text catalogue"):
        catalogue("nonsense")


# -- the lookup -------------------------------------------------------------------------------------
def test_the_lookup_fills_fields_in_the_asked_language():
    texts = Catalogue("test", {"s": {
        "wait": {"ko": "{seconds}초 후에 다시 시도하세요.", "en": "Try again in {seconds} seconds."},
        "clock": {"ko": "{minutes:02d}분", "en": "{minutes:02d} min"},
    }})
    assert texts.text("wait", "ko", seconds=3) == "3초 후에 다시 시도하세요."
    assert texts.text("wait", "en", seconds=3) == "Try again in 3 seconds."
    assert texts.text("clock", "ko", minutes=4) == "04분"
    assert texts.text("wait", "fr", seconds=3) == "Try again in 3 seconds."  # a language it lacks: English
    assert texts.text("wait", "ko") == "{seconds}초 후에 다시 시도하세요."  # no fields: the text as written
    assert texts.text("wait", "ko", other=1) == "{seconds}초 후에 다시 시도하세요."  # a field missing: as written
    assert texts.text("clock", "ko", other=1) == "{minutes:02d}분"
    assert texts.text("clock", "en", minutes="x") == "{minutes:02d} min"  # a field of the wrong kind
    assert texts.text("kicked_some_new_reason", "ko") == "kicked_some_new_reason"  # no such text: the key
    assert "wait" in texts and "nope" not in texts and texts["wait"]["en"] == "Try again in {seconds} seconds."


def test_the_server_lookup_is_the_server_catalogues():
    assert i18n.text("too_many_attempts", "en", retry_after=5) == "Too many attempts. Try again in 5 seconds."
    assert i18n.text("report_duration", "ko", minutes=3, seconds=7) == "03분 07초"
    assert i18n.text("invalid_json") == "요청 본문이 올바른 JSON이 아닙니다."  # Korean unless asked


# -- every key used exists ----------------------------------------------------------------------------
def used_keys(paths, *patterns: str) -> set[str]:
    used: set[str] = set()
    for path in paths:
        source = path.read_text(encoding="utf-8")
        for pattern in patterns:
            used |= set(re.findall(pattern, source))
    return {k for k in used if not k.endswith("_")}  # prefixes of computed keys ("state_" + state)


def test_every_text_key_used_by_the_pages_exists():
    root = ROOT / "anysupport"
    used = used_keys(root.joinpath("templates").glob("*.html"), r'data-t(?:-placeholder)?="([a-z_]+)"',
                     r't\(["\']([a-z_]+)["\']')
    used |= used_keys(root.joinpath("static").rglob("*.js"),  # the browser client's modules in static/customer/ too
                      r'\bt\("([a-z_]+)"', r'key: "([a-z_]+)"', r'\bsay\("([a-z_]+)"',
                      r'(?:key|showJoined)\(?(?: = |\()"([a-z_]+)"')
    assert used and used <= set(catalogue("pages")), used - set(catalogue("pages"))


@pytest.mark.parametrize(("name", "folder"), [("console", "anysupport_agent"), ("mobile", "anysupport_mobile")])
def test_every_text_key_used_by_a_desktop_program_exists(name, folder):
    used = used_keys((ROOT / "clients" / folder).rglob("*.py"),
                     r'(?<![\w.])(?:self\.)?(?:texts|text|t)\("([a-z][a-z0-9_]*)"', r'(?<![\w.])self\("([a-z][a-z0-9_]*)"')
    assert used and used <= set(catalogue(name)), used - set(catalogue(name))


def test_every_error_code_the_server_raises_has_its_text():
    """An error answer's ``message`` is the server text of its code: a code without one would reach people bare."""
    errors = r'\b(?:Invalid|Unauthorized|Forbidden|NotFound|Conflict|Gone|TooLarge|RateLimited|Unavailable)\("([a-z][a-z0-9_]*)"'
    used = used_keys((ROOT / "anysupport").rglob("*.py"), errors, r'\bi18n\.text\("([a-z][a-z0-9_]*)"')
    assert used and used <= set(catalogue("server")), used - set(catalogue("server"))


def test_every_vocabulary_value_a_program_shows_has_its_text():
    reasons = ["ended_by_agent", "ended_by_customer", "deleted", "code_unused", "waiting_timeout", "customer_gone",
               "agent_gone"]  # docs/protocol.md, expiry reasons: static/customer/app.js shows "end_" + reason
    expected = {
        "pages": [f"state_{s}" for s in STATES] + [f"guide_{d}" for d in DIRECTIONS]
        + [f"choice_{a}" for a in SATISFACTION] + [f"end_{r}" for r in reasons]
        + [f"people_{r}" for r in PARTICIPANT_ROLES],  # static/customer/app.js roleName
        "console": [f"state_{s}" for s in STATES] + list(DIRECTIONS)
        + [f"role_{r}" for r in PARTICIPANT_ROLES],  # the participants panel (widgets/invite.py)
        "mobile": list(DIRECTIONS) + [f"people_{r}" for r in PARTICIPANT_ROLES],  # anysupport_mobile/presence.py
        "server": [f"report_satisfaction_{a}" for a in SATISFACTION],
    }
    for name, keys in expected.items():
        assert not set(keys) - set(catalogue(name)), (name, set(keys) - set(catalogue(name)))


# -- the language of a request --------------------------------------------------------------------------
class LanguageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"language": i18n.browser_language(self, self.get_query_argument("default"))})


@pytest.fixture
async def language_of():
    """``await language_of(accept_language, default)``: what ``browser_language`` picks, over real HTTP."""
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", LanguageHandler)]))
    server.add_sockets([sock])
    client = tornado.httpclient.AsyncHTTPClient()

    async def ask(accept_language: str | None, default: str = "ko") -> str:
        headers = {} if accept_language is None else {"Accept-Language": accept_language}
        r = await client.fetch(f"http://127.0.0.1:{port}/?default={default}", headers=headers)
        return json.loads(r.body)["language"]

    yield ask
    server.stop()


@pytest.mark.parametrize(("header", "default", "expected"), [
    (None, "ko", "ko"),
    (None, "en", "en"),
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "en", "ko"),
    ("en-US,en;q=0.9", "ko", "en"),
    ("en-GB", "ko", "en"),
    ("EN", "ko", "en"),
    ("en_US", "ko", "en"),
    ("en;q=0.4, ko;q=0.6", "en", "ko"),  # q-values, not the order written
    ("ko;q=0.5, en;q=0.5", "en", "ko"),  # a tie: the first written
    ("fr-FR, de;q=0.9, en;q=0.3", "ko", "en"),  # the best of ours, however low
    ("fr", "ko", "ko"),  # none of ours: the server's default
    ("fr", "en", "en"),
    ("*", "en", "en"),
    ("en;q=0, fr", "ko", "ko"),  # q=0 is "not this one"
    ("en;q=abc", "ko", "ko"),
    ("", "en", "en"),
    ("und", "en", "en"),  # what Tornado answers for "none of ours" stands for the default when asked for too
])
async def test_the_request_language_is_tornados_choice_among_ours(language_of, header, default, expected):
    assert await language_of(header, default) == expected


def test_lang_in_the_query_overrides_the_request_language():
    assert i18n.asked_language("en", "ko") == "en"
    assert i18n.asked_language("ko", "en") == "ko"
    assert i18n.asked_language("fr", "ko") == "ko"
    assert i18n.asked_language(None, "en") == "en"
