"""RFC 6455 on the server's own frame reader, each case over a raw socket to a real server: what a
client must not send is refused with the close code the RFC names (docs/protocol.md, close codes)."""

from __future__ import annotations

import struct

import pytest

from tests.support.rawws import OP_BINARY, OP_CLOSE, OP_TEXT, RawSocket


async def console_socket(server, agent_factory) -> RawSocket:
    client, _agent, _password = await agent_factory()
    return await RawSocket.connect(server.ws_base + "/ws", client.token)


def close_body(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


@pytest.mark.parametrize("opcode, payload", [(OP_TEXT, b'{"type": "ping", "id": "x"}'), (OP_BINARY, b"\x01" * 40),
                                             (OP_CLOSE, close_body(1000))], ids=["text", "binary", "close"])
async def test_an_unmasked_client_frame_is_closed_with_1002(server, agent_factory, opcode, payload):
    sock = await console_socket(server, agent_factory)
    await sock.send(opcode, payload, masked=False)
    assert (await sock.read_until_close())[:2] == (1002, "frame not masked")
    sock.close()


@pytest.mark.parametrize("body", [close_body(999), close_body(1005), close_body(1006), close_body(1015),
                                  close_body(2000), close_body(5000), b"\x03"],
                         ids=["999", "1005", "1006", "1015", "2000", "5000", "one-byte"])
async def test_a_close_code_that_may_not_be_sent_is_answered_with_1002_not_echoed(server, agent_factory, body):
    sock = await console_socket(server, agent_factory)
    await sock.send(OP_CLOSE, body)
    assert (await sock.read_until_close())[:2] == (1002, "invalid close code")
    sock.close()


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
async def test_a_valid_close_code_is_echoed(server, agent_factory, code):
    sock = await console_socket(server, agent_factory)
    await sock.send(OP_CLOSE, close_body(code, b"bye"))
    closed, _reason, _count = await sock.read_until_close()
    assert closed == code
    sock.close()


@pytest.mark.parametrize("opcode, payload", [(OP_TEXT, b'{"type": "ping", "id": "\xff\xfe"}'),
                                             (OP_CLOSE, close_body(1000, b"\xc3"))], ids=["text", "close-reason"])
async def test_invalid_utf8_is_closed_with_1007(server, agent_factory, opcode, payload):
    sock = await console_socket(server, agent_factory)
    await sock.send(opcode, payload)
    assert (await sock.read_until_close())[:2] == (1007, "invalid UTF-8")
    sock.close()
