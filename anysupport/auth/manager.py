"""Who is asking: logins, bearer tokens, lockouts. No HTTP in here."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from anysupport.auth.passwords import verify_password
from anysupport.errors import Conflict, Forbidden, RateLimited, Unauthorized
from anysupport.ratelimit import Backoff
from anysupport.store.common import utcnow

log = logging.getLogger("anysupport.auth")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Consoles(Protocol):
    """The live consoles: this node's ``ws.hub.Hub``, or ``cluster.ClusterConsoles`` for every node."""

    async def console_live(self, agent_id: str) -> bool: ...

    async def kick(self, agent_id: str, reason: str) -> None: ...

    async def revoke_token(self, token_hash: str, reason: str) -> int: ...

    async def revoke_agent_logins(self, agent_id: str, reason: str, *, keep: str | None = None) -> int: ...


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an agent (with its account) or a customer (with its one session)."""

    kind: str  # "agent" | "customer"
    token_hash: str
    agent: dict[str, Any] | None = None
    session_id: str | None = None
    web: bool = False  # an agent's login for the admin pages: REST only, never a console

    @property
    def is_admin(self) -> bool:
        return self.kind == "agent" and self.agent is not None and self.agent["role"] == "admin"

    @property
    def agent_id(self) -> str | None:
        return self.agent["id"] if self.agent else None


def agent_view(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent as the API shows it (never the password hash)."""
    return {
        "id": agent["id"],
        "login": agent["login"],
        "name": agent["name"],
        "number": agent["number"],
        "role": agent["role"],
        "disabled": agent.get("disabled", False),
        "settings": agent.get("settings", {}),
        "created_at": agent.get("created_at"),
    }


class LoginThrottle:
    """The policy against password guessing (docs/security.md), with no HTTP in it.

    Failures count per (login, address) and per address, never per login alone: failures from one
    address slow down and then lock that login *at that address* (``login_max_failures``) or that
    address for every login (``login_ip_max_failures``), and never keep the owner out at another
    address. Both slow down before they lock: after ``login_free_failures`` failures (per address:
    half its limit, at least that many) each failure makes the next try wait ``login_delay`` seconds,
    doubling each time. A success clears its (login, address) count, not the address's.
    """

    def __init__(self, config, *, clock: Callable[[], float] = time.monotonic):
        window, free, delay = config.login_window, config.login_free_failures, config.login_delay
        self.pair = Backoff(limit=config.login_max_failures, free=free, delay=delay, window=window, clock=clock)
        ip_limit = config.login_ip_max_failures
        self.address = Backoff(limit=ip_limit, free=max(free, ip_limit // 2), delay=delay, window=window, clock=clock)

    @staticmethod
    def _pair(login: str, ip: str) -> str:
        return f"{login.lower()}\x00{ip}"

    def wait(self, login: str, ip: str) -> int:
        """Seconds this (login, address) must wait before a password is checked (0: check it now)."""
        return max(self.pair.wait(self._pair(login, ip)), self.address.wait(ip))

    def failed(self, login: str, ip: str) -> None:
        self.pair.fail(self._pair(login, ip))
        self.address.fail(ip)

    def succeeded(self, login: str, ip: str) -> None:
        self.pair.reset(self._pair(login, ip))


class AuthManager:
    """``clock`` (UTC time) dates and expires tokens, ``monotonic`` paces the login throttle; tests
    inject both."""

    def __init__(self, store, config, consoles: Consoles, *, clock: Callable[[], dt.datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.config = config
        self.consoles = consoles
        self.clock = clock
        self.throttle = LoginThrottle(config, clock=monotonic)

    async def login(self, login: str, password: str, *, force: bool = False, ip: str = "",
                    web: bool = False) -> tuple[str, dict]:
        wait = self.throttle.wait(login, ip)
        if wait:
            raise RateLimited(retry_after=wait)
        agent = await self.store.agents.by_login(login)
        if not await verify_password(password, agent["password_hash"] if agent else None):
            self.throttle.failed(login, ip)
            log.info("login failed for %r from %s", login, ip)
            raise Unauthorized("invalid_credentials")
        if agent.get("disabled"):
            raise Forbidden("account_disabled")
        self.throttle.succeeded(login, ip)
        if not web and await self.consoles.console_live(agent["id"]):
            if not force:
                raise Conflict("already_logged_in", login=agent["login"])
            await self.store.tokens.revoke_agent(agent["id"])
            await self.consoles.kick(agent["id"], "logged_in_elsewhere")
        token = new_token()
        await self.store.tokens.add(token_hash(token), kind="agent", ttl=self.config.token_ttl, agent_id=agent["id"],
                                    web=web, now=self.clock())
        log.info("agent %s logged in from %s", agent["login"], ip)
        return token, agent

    async def issue_customer_token(self, session_id: str) -> str:
        token = new_token()
        await self.store.tokens.add(
            token_hash(token), kind="customer", ttl=self.config.customer_token_ttl, session_id=session_id,
            now=self.clock(),
        )
        return token

    async def authenticate(self, token: str | None) -> Principal | None:
        """The caller behind a bearer token, or None for a missing, unknown, expired or revoked one."""
        if not token or len(token) > 256:
            return None
        hashed = token_hash(token)
        record = await self.store.tokens.get(hashed, now=self.clock())
        if record is None:
            return None
        if record["kind"] == "customer":
            return Principal("customer", hashed, session_id=record["session_id"])
        agent = await self.store.agents.by_id(record["agent_id"])
        if agent is None or agent.get("disabled"):
            return None
        return Principal("agent", hashed, agent=agent, web=bool(record.get("web")))

    async def logout(self, principal: Principal) -> None:
        """Revoke the token, and close at once every socket opened with it (a console would otherwise
        go on receiving customers and chatting with them)."""
        await self.store.tokens.revoke(principal.token_hash)
        await self.consoles.revoke_token(principal.token_hash, "logged_out")

    async def purge_expired(self) -> int:
        """Delete the tokens past their expiry (they are refused anyway; this keeps the collection small)."""
        return await self.store.tokens.purge_expired(now=self.clock())
