"""The console's item models, without views (pytest-qt's model tester checks the Qt contract)."""

from anysupport_agent.models.chat import ChatModel
from anysupport_agent.models.phrases import PhrasesModel
from anysupport_agent.models.sessions import SessionsModel
from anysupport_agent.models.statistics import StatisticsModel
from anysupport_agent.models.trouble_types import TroubleTypeModel
from anysupport_agent.texts import Texts
from anysupport_qt import Qt

KO = Texts("ko")


def test_sessions_follow_state_messages(qtmodeltester):
    model = SessionsModel(KO)
    model.reset([{"id": "a", "code": "1675", "state": "offline", "created_at": "2026-05-17T21:16:54+09:00",
                  "number": 9}])
    qtmodeltester.check(model)
    assert model.headerData(0, Qt.Horizontal) == "세션"
    assert model.index(0, 0).data() == "1675" and model.index(0, 1).data() == "Offline"
    assert model.index(0, 3).data() == "9" and len(model.index(0, 2).data()) == len("05-17 21:16:54")
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append(a.row()))
    model.upsert({"id": "a", "state": "online", "customer": {"name": "홍길동", "phone": "010", "ip": "1.2.3.4"}})
    assert changed == [0] and model.index(0, 1).data() == "Online" and model.index(0, 0).data() == "1675"
    assert "홍길동" in model.index(0, 0).data(Qt.ToolTipRole)
    model.upsert({"id": "b", "code": "2222", "state": "offline"})
    assert model.rowCount() == 2 and model.row_of("b") == 1
    model.upsert({"id": "a", "state": "expired"})
    model.remove_expired()
    assert [r["id"] for r in model.rows] == ["b"]
    qtmodeltester.check(model)


def test_chat(qtmodeltester):
    model = ChatModel(Texts("en"))
    model.append({"from": "agent", "text": "hi"})
    model.append({"from": "customer", "text": "hello"})
    qtmodeltester.check(model)
    assert model.index(0).data() == "Agent: hi" and model.index(1).data() == "Customer: hello"


def test_phrases_order_and_shortcuts(qtmodeltester):
    model = PhrasesModel(KO)
    model.reset([{"id": "p2", "text": "잠시만요", "shortcut": "Ctrl+2", "order": 1},
                 {"id": "p1", "text": "안녕하세요", "shortcut": "Ctrl+1", "order": 0},
                 {"id": "p3", "text": "감사합니다", "shortcut": None, "order": 2}])
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "안녕하세요" and model.index(0, 1).data() == "Ctrl+1"
    assert model.by_shortcut("Ctrl+2")["id"] == "p2" and model.by_shortcut("F9") is None
    assert model.moved(0, 1) == ["p2", "p1", "p3"]
    assert model.moved(0, -1) is None and model.moved(2, 1) is None


def test_trouble_type_tree(qtmodeltester):
    model = TroubleTypeModel()
    model.load([{"id": "n", "name": "네트워크", "children": [{"id": "w", "name": "와이파이", "children": []}]},
                {"id": "s", "name": "소프트웨어", "children": []}])
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.path("w") == "네트워크 / 와이파이"
    assert not model.find("zzz").isValid() and model.find("s").data() == "소프트웨어"


def test_statistics_table(qtmodeltester):
    model = StatisticsModel(KO, "resolution")
    model.load({"resolution": {"title": "해결 여부", "rows": [{"key": "solved", "label": "해결", "count": 2, "ratio": 0.5},
                                                           {"key": "pending", "label": "보류", "count": 2, "ratio": 0.5}],
                               "total": {"label": "전체", "count": 4, "ratio": 1.0}}})
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.headerData(0, Qt.Horizontal) == "해결 여부"
    assert [model.index(r, 0).data() for r in range(3)] == ["해결", "보류", "전체"]
    assert model.index(0, 2).data() == "50.0%" and model.index(2, 1).data() == "4"
    assert model.headerData(1, Qt.Horizontal) == "발생수"
