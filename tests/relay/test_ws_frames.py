"""The WebSocket handler writes media frames straight to the stream (no task per frame): its frame
header must be byte for byte what Tornado's own ``_write_frame`` writes, for every length form."""

from __future__ import annotations

import pytest
from tornado.websocket import WebSocketProtocol13

from anysupport.ws.handler import binary_frame_header


class Recorder:
    def __init__(self):
        self.written = b""

    def write(self, data: bytes):
        self.written += data


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 4000, 65535, 65536, 524_300])
def test_binary_frame_header_matches_tornado(size):
    protocol = object.__new__(WebSocketProtocol13)  # only what _write_frame reads
    protocol.mask_outgoing = False
    protocol._wire_bytes_out = 0
    protocol.stream = Recorder()
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    protocol._write_frame(True, 0x2, payload)
    assert binary_frame_header(size) + payload == protocol.stream.written
