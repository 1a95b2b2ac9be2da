"""The customer page in real WebKitGTK (the iPhone's engine, as near as Linux gets): Debian's
``webkit2gtk-driver`` (``/usr/bin/WebKitWebDriver`` and its ``MiniBrowser``) driven with Selenium under
``Xvfb`` (``tests/support/xvfb.py``).

- ``WebKitBrowser`` starts WebKitWebDriver, which starts MiniBrowser with
  ``--enable-mock-capture-devices=true`` (a camera, a fixed picture at 15 fps, and a microphone that
  permission prompts give at once), and ends it; a MiniBrowser (or its web process) left over after
  the session's end is ended by its PID, found among the driver's children when the session started;
- ``WebKitPage`` is the async face the call tests use, as ``tests.support.browser.CustomerPage`` is
  for Chromium: ``join``, ``value``, ``wait``, ``stats``, ``reload``. Selenium blocks, so each call runs
  in a thread; ``wait`` waits inside the page (a promise that resolves when the expression is true).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import psutil

from tests.support.processes import end_process
from tests.support.xvfb import Xvfb

WEBDRIVER = os.environ.get("ANYSUPPORT_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = os.environ.get("ANYSUPPORT_MINIBROWSER", "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
BROWSER_ARGS = ["--automation", "--enable-mock-capture-devices=true", "--enable-media-stream=true"]

# wait in the page: resolve when the expression is true, checked at once and every 50 ms (the
# expression is part of the script: the page's CSP forbids building a function from a string)
_WAIT = """
const timeoutMs = arguments[0];
const test = () => (%s);
return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
        let ok = false;
        try { ok = !!test(); } catch (e) { ok = false; }
        if (ok) { resolve(true); return; }
        if (Date.now() - started > timeoutMs) { reject(new Error('timed out')); return; }
        setTimeout(check, 50);
    };
    check();
});
"""


def missing() -> str | None:
    """Why WebKitGTK cannot run here, or None."""
    for path in (WEBDRIVER, MINIBROWSER):
        if not os.path.exists(path):
            return f"{path} is needed for the WebKit tests: apt-get install webkit2gtk-driver"
    return None


class WebKitBrowser:
    """One MiniBrowser session on an X display: ``WebKitBrowser(xvfb).start()`` … ``.quit()``."""

    def __init__(self, xvfb: Xvfb, *, args: list[str] | None = None):
        self.xvfb = xvfb
        self.args = [*BROWSER_ARGS, *(args or [])]
        self.driver = None
        self.service = None
        self.browser_pids: list[int] = []

    def start(self) -> WebKitBrowser:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = MINIBROWSER
        for arg in self.args:
            options.add_argument(arg)
        env = self.xvfb.env()
        env.pop("QT_QPA_PLATFORM", None)
        self.service = Service(executable_path=WEBDRIVER, env=env)
        self.driver = webdriver.WebKitGTK(options=options, service=self.service)
        self.driver.set_script_timeout(60)
        driver_process = psutil.Process(self.service.process.pid)
        self.browser_pids = [p.pid for p in driver_process.children(recursive=True)]
        return self

    def browser_alive(self) -> bool:
        return any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in self.browser_pids)

    def web_processes(self) -> list[psutil.Process]:
        """The WebKitWebProcess children of this MiniBrowser (the pages' processes), as now."""
        found = []
        for pid in self.browser_pids:
            try:
                for child in psutil.Process(pid).children(recursive=True):
                    if child.name().startswith("WebKitWebProces"):
                        found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    def quit(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - a crashed browser still has to be cleaned up below
                pass
            self.driver = None
        # a MiniBrowser (or its web and network processes) the driver did not end: by PID
        left = []
        for pid in self.browser_pids:
            try:
                process = psutil.Process(pid)
                left += [*process.children(recursive=True), process]
            except psutil.NoSuchProcess:
                continue
        for process in left:
            try:
                process.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(left, timeout=5)
        for process in alive:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        if self.service is not None:
            end_process(self.service.process, 5)
            self.service = None


class WebKitPage:
    """The customer page in a ``WebKitBrowser``, with the calls of ``CustomerPage``."""

    def __init__(self, browser: WebKitBrowser):
        self.browser = browser
        self.driver = browser.driver

    async def _run(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def goto(self, url: str) -> None:
        await self._run(self.driver.get, url)

    async def join(self, url: str, code: str, *, before_join: str | None = None) -> None:
        """Open the page, type the code and tap join; ``before_join`` (a script, such as
        ``tests.support.browser.hiding(...)``) runs after the page has loaded and before the join:
        WebDriver classic has no init scripts, and the page asks what the browser can do at the join."""
        from selenium.webdriver.common.by import By

        def join() -> None:
            self.driver.get(url + "/")
            if before_join:
                self.driver.execute_script(before_join)
            self.driver.find_element(By.ID, "code").send_keys(code)
            self.driver.find_element(By.ID, "join-button").click()

        await self._run(join)

    async def reload(self) -> None:
        await self._run(self.driver.refresh)

    async def value(self, expression: str) -> Any:
        """The expression's value (a promise is awaited), through JSON so any plain value comes back."""
        text = await self._run(self.driver.execute_script,
                               f"return Promise.resolve({expression}).then((v) => JSON.stringify(v === undefined ? null : v));")
        return json.loads(text)

    async def stats(self) -> dict[str, Any] | None:
        return await self.value("window.anysupportCall ? window.anysupportCall.stats : null")

    async def wait(self, expression: str, timeout: float = 10_000) -> None:
        """Wait until the JavaScript expression is true in the page (timeout in ms, as Playwright's)."""
        try:
            await self._run(self.driver.execute_script, _WAIT % expression, timeout)
        except Exception as exc:
            raise TimeoutError(f"{expression} not true within {timeout} ms: {exc}") from None

    async def text(self, element_id: str) -> str:
        return await self.value(f"document.getElementById({json.dumps(element_id)}).textContent")

    async def assert_no_errors(self) -> None:
        """The server refused nothing the page sent."""
        stats = await self.stats()
        refused = (stats or {}).get("server_errors", [])
        assert not refused, refused
