"""The HTML pages and the small public JSON endpoints they read.

- ``/`` the customer connection page (enter the 4-digit code; the call then runs in the page, or in the
  mobile client where the browser cannot),
- ``/survey`` the satisfaction survey a customer answers after the session,
- ``/admin`` the administrator pages (agents, trouble types, survey, canned phrases, site settings).

The pages are server-rendered shells: texts come from the ``pages`` catalogue (``anysupport/i18n/pages.json``,
Korean and English), the protocol's values from ``anysupport/protocol/vocabulary.py``, the initial
language from ``?lang=`` or the browser's Accept-Language, and everything else is done by plain
JavaScript files calling the REST API with a bearer token kept in sessionStorage (no cookies, so no CSRF).
A strict Content-Security-Policy forbids inline scripts; the texts and the vocabulary travel in
non-executable JSON blocks.
"""

from __future__ import annotations

import functools
from typing import Any

import tornado.escape

from anysupport import i18n
from anysupport.protocol import vocabulary
from anysupport.web.base import BaseHandler, endpoint


def content_security_policy(connect: tuple[str, ...] = (), *, wasm: bool = False) -> str:
    """The pages' CSP; ``connect`` adds WebSocket origins (the nodes' own ``node_url``s, several nodes);
    ``wasm`` lets the page compile WebAssembly (``'wasm-unsafe-eval'``: the customer page's Opus where
    WebCodecs has none, docs/security.md), which still allows no ``eval`` of JavaScript."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'" if wasm else "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            " ".join(("connect-src 'self'", *connect)),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def node_socket_origins(services) -> tuple[str, ...]:
    """``wss://host`` of every node with an absolute ``node_url`` (a join may send the customer there)."""
    cluster = getattr(services, "cluster", None)
    if cluster is None or not cluster.enabled:
        return ()
    urls = {services.config.node_url, *cluster.directory.urls.values()}
    origins = set()
    for url in urls:
        if url:
            scheme, _, rest = url.partition("://")
            origins.add(("wss" if scheme == "https" else "ws") + "://" + rest.split("/", 1)[0])
    return tuple(sorted(origins))


@functools.cache
def page_data_json() -> tuple[str, str]:
    """The JSON blocks every page carries: its texts (``AS.t``) and the protocol's vocabulary (``AS.vocabulary``)."""
    return (tornado.escape.json_encode(i18n.catalogue("pages").as_data()),
            tornado.escape.json_encode(vocabulary.page_data()))


def localized(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


class PageHandler(BaseHandler):
    """An HTML page: HTML headers, a strict CSP, never framed, never cached."""

    template = ""
    compiles_wasm = False  # the CSP allows WebAssembly (the customer page alone)

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy",
                        content_security_policy(node_socket_origins(self.services), wasm=self.compiles_wasm))
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")

    @property
    def page_language(self) -> str:
        return i18n.asked_language(self.get_query_argument("lang", None), self.language)

    async def render_page(self, **extra: Any) -> None:
        lang = self.page_language
        texts = i18n.catalogue("pages")
        texts_json, vocabulary_json = page_data_json()
        site = await self.services.site.get()

        def t(key: str, **fields: Any) -> str:
            return texts.text(key, lang, **fields)

        self.render(
            self.template,
            lang=lang,
            t=t,
            texts_json=texts_json,
            vocabulary=vocabulary,
            vocabulary_json=vocabulary_json,
            brand_name=site["brand_name"] or self.config.brand_name,
            **extra,
        )


class CustomerPageHandler(PageHandler):
    template = "customer.html"
    compiles_wasm = True  # Opus in WebAssembly for iPhones whose WebCodecs has none (static/customer/opus-wasm.js)

    @endpoint(auth="public", summary="The customer connection page (HTML): enter the 4-digit code", tags=("pages",),
              responses={200: "text/html"})
    async def get(self) -> None:
        await self.render_page()


class SurveyPageHandler(PageHandler):
    template = "survey.html"

    @endpoint(auth="public", summary="The satisfaction survey page (HTML); the customer token comes in the URL "
                                     "fragment (#token=…) or sessionStorage", tags=("pages",),
              responses={200: "text/html"})
    async def get(self) -> None:
        await self.render_page()


class AdminPageHandler(PageHandler):
    template = "admin.html"

    @endpoint(auth="public", summary="The administrator pages (HTML); the page logs in through the REST API",
              tags=("pages",), responses={200: "text/html"})
    async def get(self) -> None:
        await self.render_page()


class AdminSlashHandler(PageHandler):
    @endpoint(auth="public", summary="Redirect /admin/ to /admin", tags=("pages",), responses={301: None})
    async def get(self) -> None:
        self.redirect("/admin", permanent=True)


class SiteHandler(BaseHandler):
    @endpoint(auth="public", summary="The brand name and the customer page URL, for the public pages",
              tags=("customer",), responses={200: {"brand_name": "AnySupport", "public_url": "https://help.example.com"}})
    async def get(self) -> None:
        site = await self.services.site.get()
        self.send({
            "brand_name": site["brand_name"] or self.config.brand_name,
            "public_url": await self.services.site.public_url(self.base_url),
        })


class SurveyTextHandler(BaseHandler):
    @endpoint(auth="public", summary="The satisfaction survey's question and choices in the requester's language",
              tags=("customer",),
              responses={200: {"enabled": True, "language": "ko", "question": "상담에 만족하셨습니까?",
                               "choices": [{"value": "satisfied", "label": "만족"}], "feedback": True,
                               "feedback_prompt": "의견을 남겨 주세요 (선택)."}})
    async def get(self) -> None:
        lang = i18n.asked_language(self.get_query_argument("lang", None), self.language)
        survey = await self.services.records.survey_settings()
        self.send({
            "enabled": bool(survey["enabled"]),
            "language": lang,
            "question": localized(survey["question"], lang),
            "choices": [{"value": c["value"], "label": localized(c["label"], lang)} for c in survey["choices"]],
            "feedback": bool(survey["feedback"]),
            "feedback_prompt": localized(survey.get("feedback_prompt") or {}, lang),
        })


default_handlers = [
    (r"/", CustomerPageHandler),
    (r"/survey", SurveyPageHandler),
    (r"/admin", AdminPageHandler),
    (r"/admin/", AdminSlashHandler),
    (r"/api/v1/site", SiteHandler),
    (r"/api/v1/survey", SurveyTextHandler),
]
