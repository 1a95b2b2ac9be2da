""""Remember ID" and "remember password" without ever storing the password.

Remembering the password keeps the login token the server gave (a revocable bearer token, valid for
the server's ``token_ttl``) instead: the next start uses it, and forgetting it — or logging out —
revokes it on the server. The file is readable by its owner only (mode 0600).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .paths import config_dir, read_json, write_json_atomic


@dataclass(frozen=True)
class Remembered:
    server_url: str
    login: str
    token: str | None = None


class LoginStore:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "login.json"

    def load(self, server_url: str) -> Remembered | None:
        """What is remembered for this server (a login kept for another server is not offered)."""
        data = read_json(self.path)
        if not isinstance(data, dict) or data.get("server_url") != server_url or not data.get("login"):
            return None
        token = data.get("token")
        return Remembered(server_url, str(data["login"]), token if isinstance(token, str) and token else None)

    def save(self, server_url: str, login: str, token: str | None = None) -> None:
        write_json_atomic(self.path, {"server_url": server_url, "login": login, "token": token}, mode=0o600)
        os.chmod(self.path, 0o600)

    def forget_token(self) -> str | None:
        """Drop the remembered token (keeping the ID); returns it so the caller can revoke it."""
        data = read_json(self.path)
        if not isinstance(data, dict) or not data.get("token"):
            return None
        token = data["token"]
        self.save(data.get("server_url", ""), data.get("login", ""), None)
        return token

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
