"""Headless Chromium for the page tests (Debian's /usr/bin/chromium driven by Playwright; never downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
