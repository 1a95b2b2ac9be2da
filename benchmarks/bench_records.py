"""Record statistics and the Excel export over N records (default 100,000) on a real server.

    .venv/bin/python benchmarks/bench_records.py [--records 100000] [--repeat 3] [--time-zone Asia/Seoul]

Starts ``anysupport serve`` with its embedded database (nx-27017) in a child process, inserts the
records straight into the database (pymongo, times as epoch ms), then measures over HTTP:

- ``GET /api/v1/records/stats`` over all of them: wall time (best and median of --repeat);
- ``GET /api/v1/records/export.xlsx`` of all of them: wall time, file size, and the server
  process's RSS before and at its peak (sampled every 20 ms), the database process's too;
- ``/healthz`` answered every 100 ms during the export: the slowest answer.

Figures are in docs/reports.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile

import psutil
from pymongo import MongoClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.client import Api  # noqa: E402
from tests.support.server import ADMIN_PASSWORD, ServerProcess  # noqa: E402

MB = 1024 * 1024


class RssSampler:
    """The peak RSS of a process while a block runs, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.baseline = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.baseline = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def database_uri(server: ServerProcess) -> str:
    address = server.wait_for_log(r"embedded database \(nx-27017\) on").split(" on ")[1].split(",")[0].strip()
    return f"mongodb://{address}/?directConnection=true"


def insert_records(server: ServerProcess, agent: dict, n: int) -> float:
    base = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
    resolutions = ("solved", "pending", "onsite_needed", None)
    answers = ("satisfied", "neutral", "unsatisfied", None)
    began = time.perf_counter()
    with MongoClient(database_uri(server)) as client:
        batch = []
        for i in range(n):
            started = base + i * 60_000
            batch.append({
                "session_id": f"{i:024x}", "agent_id": agent["id"], "agent_login": agent["login"],
                "agent_name": agent["name"], "customer_name": f"고객 {i}", "email": f"c{i}@example.com",
                "phone": "010-1234-5678", "ip": "127.0.0.1", "trouble_type": None, "trouble_type_name": None,
                "content": f"상담 내용 {i}: 공유기 재시작 후 설정을 확인했습니다.", "resolution": resolutions[i % 4],
                "satisfaction": answers[(i // 4) % 4], "feedback": "친절한 상담 감사합니다" if i % 3 == 0 else None,
                "started_at": started, "ended_at": started + (60 + i % 3000) * 1000,
                "created_at": started, "updated_at": started,
            })
            if len(batch) == 10_000:
                client.anysupport.records.insert_many(batch, ordered=False)
                batch = []
        if batch:
            client.anysupport.records.insert_many(batch, ordered=False)
    return time.perf_counter() - began


def database_pid(server: ServerProcess) -> int | None:
    children = psutil.Process(server.process.pid).children(recursive=True)
    return children[0].pid if children else None


async def measure(server: ServerProcess, n: int, repeat: int) -> None:
    client = Api(server.url)
    token, agent = await client.login("admin", ADMIN_PASSWORD)
    admin = client.with_token(token)
    inserted = await asyncio.get_running_loop().run_in_executor(None, insert_records, server, agent, n)
    print(f"inserted {n} records in {inserted:.1f} s")

    times = []
    with RssSampler(server.process.pid) as rss:
        for _ in range(repeat):
            began = time.perf_counter()
            r = await admin.get("/api/v1/records/stats")
            times.append(time.perf_counter() - began)
            assert r.status == 200 and r.json["total"] == n, r.body[:200]
    print(f"stats over {n} records: best {min(times):.2f} s, median {statistics.median(times):.2f} s"
          f" ({repeat} runs); server RSS {rss.baseline / MB:.0f} MB -> peak {rss.peak / MB:.0f} MB")

    db_pid = database_pid(server)
    probe = Api(server.url)
    health: list[float] = []
    with RssSampler(server.process.pid) as rss, RssSampler(db_pid or server.process.pid) as db_rss:
        began = time.perf_counter()
        export = asyncio.ensure_future(admin.get("/api/v1/records/export.xlsx"))
        while not export.done():
            asked = time.perf_counter()
            await probe.get("/healthz")
            health.append(time.perf_counter() - asked)
            await asyncio.sleep(0.1)
        r = await export
        seconds = time.perf_counter() - began
    assert r.status == 200, r.body[:200]
    with zipfile.ZipFile(io.BytesIO(r.body)) as archive:
        sheet_bytes = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    print(f"export of {n} records: {seconds:.1f} s, {len(r.body) / MB:.1f} MB .xlsx ({sheet_bytes / MB:.0f} MB of sheet XML)")
    print(f"  server RSS {rss.baseline / MB:.0f} MB -> peak {rss.peak / MB:.0f} MB (+{(rss.peak - rss.baseline) / MB:.0f} MB)")
    if db_pid:
        print(f"  database (nx-27017) RSS {db_rss.baseline / MB:.0f} MB -> peak {db_rss.peak / MB:.0f} MB")
    print(f"  /healthz during the export: {len(health)} answers, slowest {max(health) * 1000:.0f} ms,"
          f" median {statistics.median(health) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-zone", default="Asia/Seoul")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-records-") as data_dir:
        server = ServerProcess(data_dir, {"time_zone": args.time_zone}).start()
        try:
            asyncio.run(measure(server, args.records, args.repeat))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
