"""Control-message latency agent → customer through the server, with N connected sessions.

    .venv/bin/python benchmarks/control_latency.py --sessions 100 --messages 20 [--rate 5]

Opens N real sessions (agents' consoles, customers, accepted) against a server in another process
(pinned to CPU 0; this script runs on the other core), then every agent sends ``chat`` messages
carrying their send time; each customer notes the arrival. Reports p50/p99 in milliseconds, and the
server's CPU per relayed control message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.loadgen import CpuMeter, open_pairs, percentile, start_server, summary  # noqa: E402


async def run(args) -> dict:
    srv = start_server()
    try:
        pairs = await open_pairs(srv.url, srv.ws_base, args.sessions)
        latencies: list[float] = []

        async def customer_reader(pair) -> None:
            while True:
                raw = await pair.customer.conn.read_message()
                if raw is None:
                    return
                if isinstance(raw, str):
                    message = json.loads(raw)
                    if message.get("type") == "chat":
                        latencies.append((time.perf_counter() - float(message["text"])) * 1000)

        readers = [asyncio.ensure_future(customer_reader(p)) for p in pairs]
        cpu = CpuMeter(srv.process.pid)
        start = time.monotonic()

        async def agent_sender(pair, offset: float) -> None:
            await asyncio.sleep(offset)
            for _ in range(args.messages):
                await pair.console.conn.write_message(json.dumps(
                    {"type": "chat", "session_id": pair.session_id, "text": repr(time.perf_counter())}))
                await asyncio.sleep(1.0 / args.rate)

        await asyncio.gather(*(agent_sender(p, i / len(pairs) / args.rate) for i, p in enumerate(pairs)))
        await asyncio.sleep(0.5)
        elapsed = time.monotonic() - start
        used = cpu.used()
        for r in readers:
            r.cancel()
        print(f"latency ms: {summary(latencies)}")
        return {
            "sessions": args.sessions, "messages": len(latencies), "expected": args.sessions * args.messages,
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "server_cpu_pct": round(100 * used / elapsed, 1),
            "server_us_per_message": round(1e6 * used / max(1, len(latencies)), 1),
        }
    finally:
        srv.stop()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="messages per agent")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per agent")
    result = asyncio.run(run(parser.parse_args(argv)))
    for k, v in result.items():
        print(f"{k:>22}: {v}")
    return result


if __name__ == "__main__":
    main()
