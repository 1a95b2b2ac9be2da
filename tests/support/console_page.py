"""The customer page in headless Chromium beside a real agent console (PyQt5, offscreen).

Qt owns the test's thread, so Playwright runs on the helper loop's thread (``tests/agent/conftest.py``
``helper_loop``) and every call goes through it: ``Chromium(loop, y4m)`` launches a Chromium whose fake
camera plays ``y4m``; ``page()`` opens a phone-sized ``CustomerPage``; ``run(coro)`` runs a page call
there. Used by ``tests/web/test_browser_console.py`` and ``tests/agent/test_console_with_page.py``.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright

from .browser import CHROMIUM, PHONE, CustomerPage, chromium_args


class Chromium:
    """Playwright on the helper loop's thread (Qt owns the test's thread): every call goes through it."""

    def __init__(self, loop, y4m: Path):
        self.loop = loop
        self.playwright = self.browser = None
        self.playwright, self.browser = loop.run(self._launch(y4m), timeout=60)

    @staticmethod
    async def _launch(y4m: Path):
        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args(y4m))
        return playwright, browser

    def page(self, locale: str = "ko-KR") -> CustomerPage:
        async def make():
            context = await self.browser.new_context(locale=locale, **PHONE)
            context.set_default_timeout(15_000)
            return CustomerPage(await context.new_page())

        return self.loop.run(make(), timeout=30)

    def run(self, coro, timeout: float = 30):
        return self.loop.run(coro, timeout=timeout)

    def close(self) -> None:
        async def stop():
            await self.browser.close()
            await self.playwright.stop()

        self.loop.run(stop(), timeout=30)
