"""Agent accounts and their settings. No HTTP in here."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from anysupport import i18n
from anysupport.auth.passwords import hash_password, verify_password
from anysupport.errors import Conflict, Invalid, NotFound, Unauthorized
from anysupport.store.agents import DuplicateAgent

log = logging.getLogger("anysupport.agents")

DEFAULT_SETTINGS = {"auto_connect": False, "language": "ko"}


def generate_password() -> str:
    return secrets.token_urlsafe(12)


class AgentManager:
    def __init__(self, store, config, consoles=None):
        self.store = store
        self.config = config
        self.consoles = consoles

    def _check_password(self, password: str) -> None:
        if len(password) < self.config.password_min_length:
            raise Invalid("password_too_short", min=self.config.password_min_length)

    async def get(self, login: str) -> dict[str, Any]:
        agent = await self.store.agents.by_login(login)
        if agent is None:
            raise NotFound("agent_not_found", login=login)
        return agent

    async def list(self) -> list[dict[str, Any]]:
        return await self.store.agents.list()

    async def create(self, *, login: str, name: str, password: str | None = None, role: str = "agent",
                     number: int | None = None, settings: dict[str, Any] | None = None) -> tuple[dict, str | None]:
        """Create an account; returns it and the generated password when none was given."""
        generated = None
        if password is None:
            password = generated = generate_password()
        self._check_password(password)
        try:
            agent = await self.store.agents.create(
                login=login, name=name, role=role, number=number, password_hash=await hash_password(password),
                settings={**DEFAULT_SETTINGS, "language": self.config.default_language, **(settings or {})},
            )
        except DuplicateAgent as exc:
            raise Conflict(f"{exc.field}_taken", login=login, number=number) from None
        log.info("agent %s created (role %s)", login, role)
        return agent, generated

    async def _guard_last_admin(self, agent: dict[str, Any], *, demote: bool) -> None:
        if agent["role"] == "admin" and not agent.get("disabled") and demote:
            if await self.store.agents.count_active_admins() <= 1:
                raise Conflict("last_admin")

    async def update(self, login: str, changes: dict[str, Any]) -> dict[str, Any]:
        agent = await self.get(login)
        changes = dict(changes)
        demote = changes.get("role", agent["role"]) != "admin" or changes.get("disabled") is True
        await self._guard_last_admin(agent, demote=demote)
        if "password" in changes:
            password = changes.pop("password")
            self._check_password(password)
            changes["password_hash"] = await hash_password(password)
        if "settings" in changes:
            changes["settings"] = {**agent.get("settings", {}), **changes["settings"]}
        try:
            updated = await self.store.agents.update(agent["id"], changes)
        except DuplicateAgent as exc:
            raise Conflict(f"{exc.field}_taken", login=changes.get("login"), number=changes.get("number")) from None
        if changes.get("disabled") or "password_hash" in changes:
            # a disabled account or a reset password ends every login of that agent
            await self.store.tokens.revoke_agent(agent["id"])
            if self.consoles is not None and await self.consoles.console_live(agent["id"]):
                await self.consoles.kick(agent["id"], "account_changed")
        return updated

    async def reset_password(self, login: str, password: str | None = None) -> str:
        password = password or generate_password()
        await self.update(login, {"password": password})
        return password

    async def change_own_password(self, agent: dict[str, Any], current: str, new: str, *, keep: str) -> None:
        """Set a new password and end every other login of the agent (``keep``: the asking token's hash)."""
        if not await verify_password(current, agent["password_hash"]):
            raise Unauthorized("wrong_password")
        self._check_password(new)
        await self.store.agents.update(agent["id"], {"password_hash": await hash_password(new)})
        await self.store.tokens.revoke_agent(agent["id"], keep=keep)
        if self.consoles is not None:  # and the sockets opened with those logins, at once
            await self.consoles.revoke_agent_logins(agent["id"], "password_changed", keep=keep)

    async def update_settings(self, agent: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        return await self.store.agents.update(agent["id"], {"settings": {**agent.get("settings", {}), **settings}})

    async def delete(self, login: str) -> None:
        agent = await self.get(login)
        await self._guard_last_admin(agent, demote=True)
        await self.store.tokens.revoke_agent(agent["id"])
        if self.consoles is not None and await self.consoles.console_live(agent["id"]):
            await self.consoles.kick(agent["id"], "account_deleted")
        await self.store.agents.delete(agent["id"])
        log.info("agent %s deleted", login)

    async def ensure_first_admin(self) -> str | None:
        """On an empty database create ``admin``; returns its password when one was generated."""
        if await self.store.agents.count() > 0:
            return None
        password = self.config.admin_password or None
        try:
            name = i18n.text("first_admin_name", self.config.default_language)  # the install's language
            _agent, generated = await self.create(login="admin", name=name, role="admin", password=password)
        except Conflict:  # another node on the same database created it at the same moment
            return None
        return generated
