"""Expired sessions fade in the sessions tab, then leave it (the rule with an injected clock, then the model)."""

from anysupport_agent.models.sessions import SessionsModel
from anysupport_agent.session_list import ExpiredSessions
from anysupport_agent.texts import Texts
from anysupport_qt import Qt


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_expired_session_is_shown_for_its_time_then_not_unless_pinned():
    clock = Clock()
    rule = ExpiredSessions(keep_seconds=600, clock=clock)
    live, ended = {"id": "a", "state": "connected"}, {"id": "b", "state": "expired"}
    for s in (live, ended):
        rule.note(s)
    assert rule.shown(live) and rule.shown(ended) and rule.remaining("b") == 600 and rule.remaining("a") is None
    clock.now += 599
    rule.note(ended)  # seen again: the time counts from the first sighting
    assert rule.shown(ended)
    clock.now += 1
    assert not rule.shown(ended) and rule.shown(ended, pinned={"b"}) and rule.shown(live)
    rule.note({"id": "b", "state": "online"})  # not expired any more: forgotten
    assert rule.remaining("b") is None and rule.shown({"id": "b", "state": "online"})


def test_the_model_fades_expired_rows_and_prunes_them_but_keeps_the_selected(qtmodeltester):
    clock = Clock()
    model = SessionsModel(Texts("ko"), expired=ExpiredSessions(keep_seconds=600, clock=clock))
    model.reset([{"id": "a", "code": "1111", "state": "online"}, {"id": "b", "code": "2222", "state": "expired"},
                 {"id": "c", "code": "3333", "state": "offline"}])
    qtmodeltester.check(model)
    b = model.row_of("b")
    assert model.index(b, 0).data(Qt.ForegroundRole) is not None  # faded
    assert model.index(model.row_of("a"), 0).data(Qt.ForegroundRole) is None
    assert "10분 후 목록에서 사라집니다" in model.index(b, 0).data(Qt.ToolTipRole)
    model.upsert({"id": "c", "state": "expired"})
    model.pinned = {"c"}  # selected: its record form may hold unsaved edits
    clock.now += 300
    assert model.prune() == []
    clock.now += 300
    removed = []
    model.rowsRemoved.connect(lambda parent, first, last: removed.append(first))
    assert model.prune() == ["b"] and len(removed) == 1
    assert [r["id"] for r in model.rows] == ["a", "c"]
    # the client's next full list still has "b" (AgentClient keeps every session): it stays out
    model.reset([{"id": "a", "state": "online"}, {"id": "b", "state": "expired"}, {"id": "c", "state": "expired"}])
    assert sorted(r["id"] for r in model.rows) == ["a", "c"]
    model.upsert({"id": "b", "state": "expired"})
    assert model.row_of("b") == -1
    model.pinned = set()
    assert model.prune() == ["c"] and [r["id"] for r in model.rows] == ["a"]
    qtmodeltester.check(model)
    english = SessionsModel(Texts("en"))
    english.reset([{"id": "x", "state": "expired"}])
    assert "leave this list after 10 minutes" in english.index(0, 0).data(Qt.ToolTipRole)
