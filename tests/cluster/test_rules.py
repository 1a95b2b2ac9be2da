"""The cluster's rules on their own: node ids, where a customer goes, who is alive, the events cursor."""

from __future__ import annotations

import pytest

from anysupport.cluster.rules import (
    EventCursor,
    NodeDirectory,
    customer_placement,
    resolve_node_id,
    ws_url_for,
)
from anysupport.config import ConfigError, load_config
from tests.support.clock import ManualClock


def test_the_node_id_is_generated_once_and_kept_in_the_data_dir(tmp_path):
    first = resolve_node_id("", str(tmp_path))
    assert first == resolve_node_id("", str(tmp_path))  # a restart keeps its id, hence its sessions
    assert (tmp_path / "node_id").read_text().strip() == first
    assert resolve_node_id("node-7", str(tmp_path)) == "node-7"  # the setting wins
    other = tmp_path / "other"
    assert resolve_node_id("", str(other)) != first


def test_a_broken_node_id_file_is_replaced(tmp_path):
    (tmp_path / "node_id").write_text("not a valid id!\n")
    node = resolve_node_id("", str(tmp_path))
    assert node != "not a valid id!" and (tmp_path / "node_id").read_text().strip() == node


def test_node_settings_are_checked():
    with pytest.raises(ConfigError, match="node_id"):
        load_config(environ={}, overrides={"node_id": "a/b"})
    with pytest.raises(ConfigError, match="node_timeout"):
        load_config(environ={}, overrides={"node_heartbeat": 2.0, "node_timeout": 3.0})
    config = load_config(environ={"ANYSUPPORT_CLUSTER": "true", "ANYSUPPORT_NODE_ID": "b"})
    assert config.cluster is True and config.node_id == "b" and config.cluster_events == "auto"


def test_ws_url_names_the_node_on_the_same_origin_or_its_own_address():
    assert ws_url_for(None) == "/ws"
    assert ws_url_for("a") == "/node/a/ws"
    assert ws_url_for("a", "https://node1.example.com/") == "wss://node1.example.com/ws"
    assert ws_url_for("a", "http://10.0.0.5:8888") == "ws://10.0.0.5:8888/ws"


def test_a_customer_is_kept_sent_on_or_held():
    alive = {"a", "b"}.__contains__
    assert customer_placement(None, "a", alive) == "here"
    assert customer_placement("a", "a", alive) == "here"
    assert customer_placement("b", "a", alive) == "moved"  # media never crosses nodes
    assert customer_placement("c", "a", alive) == "hold"  # its node is dead: wait here for the agent


def test_a_node_is_alive_while_its_heartbeat_moves():
    clock = ManualClock()
    directory = NodeDirectory("a", 5.0, clock=clock.monotonic)
    assert directory.alive("a") and not directory.alive("b")
    directory.update([{"id": "a", "seen_at": 1}, {"id": "b", "seen_at": 1, "url": "https://b.example.com"}])
    assert directory.alive("b") and directory.ws_url("b") == "wss://b.example.com/ws"
    clock.advance(4.9)
    directory.update([{"id": "a", "seen_at": 2}, {"id": "b", "seen_at": 1}])  # b stopped beating
    assert directory.alive("b")
    clock.advance(0.2)
    assert not directory.alive("b")  # 5.1 s since its heartbeat last changed
    directory.update([{"id": "a", "seen_at": 3}, {"id": "b", "seen_at": 9}])  # it came back
    assert directory.alive("b")
    directory.update([{"id": "a", "seen_at": 4}])  # it left in order (its heartbeat deleted)
    assert not directory.alive("b") and directory.known() == ["a"]
    assert directory.alive("a") and directory.alive(None)


def test_the_cursor_takes_each_event_once_in_order():
    cursor = EventCursor(10)
    assert [e["seq"] for e in cursor.take([{"seq": 12}, {"seq": 11}, {"seq": 9}])] == [11, 12]
    assert cursor.position == 12
    assert cursor.take([{"seq": 12}]) == []


def test_the_cursor_waits_for_a_missing_number_then_skips_it():
    clock = ManualClock()
    cursor = EventCursor(0, gap_wait=2.0, clock=clock.monotonic)
    assert [e["seq"] for e in cursor.take([{"seq": 1}, {"seq": 3}])] == [1, 3]
    assert cursor.position == 1  # 2 was numbered but not inserted yet: the next read asks after 1
    clock.advance(1.0)
    assert [e["seq"] for e in cursor.take([{"seq": 2}, {"seq": 3}])] == [2]  # it landed late: taken, 3 not again
    assert cursor.position == 3
    cursor.take([{"seq": 5}])
    clock.advance(1.0)
    cursor.take([{"seq": 5}])
    assert cursor.position == 3
    clock.advance(1.5)  # 4 never comes (its node died between numbering and inserting)
    assert cursor.take([{"seq": 5}, {"seq": 6}])[0]["seq"] == 6
    assert cursor.position == 6
