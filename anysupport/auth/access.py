"""Which agents may see what: the one rule the session and record managers share. No HTTP in here
(``web.base.endpoint`` decides which kind of caller reaches a route; this decides which documents)."""

from __future__ import annotations

from typing import Any


def is_admin(agent: dict[str, Any]) -> bool:
    return agent["role"] == "admin"


def may_see(agent: dict[str, Any], owner_id: str | None) -> bool:
    """An agent sees its own sessions and records; an administrator sees everyone's."""
    return owner_id == agent["id"] or is_admin(agent)
