"""The server as an operator runs it: start-up output, persistence, SIGTERM, the shell commands."""

import os
import signal
import subprocess
import sys
import time

from tests.support.client import Api, Socket
from tests.support.server import ServerProcess


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


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
    for child in children:
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "embedded database outlived the server"


def test_sigkill_of_server_still_stops_the_database(tmp_path):
    srv = ServerProcess(str(tmp_path / "data")).start()
    children = _children(srv.process.pid)
    srv.stop(signal.SIGKILL)
    for child in children:
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)


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
    assert "cannot start" in r.stderr or "Error" in r.stderr
    assert "Traceback" not in r.stderr
