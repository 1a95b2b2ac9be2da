"""Control-message latency agent → customer through the server, with N connected sessions.

    .venv/bin/python benchmarks/control_latency.py --sessions 100 --messages 20 [--rate 5] [--kind chat|stroke]
        [--loop asyncio|uvloop] [--tree DIR]
    .venv/bin/python benchmarks/control_latency.py --compare [--before main] [--rounds 2] ...

Opens N real sessions (agents' consoles, customers, accepted) against a server in another process
(pinned to CPU 0; this script runs on the other core), then every agent sends ``chat`` messages
carrying their send time; each customer notes the arrival. Reports p50/p99 in milliseconds, and the
server's CPU per relayed control message. ``--kind stroke`` sends an annotation stroke of 100
points instead (the largest message a drawing agent sends often). ``--compare`` runs the server as
it was at ``--before`` (a git ref) and this tree's, on the same loop, in turns, and prints both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.harness import CpuMeter, load_main, percentile, summary  # noqa: E402
from benchmarks.loadgen import open_pairs, start_server  # noqa: E402


def message_of(kind: str, session_id: str, n: int) -> str:
    sent = repr(time.perf_counter())
    if kind == "chat":
        return json.dumps({"type": "chat", "session_id": session_id, "text": sent})
    points = [[i / 100, (100 - i) / 100] for i in range(100)]
    return json.dumps({"type": "annotation", "session_id": session_id, "op": "add", "item": {
        "id": f"s{n}-{sent}", "shape": "stroke", "color": "#ff3b30", "width": 4, "points": points}})


def arrival_time(message: dict) -> float | None:
    if message.get("type") == "chat":
        return float(message["text"])
    if message.get("type") == "annotation" and message.get("op") == "add":
        return float(message["item"]["id"].split("-", 1)[1])
    return None


async def run(args) -> dict:
    srv = start_server({"event_loop": args.loop} if args.loop else None, tree=args.tree)
    try:
        pairs = await open_pairs(srv.url, srv.ws_base, args.sessions)
        latencies: list[float] = []

        async def customer_reader(pair) -> None:
            while True:
                raw = await pair.customer.conn.read_message()
                if raw is None:
                    return
                if isinstance(raw, str):
                    sent = arrival_time(json.loads(raw))
                    if sent is not None:
                        latencies.append((time.perf_counter() - sent) * 1000)

        readers = [asyncio.ensure_future(customer_reader(p)) for p in pairs]
        cpu = CpuMeter(srv.process.pid)
        start = time.monotonic()

        async def agent_sender(pair, offset: float) -> None:
            await asyncio.sleep(offset)
            for n in range(args.messages):
                await pair.console.conn.write_message(message_of(args.kind, pair.session_id, n))
                await asyncio.sleep(1.0 / args.rate)

        await asyncio.gather(*(agent_sender(p, i / len(pairs) / args.rate) for i, p in enumerate(pairs)))
        await asyncio.sleep(0.5)
        elapsed = time.monotonic() - start
        used = cpu.used()
        for r in readers:
            r.cancel()
        print(f"latency ms: {summary(latencies)}")
        return {
            "kind": args.kind, "tree": args.tree or "", "sessions": args.sessions, "messages": len(latencies), "expected": args.sessions * args.messages,
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "server_cpu_pct": round(100 * used / elapsed, 1),
            "server_us_per_message": round(1e6 * used / max(1, len(latencies)), 1),
        }
    finally:
        srv.stop()


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="messages per agent")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per agent")
    parser.add_argument("--kind", choices=("chat", "stroke"), default="chat")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"))
    parser.add_argument("--tree", help="run the server from this checkout (the code before a change)")
    return parser.parse_args(argv)


def compare(argv: list[str]) -> list[dict]:
    from benchmarks.relay_load import export_tree

    top = argparse.ArgumentParser()
    top.add_argument("--compare", action="store_true")
    top.add_argument("--before", default="main")
    top.add_argument("--rounds", type=int, default=2)
    args, rest = top.parse_known_args(argv)
    tree = export_tree(args.before)
    runs: dict[str, list[dict]] = {}
    try:
        for _ in range(args.rounds):
            for label, extra in ((f"before ({args.before})", ["--tree", tree]), ("after", [])):
                runs.setdefault(label, []).append(asyncio.run(run(parse([*rest, *extra]))))
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print("\n| run | server µs per message (median; each) | p50 / p99 ms | delivered |")
    print("|---|---|---|---|")
    rows = []
    for label, results in runs.items():
        us = statistics.median(r["server_us_per_message"] for r in results)
        rows.append({"run": label, "us_per_message": us})
        print(f"| {label} | {us:.0f} ({', '.join(str(r['server_us_per_message']) for r in results)}) | "
              f"{statistics.median(r['p50_ms'] for r in results):.2f} / {max(r['p99_ms'] for r in results):.1f} | "
              f"{sum(r['messages'] for r in results)} of {sum(r['expected'] for r in results)} |")
    print(f"load average after: {os.getloadavg()}")
    return rows


def main(argv=None):
    return load_main(argv, run, parse, compare)


if __name__ == "__main__":
    main()
