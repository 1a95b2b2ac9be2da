"""Issue 21: who wrote each chat line on the console (``chat_label`` and ``ChatModel``, no server): in a call
that had a third participant, 나 for this console's own lines, the customer by name, other agents by name and
role; a two-party call keeps 상담원 / 고객."""

from __future__ import annotations

from anysupport_agent.models.chat import ChatModel, chat_label
from anysupport_agent.texts import Texts
from anysupport_qt import Qt

from anysupport.protocol.chat_writers import ChatWriters

THREE = [{"index": 0, "role": "customer", "name": "김고객", "rights": "full"},
         {"index": 1, "role": "agent", "name": "박상담", "rights": "full"},
         {"index": 2, "role": "guest", "name": "이전문", "rights": "full"}]


def writers(participants, you) -> ChatWriters:
    known = ChatWriters()
    known.learn(participants, you)
    return known


def test_two_party_calls_keep_agent_and_customer():
    ko, two = Texts("ko"), writers(THREE[:2], 1)
    assert chat_label({"from": "agent", "from_index": 1, "text": "x"}, two, ko) == ("상담원", "me")
    assert chat_label({"from": "customer", "text": "x"}, two, ko) == ("고객", "customer")
    assert chat_label({"from": "agent", "text": "x"}, ChatWriters(), Texts("en")) == ("Agent", "me")


def test_each_console_names_the_others_and_itself_as_me():
    ko, en = Texts("ko"), Texts("en")
    agent, expert = writers(THREE, 1), writers(THREE, 2)
    by_agent = {"from": "agent", "from_index": 1, "text": "a"}
    by_expert = {"from": "agent", "from_index": 2, "text": "b"}
    by_customer = {"from": "customer", "from_index": 0, "text": "c"}
    assert chat_label(by_agent, agent, ko) == ("나", "me")
    assert chat_label(by_expert, agent, ko) == ("이전문 (전문가)", "other")
    assert chat_label(by_expert, expert, ko) == ("나", "me")
    assert chat_label(by_agent, expert, ko) == ("박상담 (상담원)", "other")
    assert chat_label(by_agent, expert, en) == ("박상담 (Agent)", "other")
    assert chat_label(by_customer, expert, ko) == ("김고객", "customer")
    assert chat_label(by_expert, agent, en) == ("이전문 (Expert)", "other")


def test_nameless_writers_are_named_by_role():
    ko = Texts("ko")
    nameless = writers([{**p, "name": ""} for p in THREE] + [{"index": 3, "role": "supervisor", "name": "",
                                                               "rights": "view"}], 1)
    assert chat_label({"from": "customer", "text": "c"}, nameless, ko) == ("고객", "customer")
    assert chat_label({"from": "agent", "from_index": 2, "text": "b"}, nameless, ko) == ("전문가", "other")
    assert chat_label({"from": "agent", "from_index": 3, "text": "s"}, nameless, ko) == ("참관자", "other")
    assert chat_label({"from": "agent", "from_index": 9, "text": "?"}, nameless, Texts("en")) == ("Expert", "other")


def test_the_model_names_writers_once_a_third_is_listed(qtmodeltester, qtbot):
    model = ChatModel(Texts("ko"))
    model.append({"from": "agent", "from_index": 1, "text": "안녕하세요"})
    model.append({"from": "customer", "from_index": 0, "text": "네"})
    model.set_participants("s1", THREE[:2], 1)
    assert [model.index(i).data() for i in range(2)] == ["상담원: 안녕하세요", "고객: 네"]
    with qtbot.wait_signal(model.layoutChanged):
        model.set_participants("s1", THREE, 1)
    model.append({"from": "agent", "from_index": 2, "text": "전문가입니다"})
    assert [model.index(i).data() for i in range(3)] == ["나: 안녕하세요", "김고객: 네", "이전문 (전문가): 전문가입니다"]
    model.set_participants("s1", THREE[:2], 1)  # the expert left: its line keeps its name
    assert model.index(2).data() == "이전문 (전문가): 전문가입니다"
    assert model.index(2).data(Qt.ForegroundRole) != model.index(0).data(Qt.ForegroundRole)
    model.set_participants("s2", THREE[:2], 1)  # another session: its own memory, two-party again
    assert model.index(2).data() == "상담원: 전문가입니다"
    qtmodeltester.check(model)
