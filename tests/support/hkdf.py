"""HKDF-SHA256 written from RFC 5869 with ``hmac``: the reference the key-schedule tests compare the
code and docs/protocol.md with (independent of the implementation under test)."""

from __future__ import annotations

import hashlib
import hmac


def hkdf_rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]
