"""Glass-to-glass latency and CPU of the client media pipeline over the real server, on loopback.

    .venv/bin/python benchmarks/glass_to_glass.py --seconds 10 --quality medium
    .venv/bin/python benchmarks/glass_to_glass.py --seconds 8 --quality all

Three processes: the server, the sending customer (``anysupport-mobile --headless --source test``,
a child process) and the receiving scripted agent (this process). The test pattern stamps each
frame's capture time into its pixels; the agent reads it back after capture → scale → encode → seal
→ relay → open → decode → composite (an annotation is on screen, so compositing runs), and the
difference to the clock then is the glass-to-glass latency. CPU is each process's user+system time
over the measured window, as a percentage of one core.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.harness import agent_account, percentile, run_levels  # noqa: E402
from tests.support.agent import AgentPeer  # noqa: E402


async def measure(url: str, quality: str, seconds: float, *, warmup: float = 2.0, source: str = "test") -> dict:
    agent = AgentPeer(url, token=await agent_account(url))
    await agent.start()
    session = await agent.create_session()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anysupport_mobile", "--headless", "--server", url, "--code", session["code"],
        "--source", source, "--audio", "none", "--quality", quality, "--lang", "en",
        "--seconds", str(seconds + warmup + 20),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await agent.accept(timeout=20)
        # a drawing on screen at the receiver, below the stamp, so the composite step runs for every frame
        agent.scene.apply({"op": "add", "item": {"id": "b", "shape": "rect", "color": "#ff0000", "width": 4,
                                                 "points": [[0.3, 0.5], [0.7, 0.9]]}})
        await asyncio.sleep(warmup)
        sender = psutil.Process(proc.pid)
        receiver = psutil.Process()
        cpu0 = [p.cpu_times() for p in (sender, receiver)]
        t0 = time.monotonic()
        start = len(agent.frames)
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        cpu1 = [p.cpu_times() for p in (sender, receiver)]
        frames = agent.frames[start:]
    finally:
        agent.end()
        await asyncio.sleep(0.3)
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        await agent.close()
    lat = [f.latency_ms for f in frames if f.latency_ms is not None]
    numbers = [f.number for f in frames if f.number is not None]
    cpu = [((b.user + b.system) - (a.user + a.system)) / elapsed * 100 for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "quality": quality,
        "size": f"{frames[-1].width}x{frames[-1].height}" if frames else None,
        "frames": len(frames),
        "fps": round(len(frames) / elapsed, 1),
        "unreadable": len(frames) - len(lat),
        "in_order": numbers == sorted(numbers),
        "p50_ms": round(percentile(lat, 50), 2) if lat else None,
        "p90_ms": round(percentile(lat, 90), 2) if lat else None,
        "p99_ms": round(percentile(lat, 99), 2) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
        "max_ms": round(max(lat), 2) if lat else None,
        "cpu_sender_pct": round(cpu[0], 1),
        "cpu_receiver_pct": round(cpu[1], 1),
    }


def cli(argv=None) -> int:
    def options(parser) -> None:
        parser.add_argument("--source", default="test", help="test or test:WxH (a fixed sensor size the sender scales)")

    return run_levels(__doc__, "anysupport-g2g-", lambda url, level, seconds, args: measure(
        url, level, seconds, source=args.source), argv, extra=options)


if __name__ == "__main__":
    sys.exit(cli())
