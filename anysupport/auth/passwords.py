"""Password hashing: salted scrypt, run off the event loop (it costs ~50 ms of CPU on purpose)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

# n=2**14, r=8 uses 16 MiB per hash: slow for a guesser, fine for a login.
N, R, P, DKLEN = 2**14, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password_sync(password: str, *, n: int = N) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=R, p=P, dklen=DKLEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password_sync(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected), maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash of nothing anyone knows: checked against when the login does not exist, so an unknown
# login costs the same time as a wrong password and does not reveal which logins exist.
_DUMMY = hash_password_sync(os.urandom(16).hex())


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, hash_password_sync, password)


async def verify_password(password: str, encoded: str | None) -> bool:
    ok = await asyncio.get_running_loop().run_in_executor(None, verify_password_sync, password, encoded or _DUMMY)
    return ok and encoded is not None
