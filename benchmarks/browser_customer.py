"""The browser customer (customer page in headless Chromium) against the real server, on loopback.

    .venv/bin/python benchmarks/browser_customer.py --seconds 10 --quality medium

The customer page runs in Debian's Chromium (``/usr/bin/chromium`` via Playwright) with the fake
camera playing the stamped test pattern (``tests/support/browser.py``); the agent is ``AgentPeer``
in this process, with auto-connect on so nobody has to press "accept". Figures:

- ``join_to_first_frame_ms``: from pressing the join button (camera permission pre-granted) to the
  first customer frame decoded at the agent: page load of the call modules, getUserMedia, join,
  WebSocket, key exchange with commitment, first keyframe, relay, open, decode;
- ``fps``: frames decoded at the agent per second over the window, at the chosen level;
- ``g2g_p50_ms`` / ``g2g_p99_ms``: from the moment the page takes the camera frame (the sealed
  header's ``timestamp_us``, the browser's clock, which on one machine is the agent's clock too)
  to the frame decoded at the agent: crop/scale, WebCodecs H.264, WebCrypto seal, WebSocket, relay,
  open, decode. The Y4M file's stamped numbers are checked to arrive in order (the file loops);
- ``cpu_page_pct``: user+system time of every Chromium process (browser, renderer, GPU/utility)
  over the window, as a percentage of one core; ``cpu_agent_pct``: this process (the agent's
  receive: open, decode, stamp reading).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_native import framing  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from benchmarks.harness import agent_account, children_named, cpu_seconds, percentile, run_levels  # noqa: E402
from tests.support.agent import AgentPeer  # noqa: E402
from tests.support.browser import CHROMIUM, PHONE, chromium_args, write_pattern_y4m  # noqa: E402


async def measure(url: str, quality: str, seconds: float, y4m: Path, warmup: float = 2.0) -> dict:
    agent = AgentPeer(url, token=await agent_account(url, "bbench", settings={"auto_connect": True}))
    await agent.start()
    session = await agent.create_session()
    sent_at: dict[int, int] = {}  # sequence → the page's capture time (µs)
    decoded: list[tuple[int, int | None, float]] = []  # (sequence, stamp number, latency ms)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(y4m))
        try:
            context = await browser.new_context(locale="en-US", **PHONE)
            page = await context.new_page()
            await page.goto(url + "/")
            await page.fill("#code", session["code"])
            clicked_us = time.time_ns() // 1000
            await page.click("#join-button")
            await agent.current.wait_until(lambda: agent.current.state == "connected", 20, "connected")
            media = agent.media

            def tap(header, payload) -> None:
                if header.stream == framing.STREAM_CUSTOMER_VIDEO:
                    sent_at[header.sequence] = header.timestamp_us

            media.taps.append(tap)

            def on_frame(frame, record) -> None:
                capture = sent_at.pop(record.sequence, None)
                if capture is not None:
                    decoded.append((record.sequence, record.number, (record.decoded_us - capture) / 1000))

            agent.frame_listeners.append(on_frame)
            first = (await agent.wait_frames(1, timeout=20))[0]
            join_ms = (first.decoded_us - clicked_us) / 1000
            if quality != "medium":
                agent.camera("quality", level=quality)
            await asyncio.sleep(warmup)
            processes = children_named("chrom")
            me = psutil.Process()
            page_cpu0, agent_cpu0 = cpu_seconds(processes), cpu_seconds([me])
            t0 = time.monotonic()
            start = len(decoded)
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            page_cpu = (cpu_seconds(processes) - page_cpu0) / elapsed * 100
            agent_cpu = (cpu_seconds([me]) - agent_cpu0) / elapsed * 100
            window = decoded[start:]
            frames = agent.frames
            agent.end()
            await asyncio.sleep(0.3)
        finally:
            await browser.close()
            await agent.close()
    latencies = [ms for _, _, ms in window]
    numbers = [n for _, n, _ in window if n is not None]
    # the Y4M loops: stamped numbers count up, falling back to 0 only where the file starts again
    wraps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b < a)
    return {
        "quality": quality,
        "size": f"{frames[-1].width}x{frames[-1].height}" if frames else None,
        "join_to_first_frame_ms": round(join_ms, 1),
        "frames": len(window),
        "fps": round(len(window) / elapsed, 1),
        "stamps_read": len(numbers),
        "file_loops": wraps,
        "g2g_p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "g2g_p90_ms": round(percentile(latencies, 90), 2) if latencies else None,
        "g2g_p99_ms": round(percentile(latencies, 99), 2) if latencies else None,
        "cpu_page_pct": round(page_cpu, 1),
        "cpu_agent_pct": round(agent_cpu, 1),
    }


def cli(argv=None) -> int:
    y4m = write_pattern_y4m(Path(tempfile.mkdtemp(prefix="anysupport-browser-")) / "pattern.y4m", frames=150)
    return run_levels(__doc__, "anysupport-browser-", lambda url, level, seconds, args: measure(
        url, level, seconds, y4m), argv)


if __name__ == "__main__":
    sys.exit(cli())
