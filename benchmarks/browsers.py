"""The customer page in WebKitGTK beside Chromium: code → first decoded frame, fps and page CPU.

    .venv/bin/python benchmarks/browsers.py --seconds 8 --runs 3

One server (its own data directory); per engine and run a fresh browser, a fresh agent (``AgentPeer``
in this process, auto-connect on) and a fresh session, at the page's starting level (medium, 640×480
at 30 fps):

- Chromium: Debian's headless Chromium through Playwright, the fake camera playing the stamped test
  pattern (Y4M, 30 fps; ``tests/support/browser.py``);
- WebKitGTK: Debian's MiniBrowser (WebKitGTK 2.50) through WebKitWebDriver and Selenium under Xvfb,
  its mock camera (a fixed picture; ``tests/support/webkit.py``).

Figures:

- ``code_to_first_frame_ms``: from the tap on the join button (the code typed) to the first customer
  frame decoded at the agent: the join call, the page's codec probe, getUserMedia, WebSocket, key
  exchange, first keyframe, relay, open, decode;
- ``fps``: customer frames decoded at the agent per second over the window (after ``--warmup``);
- ``cpu_page_pct``: user+system time of every process of the browser (Chromium: browser, renderer,
  utility; WebKitGTK: MiniBrowser, its web and network processes; not Xvfb) over the window, as a
  percentage of one core, and ``cpu_by_process_pct`` the same per kind of process; ``encoder_output``: what the page's start-up probe found (``annexb`` or
  ``avc``, converted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.harness import agent_account, children_named, cpu_seconds  # noqa: E402
from tests.support import webkit  # noqa: E402
from tests.support.agent import AgentPeer  # noqa: E402
from tests.support.browser import CHROMIUM, PHONE, chromium_args, write_pattern_y4m  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402
from tests.support.xvfb import Xvfb  # noqa: E402

ENGINES = ("chromium", "webkit")


class ChromiumCustomer:
    def __init__(self, y4m: Path):
        self.y4m = y4m

    async def __aenter__(self):
        from playwright.async_api import async_playwright

        self.pw = await async_playwright().start()
        self.browser = await self.pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(self.y4m))
        self.page = await (await self.browser.new_context(locale="en-US", **PHONE)).new_page()
        return self

    async def __aexit__(self, *exc):
        await self.browser.close()
        await self.pw.stop()

    async def type_code(self, url: str, code: str) -> None:
        await self.page.goto(url + "/")
        await self.page.fill("#code", code)

    async def tap_join(self) -> None:
        await self.page.click("#join-button")

    async def value(self, expression: str):
        return await self.page.evaluate(expression)

    def processes(self) -> list[psutil.Process]:
        return children_named("chrom")


class WebKitCustomer:
    def __init__(self, xvfb: Xvfb):
        self.xvfb = xvfb

    async def __aenter__(self):
        self.browser = await asyncio.to_thread(webkit.WebKitBrowser(self.xvfb).start)
        self.page = webkit.WebKitPage(self.browser)
        return self

    async def __aexit__(self, *exc):
        await asyncio.to_thread(self.browser.quit)

    async def type_code(self, url: str, code: str) -> None:
        from selenium.webdriver.common.by import By

        await self.page.goto(url + "/")
        await asyncio.to_thread(lambda: self.browser.driver.find_element(By.ID, "code").send_keys(code))

    async def tap_join(self) -> None:
        from selenium.webdriver.common.by import By

        await asyncio.to_thread(lambda: self.browser.driver.find_element(By.ID, "join-button").click())

    async def value(self, expression: str):
        return await self.page.value(expression)

    def processes(self) -> list[psutil.Process]:
        found = []
        for pid in self.browser.browser_pids:
            try:
                process = psutil.Process(pid)
                found += [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found


async def measure(url: str, customer, engine: str, seconds: float, warmup: float) -> dict:
    agent = AgentPeer(url, token=await agent_account(url, "bb" + engine[:2], settings={"auto_connect": True}))
    await agent.start()
    try:
        session = await agent.create_session()
        async with customer as page:
            await page.type_code(url, session["code"])
            tapped_us = time.time_ns() // 1000
            await page.tap_join()
            try:
                first = (await agent.wait_frames(1, timeout=30))[0]
            except TimeoutError as exc:  # say where the page stood (seen once under an extra CPU load)
                where = await page.value("JSON.stringify({state: window.anysupportCall && window.anysupportCall.state,"
                                         " stats: window.anysupportCall && window.anysupportCall.stats,"
                                         " status: (document.getElementById('status') || {}).textContent})")
                raise TimeoutError(f"{engine}: {exc}; the page: {where}; the agent: "
                                   f"{agent.current.state if agent.current else 'no session'}") from None
            code_ms = (first.decoded_us - tapped_us) / 1000
            await asyncio.sleep(warmup)  # a measuring window, not a wait for an event
            processes = page.processes()
            each0 = {p: cpu_seconds([p]) for p in processes}
            t0, start = time.monotonic(), len(agent.frames)
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            by_name: dict[str, float] = {}
            for p, before in each0.items():
                by_name[_name(p)] = by_name.get(_name(p), 0.0) + (cpu_seconds([p]) - before) / elapsed * 100
            cpu = sum(by_name.values())
            frames = agent.frames[start:]
            output = await page.value("window.anysupportCall.found.video_encode_output")
            agent.end()
    finally:
        await agent.close()
    return {
        "engine": engine,
        "encoder_output": output,
        "size": f"{frames[-1].width}x{frames[-1].height}" if frames else None,
        "code_to_first_frame_ms": round(code_ms, 1),
        "fps": round(len(frames) / elapsed, 1),
        "cpu_page_pct": round(cpu, 1),
        "cpu_by_process_pct": {k: round(v, 1) for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])},
    }


def _name(process: psutil.Process) -> str:
    try:
        name = process.name()
        if "chrom" in name.lower():  # Chromium's processes are all "chromium": tell them by --type
            kind = next((a.split("=", 1)[1] for a in process.cmdline() if a.startswith("--type=")), "browser")
            return f"chromium {kind}"
        return name
    except psutil.NoSuchProcess:
        return "ended"


async def run(args) -> list[dict]:
    y4m = write_pattern_y4m(Path(tempfile.mkdtemp(prefix="anysupport-browsers-")) / "pattern.y4m", frames=150)
    server = ServerProcess(tempfile.mkdtemp(prefix="anysupport-browsers-"), {"sweep_interval": 1.0}).start()
    results = []
    try:
        with Xvfb(1280, 900) as xvfb:
            for _ in range(args.runs):
                for engine in args.engines:
                    customer = ChromiumCustomer(y4m) if engine == "chromium" else WebKitCustomer(xvfb)
                    result = await measure(server.url, customer, engine, args.seconds, args.warmup)
                    results.append(result)
                    print(json.dumps(result), flush=True)
    finally:
        server.stop()
    for engine in args.engines:
        mine = [r for r in results if r["engine"] == engine]
        print(f"{engine:>8}: code → first frame median {statistics.median(r['code_to_first_frame_ms'] for r in mine):.0f} ms, "
              f"fps median {statistics.median(r['fps'] for r in mine):.1f}, "
              f"page CPU median {statistics.median(r['cpu_page_pct'] for r in mine):.0f} % of a core "
              f"({len(mine)} runs, {mine[-1]['size']}, encoder output {mine[-1]['encoder_output']})")
    return results


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    args = parser.parse_args(argv)
    if (why := webkit.missing()) is not None and "webkit" in args.engines:
        print(why, file=sys.stderr)
        return 2
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
