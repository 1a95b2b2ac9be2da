"""Headless Chromium for the page tests (Debian's /usr/bin/chromium driven by Playwright; never downloaded).

- ``browser`` / ``open_page`` / ``shot``: the server-rendered pages (``test_pages.py``);
- ``phone_chromium`` / ``phone`` / ``agents`` / ``call``: the browser customer (``test_browser_*.py``), one
  Chromium per module with a fake camera playing the stamped test pattern, phone-sized pages, and the
  agents of each test closed at its end (the tests using them run on the module's event loop).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support import browser as customer_browser
from tests.support.browser import Agents, CustomerPage, start_call

CHROMIUM = os.environ.get("ANYSUPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
async def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"headless Chromium is needed at {CHROMIUM} for the browser tests: "
                    "apt-get install chromium fonts-nanum", pytrace=False)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


class PageProblems:
    """Script errors and CSP violations a page reports; a test ends by asserting there were none."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        # failed API calls (404, 429 …) are expected in these tests and logged by Chromium as errors
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def assert_none(self) -> None:
        assert not self.errors, self.errors


@pytest.fixture
def open_page(browser):
    """Open a page in a fresh context: ``await open_page(locale="ko-KR", phone=True)``."""

    async def make(*, locale: str = "ko-KR", phone: bool = False):
        context = await browser.new_context(locale=locale, **(PHONE if phone else DESKTOP))
        context.set_default_timeout(10_000)
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page, PageProblems(page)

    return make


@pytest.fixture
def shot():
    """Save a screenshot under test-artifacts/ (the folder is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)

    async def take(page, name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone_chromium(tmp_path_factory):
    """One Chromium for the module whose camera plays the stamped test pattern (Y4M); ``support.test``
    resolves to this machine (a host that is not ``localhost``, for the plain-HTTP case)."""
    from playwright.async_api import async_playwright

    y4m = customer_browser.write_pattern_y4m(tmp_path_factory.mktemp("camera") / "pattern.y4m")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=customer_browser.CHROMIUM, args=customer_browser.chromium_args(
            y4m, "--host-resolver-rules=MAP support.test 127.0.0.1"))
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def phone(phone_chromium):
    """A phone-sized page with touch, camera and microphone allowed, in Korean unless asked:
    ``await phone("en-US", init_script=..., ignore_https_errors=True)``; closed after the test."""
    contexts = []

    async def make(locale: str = "ko-KR", init_script: str | None = None, **options) -> CustomerPage:
        context = await phone_chromium.new_context(locale=locale, **customer_browser.PHONE, **options)
        context.set_default_timeout(15_000)
        if init_script:
            await context.add_init_script(init_script)
        contexts.append(context)
        return CustomerPage(await context.new_page())

    yield make
    for context in contexts:
        await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def agents():
    """``await agents.new(server_url)``: a fresh agent with a session, closed after the test (before
    the pages are)."""
    made = Agents()
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope="module")
async def call(server, phone, agents):
    """``agent, customer = await call("en-US", init_script=...)``: a keyed, connected call between an
    agent of the session's server and a customer page (``phone``'s options), both closed after the test."""

    async def start(locale: str = "ko-KR", **page_options):
        customer = await phone(locale, **page_options)
        return await start_call(server.url, agents, customer), customer

    return start
