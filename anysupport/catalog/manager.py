"""Trouble types (a tree) and canned phrases. No HTTP in here."""

from __future__ import annotations

from collections import deque
from typing import Any

from anysupport import i18n
from anysupport.errors import Conflict, Invalid, NotFound

DEFAULT_PHRASES_OWNER = "default"

# What a fresh install starts with, as keys of server.json's "what a new install starts with" section:
# seeded in the install's ``default_language`` (both languages are kept there; the setting picks).
DEFAULT_PHRASES: list[tuple[str, str]] = [
    ("phrase_hello", "F1"),
    ("phrase_point_camera", "F2"),
    ("phrase_wait", "F3"),
    ("phrase_check_mark", "F4"),
    ("phrase_thanks", "F5"),
]

# The tree a fresh install starts with (the manual's statistics sheet: network, printing, audio, display
# errors and customer care); the administrator edits it on the admin pages.
DEFAULT_TROUBLE_TYPES: list[tuple[str, list[str]]] = [
    ("type_network", ["type_wifi", "type_mobile_data"]),
    ("type_printing", []),
    ("type_audio", ["type_microphone", "type_speaker"]),
    ("type_display", []),
    ("type_customer_care", []),
]


def default_phrase_set(language: str) -> list[dict[str, str]]:
    """The default canned phrases in ``language``."""
    return [{"text": i18n.text(key, language), "shortcut": shortcut} for key, shortcut in DEFAULT_PHRASES]


def default_type_tree(language: str) -> list[tuple[str, list[str]]]:
    """The default trouble-type tree, named in ``language``."""
    return [(i18n.text(name, language), [i18n.text(child, language) for child in children])
            for name, children in DEFAULT_TROUBLE_TYPES]


TROUBLE_TYPES_SEEDED = "trouble_types_seeded"


DEFAULT_TROUBLE_TYPE_MAX_DEPTH = 6


def trouble_type_tree(types: list[dict[str, Any]], max_depth: int = DEFAULT_TROUBLE_TYPE_MAX_DEPTH) -> list[dict[str, Any]]:
    """The types as nested ``children`` lists under the top-level ones (the list itself is not changed).

    Built without recursion and never nested more than ``max_depth`` levels (what serialises it
    recurses once per level): types stored deeper (before the limit, or written around it) hang flat
    under their ancestor at the last level, keeping their own ``parent_id``, so the admin can see and
    move them. Types on a cycle reach no top-level type and are left out.
    """
    nodes = {t["id"]: {**t, "children": []} for t in types}
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for node in nodes.values():
        parent = node["parent_id"] if node["parent_id"] in nodes else None
        kids.setdefault(parent, []).append(node)
    roots = kids.get(None, [])
    # each entry: a placed node, its level, and the list it was placed in
    pending = deque((node, 1, roots) for node in roots)
    while pending:
        node, level, placed_in = pending.popleft()
        for child in kids.get(node["id"], []):
            if level < max_depth:
                node["children"].append(child)
                pending.append((child, level + 1, node["children"]))
            else:  # below the last level: hung flat beside this node, at the last level
                placed_in.append(child)
                pending.append((child, level, placed_in))
    return roots


def trouble_type_paths(types: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Every trouble type with its path name ("Parent / Child"), in tree order: parents first, by order."""
    by_id = {t["id"]: t for t in types}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for t in types:
        parent = t.get("parent_id") if t.get("parent_id") in by_id else None
        children.setdefault(parent, []).append(t)
    for siblings in children.values():
        siblings.sort(key=lambda t: (t.get("order", 0), t["name"]))
    out: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    # depth first, parents before children, with a stack of our own: a chain of any depth walks
    stack: list[tuple[dict[str, Any], str]] = [(t, "") for t in reversed(children.get(None, []))]
    while stack:
        t, prefix = stack.pop()
        if t["id"] in seen:  # a cycle written around the manager's checks must not loop forever
            continue
        seen.add(t["id"])
        path = f"{prefix} / {t['name']}" if prefix else t["name"]
        out.append((t, path))
        stack.extend((c, path) for c in reversed(children.get(t["id"], [])))
    return out


class CatalogManager:
    """``language``: the install's default_language (the defaults are seeded in it); ``phrases_max``: canned
    phrases one owner (an agent, or the shared default set) may keep; ``trouble_type_max_depth``: levels of
    the trouble-type tree."""

    def __init__(self, store, *, language: str = i18n.LANGUAGES[0], phrases_max: int = 200,
                 trouble_type_max_depth: int = DEFAULT_TROUBLE_TYPE_MAX_DEPTH):
        self.store = store
        self.language = language
        self.phrases_max = phrases_max
        self.trouble_type_max_depth = trouble_type_max_depth

    # -- trouble types ------------------------------------------------------------------------------
    async def ensure_default_trouble_types(self) -> bool:
        """On a fresh install, add ``DEFAULT_TROUBLE_TYPES`` (in the install's language) once (True when it did).

        Once means once per database, whatever happens after: the claim is a document inserted under
        a unique id (of nodes sharing a database, one seeds), and a database that already has types
        (an upgrade) or whose admin deleted them all is left as it is.
        """
        if not await self.store.settings.claim(TROUBLE_TYPES_SEEDED, {"done": True}):
            return False
        if await self.store.trouble_types.count():
            return False
        for order, (name, children) in enumerate(default_type_tree(self.language)):
            parent = await self.store.trouble_types.create(name=name, parent_id=None, order=order)
            for child_order, child in enumerate(children):
                await self.store.trouble_types.create(name=child, parent_id=parent["id"], order=child_order)
        return True

    async def trouble_types(self, *, include_retired: bool = True) -> list[dict[str, Any]]:
        return await self.store.trouble_types.list(include_retired=include_retired)

    async def trouble_type_tree(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        return trouble_type_tree(await self.trouble_types(include_retired=include_retired), self.trouble_type_max_depth)

    async def trouble_type_path(self, type_id: str) -> str:
        """The display path "Parent / Child" of an active trouble type; ``Invalid`` when unknown."""
        types = await self.trouble_types()
        current = next((t for t in types if t["id"] == type_id), None)
        if current is None or current.get("retired"):
            raise Invalid("invalid_field", field="trouble_type", detail="no such trouble type")
        paths = {t["id"]: path for t, path in trouble_type_paths(types)}
        return paths.get(type_id, current["name"])  # a type on a cycle has no path from the top

    async def _check_parent(self, parent_id: str | None, moving: str | None = None) -> None:
        """The parent must exist, not be the moved type or below it, and leave room for it: the
        parent's level plus the levels of the moved type's subtree (1 for a new type) may not pass
        ``trouble_type_max_depth``."""
        seen = set()
        current_id = parent_id
        while current_id:
            if current_id == moving:
                raise Invalid("invalid_field", field="parent_id", detail="a type cannot move under itself")
            parent = await self.store.trouble_types.get(current_id)
            if parent is None or current_id in seen:
                raise Invalid("invalid_field", field="parent_id", detail="no such parent type")
            seen.add(current_id)
            current_id = parent["parent_id"]
        levels = len(seen) + (await self._subtree_levels(moving) if moving else 1)
        if levels > self.trouble_type_max_depth:
            raise Invalid("trouble_type_too_deep", field="parent_id", limit=self.trouble_type_max_depth)

    async def _subtree_levels(self, type_id: str) -> int:
        """Levels of the subtree under ``type_id``, itself included (1 for a leaf), without recursion."""
        children: dict[str, list[str]] = {}
        for t in await self.trouble_types():
            if t.get("parent_id"):
                children.setdefault(t["parent_id"], []).append(t["id"])
        levels, level, seen = 0, [type_id], {type_id}
        while level:
            levels += 1
            level = [c for p in level for c in children.get(p, []) if c not in seen]
            seen.update(level)
        return levels

    async def add_trouble_type(self, name: str, parent_id: str | None = None, order: int | None = None) -> dict:
        await self._check_parent(parent_id)
        if order is None:
            order = await self.store.trouble_types.count()
        return await self.store.trouble_types.create(name=name.strip(), parent_id=parent_id, order=order)

    async def update_trouble_type(self, type_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        if await self.store.trouble_types.get(type_id) is None:
            raise NotFound("trouble_type_not_found")
        if "parent_id" in changes:
            await self._check_parent(changes["parent_id"], moving=type_id)
        if "name" in changes:
            changes["name"] = changes["name"].strip()
        return await self.store.trouble_types.update(type_id, changes)

    async def delete_trouble_type(self, type_id: str) -> str:
        """Delete an unused type; a type records use is retired instead (returns which happened)."""
        if await self.store.trouble_types.get(type_id) is None:
            raise NotFound("trouble_type_not_found")
        if await self.store.trouble_types.count_children(type_id):
            raise Conflict("trouble_type_has_children")
        if await self.store.records.uses_trouble_type(type_id):
            await self.store.trouble_types.update(type_id, {"retired": True})
            return "retired"
        await self.store.trouble_types.delete(type_id)
        return "deleted"

    # -- canned phrases ---------------------------------------------------------------------------------
    async def phrases(self, owner: str, language: str | None = None) -> list[dict[str, Any]]:
        """An agent's phrases; the first call copies the administrator's default set. While that set is
        still the install's own defaults, the copy is in ``language`` (the agent's) instead."""
        phrases = await self.store.phrases.list(owner)
        if phrases or owner == DEFAULT_PHRASES_OWNER:
            return phrases
        # an agent starts from the administrator's default set (copied, so they can change theirs)
        marker = await self.store.settings.get(f"phrases_seeded:{owner}")
        if marker:
            return phrases
        defaults = await self.default_phrases()
        untouched = [(p["text"], p["shortcut"]) for p in defaults] == [
            (p["text"], p["shortcut"]) for p in default_phrase_set(self.language)]
        if untouched and language in i18n.LANGUAGES and language != self.language:
            defaults = [{**p, "order": i + 1} for i, p in enumerate(default_phrase_set(language))]
        await self.store.phrases.insert_many(owner, defaults)
        await self.store.settings.put(f"phrases_seeded:{owner}", {"done": True})
        return await self.store.phrases.list(owner)

    async def default_phrases(self) -> list[dict[str, Any]]:
        phrases = await self.store.phrases.list(DEFAULT_PHRASES_OWNER)
        if not phrases and not await self.store.settings.get("phrases_seeded:default"):
            await self.store.phrases.insert_many(
                DEFAULT_PHRASES_OWNER, [{**p, "order": i + 1} for i, p in enumerate(default_phrase_set(self.language))]
            )
            await self.store.settings.put("phrases_seeded:default", {"done": True})
            phrases = await self.store.phrases.list(DEFAULT_PHRASES_OWNER)
        return phrases

    async def _own_phrase(self, owner: str, phrase_id: str) -> dict[str, Any]:
        phrase = await self.store.phrases.get(phrase_id)
        if phrase is None or phrase["owner"] != owner:
            raise NotFound("phrase_not_found")
        return phrase

    async def _check_shortcut(self, owner: str, shortcut: str | None, phrase_id: str | None = None) -> None:
        if not shortcut:
            return
        for p in await self.store.phrases.list(owner):
            if p.get("shortcut") == shortcut and p["id"] != phrase_id:
                raise Conflict("shortcut_taken", shortcut=shortcut)

    async def add_phrase(self, owner: str, text: str, shortcut: str | None = None, order: int | None = None):
        if len(await self.phrases(owner)) >= self.phrases_max:
            raise Conflict("too_many_phrases", limit=self.phrases_max)
        await self._check_shortcut(owner, shortcut)
        if order is None:
            order = await self.store.phrases.max_order(owner) + 1
        return await self.store.phrases.create(owner, text=text.strip(), order=order, shortcut=shortcut or None)

    async def update_phrase(self, owner: str, phrase_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        await self._own_phrase(owner, phrase_id)
        if "shortcut" in changes:
            await self._check_shortcut(owner, changes["shortcut"], phrase_id)
            changes["shortcut"] = changes["shortcut"] or None
        return await self.store.phrases.update(phrase_id, changes)

    async def delete_phrase(self, owner: str, phrase_id: str) -> None:
        await self._own_phrase(owner, phrase_id)
        await self.store.phrases.delete(phrase_id)


DEFAULT_SITE = {"public_url": "", "brand_name": ""}


class SiteSettings:
    """The customer page URL and branding: stored by the admin, defaulting to the configuration."""

    def __init__(self, store, config):
        self.store = store
        self.config = config

    async def get(self) -> dict[str, Any]:
        stored = await self.store.settings.get("site") or {}
        return {
            "public_url": stored.get("public_url") or self.config.public_url,
            "brand_name": stored.get("brand_name") or self.config.brand_name,
        }

    async def put(self, changes: dict[str, Any]) -> dict[str, Any]:
        stored = await self.store.settings.get("site") or {}
        await self.store.settings.put("site", {**DEFAULT_SITE, **stored, **changes})
        return await self.get()

    async def public_url(self, request_base: str) -> str:
        """Where customers connect: the configured URL, else this server as the request reached it."""
        return (await self.get())["public_url"] or request_base
