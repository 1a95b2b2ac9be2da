"""What the benchmark scripts share, written once: figures (percentiles, a summary line, CPU meters), an
agent account made through the admin API, a fresh server for a run over the quality levels, and the
command line of a per-quality measurement with its report (a readable line, then the figures as JSON).

The scripts stay runnable as files (``python benchmarks/x.py``): each puts the checkout on ``sys.path``
before importing this module.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence

import psutil

from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD, ServerProcess

LEVELS = ("high", "medium", "low")


# ---- figures ---------------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile; NaN without values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float]) -> str:
    """``n=… p50=… p90=… p99=… max=… mean=…`` of the values."""
    if not values:
        return "no samples"
    return (f"n={len(values)} p50={percentile(values, 50):.2f} p90={percentile(values, 90):.2f} "
            f"p99={percentile(values, 99):.2f} max={max(values):.2f} mean={statistics.fmean(values):.2f}")


def process_cpu() -> float:
    """User + system seconds of this process, all threads."""
    now = resource.getrusage(resource.RUSAGE_SELF)
    return now.ru_utime + now.ru_stime


def cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    """User + system seconds of these processes (one that has ended counts nothing)."""
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def children_named(part: str) -> list[psutil.Process]:
    """This process's descendants whose name holds ``part`` (case-insensitive; "chrom" finds Chromium's)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if part in child.name().lower():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


class CpuMeter:
    """CPU seconds and RSS of a process between two points."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.start = cpu_seconds([self.proc])

    def used(self) -> float:
        return cpu_seconds([self.proc]) - self.start

    def rss_mb(self) -> float:
        return self.proc.memory_info().rss / 1e6


# ---- accounts and servers --------------------------------------------------------------------------

async def agent_account(url: str, prefix: str = "bench", *, settings: dict | None = None) -> str:
    """A new agent made through the admin API; returns its login token."""
    admin = Api(url)
    token, _ = await admin.login("admin", ADMIN_PASSWORD)
    login = f"{prefix}{os.getpid()}x{int(time.time() * 1000) % 100000}"
    body = {"login": login, "name": login, "password": "pw-" + login, "role": "agent"}
    if settings:
        body["settings"] = settings
    r = await admin.with_token(token).post("/api/v1/admin/agents", body)
    assert r.status == 201, r.body
    agent_token, _ = await Api(url).login(login, "pw-" + login)
    return agent_token


async def each_level(prefix: str, quality: str, measure: Callable[[str, str], Awaitable[dict]]) -> list[dict]:
    """A fresh server (its own data directory); ``measure(url, level)`` for the chosen level, or all three
    for ``all``; each result printed as a JSON line as it comes."""
    server = ServerProcess(tempfile.mkdtemp(prefix=prefix), {"sweep_interval": 1.0}).start()
    try:
        results = []
        for level in (LEVELS if quality == "all" else (quality,)):
            result = await measure(server.url, level)
            results.append(result)
            print(json.dumps(result), flush=True)
        return results
    finally:
        server.stop()


# ---- command lines ---------------------------------------------------------------------------------

def quality_parser(doc: str, *, seconds: float, all_levels: bool = False) -> argparse.ArgumentParser:
    """``--quality`` (one level, or ``all`` when ``all_levels``) and ``--seconds``; the description is the
    first line of the script's docstring."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--quality", default="medium", choices=[*LEVELS, *(["all"] if all_levels else [])])
    return parser


def run_levels(doc: str, prefix: str, measure: Callable[..., Awaitable[dict]], argv=None, *,
               seconds: float = 10.0, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """The command line of a script measured per quality level on a fresh server: ``measure(url, level,
    seconds, args)``; ``extra`` adds the script's own options."""
    parser = quality_parser(doc, seconds=seconds, all_levels=True)
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    asyncio.run(each_level(prefix, args.quality, lambda url, level: measure(url, level, args.seconds, args)))
    return 0


def report(level: str, figures: dict, line: Callable[[dict], str], error: Callable[[dict], str]) -> int:
    """Print the readable line (``error(figures)`` when the run failed: ``figures`` has ``error``), then the
    figures as JSON (the last line, which the smoke tests read); 0 unless the run failed."""
    print(f"{level}: {error(figures) if 'error' in figures else line(figures)}")
    print(json.dumps(figures))
    return 0 if "error" not in figures else 1


def load_main(argv, run: Callable[[argparse.Namespace], Awaitable[dict]],
              parse: Callable[[list[str]], argparse.Namespace], compare: Callable[[list[str]], list[dict]]):
    """The command line of a load generator: ``--compare`` runs ``compare(argv)`` (before/after rounds);
    otherwise one ``run`` of the parsed options, its figures printed one per line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--compare" in argv:
        return compare(argv)
    result = asyncio.run(run(parse(argv)))
    for k, v in result.items():
        print(f"{k:>22}: {v}")
    return result
