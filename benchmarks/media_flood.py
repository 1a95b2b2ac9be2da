"""A customer flooding the relay with frames far over its rate, against a real server: is it cut off,
and what does a bystander's chat cost meanwhile?

    .venv/bin/python benchmarks/media_flood.py [--seconds 5] [--messages 200]

A fresh server pinned to CPU 0 (the load generator on the other core), two connected sessions
(``benchmarks.loadgen.open_pairs``). In each run the bystander's agent sends ``--messages`` chats to its
customer spread over ``--seconds``, each timed from send to arrival, while:

- ``quiet``: nobody floods (the baseline, measured in the same process);
- ``flood``: the other customer sends one sealed frame after another as fast as its socket takes them,
  with the shipped limits (``media_max_fps`` 400, ``media_flood_frames`` 2000): it is cut off (4008
  ``flooding``) within about a second;
- ``no_cutoff``: the same flood with the cut-off raised out of reach (as before issue 18 #6): it runs
  for ``--seconds``.

Prints, per run, the bystander's chat latency (median, worst, ratio of the median to ``quiet``'s), the
frames the flooder got in, how its socket ended, and the server's CPU seconds over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_native import framing  # noqa: E402
from tornado.iostream import StreamClosedError  # noqa: E402
from tornado.websocket import WebSocketClosedError  # noqa: E402

from benchmarks.harness import CpuMeter, percentile  # noqa: E402
from benchmarks.loadgen import open_pairs, start_server  # noqa: E402

SHIPPED = {"control_rate": 50.0, "control_burst": 200, "media_max_fps": 400.0}
RUNS = {"quiet": None, "flood": {}, "no_cutoff": {"media_flood_frames": 10_000_000}}


async def chat_latencies(pair, n: int, every: float) -> list[float]:
    """``n`` chats, one each ``every`` seconds (so they span the flood), each timed to its arrival."""
    out = []
    for i in range(n):
        await asyncio.sleep(every)
        text = f"bystander {i}"
        started = time.perf_counter()
        await pair.console.send({"type": "chat", "session_id": pair.session_id, "text": text})
        await pair.customer.recv_type("chat", text=text)
        out.append((time.perf_counter() - started) * 1000)
    return out


async def flood(pair, seconds: float) -> dict:
    frame = framing.FrameSealer(os.urandom(16), "customer").seal(framing.STREAM_CUSTOMER_VIDEO, os.urandom(200))
    sent, started, ended = 0, time.monotonic(), "still open"
    while time.monotonic() - started < seconds:
        try:
            await pair.customer.send_binary(frame)
        except (WebSocketClosedError, StreamClosedError):
            ended = "dropped by the server"
            break
        sent += 1
        if sent % 100 == 0:
            await asyncio.sleep(0)  # a write taken at once never yields: let the socket hear a close
        if pair.customer.conn.close_code is not None:
            break
    if pair.customer.conn.close_code is not None:
        ended = f"closed {pair.customer.conn.close_code} {pair.customer.conn.close_reason}"
    return {"frames_sent": sent, "ended": ended, "flood_seconds": round(time.monotonic() - started, 2)}


async def one(name: str, seconds: float, messages: int, quiet_median: float | None) -> dict:
    settings = RUNS[name]
    srv = start_server({**SHIPPED, **(settings or {})})
    try:
        flooder, bystander = await open_pairs(srv.url, srv.ws_base, 2)
        cpu = CpuMeter(srv.process.pid)
        flooding = asyncio.ensure_future(flood(flooder, seconds)) if settings is not None else None
        latencies = await chat_latencies(bystander, messages, seconds / messages)
        result = await flooding if flooding else {}
        closes = [line.split("anysupport.relay: ")[-1].strip() for line in srv.lines if "media flooding" in line]
        if settings is not None:
            result["server_said"] = closes[:1]
        median = statistics.median(latencies)
        return {"run": name, "chat_p50_ms": round(median, 2), "chat_p99_ms": round(percentile(latencies, 99), 2),
                "chat_max_ms": round(max(latencies), 2),
                "p50_vs_quiet": round(median / quiet_median, 2) if quiet_median else 1.0,
                "server_cpu_s": round(cpu.used(), 2), **result}
    finally:
        srv.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="longest flood")
    parser.add_argument("--messages", type=int, default=200, help="bystander chats per run")
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args()
    quiet = None
    for name in args.runs.split(","):
        result = await one(name, args.seconds, args.messages, quiet)
        if name == "quiet":
            quiet = result["chat_p50_ms"]
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
