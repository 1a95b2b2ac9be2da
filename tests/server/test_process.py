"""The server as an operator runs it: start-up output, persistence, SIGTERM, the shell commands."""

import concurrent.futures
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pymongo import MongoClient

from anysupport.store.embedded import ORPHAN_GRACE
from tests.support.client import Api, Socket
from tests.support.processes import alive
from tests.support.server import ServerProcess


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _assert_gone(children: list[int], data_dir: str, within: float = ORPHAN_GRACE + 10) -> None:
    """The server's children (the embedded database) end soon after it: in order when they can, and
    ``ORPHAN_GRACE`` after it at the latest (their own watcher), plus a loaded machine's slack."""
    t0 = time.monotonic()
    for child in children:
        while alive(child) and time.monotonic() - t0 < within:
            time.sleep(0.05)
        log = Path(data_dir, "db", "nx-27017.log")
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        assert not alive(child), f"embedded database {child} outlived the server by {within:.0f} s; its log:\n{tail}"
    print(f"children gone {time.monotonic() - t0:.2f} s after the server")


async def test_first_start_prints_admin_password_once_and_accounts_persist(tmp_path):
    srv = ServerProcess(str(tmp_path / "data"), admin_password=None).start()
    try:
        line = srv.wait_for_log(r"password: \S+")
        password = line.split("password:")[1].strip()
        api = Api(srv.url)
        token, _ = await api.login("admin", password)
        r = await api.with_token(token).post("/api/v1/admin/agents", {"login": "persisted", "name": "P", "password": "persist-pass"})
        assert r.status == 201
        srv.restart()
        assert "password:" not in srv.log_text().split("listening on")[-2]  # not printed again
        api = Api(srv.url)
        await api.login("persisted", "persist-pass")
        await api.login("admin", password)
    finally:
        srv.stop()


async def test_sigterm_closes_sockets_and_leaves_no_child(tmp_path):
    srv = ServerProcess(str(tmp_path / "data")).start()
    pid = srv.process.pid
    children = _children(pid)
    assert children, "the embedded database should run as a child"
    api = Api(srv.url)
    token, _ = await api.login("admin", "admin-test-password")
    console = await Socket.connect(srv.ws_base, token)
    await console.recv_type("hello")
    t0 = time.monotonic()
    srv.process.send_signal(signal.SIGTERM)
    code, reason = await console.closed(timeout=10)
    assert code == 1001 and reason == "server_shutdown"
    proc = srv.process
    assert proc.wait(15) == 0
    srv.process = None
    assert time.monotonic() - t0 < 10
    _assert_gone(children, srv.data_dir)


def test_sigkill_of_server_still_stops_the_database(tmp_path):
    srv = ServerProcess(str(tmp_path / "data")).start()
    children = _children(srv.process.pid)
    srv.stop(signal.SIGKILL)
    _assert_gone(children, srv.data_dir)


def test_bad_configuration_stops_startup_naming_the_key(tmp_path):
    env = {**os.environ, "ANYSUPPORT_PORT": "not-a-port"}
    r = subprocess.run([sys.executable, "-m", "anysupport", "serve", "--data-dir", str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "ANYSUPPORT_PORT" in r.stderr and "Traceback" not in r.stderr


def test_agent_commands_from_the_shell(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYSUPPORT_")}
    run = lambda *args: subprocess.run([sys.executable, "-m", "anysupport", *args, "--data-dir", str(tmp_path)],  # noqa: E731
                                       env=env, capture_output=True, text=True, timeout=60)
    r = run("agent", "create", "shelly", "--name", "Shell Agent", "--number", "42")
    assert r.returncode == 0, r.stderr
    assert "password:" in r.stdout
    r = run("agent", "reset-password", "shelly", "--password", "from-the-shell")
    assert r.returncode == 0, r.stderr
    r = run("agent", "list")
    assert "shelly" in r.stdout and "42" in r.stdout
    r = run("agent", "disable", "shelly")
    assert r.returncode == 0 and "disabled" in run("agent", "list").stdout
    r = run("agent", "create", "shelly", "--name", "again")
    assert r.returncode == 1 and "already used" in r.stderr
    r = run("agent", "delete", "nobody")
    assert r.returncode == 1 and "no agent" in r.stderr


async def test_embedded_database_failure_is_a_clear_message(tmp_path):
    bad = tmp_path / "file"
    bad.write_text("not a directory")
    r = subprocess.run([sys.executable, "-m", "anysupport", "serve", "--port", "0", "--data-dir", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"cannot start: cannot use the data directory {bad}: it is a file, not a folder" in r.stderr
    assert "Traceback" not in r.stderr


# -- the embedded database dies ---------------------------------------------------------------------

def _database_child(srv: ServerProcess) -> int:
    (child,) = _children(srv.process.pid)
    return child


def _database(srv: ServerProcess):
    address = srv.wait_for_log(r"embedded database \(nx-27017\) on").split(" on ")[1].split(",")[0].strip()
    return MongoClient(f"mongodb://{address}/?directConnection=true", tz_aware=True).anysupport


async def test_killed_database_is_restarted_and_nothing_written_is_lost(tmp_path):
    srv = ServerProcess(str(tmp_path / "data")).start()
    try:
        admin = Api(srv.url).with_token((await Api(srv.url).login("admin", "admin-test-password"))[0])
        r = await admin.post("/api/v1/admin/agents", {"login": "before", "name": "전", "password": "before-pass"})
        assert r.status == 201, r.body
        r = await admin.post("/api/v1/admin/trouble-types", {"name": "죽기 전에 만든 유형"})
        assert r.status == 201, r.body
        started = int(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC).timestamp() * 1000)
        docs = [{"session_id": f"{i:024x}", "agent_id": "x", "agent_login": "before", "agent_name": "전",
                 "started_at": started + i * 1000, "ended_at": started + i * 1000 + 60_000, "created_at": started,
                 "updated_at": started} for i in range(300)]
        _database(srv).records.insert_many(docs)  # acknowledged: it must survive
        os.kill(_database_child(srv), signal.SIGKILL)
        srv.wait_for_log(r"embedded database restarted on", timeout=60)
        restarted = srv.log_text().split("embedded database restarted on")[0]
        assert restarted.count("restarting it in") == 1 and "attempt 1 of 5" in restarted, restarted
        r = await admin.get("/healthz")
        assert r.status == 200 and r.json["db"] == "ok"
        token, _ = await Api(srv.url).login("before", "before-pass")  # the agent written before
        r = await admin.get("/api/v1/admin/trouble-types")
        assert "죽기 전에 만든 유형" in r.body.decode()
        r = await admin.get("/api/v1/records?from=2026-05-01&to=2026-05-02")
        assert r.status == 200 and r.json["total"] == 300
        assert "Traceback" not in srv.log_text()
    finally:
        srv.stop()


async def test_database_that_cannot_come_back_answers_503_at_once_then_the_server_exits(tmp_path):
    data = tmp_path / "data"
    srv = ServerProcess(str(data)).start()
    try:
        admin = Api(srv.url).with_token((await Api(srv.url).login("admin", "admin-test-password"))[0])
        os.rename(data / "db", data / "db.moved")
        (data / "db").write_text("not a directory")  # no restart can succeed now
        os.kill(_database_child(srv), signal.SIGKILL)
        srv.wait_for_log(r"database unavailable: ")
        for language, text in (("ko", "데이터베이스가 응답하지 않습니다"), ("en", "The database is not answering")):
            t0 = time.monotonic()
            r = await admin.request("GET", "/api/v1/admin/agents", headers={"Accept-Language": language})
            assert r.status == 503 and r.error == "database_unavailable" and text in r.json["message"]
            assert time.monotonic() - t0 < 1.0  # refused at once, not after the driver's 5 s
        r = await Api(srv.url).post("/api/v1/auth/login", {"login": "admin", "password": "admin-test-password"})
        assert r.status == 503 and r.error == "database_unavailable"
        r = await Api(srv.url).get("/healthz")
        assert r.status == 503 and r.json["db"] == "down"
        proc = srv.process
        assert proc.wait(60) == 1
        srv.process = None
        log = srv.log_text()
        assert log.count("restarting it in") == 5 and "attempt 5 of 5" in log
        assert "could not be restarted in 5 attempts" in log and "fix the cause and start the server again" in log
        assert "Traceback" not in log and "session sweep failed" not in log
    finally:
        srv.stop()


# -- one server per data directory ------------------------------------------------------------------

def _serve(data_dir, out):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYSUPPORT_")}
    env.update(ANYSUPPORT_ADMIN_PASSWORD="admin-test-password", ANYSUPPORT_LOG_LEVEL="info", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "anysupport", "serve", "--port", "0", "--data-dir", str(data_dir)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_second_server_on_the_data_dir_is_refused_naming_the_first(tmp_path):
    srv = ServerProcess(str(tmp_path / "data")).start()
    try:
        r = subprocess.run([sys.executable, "-m", "anysupport", "serve", "--port", "0", "--data-dir",
                            str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert f"in use by another AnySupport process (PID {srv.process.pid})" in r.stderr
        assert "Traceback" not in r.stderr and "NX-27017" not in r.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANYSUPPORT_")}
        r = subprocess.run([sys.executable, "-m", "anysupport", "agent", "list", "--data-dir", str(tmp_path / "data")],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert f"an AnySupport server is running on the data directory {tmp_path / 'data'} (PID {srv.process.pid})" in r.stderr
        assert "admin pages" in r.stderr and "Traceback" not in r.stderr
        assert _children(srv.process.pid), "the running server keeps its database"
    finally:
        srv.stop()


def test_two_servers_started_at_once_exactly_one_gets_the_data_dir(tmp_path):
    procs = [_serve(tmp_path / "data", subprocess.PIPE) for _ in range(2)]
    outputs: list[list[str]] = [[], []]
    listening = [threading.Event(), threading.Event()]

    def read(i: int) -> None:
        for line in procs[i].stdout:
            outputs[i].append(line.decode("utf-8", "replace"))
            if "listening on" in outputs[i][-1]:
                listening[i].set()

    for i in range(2):
        threading.Thread(target=read, args=(i,), daemon=True).start()
    pool = concurrent.futures.ThreadPoolExecutor(2)
    try:
        exits = [pool.submit(p.wait) for p in procs]
        done, _ = concurrent.futures.wait(exits, timeout=60, return_when=concurrent.futures.FIRST_COMPLETED)
        assert len(done) == 1, "exactly one of the two gives up"
        loser = exits.index(done.pop())
        winner = procs[1 - loser]
        assert procs[loser].returncode == 1
        assert listening[1 - loser].wait(60), "".join(outputs[1 - loser])
        assert winner.poll() is None, "the winner keeps serving"
        procs[loser].stdout.close()
        refused = "".join(outputs[loser])
        assert f"(PID {winner.pid})" in refused and "Traceback" not in refused, refused
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(15)
        pool.shutdown()
    assert winner.returncode == 0
