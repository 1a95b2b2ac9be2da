"""The batched WebSocket frame reader (anysupport.ws.frames).

The parser alone: every length form (unmasked frames refused, RFC 6455), split at every byte, fragments with control
frames between them, the size limit, the framing errors. Then the protocol against Tornado's own: the
same bytes sent to a plain Tornado echo socket and to one reading with ``BatchedProtocol13`` must get
the same bytes back, close frames and dropped connections included. Last, the Tornado it overrides: its
private names are checked, and a live server's sockets must read with it."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.tcpclient
import tornado.web
import tornado.websocket
from tornado.util import _websocket_mask

from anysupport.config import load_config
from anysupport.services import Services
from anysupport.web.app import make_app
from anysupport.ws import frames
from anysupport.ws.frames import BatchedProtocol13, FrameError, FrameParser, TornadoMismatch, batched_protocol
from tests.support.client import Socket


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = b"\x01\x02\x03\x04",
          rsv: int = 0, length: int | None = None) -> bytes:
    """One client frame; ``length`` overrides the declared length (the payload is still sent)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | opcode
    m = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((b0, m | n))
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if mask is None:
        return head + payload
    return head + mask + _websocket_mask(mask, payload)


def parse_all(data: bytes, max_size: int = 1 << 20, step: int | None = None) -> list[tuple[int, bytes]]:
    parser = FrameParser(max_size)
    out: list[tuple[int, bytes]] = []
    if step is None:
        out.extend(parser.feed(data))
    else:
        for i in range(0, len(data), step):
            out.extend(parser.feed(data[i:i + step]))
    assert parser.buffered == 0
    return out


def payload_of(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
@pytest.mark.parametrize("mask", [b"\x01\x02\x03\x04", b"\xff\x00\xa5\x5a"])
def test_every_length_form(size, mask):
    data = payload_of(size)
    text = (b"a" * size)
    assert parse_all(frame(2, data, mask=mask)) == [(2, data)]
    assert parse_all(frame(1, text, mask=mask) + frame(2, b"x", mask=mask)) == [(1, text), (2, b"x")]


@pytest.mark.parametrize("size", [0, 125, 126, 65536])
def test_an_unmasked_frame_is_a_protocol_error(size):
    """RFC 6455 5.1: a server closes on an unmasked client frame (Tornado accepts it), at the header."""
    with pytest.raises(FrameError) as e:
        list(FrameParser(1 << 20).feed(frame(2, payload_of(size), mask=None)[:14]))
    assert (e.value.code, e.value.reason) == (1002, "frame not masked")


@pytest.mark.parametrize("data, code", [
    (frame(8, struct.pack("!H", 999)), 1002), (frame(8, struct.pack("!H", 1005)), 1002), (frame(8, b"\x03"), 1002),
    (frame(8, struct.pack("!H", 1000) + b"\xc3"), 1007), (frame(1, b"\xff"), 1007),
    (frame(1, "é".encode()[:1], fin=False) + frame(0, b"x"), 1007),
])
def test_bad_close_codes_and_invalid_utf8(data, code):
    with pytest.raises(FrameError) as e:
        parse_all(data)
    assert e.value.code == code


def test_split_utf8_across_fragments_and_an_empty_close_are_fine():
    assert parse_all(frame(1, "é".encode()[:1], fin=False) + frame(0, "é".encode()[1:]) + frame(8, b"")) == [
        (1, "é".encode()), (8, b"")]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 1000])
def test_split_at_any_byte(step):
    stream = frame(2, payload_of(70_000)) + frame(1, b"hello") + frame(9, b"p") + frame(2, payload_of(300))
    assert parse_all(stream, step=step) == [(2, payload_of(70_000)), (1, b"hello"), (9, b"p"), (2, payload_of(300))]


def test_need_counts_the_missing_payload():
    parser = FrameParser(1 << 20)
    whole = frame(2, payload_of(1000))
    assert list(parser.feed(whole[:100])) == []
    assert parser.need == len(whole) - 100
    assert list(parser.feed(whole[100:])) == [(2, payload_of(1000))]
    assert parser.need == 0 and parser.buffered == 0


def test_fragments_joined_with_control_frames_between():
    stream = (frame(1, "안녕".encode(), fin=False) + frame(9, b"ping") + frame(0, b" there", fin=False)
              + frame(10, b"pong") + frame(0, b"!") + frame(2, b"after"))
    assert parse_all(stream) == [(9, b"ping"), (10, b"pong"), (1, "안녕 there!".encode()), (2, b"after")]
    assert parse_all(stream, step=1) == parse_all(stream)


@pytest.mark.parametrize("step", [None, 1, 1000, 65536])
def test_after_our_close_data_is_skipped_unkept_and_the_close_still_found(step):
    """#18.2: once discarding, a message being assembled is dropped and data frames are skipped as
    their bytes arrive (never kept whole), whatever the split; a close frame is still yielded."""
    parser = FrameParser(2 << 20)
    assert list(parser.feed(frame(2, b"x" * 1000, fin=False))) == []  # a fragment begun before our close
    assert parser.held == 1000  # what the server's anysupport_ws_reader_bytes counts
    parser.discard()
    assert parser.held == 0
    stream = (frame(0, payload_of(1 << 20), fin=False) + frame(2, payload_of(300_000)) + frame(9, b"ping")
              + frame(1, b"\xff\xfe not utf-8 either") + frame(8, b"\x03\xe8bye"))
    out, kept = [], 0
    chunks = [stream] if step is None else [stream[i:i + step] for i in range(0, len(stream), step)]
    for chunk in chunks:
        out.extend(parser.feed(chunk))
        kept = max(kept, parser.held)
    assert out == [(9, b"ping"), (8, b"\x03\xe8bye")]
    assert kept <= (step or len(stream)) + 14  # at most what one read brought (a header's worth more)
    assert parser.need == 0


def test_size_limit_counts_fragments_and_is_checked_before_the_payload():
    assert parse_all(frame(2, payload_of(100)), max_size=100) == [(2, payload_of(100))]
    with pytest.raises(FrameError) as e:
        list(FrameParser(100).feed(frame(2, payload_of(101))[:12]))  # header only: refused already
    assert (e.value.code, e.value.reason) == (1009, "message too big")
    parser = FrameParser(100)
    assert list(parser.feed(frame(2, payload_of(60), fin=False))) == []
    with pytest.raises(FrameError) as e:
        list(parser.feed(frame(0, payload_of(41))))
    assert e.value.code == 1009
    with pytest.raises(FrameError):  # a declared 2**63 bytes
        list(FrameParser(100).feed(frame(2, b"", length=1 << 63)))


@pytest.mark.parametrize("stream", [
    frame(2, b"x", rsv=0x40),                          # compression was not agreed
    frame(2, b"x", rsv=0x10),
    frame(9, b"p", fin=False),                         # a fragmented control frame
    frame(9, payload_of(126)),                         # a control frame of 126 bytes
    frame(0, b"x"),                                    # a continuation of nothing
    frame(1, b"a", fin=False) + frame(1, b"b"),        # a new message inside a fragmented one
], ids=["rsv1", "rsv3", "fragmented-ping", "long-ping", "lone-continuation", "nested-message"])
def test_framing_errors_drop_the_connection(stream):
    with pytest.raises(FrameError) as e:
        parse_all(stream)
    assert e.value.code is None


def test_unknown_opcodes_are_passed_on_for_tornado_to_refuse():
    # Tornado reads such a frame whole and then aborts in _handle_message: the parser yields it
    assert parse_all(frame(3, b"x") + frame(11, b"y")) == [(3, b"x"), (11, b"y")]


# -- the protocol against Tornado's own, over real sockets ------------------------------------------------
class Echo(tornado.websocket.WebSocketHandler):
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class SlowEcho(Echo):
    async def on_message(self, message):  # a coroutine answer: the next frame waits for it
        await asyncio.sleep(0)
        self.write_message(message, binary=isinstance(message, bytes))


class BatchedEcho(Echo):
    def get_websocket_protocol(self):
        return batched_protocol(self)


class BatchedSlowEcho(SlowEcho):
    def get_websocket_protocol(self):
        return batched_protocol(self)


@pytest.fixture
async def echo_port():
    app = tornado.web.Application([(r"/plain", Echo), (r"/batched", BatchedEcho), (r"/plain-slow", SlowEcho),
                                   (r"/batched-slow", BatchedSlowEcho)], websocket_max_message_size=1000)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    yield sockets[0].getsockname()[1]
    server.stop()


async def exchange(port: int, path: str, data: bytes) -> bytes:
    """Open a WebSocket by hand, send ``data`` as it is, and return every byte the server sends back
    until it closes the connection."""
    stream = await tornado.tcpclient.TCPClient().connect("127.0.0.1", port)
    stream.write(f"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = await stream.read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    try:
        await stream.write(data)
    except tornado.iostream.StreamClosedError:
        pass
    return await asyncio.wait_for(stream.read_until_close(), 10)


CLOSE = frame(8, struct.pack("!H", 1000) + b"bye")
CASES = {
    "messages": frame(1, "안녕".encode()) + frame(2, payload_of(300)) + frame(2, b"") + CLOSE,
    "fragments-and-pings": (frame(1, b"a", fin=False) + frame(9, b"p1") + frame(0, b"b", fin=False)
                            + frame(10, b"unasked") + frame(0, b"c") + frame(9, b"p2") + CLOSE),
    "close-without-code": frame(2, b"x") + frame(8, b"") + frame(2, b"never answered"),
    "oversize": frame(2, b"ok") + frame(2, payload_of(1001)),
    "oversize-fragments": frame(2, payload_of(600), fin=False) + frame(0, payload_of(401)),
    "split-utf8-fragments": frame(1, "é".encode()[:1], fin=False) + frame(0, "é".encode()[1:]) + CLOSE,
    "opcode-3": frame(2, b"ok") + frame(3, b"x") + frame(2, b"never"),
    "opcode-11": frame(11, b"x"),
    "opcode-3-fragmented": frame(3, b"x", fin=False) + frame(0, b"y"),
    "rsv1": frame(2, b"x", rsv=0x40),
    "long-ping": frame(9, payload_of(126)),
    "fragmented-ping": frame(9, b"p", fin=False),
    "lone-continuation": frame(0, b"x"),
    "nested-message": frame(1, b"a", fin=False) + frame(2, b"b"),
    "many-small": b"".join(frame(2, os.urandom(20)) for _ in range(300)) + CLOSE,
}


@pytest.mark.parametrize("slow", [False, True], ids=["sync", "coroutine"])
@pytest.mark.parametrize("case", list(CASES))
async def test_same_answer_as_tornado(echo_port, case, slow):
    suffix = "-slow" if slow else ""
    data = CASES[case]
    plain = await exchange(echo_port, "plain" + suffix, data)
    batched = await exchange(echo_port, "batched" + suffix, data)
    assert batched == plain
    if case == "oversize":
        assert plain.endswith(struct.pack("!BBH", 0x88, 17, 1009) + b"message too big")


async def test_where_rfc_6455_asks_more_than_tornado_does(echo_port):
    """Tornado drops the connection on invalid UTF-8 and echoes any close code; ours closes with 1007 and
    1002 (end to end on the server: tests/relay/test_ws_rfc6455.py)."""
    bad_utf8 = await exchange(echo_port, "batched", frame(1, b"ok") + frame(1, b"\xff\xfe") + frame(1, b"never"))
    assert bad_utf8 == b"\x81\x02ok" + struct.pack("!BBH", 0x88, 15, 1007) + b"invalid UTF-8"
    close_1005 = await exchange(echo_port, "batched", frame(8, struct.pack("!H", 1005)))
    assert close_1005 == struct.pack("!BBH", 0x88, 20, 1002) + b"invalid close code"


# -- the Tornado it relies on ------------------------------------------------------------------------------
def test_this_tornado_has_every_private_name_the_reader_uses():
    frames.check_tornado()  # what the import did; a renamed name would have failed it
    assert len(frames.TORNADO_PRIVATE) + len(frames.TORNADO_PRIVATE_PER_INSTANCE) == 8
    with pytest.raises(TornadoMismatch, match="WebSocketProtocol13._receive_frames"):
        frames.check_tornado({"WebSocketProtocol13._receive_frames":
                              (tornado.websocket.WebSocketProtocol13, "_receive_frames")})


async def test_a_protocol_missing_a_per_connection_name_refuses_the_socket(echo_port, monkeypatch):
    monkeypatch.setattr(frames, "TORNADO_PRIVATE_PER_INSTANCE", ("_wire_bytes_in", "_renamed_in_a_new_tornado"))
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{echo_port}/batched")
    assert refused.value.code == 500  # loudly, not Tornado's own reader in its place


async def test_the_servers_sockets_read_with_the_batched_reader(db_store, tmp_path):
    config = load_config(environ={}, overrides={"data_dir": str(tmp_path), "ws_ping_interval": 0})
    services = Services.build(config, db_store)
    agent, _ = await services.agents.create(login="reader", name="Reader", password="pw-reader-123")
    token, _ = await services.auth.login("reader", "pw-reader-123")
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(make_app(services))
    server.add_sockets(sockets)
    try:
        console = await Socket.connect(f"ws://127.0.0.1:{sockets[0].getsockname()[1]}", token)
        await console.recv_type("hello")
        await console.send({"type": "ping", "id": "1"})
        assert (await console.recv_type("pong"))["id"] == "1"  # a frame read, parsed and answered
        protocol = services.hub.console(agent["id"]).ws_connection
        assert type(protocol) is BatchedProtocol13 and protocol.batched
        console.conn.close()
    finally:
        server.stop()
