"""Every text a person reads, in Korean and English: the catalogues, the one lookup, and which language
a request gets.

**The catalogues** are the JSON files in this folder, one per program:

- ``server.json``: the server's texts (error ``message``s of the REST API and the WebSocket, by the
  error code; ``kicked`` messages; the statistics and the Excel export);
- ``pages.json``: the pages (the customer's join and call, the survey, the administration pages);
  the page gets this catalogue as data (a JSON block in the HTML) and looks texts up with ``AS.t``;
- ``console.json``: the agent console (``anysupport-agent``);
- ``mobile.json``: the mobile client (``anysupport-mobile``).

Each is ``{section: {key: {"ko": text, "en": text}}}``: a section is a heading for people (the part of
the program the texts belong to); a key is snake_case and unique in its catalogue. A text may hold
``{name}`` placeholders, filled in from the lookup's fields (Python: ``str.format``, so a server text may
write ``{minutes:02d}``; the pages' texts use plain ``{name}``, which is what ``AS.t`` fills in).

**Adding a text** is one line in the catalogue of the program that shows it, with both languages;
``tests/server/test_i18n.py`` checks every catalogue (both languages, non-empty, the same placeholders)
and that every key the programs look up by name exists.

**The lookup** is ``Catalogue.text(key, lang, **fields)``: the text in ``lang`` (English for a language
it does not know), the placeholders it has fields for filled in (the others stay as written); an unknown
key answers the key itself, so a computed key (``kicked_<reason>``) never crashes the caller.
``text()`` here is the server catalogue's. The pages' ``AS.t(key, fields)`` answers the same.

**The language of a request** is Tornado's choice (``RequestHandler.get_browser_locale``: the
``Accept-Language`` entries by q-value, an entry with q=0 refused, ``ko-KR`` matching ``ko``) among
our languages, else the server's ``default_language``; ``?lang=`` overrides it where a page or report
takes it (``asked_language``).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from anysupport.protocol.vocabulary import LANGUAGES

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGUES = ("server", "pages", "console", "mobile")
# What Tornado answers when none of our languages was asked for: BCP 47's "undetermined language".
UNDETERMINED = "und"


class Catalogue(Mapping[str, Mapping[str, str]]):
    """One program's texts: ``key -> {language: text}``, checked when loaded."""

    def __init__(self, name: str, sections: Mapping[str, Mapping[str, Mapping[str, str]]]):
        self.name = name
        entries: dict[str, Mapping[str, str]] = {}
        for section, texts in sections.items():
            for key, entry in texts.items():
                if key in entries:
                    raise ValueError(f"{name}: text {key!r} is written twice (again under {section!r})")
                if set(entry) != set(LANGUAGES) or not all(isinstance(t, str) and t for t in entry.values()):
                    raise ValueError(f"{name}: text {key!r} needs a text in each of {', '.join(LANGUAGES)}")
                entries[key] = MappingProxyType(dict(entry))
        self._entries = entries

    @classmethod
    def load(cls, name: str) -> Catalogue:
        with open(os.path.join(HERE, f"{name}.json"), encoding="utf-8") as f:
            return cls(name, json.load(f))

    def text(self, key: str, lang: str, /, **fields: Any) -> str:
        entry = self._entries.get(key)
        if entry is None:
            return key
        template = entry.get(lang) or entry["en"]
        if not fields:
            return template
        try:
            return template.format_map(_Given(fields))
        except (IndexError, ValueError):  # a field of the wrong kind (or a missing one with a format spec)
            return template

    def as_data(self) -> dict[str, dict[str, str]]:
        """``{key: {language: text}}``, as the pages get it."""
        return {key: dict(entry) for key, entry in self._entries.items()}

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class _Given(dict):
    """The fields given; a placeholder without one stays as written (as ``AS.t`` leaves it on the pages)."""

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


@functools.cache
def catalogue(name: str) -> Catalogue:
    """The catalogue ``name`` (one of ``CATALOGUES``), read once."""
    if name not in CATALOGUES:
        raise ValueError(f"no text catalogue {name!r}")
    return Catalogue.load(name)


def text(key: str, lang: str = LANGUAGES[0], /, **fields: Any) -> str:
    """A server text (``server.json``) in ``lang``."""
    return catalogue("server").text(key, lang, **fields)


@functools.cache
def _tornado_languages() -> None:
    # tornado.locale chooses among the locales it has translation files for, plus its default locale, which
    # it answers when nothing asked for matches. Our texts are in the catalogues, so each file in locale/ only
    # names a language; the default is UNDETERMINED, which stands for the configured default language.
    import tornado.locale

    tornado.locale.load_translations(os.path.join(HERE, "locale"))
    tornado.locale.set_default_locale(UNDETERMINED)


def browser_language(handler: Any, default: str) -> str:
    """The language for a request (a ``tornado.web.RequestHandler``): the best of ours by its
    ``Accept-Language``, else ``default``."""
    _tornado_languages()
    code = handler.get_browser_locale(default).code
    return code if code in LANGUAGES else default


def asked_language(asked: str | None, otherwise: str) -> str:
    """``?lang=`` when it names one of our languages, else ``otherwise``."""
    return asked if asked in LANGUAGES else otherwise


__all__ = ["CATALOGUES", "LANGUAGES", "Catalogue", "asked_language", "browser_language", "catalogue", "text"]
