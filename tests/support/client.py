"""Thin async HTTP and WebSocket clients for tests (real sockets, raw access to bad input)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import tornado.httpclient
import tornado.websocket

from tests.support.server import ADMIN_PASSWORD


@dataclass
class Response:
    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error(self) -> str | None:
        data = self.json
        return data.get("error") if isinstance(data, dict) else None


class Api:
    def __init__(self, base_url: str, token: str | None = None, language: str | None = None):
        self.base_url = base_url
        self.token = token
        self.language = language
        self.http = tornado.httpclient.AsyncHTTPClient()

    def with_token(self, token: str | None) -> Api:
        return Api(self.base_url, token, self.language)

    async def request(self, method: str, path: str, json_body: Any = ..., *, body: bytes | str | None = None,
                      headers: dict[str, str] | None = None, token: Any = ...) -> Response:
        hdrs = dict(headers or {})
        tok = self.token if token is ... else token
        if tok:
            hdrs.setdefault("Authorization", f"Bearer {tok}")
        if self.language:
            hdrs.setdefault("Accept-Language", self.language)
        if json_body is not ...:
            body = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = tornado.httpclient.HTTPRequest(
            self.base_url + path, method=method, body=body, headers=hdrs, request_timeout=60,
            allow_nonstandard_methods=True,
        )
        response = await self.http.fetch(request, raise_error=False)
        if response.code == 599:
            raise ConnectionError(f"{method} {path}: {response.error}")
        return Response(response.code, response.body or b"", response.headers)

    async def get(self, path: str, **kw) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json_body: Any = ..., **kw) -> Response:
        return await self.request("POST", path, json_body, **kw)

    async def put(self, path: str, json_body: Any = ..., **kw) -> Response:
        return await self.request("PUT", path, json_body, **kw)

    async def patch(self, path: str, json_body: Any = ..., **kw) -> Response:
        return await self.request("PATCH", path, json_body, **kw)

    async def delete(self, path: str, **kw) -> Response:
        return await self.request("DELETE", path, **kw)

    async def login(self, login: str, password: str, **extra) -> tuple[str, dict]:
        r = await self.post("/api/v1/auth/login", {"login": login, "password": password, **extra}, token=None)
        assert r.status == 200, (r.status, r.body)
        return r.json["token"], r.json["agent"]


class Socket:
    """One WebSocket with typed receive helpers."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection):
        self.conn = conn
        self.backlog: list[Any] = []

    @classmethod
    async def connect(cls, ws_base: str, token: str | None = None, *, path: str = "/ws", query_token: bool = False,
                      headers: dict[str, str] | None = None) -> Socket:
        url = ws_base + path
        hdrs = dict(headers or {})
        if token and query_token:
            url += f"?token={token}"
        elif token:
            hdrs["Authorization"] = f"Bearer {token}"
        request = tornado.httpclient.HTTPRequest(url, headers=hdrs, request_timeout=20)
        conn = await tornado.websocket.websocket_connect(request, max_message_size=64 * 1024 * 1024)
        return cls(conn)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.conn.write_message(message if isinstance(message, str) else json.dumps(message))

    async def send_binary(self, data: bytes) -> None:
        await self.conn.write_message(data, binary=True)

    async def _read(self, timeout: float) -> Any:
        message = await asyncio.wait_for(self.conn.read_message(), timeout)
        if message is None:
            raise ConnectionResetError(f"socket closed: {self.conn.close_code} {self.conn.close_reason}")
        return json.loads(message) if isinstance(message, str) else message

    async def recv(self, timeout: float = 10.0) -> Any:
        if self.backlog:
            return self.backlog.pop(0)
        return await self._read(timeout)

    async def recv_type(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The next JSON message of ``type`` (and matching fields); others are kept for later."""
        for i, message in enumerate(self.backlog):
            if isinstance(message, dict) and message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self._read(max(0.01, deadline - loop.time()))
            if isinstance(message, dict) and message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self.backlog.append(message)

    async def recv_binary(self, timeout: float = 10.0) -> bytes:
        for i, message in enumerate(self.backlog):
            if isinstance(message, bytes):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self._read(max(0.01, deadline - loop.time()))
            if isinstance(message, bytes):
                return message
            self.backlog.append(message)

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str | None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await asyncio.wait_for(self.conn.read_message(), max(0.01, deadline - loop.time()))
            if message is None:
                return self.conn.close_code, self.conn.close_reason
            self.backlog.append(json.loads(message) if isinstance(message, str) else message)

    def close(self) -> None:
        self.conn.close()


async def create_agent(admin: Api, login: str, password: str | None = None, *, name: str | None = None,
                       role: str = "agent", auto_connect: bool = False, **fields: Any) -> tuple[str, str]:
    """Create an agent through the admin API (`admin` holds an admin's token); returns (login, password).

    The one place the tests write this request; the password defaults to "pw-" + login.
    """
    password = password or "pw-" + login
    r = await admin.post("/api/v1/admin/agents", {"login": login, "name": name or login, "password": password,
                                                  "role": role, "settings": {"auto_connect": auto_connect}, **fields})
    assert r.status == 201, r.body
    return login, password


async def admin_api(base_url: str, **login: Any) -> Api:
    """An Api on `base_url` holding the built-in admin's token."""
    api = Api(base_url)
    token, _ = await api.login("admin", ADMIN_PASSWORD, **login)
    return api.with_token(token)


async def filed_record(url: str, login: str, password: str, **fields: Any) -> str:
    """One session of the agent's, joined, connected and its record filed with ``fields`` (e.g.
    ``resolution="solved"``) over the REST API; returns the session id."""
    agent = Api(url)
    token, _ = await agent.login(login, password, force=True)
    agent = agent.with_token(token)
    session = (await agent.post("/api/v1/sessions")).json
    assert (await Api(url).post("/api/v1/join", {"code": session["code"]})).status == 200
    assert (await agent.post(f"/api/v1/sessions/{session['id']}/connect")).status == 200
    r = await agent.put(f"/api/v1/sessions/{session['id']}/record", fields)
    assert r.status == 200, r.body
    await agent.post("/api/v1/auth/logout")
    return session["id"]
