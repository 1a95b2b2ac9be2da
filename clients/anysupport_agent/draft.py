"""The support record being written: autosaved to disk on every edit, so a crash loses nothing.

``RecordDraft`` is one session's form: the fields the agent edits, what the server last stored
(``saved``), and ``dirty`` when they differ. ``edited`` says the agent typed something since the last
save: what the customer entered when joining fills a fresh form (``prefill``) without making it a
draft worth restoring or asking about, so only ``has_edits`` (edited and dirty) counts as unsaved work. Every ``edit`` writes the draft file at once (atomic
replace); reopening the console restores it. ``DraftStore`` finds the drafts by session id.
``validate`` checks the fields as the server's record schema does, with messages in the agent's
language, so the form can say what is wrong before it sends anything. No Qt in here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .paths import config_dir, read_json, write_json_atomic
from .texts import Texts

#: The editable fields of a support record and their longest length (the server's schema).
FIELDS: dict[str, int | None] = {
    "customer_name": 100, "email": 254, "phone": 40, "trouble_type": 64, "content": 10000, "resolution": None,
}
RESOLUTIONS = ("solved", "pending", "onsite_needed")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9+\-() .]*$")


def normalise(fields: dict[str, Any]) -> dict[str, Any]:
    """The editable fields only, empty text as None (as the server stores them)."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = fields.get(name)
        if isinstance(value, str):
            value = value.strip() if name != "content" else value
            value = value or None
        out[name] = value
    return out


def validate(fields: dict[str, Any], texts: Texts) -> dict[str, str]:
    """``{field: message}`` for every field the server would refuse; empty when all is well."""
    problems: dict[str, str] = {}
    for name, limit in FIELDS.items():
        value = fields.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            problems[name] = texts("too_long", field=texts(name), max=limit)
    email = fields.get("email")
    if email and "email" not in problems and not EMAIL.match(email):
        problems["email"] = texts("bad_email")
    phone = fields.get("phone")
    if phone and "phone" not in problems and not PHONE.match(phone):
        problems["phone"] = texts("bad_phone")
    resolution = fields.get("resolution")
    if resolution is not None and resolution not in RESOLUTIONS:
        problems["resolution"] = texts("resolution")
    return problems


class RecordDraft:
    def __init__(self, session_id: str, path: Path, *, saved: dict[str, Any] | None = None,
                 fields: dict[str, Any] | None = None, info: dict[str, Any] | None = None,
                 edited: bool = False, version: int | None = None):
        self.session_id = session_id
        self.path = path
        self.saved = normalise(saved or {})
        self.fields = normalise(fields if fields is not None else self.saved)
        self.info = dict(info or {})  # read-only parts shown with the form: ip, started_at, ended_at
        self.edited = edited
        self.version = version  # the server's version of ``saved`` (a save is conditional on it)
        self.listeners: list[Callable[[RecordDraft], None]] = []

    @property
    def dirty(self) -> bool:
        return self.fields != self.saved

    @property
    def has_edits(self) -> bool:
        """The agent changed something the server has not stored (what is restored and asked about)."""
        return self.edited and self.dirty

    def prefill(self, values: dict[str, Any]) -> None:
        """Fill an untouched form with what the customer gave on joining; not an edit of the agent's."""
        if self.has_edits:
            return
        self.fields = normalise({**self.fields, **{k: v for k, v in values.items() if k in FIELDS and v}})

    def edit(self, name: str, value: Any) -> None:
        if name not in FIELDS:
            raise KeyError(name)
        new = normalise({**self.fields, name: value})
        if new == self.fields:
            return
        self.fields = new
        self.edited = True
        self._write()
        for listener in list(self.listeners):
            listener(self)

    def server_loaded(self, record: dict[str, Any]) -> None:
        """The server's copy arrived: it is what is saved; edits not yet saved stay on top of it."""
        self.saved = normalise(record)
        self.version = record.get("version")
        self.info = {k: record.get(k) for k in ("ip", "started_at", "ended_at")}
        if not self.has_edits:
            # the server's copy, with what the customer gave on joining where it has nothing
            self.fields = {k: self.saved[k] if self.saved[k] is not None else v for k, v in self.fields.items()}
        self._write()

    def mark_saved(self, record: dict[str, Any] | None = None) -> None:
        self.saved = normalise(record) if record is not None else dict(self.fields)
        if record is not None:
            self.version = record.get("version")
        self.edited = False
        if record is not None:
            self.info.update({k: record.get(k) for k in ("ip", "started_at", "ended_at") if k in record})
        self._write()
        for listener in list(self.listeners):
            listener(self)

    def based_on(self, current: dict[str, Any]) -> bool:
        """Whether the server's ``current`` record still holds what this draft took as saved (nobody saved since)."""
        return normalise(current) == self.saved

    def someone_else_saved(self, current: dict[str, Any]) -> tuple[list[str], list[str]]:
        """A save was refused because another person saved ``current`` first (412 ``record_changed``):
        take their version as the saved one, keep this agent's own edits on top of it, and return the
        fields they changed — (taken from them, also edited here: this agent's value kept). The next save
        is conditional on their version."""
        theirs = normalise(current)
        mine = {k for k in FIELDS if self.fields.get(k) != self.saved.get(k)}
        changed = [k for k in FIELDS if theirs.get(k) != self.saved.get(k)]
        self.fields = {k: self.fields[k] if k in mine else theirs[k] for k in FIELDS}
        self.saved = theirs
        self.version = current.get("version")
        self.info.update({k: current.get(k) for k in ("ip", "started_at", "ended_at") if k in current})
        self.edited = self.fields != self.saved
        self._write()
        return [k for k in changed if k not in mine], [k for k in changed if k in mine]

    def revert(self) -> None:
        self.fields = dict(self.saved)
        self.edited = False
        self._write()

    def changes(self) -> dict[str, Any]:
        """What to send: every field (``PUT`` replaces the record's editable part)."""
        return dict(self.fields)

    def _write(self) -> None:
        write_json_atomic(self.path, {"session_id": self.session_id, "fields": self.fields, "saved": self.saved,
                                      "info": self.info, "edited": self.edited, "version": self.version})


class DraftStore:
    def __init__(self, folder: Path | None = None):
        self.folder = folder or config_dir() / "drafts"
        self._open: dict[str, RecordDraft] = {}

    def _path(self, session_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", session_id)
        return self.folder / f"{safe}.json"

    def open(self, session_id: str) -> RecordDraft:
        """The draft of a session: the one in memory, else the one on disk, else a fresh one."""
        draft = self._open.get(session_id)
        if draft is None:
            path = self._path(session_id)
            data = read_json(path)
            if isinstance(data, dict) and data.get("session_id") == session_id:
                # a file from before "edited" was kept: its difference can only have come from edits
                draft = RecordDraft(session_id, path, saved=data.get("saved"), fields=data.get("fields"),
                                    info=data.get("info"), edited=bool(data.get("edited", True)),
                                    version=data.get("version") if isinstance(data.get("version"), int) else None)
            else:
                draft = RecordDraft(session_id, path)
            self._open[session_id] = draft
        return draft

    def unsaved(self) -> list[RecordDraft]:
        """Drafts on disk or in memory with the agent's edits the server has not stored."""
        found = []
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.json")):
                data = read_json(path)
                if isinstance(data, dict) and isinstance(data.get("session_id"), str):
                    draft = self.open(data["session_id"])
                    if draft.has_edits:
                        found.append(draft)
        return found

    def discard(self, session_id: str) -> None:
        self._open.pop(session_id, None)
        try:
            self._path(session_id).unlink()
        except FileNotFoundError:
            pass
