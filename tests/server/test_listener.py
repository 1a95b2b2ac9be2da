"""Issue 18 #3: slow bodies time out, one address holds at most max_connections_per_address connections,
the soft descriptor limit is raised at start, and running out of descriptors keeps the open connections
served and is logged once, not per failed accept. The rules alone, then the real server."""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time

import psutil

from anysupport.web.listener import ConnectionLimits, OnceLog, raise_descriptor_limit

# -- the rules ----------------------------------------------------------------------------------------


def test_connections_are_counted_per_address_and_a_trusted_proxy_is_not():
    limits = ConnectionLimits(2, exempt=["10.0.0.0/8"])
    assert limits.admit("203.0.113.7") and limits.admit("203.0.113.7")
    assert not limits.admit("203.0.113.7") and limits.refused == 1
    assert limits.admit("198.51.100.1")  # another address is not held up
    limits.release("203.0.113.7")
    assert limits.admit("203.0.113.7")
    assert all(limits.admit("10.1.2.3") for _ in range(10))  # nginx carries everyone: not counted
    assert "10.1.2.3" not in limits.open
    for _ in range(3):
        limits.release("203.0.113.7")
    assert "203.0.113.7" not in limits.open


def test_a_condition_is_logged_once_until_it_clears(caplog):
    logger = logging.getLogger("test.once")
    once = OnceLog(logger, "trouble: %s", "over (%d times)")
    with caplog.at_level(logging.INFO, logger="test.once"):
        for _ in range(1000):
            once.met("no descriptors")
        once.cleared()
        once.cleared()
        once.met("again")
    assert [r.getMessage() for r in caplog.records] == ["trouble: no descriptors", "over (1000 times)", "trouble: again"]
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING", "ERROR"]
    caplog.clear()
    crowd = OnceLog(logger, "one address: %s", "over (%d refused)", level=logging.WARNING)
    with caplog.at_level(logging.INFO, logger="test.once"):
        crowd.met("127.0.0.1")
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_the_soft_descriptor_limit_goes_up_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        before, after = raise_descriptor_limit(ceiling=4096)
        assert before == min(256, hard) and after == min(hard, 4096) == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- the real server -----------------------------------------------------------------------------------

async def open_from(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


async def healthz(reader, writer) -> bytes:
    """GET /healthz on a kept-alive connection: the answer's head (its body read too)."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    await asyncio.wait_for(reader.readexactly(length), 10)
    return head


async def test_a_body_that_trickles_in_is_cut_off(make_server):
    srv = make_server({"http_body_timeout": 1})
    reader, writer = await open_from(srv.port)
    writer.write(b"POST /api/v1/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"c")
    await writer.drain()
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, nothing answered
    assert 0.8 < time.monotonic() - started < 5
    writer.close()
    # the server is fine
    r2, w2 = await open_from(srv.port)
    assert (await healthz(r2, w2)).startswith(b"HTTP/1.1 200")
    w2.close()


async def test_one_address_holds_at_most_its_share_and_others_are_served(make_server):
    srv = make_server({"max_connections_per_address": 20})
    held = [await open_from(srv.port) for _ in range(20)]
    assert (await healthz(*held[0])).startswith(b"HTTP/1.1 200")  # a held one still works
    extra_reader, extra_writer = await open_from(srv.port)
    assert await asyncio.wait_for(extra_reader.read(), 5) == b""  # closed at once
    extra_writer.close()
    other = await open_from(srv.port, "127.0.0.2")  # another address is served
    assert (await healthz(*other)).startswith(b"HTTP/1.1 200")
    other[1].close()
    srv.wait_for_log("127.0.0.1 holds 20 connections")
    for _, writer in held:
        writer.close()
    again = None
    for _ in range(50):  # the server notices the closes
        reader, writer = await open_from(srv.port)
        try:
            if (await healthz(reader, writer)).startswith(b"HTTP/1.1 200"):
                again = True
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            await asyncio.sleep(0.05)
        finally:
            writer.close()
    assert again
    assert sum("holds 20 connections" in line for line in srv.lines) == 1


async def test_out_of_descriptors_the_open_connections_are_served_and_it_is_logged_once(make_server):
    srv = make_server({"max_connections_per_address": 100000})
    server = psutil.Process(srv.process.pid)
    keep = await open_from(srv.port)  # a kept-alive connection, opened before the trouble
    assert (await healthz(*keep)).startswith(b"HTTP/1.1 200")
    # what a systemd service would get, squeezed: a few descriptors more than the server holds now
    soft, hard = server.rlimit(psutil.RLIMIT_NOFILE)
    server.rlimit(psutil.RLIMIT_NOFILE, (server.num_fds() + 20, hard))
    try:
        flood = []
        for _ in range(60):  # more than it can accept (the rest wait in the listen backlog)
            flood.append(await asyncio.wait_for(open_from(srv.port), 10))
        await asyncio.sleep(0)
        srv.wait_for_log("cannot accept connections")
        assert (await healthz(*keep)).startswith(b"HTTP/1.1 200")  # served all the while
        for _, writer in flood:
            writer.close()
        # the closed ones free their descriptors; the next client is accepted and served
        fresh = await asyncio.wait_for(open_from(srv.port), 10)
        assert (await healthz(*fresh)).startswith(b"HTTP/1.1 200")
        fresh[1].close()
        srv.wait_for_log("accepting connections again", timeout=15)
    finally:
        server.rlimit(psutil.RLIMIT_NOFILE, (soft, hard))
    keep[1].close()
    assert sum("cannot accept connections" in line for line in srv.lines) == 1
    assert not any("Too many open files" in line and "Traceback" in line for line in srv.lines)


async def test_the_server_raises_its_soft_descriptor_limit_at_start(make_server):
    srv = make_server()
    soft, hard = psutil.Process(srv.process.pid).rlimit(psutil.RLIMIT_NOFILE)
    assert soft == min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else soft == 1 << 20
