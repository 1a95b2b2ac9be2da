"""The server's participants list (docs/protocol.md, "participants"), compared between two versions.

Both programs say each join and leave of a call of more than two (issue 21, "nobody hidden"): the agent's
console in its viewer, the customer's app over its picture. Who joined and who left is decided here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

P = TypeVar("P")


def by_key(participant: dict[str, Any]) -> int:
    return participant["index"]


def joined_and_left(before: Iterable[P], after: Iterable[P], index: Callable[[P], int] = by_key) -> tuple[list[P], list[P]]:
    """Who is new in ``after`` and who is gone from it, by index (the server never gives an index twice)."""
    old = {index(p): p for p in before}
    new = {index(p): p for p in after}
    return [p for i, p in new.items() if i not in old], [p for i, p in old.items() if i not in new]


__all__ = ["joined_and_left"]
