"""Trouble types (a tree) and canned phrases. No HTTP in here."""

from __future__ import annotations

from typing import Any

from anysupport.errors import Conflict, Invalid, NotFound

DEFAULT_PHRASES_OWNER = "default"

DEFAULT_PHRASES = [
    {"text": "안녕하세요. 무엇을 도와드릴까요?", "shortcut": "F1"},
    {"text": "카메라를 문제가 있는 곳으로 비춰 주세요.", "shortcut": "F2"},
    {"text": "잠시만 기다려 주세요.", "shortcut": "F3"},
    {"text": "화면에 표시한 곳을 확인해 주세요.", "shortcut": "F4"},
    {"text": "이용해 주셔서 감사합니다.", "shortcut": "F5"},
]


class CatalogManager:
    def __init__(self, store):
        self.store = store

    # -- trouble types ------------------------------------------------------------------------------
    async def trouble_types(self, *, include_retired: bool = True) -> list[dict[str, Any]]:
        return await self.store.trouble_types.list(include_retired=include_retired)

    async def trouble_type_tree(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        items = await self.trouble_types(include_retired=include_retired)
        nodes = {t["id"]: {**t, "children": []} for t in items}
        roots = []
        for node in nodes.values():
            parent = nodes.get(node["parent_id"]) if node["parent_id"] else None
            (parent["children"] if parent else roots).append(node)
        return roots

    async def trouble_type_path(self, type_id: str) -> str:
        """The display path "Parent / Child" of an active trouble type; ``Invalid`` when unknown."""
        names = []
        current = await self.store.trouble_types.get(type_id)
        if current is None or current.get("retired"):
            raise Invalid("invalid_field", field="trouble_type", detail="no such trouble type")
        seen = set()
        while current is not None and current["id"] not in seen:
            seen.add(current["id"])
            names.append(current["name"])
            current = await self.store.trouble_types.get(current["parent_id"]) if current["parent_id"] else None
        return " / ".join(reversed(names))

    async def _check_parent(self, parent_id: str | None, moving: str | None = None) -> None:
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
    async def phrases(self, owner: str) -> list[dict[str, Any]]:
        phrases = await self.store.phrases.list(owner)
        if phrases or owner == DEFAULT_PHRASES_OWNER:
            return phrases
        # an agent starts from the administrator's default set (copied, so they can change theirs)
        marker = await self.store.settings.get(f"phrases_seeded:{owner}")
        if marker:
            return phrases
        defaults = await self.default_phrases()
        await self.store.phrases.insert_many(owner, defaults)
        await self.store.settings.put(f"phrases_seeded:{owner}", {"done": True})
        return await self.store.phrases.list(owner)

    async def default_phrases(self) -> list[dict[str, Any]]:
        phrases = await self.store.phrases.list(DEFAULT_PHRASES_OWNER)
        if not phrases and not await self.store.settings.get("phrases_seeded:default"):
            await self.store.phrases.insert_many(
                DEFAULT_PHRASES_OWNER, [{**p, "order": i + 1} for i, p in enumerate(DEFAULT_PHRASES)]
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
        await self.phrases(owner)
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
