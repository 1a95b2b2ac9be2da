"""Which consoles, customer clients and guest sockets (an invited agent's socket for one session, on the
session's node when its console is on another: docs/protocol.md, "The guest socket") are connected to
this process right now."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from anysupport import i18n
from anysupport.protocol.vocabulary import CLOSE_KICKED, CLOSE_REPLACED, CLOSE_SESSION_ENDED
from anysupport.ratelimit import SlidingWindowLimiter

log = logging.getLogger("anysupport.ws")


class Connection(Protocol):
    principal: Any
    language: str

    def send_json(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


def evict(conn: Connection, code: int, reason: str) -> None:
    """Tell a socket why it is being closed, in its user's language, then close it."""
    conn.send_json({"type": "kicked", "reason": reason, "message": i18n.text(f"kicked_{reason}", conn.language)})
    conn.close(code, reason)


REVOKED_MEMORY = 120.0  # seconds a revocation is remembered for sockets still opening


class Hub:
    def __init__(self, *, clock=time.monotonic, open_max: int = 30, open_window: float = 60.0) -> None:
        self.consoles: dict[str, Connection] = {}
        self.customers: dict[str, Connection] = {}
        # guest sockets (issue 21, several nodes): an invited agent whose console is on another node opens
        # one socket per session on the session's node; (session id, agent id) -> that socket
        self.guests: dict[tuple[str, str], Connection] = {}
        self.clock = clock
        # sockets opened per token (a login or a customer's session token): each replaces the last, so
        # a client opening them in a loop only makes the server hold closing ones (issue 18 #2)
        self.opens = SlidingWindowLimiter(open_max, open_window, clock=clock)
        # the frame readers (ws.frames.FrameParser) of every socket of this process, open or being closed
        self.readers: set[Any] = set()
        # revocations of the last REVOKED_MEMORY seconds, for a socket whose token was checked before
        # the revocation and which attaches after it: token hash -> (reason, when); agent -> (keep, reason, when)
        self._revoked_tokens: dict[str, tuple[str, float]] = {}
        self._revoked_agents: dict[str, tuple[str | None, str, float]] = {}

    def reader_bytes(self) -> int:
        """Bytes the sockets' frame readers keep (incomplete frames, messages being assembled)."""
        return sum(reader.held for reader in self.readers)

    def opening(self, token_hash: str) -> int:
        """A socket is opening with this token: 0 when it may, else the seconds until it may."""
        return self.opens.hit(token_hash)

    # -- agents' consoles -----------------------------------------------------------------------------
    def has_console(self, agent_id: str) -> bool:
        return agent_id in self.consoles

    def console(self, agent_id: str) -> Connection | None:
        return self.consoles.get(agent_id)

    def attach_console(self, agent_id: str, conn: Connection) -> None:
        old = self.consoles.get(agent_id)
        self.consoles[agent_id] = conn
        if old is not None and old is not conn:
            # the same agent's console came back (e.g. after a network blip the server had not noticed)
            evict(old, CLOSE_REPLACED, "replaced")

    def detach_console(self, agent_id: str, conn: Connection) -> bool:
        if self.consoles.get(agent_id) is conn:
            del self.consoles[agent_id]
            return True
        return False

    async def kick(self, agent_id: str, reason: str) -> None:
        # the console stays registered until its socket closes, so closing runs the usual
        # detach (customers are told, the grace clock starts) like any other drop
        conn = self.consoles.get(agent_id)
        if conn is not None:
            log.info("console of agent %s kicked: %s", agent_id, reason)
            evict(conn, CLOSE_KICKED, reason)

    # -- the same, as the login and account rules call them (cluster.ClusterConsoles reaches every node) --
    async def console_live(self, agent_id: str) -> bool:
        return self.has_console(agent_id)

    async def revoke_token(self, token_hash: str, reason: str) -> int:
        return self.close_token(token_hash, reason)

    async def revoke_agent_logins(self, agent_id: str, reason: str, *, keep: str | None = None) -> int:
        return self.close_agent_logins(agent_id, reason, keep=keep)

    # -- revoked tokens ---------------------------------------------------------------------------------
    def close_token(self, token_hash: str, reason: str) -> int:
        """Close every socket opened with this token (it was just revoked); returns how many."""
        self._forget_old()
        self._revoked_tokens[token_hash] = (reason, self.clock())
        return self._close_where(lambda p: p.token_hash == token_hash, reason)

    def close_agent_logins(self, agent_id: str, reason: str, *, keep: str | None = None) -> int:
        """Close every socket of the agent opened with a token other than ``keep`` (they were revoked)."""
        self._forget_old()
        self._revoked_agents[agent_id] = (keep, reason, self.clock())
        return self._close_where(lambda p: p.kind == "agent" and p.agent_id == agent_id and p.token_hash != keep,
                                 reason)

    def revoked_since(self, principal: Any, since: float) -> str | None:
        """The reason, if the principal's token was revoked at or after ``since`` (when it was checked)."""
        token = self._revoked_tokens.get(principal.token_hash)
        if token is not None and token[1] >= since:
            return token[0]
        agent = self._revoked_agents.get(principal.agent_id) if principal.kind == "agent" else None
        if agent is not None and agent[2] >= since and principal.token_hash != agent[0]:
            return agent[1]
        return None

    def _forget_old(self) -> None:
        cutoff = self.clock() - REVOKED_MEMORY
        for key in [k for k, v in self._revoked_tokens.items() if v[1] < cutoff]:
            del self._revoked_tokens[key]
        for key in [k for k, v in self._revoked_agents.items() if v[2] < cutoff]:
            del self._revoked_agents[key]

    def _close_where(self, revoked, reason: str) -> int:
        closing = [conn for conn in self.all() if revoked(conn.principal)]
        for conn in closing:
            log.info("%s socket closed at once: its token was revoked (%s)", conn.principal.kind, reason)
            evict(conn, CLOSE_KICKED, reason)
        return len(closing)

    # -- customers --------------------------------------------------------------------------------------
    def customer(self, session_id: str) -> Connection | None:
        return self.customers.get(session_id)

    def attach_customer(self, session_id: str, conn: Connection) -> None:
        old = self.customers.get(session_id)
        self.customers[session_id] = conn
        if old is not None and old is not conn:
            evict(old, CLOSE_REPLACED, "replaced")

    def detach_customer(self, session_id: str, conn: Connection) -> bool:
        if self.customers.get(session_id) is conn:
            del self.customers[session_id]
            return True
        return False

    # -- guest sockets (one session's agent socket, not its console) ------------------------------------
    def guest(self, session_id: str, agent_id: str) -> Connection | None:
        return self.guests.get((session_id, agent_id))

    def attach_guest(self, session_id: str, agent_id: str, conn: Connection) -> None:
        old = self.guests.get((session_id, agent_id))
        self.guests[(session_id, agent_id)] = conn
        if old is not None and old is not conn:
            evict(old, CLOSE_REPLACED, "replaced")

    def detach_guest(self, session_id: str, agent_id: str, conn: Connection) -> bool:
        if self.guests.get((session_id, agent_id)) is conn:
            del self.guests[(session_id, agent_id)]
            return True
        return False

    def end_guest(self, session_id: str, agent_id: str, reason: str) -> None:
        """The agent is no participant of the session any more (removed, or the session ended): its guest
        socket for it is closed (its console, if here, stays)."""
        conn = self.guests.get((session_id, agent_id))
        if conn is not None:
            conn.close(CLOSE_SESSION_ENDED, reason)

    def end_guests(self, session_id: str) -> None:
        for sid, agent_id in [key for key in self.guests if key[0] == session_id]:
            self.end_guest(sid, agent_id, "session_ended")

    def participant(self, session_id: str, agent_id: str | None) -> Connection | None:
        """The socket a participant of ``session_id`` is reached through on this node: the customer's,
        else the agent's guest socket for that session, else its console."""
        if agent_id is None:
            return self.customers.get(session_id)
        guest = self.guests.get((session_id, agent_id)) if self.guests else None  # (the relay asks per frame)
        return guest or self.consoles.get(agent_id)

    def all(self) -> list[Connection]:
        return [*self.consoles.values(), *self.customers.values(), *self.guests.values()]

    def close_all(self, code: int, reason: str) -> None:
        for conn in self.all():
            conn.close(code, reason)
