"""Reading a client's WebSocket frames in batches.

Tornado's ``WebSocketProtocol13`` awaits two to four ``read_bytes`` futures for every frame it reads
(header, extended length, mask, payload), and its IOStream re-arms the socket's reader each time one
completes with data left in the buffer. At 8 000 relayed frames a second that machinery, not the
relay, is most of the server's CPU (docs/performance.md, "Per core").

``FrameParser`` is the RFC 6455 framing with no transport in it: fed whatever bytes arrived, it
yields every complete message (data frames joined across fragments) and control frame they hold.
``BatchedProtocol13`` is Tornado's protocol with only its read loop replaced: one read of whatever
the stream holds, every frame in it parsed and dispatched synchronously, and the rest (UTF-8 text,
close, ping/pong, unknown opcodes, the callbacks) still done by Tornado's ``_handle_message``, so a
client sees what Tornado would have done, close codes included, except where RFC 6455 asks more
than Tornado does: an unmasked frame or a close code that may not be sent is closed with 1002, a
text message or close reason that is not UTF-8 with 1007 (Tornado accepts, echoes, or just drops
the connection). A coroutine answer
(``on_message`` of a text message) is still awaited before the next frame is handled, as Tornado does.

Hand-written rather than a library: Tornado owns the socket and the handshake here, and the only
part replaced is its loop of reads; the masking is Tornado's own C ``websocket_mask``.

That reaches eight names Tornado does not make public (``TORNADO_PRIVATE``). ``setup.py`` pins Tornado
below the next minor version, and the names are checked at import (and the two set per connection when
each protocol starts), so a Tornado that renamed one fails loudly instead of the server falling back to
Tornado's own reader without a word; tests/relay/test_frame_reader.py checks that a live server's
sockets read with this class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import tornado
import tornado.iostream
import tornado.util
import tornado.websocket
from tornado.util import _websocket_mask

from anysupport.protocol.vocabulary import CLOSE, CLOSE_ABUSE, CLOSE_REPLACED

# closes after which we do not wait for the client's answer (a replaced socket, one cut off for abuse)
CLOSE_AT_ONCE = frozenset({CLOSE_REPLACED, CLOSE_ABUSE})
AT_ONCE_GRACE = 0.25  # seconds such a socket still gets to read our close before it is dropped
# read at most this much at once: whatever the stream holds, up to a few of its 64 KiB chunks
READ_CHUNK = 256 * 1024
# yield to the event loop after this much work, as Tornado does (its _YIELD_THRESHOLD/_FRAME_YIELD_COST)
YIELD_THRESHOLD = 256 * 1024
FRAME_COST = 1024

# the private names of Tornado used here: where they live, and which are set on each protocol instance
TORNADO_PRIVATE = {
    "tornado.util._websocket_mask": (tornado.util, "_websocket_mask"),
    "tornado.websocket._WebSocketParams": (tornado.websocket, "_WebSocketParams"),
    "WebSocketProtocol13._receive_frame_loop": (tornado.websocket.WebSocketProtocol13, "_receive_frame_loop"),
    "WebSocketProtocol13._handle_message": (tornado.websocket.WebSocketProtocol13, "_handle_message"),
    "WebSocketProtocol13._abort": (tornado.websocket.WebSocketProtocol13, "_abort"),
}
TORNADO_PRIVATE_PER_INSTANCE = ("_decompressor", "_wire_bytes_in", "_waiting")


class TornadoMismatch(RuntimeError):
    """This Tornado lacks a name the batched reader overrides or reads (see the module)."""


def check_tornado(names: dict[str, tuple[Any, str]] = TORNADO_PRIVATE) -> None:
    missing = [name for name, (owner, attr) in names.items() if not hasattr(owner, attr)]
    if missing:
        raise TornadoMismatch(f"Tornado {tornado.version} has no {', '.join(missing)}: the batched frame reader "
                              "(anysupport.ws.frames) needs them; install the Tornado version setup.py names")


check_tornado()

_FIN = 0x80
_RSV = 0x70
_OPCODE = 0x0F


class FrameError(Exception):
    """The client broke the framing. ``code`` is the close code to send first (1009 for a message
    over the size limit), or None: the connection is dropped at once, as Tornado's ``_abort``."""

    def __init__(self, code: int | None = None, reason: str | None = None) -> None:
        super().__init__(reason or "protocol error")
        self.code = code
        self.reason = reason


_OP_TEXT, _OP_CLOSE = 0x1, 0x8
CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD = CLOSE["protocol_error"], CLOSE["invalid_payload"]
# the codes a peer may put in a close frame (RFC 6455 7.4.1 and IANA's registry); 1004-1006 and 1015 never
VALID_CLOSE_CODES = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))


def check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(CLOSE_INVALID_PAYLOAD, "invalid UTF-8") from None


def check_close(payload: bytes) -> None:
    """A close frame's body: empty, or a code that may be sent and a UTF-8 reason."""
    if not payload:
        return
    if len(payload) < 2 or int.from_bytes(payload[:2], "big") not in VALID_CLOSE_CODES:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "invalid close code")
    check_utf8(payload[2:])


class FrameParser:
    """Incremental parser of the frames a client sends (RFC 6455 5.2), the same rules as Tornado's
    ``_receive_frame``: reserved bits refused, control frames under 126 bytes and unfragmented, a
    continuation only after a started message, no new message inside a fragmented one, and the
    message (fragments so far plus this frame) at most ``max_message_size`` bytes, checked from the
    header before the payload is read. Beyond Tornado, as RFC 6455 requires of a server: an unmasked
    frame (5.1), a close frame whose code may not be sent (a 1-byte body, or a code outside
    ``VALID_CLOSE_CODES``: 999, 1005, ... 7.4) fail with close 1002; a text message or close reason
    that is not UTF-8 (8.1) with close 1007."""

    __slots__ = ("max_message_size", "_buf", "_fragments", "_fragment_opcode", "need", "discarding", "_skip")

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self._buf = b""
        self._fragments: bytearray | None = None
        self._fragment_opcode = 0
        self.need = 0  # bytes still missing for the frame begun in the buffer (0: unknown or none)
        self.discarding = False  # our close is sent: only a close frame is still looked for (discard())
        self._skip = 0  # bytes of a skipped data frame still to come (while discarding)

    def discard(self) -> None:
        """From now on keep nothing but what a close frame needs: a message being assembled is dropped
        and every later data frame is skipped unread, so a client that keeps sending after our close
        costs no memory (issue 18 #2)."""
        self.discarding = True
        self._fragments = None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def held(self) -> int:
        """Bytes this reader keeps: an incomplete frame and a message being assembled (what a client
        that stops mid-message costs, the ``anysupport_ws_reader_bytes`` gauge)."""
        return len(self._buf) + (len(self._fragments) if self._fragments is not None else 0)

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """Yield ``(opcode, payload)`` for each complete message or control frame in what was fed so
        far, in order; keep an incomplete frame for the next call. Raises ``FrameError``."""
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip:]
            self._skip = 0
        buf = self._buf + data if self._buf else data
        end = len(buf)
        pos = 0
        max_size = self.max_message_size
        while True:
            if end - pos < 2:
                self.need = 0
                break
            b0 = buf[pos]
            b1 = buf[pos + 1]
            opcode = b0 & _OPCODE
            if b0 & _RSV:
                raise FrameError()  # an extension we did not agree to (no compression is offered)
            length = b1 & 0x7F
            head = pos + 2
            if opcode & 0x8 and length >= 126:
                raise FrameError()  # control frames carry under 126 bytes
            if length == 126:
                if end - head < 2:
                    self.need = 0
                    break
                length = int.from_bytes(buf[head:head + 2], "big")
                head += 2
            elif length == 127:
                if end - head < 8:
                    self.need = 0
                    break
                length = int.from_bytes(buf[head:head + 8], "big")
                head += 8
            if self.discarding and not opcode & 0x8:
                # after our close: a data frame is skipped as its bytes arrive, never kept whole
                skip = head + 4 + length
                if skip > end:
                    self.need = 0
                    self._skip = skip - end
                    pos = end
                    break
                pos = skip
                continue
            fragments = self._fragments
            if (length + len(fragments) if fragments is not None else length) > max_size:
                raise FrameError(1009, "message too big")
            if not b1 & 0x80:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "frame not masked")
            start = head + 4
            stop = start + length
            if stop > end:
                self.need = stop - end
                break
            payload = _websocket_mask(buf[head:start], buf[start:stop])
            pos = stop
            fin = b0 & _FIN
            if opcode & 0x8:
                if not fin:
                    raise FrameError()  # control frames are never fragmented
                if opcode == _OP_CLOSE:
                    check_close(payload)
                yield opcode, payload
            elif opcode == 0:
                if fragments is None:
                    raise FrameError()  # a continuation of nothing
                fragments.extend(payload)
                if fin:
                    self._fragments = None
                    message = bytes(fragments)
                    if self._fragment_opcode == _OP_TEXT:
                        check_utf8(message)
                    yield self._fragment_opcode, message
            else:
                if fragments is not None:
                    raise FrameError()  # a new message before the fragmented one ended
                if fin:
                    if opcode == _OP_TEXT:
                        check_utf8(payload)
                    yield opcode, payload
                else:
                    self._fragment_opcode = opcode
                    self._fragments = bytearray(payload)
        self._buf = buf[pos:] if pos < end else b""


class BatchedProtocol13(tornado.websocket.WebSocketProtocol13):
    """Tornado's RFC 6455 protocol with its read loop replaced by ``FrameParser`` (see the module).
    ``batched`` turns True when the loop here, not Tornado's, reads the socket."""

    batched = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = [name for name in TORNADO_PRIVATE_PER_INSTANCE if not hasattr(self, name)]
        if missing:
            raise TornadoMismatch(f"Tornado {tornado.version}'s WebSocketProtocol13 sets no {', '.join(missing)}: "
                                  "the batched frame reader needs them")

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Tornado's close, then a shorter wait for the client's answer: ``ws_close_timeout`` seconds
        (Tornado waits 5, reading whatever the client sends meanwhile), and ``AT_ONCE_GRACE`` for a socket we
        replaced or cut off for abuse; nothing the client sends meanwhile is kept (``FrameParser.discard``)."""
        first = not self.server_terminated
        super().close(code, reason)
        parser = getattr(self, "_parser", None)
        if parser is not None and not parser.discarding:
            parser.discard()  # at once, not when the next bytes arrive: a message being assembled goes now
        if not first or self.client_terminated or self._waiting is None or self.stream.closed():
            return
        self.stream.io_loop.remove_timeout(self._waiting)
        config = getattr(self.handler, "config", None)
        wait = getattr(config, "ws_close_timeout", 5.0)
        if code in CLOSE_AT_ONCE:
            # not at the very instant: a socket dropped with unread input is reset, and a reset can take our
            # close frame (and the error before it) with it; the reader discards what comes meanwhile
            wait = min(wait, AT_ONCE_GRACE)
        self._waiting = self.stream.io_loop.add_timeout(self.stream.io_loop.time() + wait, self._abort)

    async def _receive_frame_loop(self) -> None:
        if self._decompressor is not None:  # permessage-deflate: Tornado's own loop handles it
            await super()._receive_frame_loop()
            return
        self.batched = True
        parser = self._parser = FrameParser(self.params.max_message_size)
        stream = self.stream
        handle = self._handle_message
        hub = getattr(getattr(self.handler, "services", None), "hub", None)
        readers = hub.readers if hub is not None else set()
        readers.add(parser)  # counted until the connection is gone, open or closing
        try:
            work = 0
            while not self.client_terminated:
                if self.server_terminated and not parser.discarding:
                    parser.discard()  # our close is sent: nothing the client sends now is kept
                missing = parser.need
                if missing > READ_CHUNK:  # the rest of one large frame: a single exact read
                    data = await stream.read_bytes(missing)
                else:
                    data = await stream.read_bytes(READ_CHUNK, partial=True)
                self._wire_bytes_in += len(data)
                work += len(data)
                try:
                    for opcode, payload in parser.feed(data):
                        work += FRAME_COST
                        if self.server_terminated and opcode != _OP_CLOSE:
                            continue  # our close is sent: only the client's close is still read
                        handled = handle(opcode, payload)
                        if handled is not None:
                            await handled
                        if self.client_terminated:
                            break
                except FrameError as e:
                    if e.code is not None:
                        self.close(e.code, e.reason)
                    self._abort()
                    break
                if work >= YIELD_THRESHOLD:
                    work = 0
                    await asyncio.sleep(0)
        except tornado.iostream.StreamClosedError:
            self._abort()
        finally:
            readers.discard(parser)
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)


def batched_protocol(handler: Any) -> tornado.websocket.WebSocketProtocol | None:
    """``get_websocket_protocol`` for a server-side handler: Tornado's choice, with our read loop."""
    if handler.request.headers.get("Sec-WebSocket-Version") != "13":
        return None
    params = tornado.websocket._WebSocketParams(
        ping_interval=handler.ping_interval,
        ping_timeout=handler.ping_timeout,
        max_message_size=handler.max_message_size,
        compression_options=handler.get_compression_options(),
    )
    return BatchedProtocol13(handler, False, params)
