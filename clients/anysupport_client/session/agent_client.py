"""The agent's client: one console connection, all of this agent's sessions, their media.

``AgentClient`` logs in, holds the console's one connection (a ``ReconnectingSocket``: it comes back
with the same token after a network drop, never after ``kicked``, and measures the round trip), keeps
the server's view of this agent's sessions (``session_infos``, from ``hello`` and ``state``), runs an
``AgentSession`` for each (``live_sessions``), creates, deletes and accepts sessions, remembers which one
the agent is ``viewing`` (its customer is the one heard) and keeps the agent's settings. Everything else
the console asks the server (records, canned phrases, trouble types, statistics, the Excel export, the
server's version) is a plain REST call: ``client.rest`` (``RestClient``). A session this agent was invited
into that lives on another node than its console is reached through a guest socket there (``guests``,
``GuestLinks``): that session's messages and frames go both ways through it, the rest through the console.

No Qt here. Events go to ``listeners`` as ``(name, data)`` on the client's event loop; events about a
session carry its ``session_id`` and also go to that ``AgentSession``'s own listeners. The console's own
messages (``hello``, ``pong``, ``kicked``, ``state``) are dispatched to ``_on_<type>`` methods; the
rest go to the session they name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ..api import ApiError, ControlSocket, RestClient, websocket_url
from ..media.speaker import VoiceOutput
from .agent_session import AgentSession
from .connection import ReconnectingSocket
from .events import EventSource
from .guest_links import GuestLinks

log = logging.getLogger("anysupport.client.agent")

PING_INTERVAL = 2.0


class AgentClient(EventSource):
    """An agent's console connection: login, the sessions, their media.

    ``read_stamps``: read the test pattern's stamp of every frame (glass-to-glass latency in
    ``stats()``); ``composite``: draw the agent's ``scene`` into the decoded frames (a console that
    draws its own overlay, and captures "without drawings", leaves it off); ``keep_frames``: keep a
    ``ReceivedFrame`` of every frame in ``AgentSession.frames`` (tests); ``clock``: for the figures;
    ``voice``: a started ``VoiceOutput`` on which the customer of the viewed session is heard;
    ``versions``: the media-frame versions this console speaks, said when its socket opens (``?versions=``,
    for the sessions the server connects by itself) and when it connects a session (``accept``): [1, 2]
    (the console's) seals a call from the start when the customer's client speaks 2 as well.
    """

    side = "agent"

    def __init__(self, server_url: str, *, language: str | None = None, token: str | None = None,
                 read_stamps: bool = False, composite: bool = False, keep_frames: bool = False,
                 report_interval: float = 0.25, reconnect: bool = True, clock: Callable[[], float] | None = None,
                 voice: VoiceOutput | None = None, versions: list[int] | None = None):
        super().__init__()
        self.server_url = server_url.rstrip("/")
        self.rest = RestClient(self.server_url, token, language=language)
        self.read_stamps = read_stamps
        self.composite = composite
        self.keep_frames = keep_frames
        self.report_interval = report_interval
        self.reconnect = reconnect
        self.clock = clock or time.monotonic
        self.agent: dict[str, Any] | None = None
        self.limits: dict[str, Any] = {}
        self.public_url: str | None = None
        self.time_zone: str | None = None  # the server's zone for days and times (GET /api/v1/me)
        self.session_infos: dict[str, dict[str, Any]] = {}  # id → the server's agent view of the session
        self.live_sessions: dict[str, AgentSession] = {}  # id → the AgentSession that runs it here
        self.invitations: dict[str, dict[str, Any]] = {}  # id → an open ``invitation`` to another's session
        self.viewing: str | None = None
        self.offers: dict[str, dict[str, Any]] = {}  # session id → a hand-over offered to this agent, unanswered
        self.voice = voice  # the speakers: the viewed session's customer is heard on them
        self.kicked: dict[str, Any] | None = None
        self.closed: dict[str, Any] | None = None  # why the console socket closed for good (code, reason, kicked)
        self.connected = asyncio.Event()
        self.versions = list(versions) if versions else None
        path = "/ws" + (f"?versions={','.join(map(str, self.versions))}" if self.versions else "")
        self.connection = ReconnectingSocket(
            websocket_url(self.server_url, path), on_message=self.on_message, on_frame=self._frame_arrived,
            on_status=self._connection_status, over=lambda: not self.reconnect or self.kicked is not None,
            ping_interval=PING_INTERVAL, clock=self.clock)
        self._task: asyncio.Task | None = None
        # the guest sockets of sessions this agent is invited into that live on another node
        self.guests = GuestLinks(self.server_url, token=lambda: self.rest.token, on_message=self._guest_message,
                                 on_frame=self._frame_arrived, over=lambda: self.kicked is not None,
                                 clock=self.clock, ping_interval=PING_INTERVAL)

    # -- login and the console socket ------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        return self.rest.token

    @property
    def socket(self) -> ControlSocket | None:
        """The console's open WebSocket (None while away)."""
        return self.connection.socket

    @property
    def rtt_ms(self) -> float | None:
        """The control round trip to the server (the last ping answered)."""
        return self.connection.rtt_ms

    async def login(self, login: str, password: str, force: bool = False) -> dict[str, Any]:
        """Log in; returns the agent (``login``, ``name``, ``number``, ``role``). Raises ``ApiError``:
        ``invalid_credentials`` (401), ``account_disabled`` (403), ``already_logged_in`` (409: another console
        holds this ID; ask, then call again with ``force=True``), ``too_many_attempts`` (429, ``retry_after``)."""
        answer = await self.rest.login(login, password, force=force)
        self.agent = answer["agent"]
        return self.agent

    async def start(self, login: str | None = None, password: str | None = None, *, force: bool = False,
                    timeout: float = 10.0) -> dict[str, Any]:
        """Log in (unless a token was given), open the console socket; returns the ``hello``."""
        if login is not None:
            await self.login(login, password or "", force=force)
        if self.rest.token is None:
            raise RuntimeError("log in first (or give a token)")
        mark = self.mark()
        self.connection.token = self.rest.token
        await self.connection.start()
        self.kicked = self.closed = None
        self._task = asyncio.ensure_future(self._stay_connected())
        hello = await self.wait_for("hello", timeout, since=mark)
        try:
            me = await self.rest.me()
            self.public_url = me.get("public_url")
            self.time_zone = me.get("time_zone")
        except ApiError as exc:
            log.warning("no customer page URL: %s", exc)
        return hello

    async def _stay_connected(self) -> None:
        try:
            await self.connection.run()
        finally:
            self.connected.clear()
            self.closed = {"code": self.connection.close_code, "reason": self.connection.close_reason,
                           "kicked": (self.kicked or {}).get("reason")}
            self.emit("closed", self.closed)

    def _connection_status(self, status: str, data: dict[str, Any]) -> None:
        if status == "reconnecting":
            self.connected.clear()  # until the next ``hello``
            self.emit("connection", {"status": "reconnecting", "code": data.get("code")})
        elif status == "back":
            self.emit("connection", {"status": "back"})
        elif status == "refused":
            self.emit("logged_out", {"reason": "token_refused"})

    async def close(self) -> None:
        for session in list(self.live_sessions.values()):
            await session.close()
        await self.guests.close_all()
        self.connection.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def logout(self) -> None:
        """Revoke the token and close the console."""
        try:
            await self.rest.logout()
        finally:
            await self.close()

    def drop_connection(self) -> None:
        """Lose the connection as a network drop would (tests use it)."""
        self.connection.abort()

    def _carrier(self, session_id: str | None) -> ReconnectingSocket:
        """The socket a session's traffic goes through: its guest socket, else the console's."""
        return (self.guests.link(session_id) if session_id else None) or self.connection

    def send(self, message: dict[str, Any]) -> bool:
        return self._carrier(message.get("session_id")).send_json(message)

    def send_binary(self, data: bytes) -> bool:
        return self._carrier(data[:12].hex()).send_binary(data)

    def pending_bytes_for(self, session_id: str) -> int:
        """What the socket carrying ``session_id`` has not sent yet (its video sender backs off on it)."""
        return self._carrier(session_id).pending_bytes

    # -- what arrives ----------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        self._note(message)
        handler = getattr(self, f"_on_{message.get('type')}", None)
        if handler is not None:
            handler(message)
        else:
            self._to_session(message)

    def _frame_arrived(self, data: bytes) -> None:
        session = self.live_sessions.get(data[:12].hex())
        if session is not None:
            session.on_frame(data[12:])

    def _to_session(self, message: dict[str, Any]) -> bool:
        """Hand a message to the session it names (which emits it, with the session's id, here too); a
        message of no session of ours is emitted as it is. Returns whether a session took it."""
        session_id = message.get("session_id")
        session = self.live_sessions.get(session_id) if session_id else None
        if session is None and session_id and session_id in self.session_infos:
            session = self._session(session_id, self.session_infos[session_id])
        if session is None:
            self.emit(message.get("type") or "unknown", message)
            return False
        session.on_message(message)
        return True

    def _guest_message(self, session_id: str, message: dict[str, Any]) -> None:
        """What a guest socket brings: its ``hello`` names its one session (not the console's list), its
        ``pong`` is its own; the rest is handled as if the console had brought it."""
        kind = message.get("type")
        if kind == "hello":
            for info in message.get("sessions") or ():
                self.session_infos[info["id"]] = {**self.session_infos.get(info["id"], {}), **info}
            self.emit("guest_socket", {"session_id": session_id, "status": "open"})
        elif kind == "kicked":
            self.guests.close(session_id)
        elif kind == "moved":  # the session changed node (its agent's console did): follow it, as a customer does
            self.guests.follow(session_id, message["ws_url"])
        elif kind != "pong":
            self.on_message(message)

    def _open_guest_socket(self, session_id: str, ws_url: str) -> None:
        """Open the guest socket of a session on another node, in the background (a hello's list)."""
        async def opening() -> None:
            try:
                await self.guests.open(session_id, ws_url)
            except Exception as exc:  # the console still works; that one session gets nothing
                log.warning("guest socket of session %s not opened: %s", session_id, exc)
                self.emit("guest_socket", {"session_id": session_id, "status": "failed", "error": str(exc)})

        if session_id not in self.guests:
            asyncio.ensure_future(opening())

    def _on_removed(self, message: dict[str, Any]) -> None:
        """This agent was removed from a session (it may hear it twice: on its console and on its guest
        socket); its guest socket for it goes."""
        session = self.live_sessions.get(message.get("session_id") or "")
        if session is None or not session.removed:
            self._to_session(message)
        self.guests.close(message.get("session_id") or "")

    def _on_hello(self, message: dict[str, Any]) -> None:
        self.agent = message.get("agent") or self.agent
        self.limits = message.get("limits") or {}
        live = {s["id"]: s for s in message.get("sessions") or []}
        for gone in [sid for sid in self.session_infos if sid not in live]:
            self.session_infos[gone]["state"] = "expired"
        self.session_infos.update(live)
        for sid, info in live.items():
            if info.get("guest_socket") and info.get("ws_url"):
                self._open_guest_socket(sid, info["ws_url"])
            self._session(sid, info).on_message({"type": "state", "session_id": sid, "state": info["state"],
                                                 "session": info})
        self.connected.set()
        self.emit("hello", message)
        self.emit("sessions", {"sessions": self.session_list()})

    def _on_pong(self, message: dict[str, Any]) -> None:
        if self.rtt_ms is not None:  # the connection measured it on the way in
            for session in self.live_sessions.values():
                session.stats_window.rtt_ms = self.rtt_ms

    def _on_kicked(self, message: dict[str, Any]) -> None:
        self.kicked = {"reason": message.get("reason"), "message": message.get("message", "")}
        self.emit("kicked", message)

    def _on_state(self, message: dict[str, Any]) -> None:
        session_id = message.get("session_id")
        if session_id:
            info = {**self.session_infos.get(session_id, {}), **(message.get("session") or {}),
                    "state": message["state"]}
            info.setdefault("id", session_id)
            self.session_infos[session_id] = info
            if message["state"] == "expired":
                self.guests.close(session_id)
        if self._to_session(message):
            self.emit("sessions", {"sessions": self.session_list()})

    # -- handing sessions over (docs/protocol.md, "Handing a session over") ---------------------------
    def _on_handover_offer(self, message: dict[str, Any]) -> None:
        self.offers[message["session_id"]] = message
        self.emit("handover_offer", message)

    def _on_handover_cancelled(self, message: dict[str, Any]) -> None:
        self.offers.pop(message["session_id"], None)
        self.emit("handover_cancelled", message)

    def _on_handover_declined(self, message: dict[str, Any]) -> None:
        self.emit("handover_declined", message)

    def _on_handed_over(self, message: dict[str, Any]) -> None:
        """The session left this console (another agent took it: its keys and media are of no use here
        any more) or arrived in it (its ``state`` ``connected`` follows, on which our key exchange starts)."""
        session_id = message["session_id"]
        self.offers.pop(session_id, None)
        arrived = message.get("session") is not None and (message.get("to_agent") or {}).get("login") == \
            (self.agent or {}).get("login")
        if arrived:
            self.session_infos[session_id] = {**message["session"], "id": session_id}
            self._session(session_id, self.session_infos[session_id])
        else:
            self.session_infos.pop(session_id, None)
            session = self.live_sessions.pop(session_id, None)
            if session is not None:
                asyncio.ensure_future(session.close())
            if self.viewing == session_id:
                self.view(None)
        self.emit("handed_over", {**message, "arrived": arrived})
        self.emit("sessions", {"sessions": self.session_list()})

    async def colleagues(self) -> list[dict[str, Any]]:
        """Whom a session may be handed to: the other active agents, ``available`` when their console is open."""
        return await self.rest.colleagues()

    async def offer_handover(self, session_id: str, login: str) -> dict[str, Any]:
        return await self.rest.offer_handover(session_id, login)

    async def cancel_handover(self, session_id: str) -> None:
        await self.rest.cancel_handover(session_id)

    async def decline_handover(self, session_id: str) -> None:
        self.offers.pop(session_id, None)
        await self.rest.decline_handover(session_id)

    async def accept_handover(self, session_id: str, *, keys: bool = True, timeout: float = 10.0) -> AgentSession:
        """Take over a session offered to this agent; with ``keys`` wait until keys are agreed with its customer."""
        info = await self.rest.accept_handover(session_id)
        self.offers.pop(session_id, None)
        self.session_infos[session_id] = {**self.session_infos.get(session_id, {}), **info}
        session = self.session(session_id)
        if keys:
            await session.wait_keys(timeout)
        return session

    def _session(self, session_id: str, info: dict[str, Any]) -> AgentSession:
        session = self.live_sessions.get(session_id)
        if session is None:
            session = self.live_sessions[session_id] = AgentSession(self, {"id": session_id, **info})
        return session

    # -- sessions --------------------------------------------------------------------------------------
    def session_list(self) -> list[dict[str, Any]]:
        """The agent's sessions, newest first (each the server's agent view, ``state`` kept live)."""
        return sorted(self.session_infos.values(),
                      key=lambda s: (s.get("created_at") or "", s.get("number") or 0), reverse=True)

    def session(self, session_id: str) -> AgentSession:
        """The ``AgentSession`` of one of this agent's sessions."""
        if session_id not in self.live_sessions:
            if session_id not in self.session_infos:
                raise KeyError(f"not a session of this agent: {session_id}")
            self._session(session_id, self.session_infos[session_id])
        return self.live_sessions[session_id]

    async def refresh_sessions(self) -> list[dict[str, Any]]:
        """Reload the list from the server (``GET /api/v1/sessions``: live ones and those of the last day)."""
        for info in await self.rest.sessions():
            self.session_infos[info["id"]] = {**self.session_infos.get(info["id"], {}), **info}
        self.emit("sessions", {"sessions": self.session_list()})
        return self.session_list()

    async def create_session(self) -> AgentSession:
        """A new session with a fresh code (``state`` ``offline``)."""
        info = await self.rest.create_session()
        self.session_infos[info["id"]] = {**info, **self.session_infos.get(info["id"], {})}
        session = self._session(info["id"], self.session_infos[info["id"]])
        self.emit("sessions", {"sessions": self.session_list()})
        return session

    # -- participants (issue 21) ------------------------------------------------------------------------
    def _on_invitation(self, message: dict[str, Any]) -> None:
        if message.get("status") == "open":
            self.invitations[message["session_id"]] = message
        self.emit("invitation", message)

    async def invite(self, session_id: str, agent_id: str | None = None, rights: str = "full", *,
                     login: str | None = None) -> dict[str, Any]:
        """Invite another agent (by id, or by ``login`` as ``colleagues`` lists them) into one of this agent's
        connected sessions (``full`` or ``view`` rights)."""
        return await self.rest.invite(session_id, agent_id, rights, login=login)

    async def accept_invitation(self, session_id: str) -> AgentSession:
        """Accept an invitation: the session as a guest (its ``participants``, keys and media follow)."""
        self.invitations.pop(session_id, None)
        # there before the answer: the ``participants`` message may arrive before the REST answer does
        self.session_infos.setdefault(session_id, {"id": session_id, "state": "connected", "guest": True})
        session = self._session(session_id, self.session_infos[session_id])
        try:
            answer = await self.rest.answer_invitation(session_id, True)
        except Exception:
            self.session_infos.pop(session_id, None)
            self.live_sessions.pop(session_id, None)
            raise
        session.info.update({**answer["session"], "guest": True, "index": answer["index"],
                             "rights": answer["rights"]})
        self.session_infos[session_id].update(session.info)
        if answer.get("guest_socket"):
            # the session lives on another node than this console: its traffic goes through a guest
            # socket there (the server sends that node's participants to it, not to the console)
            await self.guests.open(session_id, answer["ws_url"])
        return session

    async def decline_invitation(self, session_id: str) -> None:
        self.invitations.pop(session_id, None)
        await self.rest.answer_invitation(session_id, False)

    async def remove_participant(self, session_id: str, index: int) -> None:
        await self.rest.remove_participant(session_id, index)

    async def delete_session(self, session_id: str) -> None:
        """Delete (expire) a session; its record stays."""
        await self.rest.delete_session(session_id)
        self.session_infos.pop(session_id, None)
        session = self.live_sessions.pop(session_id, None)
        if session is not None:
            await session.close()
        if self.viewing == session_id:
            self.view(None)
        self.emit("sessions", {"sessions": self.session_list()})

    async def accept(self, session_id: str, *, keys: bool = True, timeout: float = 10.0,
                     versions: list[int] | None = None) -> AgentSession:
        """Connect an ``online`` session (``session_not_online`` otherwise); with ``keys`` wait until the
        end-to-end keys are agreed (the key exchange starts by itself once the customer's socket is there).
        ``versions``: the media-frame versions said for this session (this client's ``versions`` unless given)."""
        session = self.session(session_id)
        await self.rest.connect_session(session_id, versions if versions is not None else self.versions)
        await session.wait_until(lambda: session.state == "connected", timeout, "state connected")
        if keys:
            await session.wait_keys(timeout)
        return session

    def view(self, session_id: str | None) -> None:
        """The session the agent is looking at now (the viewer's); emits ``viewing``."""
        if session_id is not None and session_id not in self.session_infos:
            raise KeyError(f"not a session of this agent: {session_id}")
        previous = self.viewed
        self.viewing = session_id
        if previous is not None and previous.id != session_id:
            previous.play_voice(None)
        if session_id is not None and self.voice is not None:
            self.session(session_id).play_voice(self.voice)
        self.emit("viewing", {"session_id": session_id})

    def set_voice(self, output: VoiceOutput | None) -> None:
        """Play the viewed session's customer on ``output`` from now on (None: on nothing)."""
        self.voice = output
        if self.viewed is not None:
            self.viewed.play_voice(output)

    @property
    def viewed(self) -> AgentSession | None:
        return self.live_sessions.get(self.viewing) if self.viewing else None

    # -- settings and the customer page ----------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return dict((self.agent or {}).get("settings") or {})

    async def update_settings(self, **settings: Any) -> dict[str, Any]:
        """The agent's settings on the server (``auto_connect``: "Online이면 자동 연결", the server connects a
        joining customer at once while the console is open; ``language``); emits ``settings``."""
        self.agent = await self.rest.update_settings(**settings)
        self.emit("settings", self.settings)
        return self.settings

    @property
    def customer_page_url(self) -> str:
        """The URL customers open to enter the code: the admin's setting, else the server's own address."""
        return self.public_url or self.server_url


__all__ = ["AgentClient"]
