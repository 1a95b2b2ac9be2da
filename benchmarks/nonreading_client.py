"""A client that never reads, at full speed, against a real server: how much does the server grow?

    .venv/bin/python benchmarks/nonreading_client.py [--seconds 30]

Three runs, each on a fresh server (pinned to CPU 0) and one socket that sends JSON ``ping``s with
64-character ids, WebSocket ping frames and unsolicited pongs as fast as the server takes them and
never reads (``tests.support.rawws.flood_without_reading``):

- ``defaults``: the shipped settings (the control rate limit closes the flood, 4008 ``flooding``);
- ``ws_pings_only``: WebSocket ping frames only (not rate-limited messages: Tornado keeps at most
  one pong unsent; our own first ping, at ``ws_ping_interval``, goes unanswered, so the socket is
  closed 4009 ``ping_timeout`` about ``ws_ping_interval + ws_ping_timeout`` (45 s) in: not within a
  30 s run);
- ``budget_only``: rate limits raised so every ping is answered: only ``control_queue_bytes``
  (1 MiB) stops it, 4009 ``not_reading``.

Prints the server's RSS growth (peak during the run minus the baseline after a warm-up) against the
budget, and how the socket ended. The short version of the third run is in
tests/server/test_slow_reader.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.client import Api  # noqa: E402
from tests.support.rawws import flood_without_reading  # noqa: E402
from tests.support.server import ADMIN_PASSWORD  # noqa: E402

BUDGET = 1_048_576
RUNS = {
    "defaults": ({}, ("json_pings", "ws_pings", "pongs")),
    "ws_pings_only": ({}, ("ws_pings",)),
    "budget_only": ({"control_rate": 100000, "control_burst": 100000, "control_max_invalid": 100000},
                    ("json_pings", "ws_pings", "pongs")),
}


async def one(name: str, seconds: float) -> dict:
    from benchmarks.loadgen import start_server

    settings, kinds = RUNS[name]
    # start_server raises the rate limits for its load tests: put the shipped ones back unless raised here
    srv = start_server({"control_rate": 50.0, "control_burst": 200, **settings})
    try:
        token, _ = await Api(srv.url).login("admin", ADMIN_PASSWORD)
        result = await flood_without_reading(srv.ws_base + "/ws", token, srv.process.pid, seconds=seconds,
                                             kinds=kinds)
        closes = [line.split("anysupport.ws: ")[-1].strip() for line in srv.lines if "closing agent socket" in line]
        return {"run": name, "seconds": seconds, "growth_bytes": result["growth"], "budget_bytes": BUDGET,
                "growth_vs_budget": round(result["growth"] / BUDGET, 3), "sent": result["sent"],
                "server_closed": closes[:1], "close_code_seen": result["close_code"]}
    finally:
        srv.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args()
    for name in args.runs.split(","):
        print(json.dumps(await one(name, args.seconds)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
