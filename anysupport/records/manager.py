"""Support records, the satisfaction survey, and what is read from the records (the list, the
statistics, the Excel export) with who may see whose. No HTTP in here."""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Callable, Collection
from typing import Any

from anysupport.auth.access import is_admin, may_see
from anysupport.catalog.manager import trouble_type_paths
from anysupport.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from anysupport.protocol.vocabulary import SATISFACTION
from anysupport.records.scope import RecordScope, day_range
from anysupport.sessions.participants import agents_of
from anysupport.store.common import utcnow

log = logging.getLogger("anysupport.records")

RESOLUTIONS = ("solved", "pending", "onsite_needed")
EDITABLE = ("customer_name", "email", "phone", "trouble_type", "content", "resolution")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,30}$")

DEFAULT_SURVEY = {
    "enabled": True,
    "question": {"ko": "상담에 만족하셨습니까?", "en": "Were you satisfied with the support?"},
    "choices": [
        {"value": "satisfied", "label": {"ko": "만족", "en": "Satisfied"}},
        {"value": "neutral", "label": {"ko": "보통", "en": "Neutral"}},
        {"value": "unsatisfied", "label": {"ko": "불만족", "en": "Unsatisfied"}},
    ],
    "feedback": True,
    "feedback_prompt": {"ko": "의견을 남겨 주세요 (선택).", "en": "Any comments? (optional)"},
}


def record_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "session_id": record["session_id"],
        "agent_login": record.get("agent_login"),
        "agent_name": record.get("agent_name"),
        "agents": agents_of(record),
        "customer_name": record.get("customer_name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "ip": record.get("ip"),
        "trouble_type": record.get("trouble_type"),
        "trouble_type_name": record.get("trouble_type_name"),
        "content": record.get("content", ""),
        "resolution": record.get("resolution"),
        "satisfaction": record.get("satisfaction"),
        "feedback": record.get("feedback"),
        "started_at": record.get("started_at"),
        "ended_at": record.get("ended_at"),
        "updated_at": record.get("updated_at"),
        "version": record_version(record),
    }


def record_version(record: dict[str, Any]) -> int:
    """How many times the record's editable part was saved, plus one (the ETag of its answers)."""
    return int(record.get("version") or 1)


class RecordManager:
    def __init__(self, store, config, catalog, agents=None, *, clock: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.config = config
        self.catalog = catalog
        self.agents = agents  # AgentManager: an admin's ``agent=LOGIN`` scope is looked up through it
        self.clock = clock

    async def open_for(self, session: dict[str, Any]) -> dict[str, Any]:
        customer = session.get("customer") or {}
        return await self.store.records.create(
            {
                "session_id": session["id"],
                "agent_id": session["agent_id"],
                "agent_login": session["agent_login"],
                "agent_name": session["agent_name"],
                "agents": [{"id": session["agent_id"], "login": session["agent_login"], "name": session["agent_name"]}],
                "customer_name": customer.get("name"),
                "email": customer.get("email"),
                "phone": customer.get("phone"),
                "ip": customer.get("ip"),
                "trouble_type": None,
                "trouble_type_name": None,
                "content": "",
                "resolution": None,
                "satisfaction": None,
                "feedback": None,
                "started_at": session.get("connected_at") or self.clock(),
                "ended_at": None,
            }
        )

    async def hand_over(self, session: dict[str, Any]) -> None:
        """The session was handed over: its one record follows it. The new agent owns it (sees and
        edits it, and it counts in that agent's statistics, once); ``agents`` names every agent it had."""
        await self.store.records.update_by_session(session["id"], {
            "agent_id": session["agent_id"], "agent_login": session["agent_login"],
            "agent_name": session["agent_name"], "agents": session["agents"]})

    async def close_for(self, session: dict[str, Any]) -> None:
        await self.store.records.update_by_session(session["id"], {"ended_at": session.get("expired_at") or self.clock()})

    async def get_for(self, agent: dict[str, Any], session_id: str) -> dict[str, Any]:
        record = await self.store.records.by_session(session_id)
        if record is None:
            session = await self.store.sessions.get(session_id)
            if session is None or not may_see(agent, session["agent_id"]):
                raise NotFound("session_not_found")
            raise NotFound("record_not_found")
        if not may_see(agent, record["agent_id"]):
            # other agents' records are not even said to exist
            raise NotFound("session_not_found")
        return record

    async def update(self, agent: dict[str, Any], session_id: str, fields: dict[str, Any], *,
                     if_match: Collection[int] | None = None) -> dict[str, Any]:
        """Save the editable fields. ``if_match``: only if the record is still at one of these versions
        (the ETag the saver read), else ``PreconditionFailed`` ``record_changed`` with the current record, so
        a form loaded before another person's save cannot silently undo it (issue 18 #5). Without it the
        save applies to whatever is current (still one atomic step: no two saves interleave)."""
        current = await self.get_for(agent, session_id)
        if if_match is not None and record_version(current) not in if_match:
            raise PreconditionFailed("record_changed", record=record_view(current))
        changes = {k: v for k, v in fields.items() if k in EDITABLE}
        for key in ("customer_name", "email", "phone", "content"):
            if isinstance(changes.get(key), str):
                changes[key] = changes[key].strip()
        if changes.get("email") and not EMAIL.match(changes["email"]):
            raise Invalid("invalid_field", field="email", detail="not an e-mail address")
        if changes.get("phone") and not PHONE.match(changes["phone"]):
            raise Invalid("invalid_field", field="phone", detail="not a phone number")
        if changes.get("resolution") is not None and changes["resolution"] not in RESOLUTIONS:
            raise Invalid("invalid_field", field="resolution", detail=f"must be one of {', '.join(RESOLUTIONS)}")
        if "trouble_type" in changes:
            if changes["trouble_type"] in (None, ""):
                changes["trouble_type"] = None
                changes["trouble_type_name"] = None
            else:
                changes["trouble_type_name"] = await self.catalog.trouble_type_path(changes["trouble_type"])
        record = await self.store.records.save_fields(session_id, changes, version=record_version(current))
        if record is None:  # another save landed between our read and our write
            latest = await self.get_for(agent, session_id)
            if if_match is not None:
                raise PreconditionFailed("record_changed", record=record_view(latest))
            record = await self.store.records.save_fields(session_id, changes, version=record_version(latest))
            if record is None:
                raise PreconditionFailed("record_changed", record=record_view(await self.get_for(agent, session_id)))
        log.info("record of session %s saved by %s (version %d)", session_id, agent["login"], record_version(record))
        return record

    # -- reading many records ------------------------------------------------------------------------
    async def scope(self, asker: dict[str, Any], *, first: str | None = None, last: str | None = None,
                    login: str | None = None) -> RecordScope:
        """The days ``first`` to ``last`` (both included, in the server's time zone) and whose records:
        an agent's own; an administrator's everyone's, or the agent ``login``'s."""
        start, end = day_range(first, last, self.config.time_zone)
        if not is_admin(asker):
            return RecordScope(start, end, asker["id"], asker["login"], first, last)
        if login:
            agent = await self.agents.get(login)
            return RecordScope(start, end, agent["id"], login, first, last)
        return RecordScope(start, end, None, None, first, last)

    async def list(self, scope: RecordScope, *, limit: int = 1000, skip: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of the scope's records (the API's view of each) and how many there are in all."""
        found = await self.store.records.list(start=scope.start, end=scope.end, agent_id=scope.agent_id,
                                              limit=limit, skip=skip)
        total = await self.store.records.count(start=scope.start, end=scope.end, agent_id=scope.agent_id)
        return [record_view(r) for r in found], total

    async def named_range(self, scope: RecordScope) -> tuple[str, str]:
        """The days a workbook of ``scope`` covers, to name its file: the days asked for; an open start is
        the day of the first record (today when there is none), an open end today (server's time zone)."""
        tz = zoneinfo.ZoneInfo(self.config.time_zone)

        def day(instant: dt.datetime) -> str:
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=dt.UTC)
            return instant.astimezone(tz).date().isoformat()

        today = day(self.clock())
        last = scope.last or today
        first = scope.first
        if first is None:
            found = await self.store.records.list(start=scope.start, end=scope.end, agent_id=scope.agent_id, limit=1)
            first = day(found[0]["started_at"]) if found else min(last, today)
        return first, last

    async def statistics(self, scope: RecordScope, language: str) -> dict[str, Any]:
        """Counts and ratios of the scope's records by trouble type, resolution and satisfaction,
        labelled in ``language`` (docs/reports.md)."""
        answer, _paths = await self._statistics(scope, language)
        return answer

    async def export(self, scope: RecordScope, language: str, target: str) -> dict[str, Any]:
        """Write the scope's records and their statistics as an Excel workbook to ``target``; returns
        the statistics (their ``agent`` names the file)."""
        from anysupport.records.export import export_records  # it imports stats, which imports this module

        answer, paths = await self._statistics(scope, language)
        records = self.store.records.iterate_paged(start=scope.start, end=scope.end, agent_id=scope.agent_id)
        await export_records(target, records, answer, language=language, time_zone=self.config.time_zone,
                             trouble_types=paths)
        return answer

    async def _statistics(self, scope: RecordScope, language: str) -> tuple[dict[str, Any], dict[str, str]]:
        from anysupport.records.stats import build_statistics  # stats imports this module's values

        counts = await self.store.records.stats(start=scope.start, end=scope.end, agent_id=scope.agent_id)
        types = await self.catalog.trouble_types(include_retired=True)
        answer = {
            "from": scope.first,
            "to": scope.last,
            "time_zone": self.config.time_zone,
            "agent": scope.agent_login or None,
            "language": language,
            **build_statistics(counts, types, language),
        }
        return answer, {t["id"]: path for t, path in trouble_type_paths(types)}

    # -- the survey -----------------------------------------------------------------------------------
    async def survey_settings(self) -> dict[str, Any]:
        stored = await self.store.settings.get("survey")
        return {**DEFAULT_SURVEY, **(stored or {})}

    async def update_survey(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the survey shown to customers (the fields given; the others are kept)."""
        return await self.store.settings.put("survey", {**await self.survey_settings(), **changes})

    async def survey_message(self, session: dict[str, Any]) -> dict[str, Any] | None:
        survey = await self.survey_settings()
        if not survey["enabled"]:
            return None
        record = await self.store.records.by_session(session["id"])
        if record is None or record.get("satisfaction"):
            return None
        lang = (session.get("customer") or {}).get("language") or self.config.default_language

        def pick(texts):
            return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")

        return {
            "type": "survey",
            "session_id": session["id"],
            "question": pick(survey["question"]),
            "choices": [{"value": c["value"], "label": pick(c["label"])} for c in survey["choices"]],
            "feedback": bool(survey["feedback"]),
            "feedback_prompt": pick(survey.get("feedback_prompt") or DEFAULT_SURVEY["feedback_prompt"]),
            "time": self.clock().isoformat(timespec="milliseconds"),
        }

    async def save_survey(self, session_id: str, answer: str, feedback: str | None) -> dict[str, Any]:
        if not (await self.survey_settings())["enabled"]:
            raise Forbidden("survey_disabled")
        if answer not in SATISFACTION:
            raise Invalid("invalid_field", field="answer", detail=f"must be one of {', '.join(SATISFACTION)}")
        record = await self.store.records.by_session(session_id)
        if record is None:
            raise NotFound("record_not_found")
        if record.get("satisfaction"):
            raise Conflict("survey_answered")
        session = await self.store.sessions.get(session_id)
        if session is None or session["state"] != "expired":
            raise Forbidden("survey_not_open")
        changes = {"satisfaction": answer, "answered_at": self.clock()}
        if feedback and feedback.strip():
            changes["feedback"] = feedback.strip()
        # the reads above only choose the error; the store's conditional update is what admits one answer
        saved = await self.store.records.answer_survey(session_id, changes)
        if saved is None:
            raise Conflict("survey_answered")
        return saved
