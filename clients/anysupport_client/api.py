"""The server's REST API and the one WebSocket, for clients (no Qt, no media here).

``RestClient`` wraps the endpoints a client needs (join, login, sessions, records) over Tornado's
``AsyncHTTPClient``; failures raise ``ApiError`` carrying the server's ``error`` code. ``ControlSocket``
is one open WebSocket: JSON control messages as dicts, sealed media frames as bytes, with a count of
the bytes still waiting to be written so media senders can see a slow link. Reconnection is
``session.connection.ReconnectingSocket``'s business (it knows which token to reuse and whether a close
was final).
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import tornado.httpclient
import tornado.iostream
import tornado.websocket

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
VIDEO_STALE_AFTER = 0.15  # seconds a video frame may wait in the socket's queue before it is dropped


class ApiError(Exception):
    """The server answered with an error: ``status`` and its ``error`` code (``invalid_code``, …).

    ``message`` is the server's text in the client's language; ``retry_after`` the seconds to wait
    (rate limits: ``too_many_attempts``), ``field`` the refused field (validation), when given.
    """

    def __init__(self, status: int, error: str, message: str = "", body: Any = None,
                 retry_after: int | None = None):
        super().__init__(f"{status} {error}: {message}" if message else f"{status} {error}")
        self.status = status
        self.error = error
        self.message = message
        self.body = body
        if retry_after is None and isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            retry_after = int(body["retry_after"])
        self.retry_after = retry_after
        self.field = body.get("field") if isinstance(body, dict) else None

    @property
    def code(self) -> str:
        """The server's error code (the same as ``error``)."""
        return self.error


def websocket_url(base_url: str, ws_url: str) -> str:
    """The absolute WebSocket URL for a join answer's ``ws_url`` (relative ``/ws`` or absolute)."""
    if ws_url.startswith(("ws://", "wss://")):
        return ws_url
    if ws_url.startswith(("http://", "https://")):
        return "ws" + ws_url[4:]
    absolute = urllib.parse.urljoin(base_url.rstrip("/") + "/", ws_url)
    return "ws" + absolute[4:] if absolute.startswith("http") else absolute


class RestClient:
    def __init__(self, base_url: str, token: str | None = None, *, language: str | None = None,
                 timeout: float = 20.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.language = language
        self.timeout = timeout
        self.http = tornado.httpclient.AsyncHTTPClient()

    async def request(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        headers = {"Accept": "application/json", **(headers or {})}
        tok = token or self.token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        if self.language:
            headers["Accept-Language"] = self.language
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        request = tornado.httpclient.HTTPRequest(self.base_url + path, method=method, body=data, headers=headers,
                                                 request_timeout=self.timeout, allow_nonstandard_methods=True)
        try:
            # raise_error=False covers HTTP answers only: no connection (refused, DNS, timeout) still raises
            response = await self.http.fetch(request, raise_error=False)
        except (OSError, tornado.httpclient.HTTPClientError) as exc:
            raise ApiError(599, "unreachable", str(exc)) from exc
        if response.code >= 400:
            raise self._error(response)
        return json.loads(response.body) if response.body else None

    @staticmethod
    def _error(response: tornado.httpclient.HTTPResponse, body: bytes | None = None) -> ApiError:
        raw = response.body if body is None else body
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        error = parsed.get("error", "http_error") if isinstance(parsed, dict) else "http_error"
        message = parsed.get("message", "") if isinstance(parsed, dict) else ""
        retry = response.headers.get("Retry-After") if response.headers else None
        return ApiError(response.code, error, message, parsed,
                        retry_after=int(retry) if retry and retry.isdigit() else None)

    async def download(self, path: str, dest: str, *, progress: Callable[[int, int | None], None] | None = None,
                       timeout: float = 300.0) -> int:
        """GET ``path`` into the file ``dest`` (written beside it, then renamed: no half files);
        ``progress(received, total or None)`` after every chunk. Returns the byte count."""
        headers = {"Accept": "*/*"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.language:
            headers["Accept-Language"] = self.language
        partial = dest + ".part"
        state = {"total": None, "received": 0, "status": 0}
        error_body = bytearray()
        out = open(partial, "wb")

        def header_line(line: str) -> None:
            line = line.strip()
            if line.startswith("HTTP/"):
                parts = line.split()
                state["status"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            elif line.lower().startswith("content-length:"):
                value = line.split(":", 1)[1].strip()
                state["total"] = int(value) if value.isdigit() else None

        def chunk(data: bytes) -> None:
            if state["status"] >= 400:
                error_body.extend(data)
                return
            out.write(data)
            state["received"] += len(data)
            if progress is not None:
                progress(state["received"], state["total"])

        request = tornado.httpclient.HTTPRequest(self.base_url + path, headers=headers, request_timeout=timeout,
                                                 header_callback=header_line, streaming_callback=chunk)
        try:
            try:
                response = await self.http.fetch(request, raise_error=False)
            except (OSError, tornado.httpclient.HTTPClientError) as exc:
                raise ApiError(599, "unreachable", str(exc)) from exc
            finally:
                out.close()
            if response.code >= 400:
                raise self._error(response, bytes(error_body))
            os.replace(partial, dest)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return state["received"]

    # -- customers ----------------------------------------------------------------------------------
    async def join(self, code: str, **customer: Any) -> dict[str, Any]:
        """``POST /api/v1/join`` → ``{session_id, token, ws_url}``."""
        return await self.request("POST", "/api/v1/join", {"code": code, **customer})

    # -- agents -------------------------------------------------------------------------------------
    async def login(self, login: str, password: str, *, force: bool = False) -> dict[str, Any]:
        answer = await self.request("POST", "/api/v1/auth/login", {"login": login, "password": password,
                                                                    "force": force})
        self.token = answer["token"]
        return answer

    async def logout(self) -> None:
        await self.request("POST", "/api/v1/auth/logout")
        self.token = None

    async def me(self) -> dict[str, Any]:
        """``{agent: {…, settings}, public_url}``."""
        return await self.request("GET", "/api/v1/me")

    async def update_settings(self, **settings: Any) -> dict[str, Any]:
        """``PATCH /api/v1/me/settings`` (``auto_connect``, ``language``) → the agent."""
        return (await self.request("PATCH", "/api/v1/me/settings", settings))["agent"]

    async def change_password(self, current: str, new: str) -> None:
        await self.request("POST", "/api/v1/me/password", {"current": current, "new": new})

    async def sessions(self) -> list[dict[str, Any]]:
        answer = await self.request("GET", "/api/v1/sessions")
        return answer["sessions"] if isinstance(answer, dict) else answer

    async def site(self) -> dict[str, Any]:
        return await self.request("GET", "/api/v1/site")

    async def server_version(self) -> str:
        return (await self.request("GET", "/api/v1/version"))["version"]

    async def phrases(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/api/v1/phrases"))["phrases"]

    async def add_phrase(self, text: str, *, shortcut: str | None = None, order: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        if shortcut is not None:
            body["shortcut"] = shortcut
        if order is not None:
            body["order"] = order
        return await self.request("POST", "/api/v1/phrases", body)

    async def update_phrase(self, phrase_id: str, **changes: Any) -> dict[str, Any]:
        return await self.request("PATCH", f"/api/v1/phrases/{phrase_id}", changes)

    async def delete_phrase(self, phrase_id: str) -> None:
        await self.request("DELETE", f"/api/v1/phrases/{phrase_id}")

    async def reorder_phrases(self, phrase_ids: list[str]) -> list[dict[str, Any]]:
        """Put the phrases in this order, writing only those whose place changed; returns the new list."""
        current = {p["id"]: p for p in await self.phrases()}
        for order, phrase_id in enumerate(phrase_ids):
            if phrase_id in current and current[phrase_id].get("order") != order:
                await self.update_phrase(phrase_id, order=order)
        return await self.phrases()

    async def trouble_types(self) -> list[dict[str, Any]]:
        """The tree of active trouble types: ``[{id, name, children: […]}, …]``."""
        return (await self.request("GET", "/api/v1/trouble-types"))["trouble_types"]

    @staticmethod
    def period(day_from: str | None, day_to: str | None, **extra: Any) -> str:
        query = {k: v for k, v in (("from", day_from), ("to", day_to), *extra.items()) if v is not None}
        return ("?" + urllib.parse.urlencode(query)) if query else ""

    async def statistics(self, day_from: str | None = None, day_to: str | None = None, *,
                         lang: str | None = None) -> dict[str, Any]:
        return await self.request("GET", "/api/v1/records/stats" + self.period(day_from, day_to, lang=lang))

    async def export(self, day_from: str | None, day_to: str | None, dest: str, *, lang: str | None = None,
                     progress: Callable[[int, int | None], None] | None = None) -> int:
        """The records and statistics of the period as an .xlsx file at ``dest`` (written beside it, then
        renamed); ``progress(bytes, total or None)`` per chunk. Returns the byte count."""
        return await self.download("/api/v1/records/export.xlsx" + self.period(day_from, day_to, lang=lang), dest,
                                   progress=progress)

    async def create_session(self) -> dict[str, Any]:
        return await self.request("POST", "/api/v1/sessions")

    async def connect_session(self, session_id: str, versions: list[int] | None = None) -> dict[str, Any]:
        """``versions``: the media-frame versions this client speaks ([1, 2]: sealed from the start with a
        customer that speaks 2 as well)."""
        return await self.request("POST", f"/api/v1/sessions/{session_id}/connect",
                                  {"versions": versions} if versions else None)

    async def delete_session(self, session_id: str) -> None:
        await self.request("DELETE", f"/api/v1/sessions/{session_id}")

    # handing a connected session over to a colleague (docs/protocol.md, "Handing a session over")
    async def colleagues(self) -> list[dict[str, Any]]:
        """The other active agents: ``login``, ``name``, ``number``, ``available`` (their console is open)."""
        return (await self.request("GET", "/api/v1/agents"))["agents"]

    async def offer_handover(self, session_id: str, login: str) -> dict[str, Any]:
        return await self.request("POST", f"/api/v1/sessions/{session_id}/handover", {"to": login})

    async def cancel_handover(self, session_id: str) -> None:
        await self.request("DELETE", f"/api/v1/sessions/{session_id}/handover")

    async def accept_handover(self, session_id: str) -> dict[str, Any]:
        return await self.request("POST", f"/api/v1/sessions/{session_id}/handover/accept")

    async def decline_handover(self, session_id: str) -> None:
        await self.request("POST", f"/api/v1/sessions/{session_id}/handover/decline")

    # -- participants (issue 21) ------------------------------------------------------------------------
    async def invite(self, session_id: str, agent_id: str | None = None, rights: str = "full", *,
                     login: str | None = None) -> dict[str, Any]:
        """Invite by agent id, or by ``login`` (as ``colleagues`` lists them)."""
        who = {"agent_id": agent_id} if login is None else {"login": login}
        return await self.request("POST", f"/api/v1/sessions/{session_id}/invitations", {**who, "rights": rights})

    async def answer_invitation(self, session_id: str, accept: bool = True) -> dict[str, Any]:
        return await self.request("POST", f"/api/v1/sessions/{session_id}/invitations/"
                                          f"{'accept' if accept else 'decline'}")

    async def participants(self, session_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/sessions/{session_id}/participants")

    async def remove_participant(self, session_id: str, index: int) -> None:
        await self.request("DELETE", f"/api/v1/sessions/{session_id}/participants/{index}")

    async def put_record(self, session_id: str, *, version: int | None = None, **fields: Any) -> dict[str, Any]:
        """Save the support record (``customer_name``, ``email``, ``phone``, ``trouble_type``, ``content``,
        ``resolution``); ``ApiError`` ``invalid_field`` names the ``field`` refused. ``version``: only if
        the record is still at that version (the one it was loaded with), else ``ApiError`` 412
        ``record_changed`` whose ``body["record"]`` is the current record."""
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        return await self.request("PUT", f"/api/v1/sessions/{session_id}/record", fields, headers=headers)

    async def record(self, session_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/sessions/{session_id}/record")

    async def records(self, day_from: str | None, day_to: str | None, **query: Any) -> list[dict[str, Any]]:
        answer = await self.request("GET", "/api/v1/records" + self.period(day_from, day_to, **query))
        return answer["records"] if isinstance(answer, dict) else answer


class ControlSocket:
    """One open WebSocket: ``send_json`` / ``send_binary`` and an async iterator of what arrives.

    Voice and control go ahead of video: ``send_binary(..., video=True)`` queues the frame here and
    hands it to Tornado only once what Tornado holds has reached the kernel, so a voice packet or a
    message waits behind at most one video frame (and the kernel's few unsent kilobytes), not behind
    seconds of them. A video frame that waited more than ``stale_after`` seconds is dropped
    (``video_dropped`` counts them; ``on_video_dropped`` is told, so the sender starts again with a
    keyframe): old pictures are worth less than the voice they would delay (docs/netlab.md). The
    wait of frames queued behind a keyframe counts from when that keyframe reached the kernel: a
    keyframe is up to a second of bitrate, and the frames behind it going stale would ask for the
    next keyframe, and so on.
    """

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection, *,
                 stale_after: float = VIDEO_STALE_AFTER, clock: Callable[[], float] = time.monotonic):
        self.conn = conn
        self.in_tornado = 0  # bytes handed to Tornado but not yet written to the kernel
        self.closed = False
        self.stale_after = stale_after
        self.clock = clock
        self.video: deque[tuple[float, bytes, bool]] = deque()  # (queued at, frame, keyframe) not in Tornado yet
        self._key_written_at = -1e9  # when the last keyframe reached the kernel
        self.video_bytes = 0
        self.video_dropped = 0
        self.on_video_dropped: Callable[[int], None] | None = None  # told how many went stale

    @property
    def pending_bytes(self) -> int:
        """Media bytes not yet written to the kernel: queued video and what Tornado holds."""
        return self.in_tornado + self.video_bytes

    @classmethod
    async def open(cls, url: str, token: str, *, timeout: float = 10.0, send_buffer: int | None = None,
                   notsent_lowat: int | None = None) -> ControlSocket:
        """Connect; ``send_buffer`` caps the kernel's send buffer (SO_SNDBUF), and ``notsent_lowat``
        (TCP_NOTSENT_LOWAT, where the system has it) the bytes the kernel takes before they can be
        sent, so a slow uplink shows up as bytes waiting in ``pending_bytes`` instead of seconds hidden
        in the kernel. The low-water mark leaves the kernel the whole window in flight, which a
        fixed SO_SNDBUF does not (64 KiB was 1.5 s at 340 kbit/s, uncounted: docs/netlab.md)."""
        request = tornado.httpclient.HTTPRequest(url, headers={"Authorization": f"Bearer {token}"},
                                                 connect_timeout=timeout, request_timeout=timeout)
        conn = await tornado.websocket.websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES,
                                                         ping_interval=10, ping_timeout=10)
        sock = getattr(getattr(conn.protocol, "stream", None), "socket", None)
        if sock is not None and send_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        lowat = getattr(socket, "TCP_NOTSENT_LOWAT", None)
        if sock is not None and notsent_lowat and lowat is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, lowat, notsent_lowat)
        return cls(conn)

    def send_json(self, message: dict[str, Any]) -> bool:
        if self.closed:
            return False
        try:
            self.conn.write_message(json.dumps(message, ensure_ascii=False))
        except tornado.websocket.WebSocketClosedError:
            self.closed = True
            return False
        return True

    def send_binary(self, data: bytes, *, video: bool = False, keyframe: bool = False) -> bool:
        if self.closed:
            return False
        if not video:
            return self._write(data)
        self.video.append((self.clock(), data, keyframe))
        self.video_bytes += len(data)
        self._pump()
        return True

    def _write(self, data: bytes, keyframe: bool = False) -> bool:
        try:
            future = self.conn.write_message(data, binary=True)
        except tornado.websocket.WebSocketClosedError:
            self.closed = True
            return False
        size = len(data)
        self.in_tornado += size

        def written(fut) -> None:
            self.in_tornado -= size
            if fut.exception() is not None:
                self.closed = True
            else:
                if keyframe:
                    self._key_written_at = self.clock()
                self._pump()

        future.add_done_callback(written)
        return True

    def _pump(self) -> None:
        """Hand queued video to Tornado while it holds nothing; drop what waited too long."""
        dropped = 0
        while self.video and not self.closed and self.in_tornado == 0:
            queued_at, data, keyframe = self.video.popleft()
            self.video_bytes -= len(data)
            if not keyframe and self.clock() - max(queued_at, self._key_written_at) > self.stale_after:
                self.video_dropped += 1
                dropped += 1
                continue
            self._write(data, keyframe)
        if dropped and self.on_video_dropped is not None:
            self.on_video_dropped(dropped)

    async def messages(self) -> AsyncIterator[dict[str, Any] | bytes]:
        """JSON messages as dicts, binary ones as bytes, until the socket closes."""
        while True:
            message = await self.conn.read_message()
            if message is None:
                self.closed = True
                return
            if isinstance(message, bytes):
                yield message
            else:
                try:
                    parsed = json.loads(message)
                except ValueError:
                    continue
                if isinstance(parsed, dict):
                    yield parsed

    @property
    def close_code(self) -> int | None:
        return self.conn.close_code

    @property
    def close_reason(self) -> str | None:
        return self.conn.close_reason

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True
        self.conn.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake, as a network loss would."""
        self.closed = True
        stream = getattr(self.conn.protocol, "stream", None)
        if isinstance(stream, tornado.iostream.IOStream):
            stream.close()
        else:
            self.conn.close()
