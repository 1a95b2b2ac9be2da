"""Issue 21, the console's side of the other participants' drawings (no Qt): the rule that keeps each sender's
drawings its own (``AnnotationScene.apply_peer``, ``AgentSession`` receiving a sealed ``annotation``), and the
other consoles' anchors followed next to this console's own in the one scene the viewer draws
(``SessionAnchors.peers``), hidden on a camera switch. Version 1 (no ``from_index``) changes nothing."""

from __future__ import annotations

import numpy as np
from anysupport_agent.anchoring import SessionAnchors
from anysupport_client.media.annotation import AnnotationScene, warp_item, well_formed
from anysupport_client.session.agent_client import AgentClient
from anysupport_client.session.agent_session import AgentSession

from anysupport.protocol.messages import ProtocolError, validate_client_message
from tests.support.clock import ManualClock
from tests.support.scenes import REF_SIZE, moving

SID = "65a000000000000000000001"


def rect(item_id: str, x: float = 0.2) -> dict:
    return {"id": item_id, "shape": "rect", "color": "#00a0ff", "width": 3, "points": [[x, 0.3], [x + 0.3, 0.6]]}


def ids(scene) -> list[str]:
    return [item["id"] for item in scene.ordered()]


def test_each_senders_drawings_stay_its_own_on_a_console():
    scene = AnnotationScene()
    me = 1  # the session's agent; 2 is the invited expert
    scene.apply({"op": "add", "item": rect("mine"), "from_index": me})
    assert scene.apply_peer({"op": "add", "item": rect("theirs", 0.5), "from_index": 2}, me) == []
    assert scene.owners == {"mine": 1, "theirs": 2} and ids(scene) == ["mine", "theirs"]
    # my undo (the console applies its own under its index) takes my last drawing, not the newer one of the expert
    assert scene.taken({"op": "undo", "from_index": me}) == ["mine"]
    assert scene.taken({"op": "clear", "from_index": me}) == ["mine"]
    # the expert's may not replace nor remove mine; an add of its own again replaces its own
    assert scene.apply_peer({"op": "add", "item": rect("mine", 0.1), "from_index": 2}, me) is None
    assert scene.apply_peer({"op": "remove", "id": "mine", "from_index": 2}, me) is None
    assert scene.items["mine"]["points"][0][0] == 0.2
    assert scene.apply_peer({"op": "add", "item": rect("theirs", 0.6), "from_index": 2}, me) == ["theirs"]
    # mine echoed or a version-1 message (no from_index) is not another's
    assert scene.apply_peer({"op": "clear", "from_index": me}, me) is None
    assert scene.apply_peer({"op": "clear"}, me) is None
    assert scene.apply_peer({"op": "clear", "from_index": True}, me) is None
    # the expert's undo and clear take only its own
    scene.apply_peer({"op": "add", "item": rect("theirs2", 0.4), "from_index": 2}, me)
    assert scene.apply_peer({"op": "undo", "from_index": 2}, me) == ["theirs2"]
    assert scene.apply_peer({"op": "clear", "from_index": 2}, me) == ["theirs"]
    assert ids(scene) == ["mine"]
    assert scene.apply_peer({"op": "clear", "from_index": 2}, me) is None  # nothing of its own left


def session_of(index: int | None):
    client = AgentClient("http://127.0.0.1:9")  # never connected: the messages are handed in as the socket would
    session = AgentSession(client, {"id": SID, "state": "connected"})
    session.media.group.me = index  # what ``participants`` says (version 2); None: a version-1 call
    events = []
    session.listeners.append(lambda name, data: events.append((name, data)))
    return session, events


def test_agent_session_keeps_a_peers_sealed_drawing_and_checks_it():
    session, events = session_of(1)
    session.annotate("add", rect("mine"))  # (sent nowhere: not connected) kept under my index
    assert session.scene.owners == {"mine": 1}
    relayed = {"type": "annotation", "op": "add", "item": rect("theirs", 0.5), "from": "agent", "from_index": 2,
               "time": "2026-12-06T19:00:00Z", "session_id": SID}
    session.on_message(relayed)
    assert session.scene.owners == {"mine": 1, "theirs": 2}
    assert ("peer_annotation", {"from_index": 2, "op": "add", "gone": [], "session_id": SID}) in events
    # what the server would refuse from a console is refused here too (the server cannot read a sealed one)
    bad = {**relayed, "item": {**rect("odd"), "points": [[2.0, 0.1], [0.3, 0.4]]}}
    session.on_message(bad)
    bad_shape = {**relayed, "item": {**rect("odd"), "shape": "blob"}}
    session.on_message(bad_shape)
    assert "odd" not in session.scene.items
    session.annotate("undo")  # my undo: mine goes, the expert's stays
    assert ids(session.scene) == ["theirs"]
    session.on_message({**{k: v for k, v in relayed.items() if k != "item"}, "op": "clear"})
    assert len(session.scene) == 0
    assert events[-2][0] == "peer_annotation" and events[-2][1]["gone"] == ["theirs"]


def test_in_version_1_nothing_changes():
    session, events = session_of(None)
    session.annotate("add", rect("mine"))
    assert session.scene.owners == {"mine": 1}  # the session's agent, as before
    session.on_message({"type": "annotation", "op": "clear", "from": "agent", "session_id": SID})
    assert ids(session.scene) == ["mine"] and not [e for e in events if e[0] == "peer_annotation"]
    session.annotate("clear")
    assert len(session.scene) == 0


def test_the_others_anchors_and_mine_share_the_viewers_scene_and_a_camera_switch_hides_theirs():
    scene = moving(150, seconds=1.0)
    clock = ManualClock()
    anchors = SessionAnchors(AnnotationScene(), clock=clock.monotonic)
    frames = [scene.render(i) for i in range(4)]
    assert anchors.camera_state({"facing": "back"}) is None
    # mine, anchored on frame 0 and tracked on frame 1
    (x0, y0), (x1, y1) = scene.stroke[0], scene.stroke[3]
    mine = {"id": "a1", "shape": "arrow", "color": "#ff0000", "width": 4,
            "points": [[x0 / REF_SIZE[0], y0 / REF_SIZE[1]], [x1 / REF_SIZE[0], y1 / REF_SIZE[1]]]}
    anchors.scene.apply({"op": "add", "item": mine, "from_index": 1})
    assert anchors.drawn(mine, frames[0])
    anchors.peers.sent(0, frames[0])
    anchors.frame(frames[1], 1)
    # the expert's rectangle, and the expert's console's anchor for frame 1 (which this console decoded too)
    theirs = rect("b1")
    anchors.scene.apply_peer({"op": "add", "item": theirs, "from_index": 2}, 1)
    anchors.peers.sent(1, frames[1])
    h = np.array([[1, 0, 0.05], [0, 1, 0.02], [0, 0, 1]], np.float64)
    anchors.peers.received({"type": "anchor", "timestamp_us": 1, "from_index": 2, "anchors": {"b1": h.reshape(9).tolist()}})
    shown = {item["id"]: item for item in anchors.shown.ordered()}
    assert set(shown) == {"a1", "b1"}
    assert np.allclose(shown["b1"]["points"], warp_item(theirs, h)["points"])
    assert anchors.shown.homographies["a1"] is not None  # mine untouched by theirs
    mine_message = anchors.frame(frames[2], 2)
    assert "b1" in anchors.shown.homographies  # ... and theirs by mine
    assert mine_message is None or set(mine_message["anchors"]) == {"a1"}  # I anchor only mine
    # a camera switch: both hidden; the customer is told about mine only
    message = anchors.camera_state({"facing": "front"}, 99)
    assert message == {"type": "anchor", "timestamp_us": 99, "anchors": {"a1": None}}
    assert anchors.shown.ordered() == []
    # the expert anchors it again on the new camera's frames: shown again
    anchors.peers.sent(3, frames[3])
    anchors.peers.received({"type": "anchor", "timestamp_us": 3, "from_index": 2, "anchors": {"b1": np.eye(3).reshape(9).tolist()}})
    assert ids(anchors.shown) == ["b1"]
    # the expert's clear forgets its anchors
    gone = anchors.scene.apply_peer({"op": "clear", "from_index": 2}, 1)
    anchors.peers.annotated(gone)
    assert "b1" not in anchors.shown.homographies and anchors.shown.ordered() == []


def test_an_anchor_for_a_frame_not_decoded_here_yet_waits_for_it_and_a_frozen_picture_keeps_its_positions():
    scene = moving(150, seconds=1.0)
    anchors = SessionAnchors(AnnotationScene(), clock=ManualClock().monotonic)
    frames = [scene.render(i) for i in range(4)]
    theirs = rect("b1")
    anchors.scene.apply_peer({"op": "add", "item": theirs, "from_index": 2}, 1)
    anchors.peers.sent(0, frames[0])
    h1 = np.array([[1, 0, 0.05], [0, 1, 0], [0, 0, 1]], np.float64)
    # the expert's console is ahead: its anchor for frame 1 arrives before this console decoded frame 1
    anchors.peers.received({"type": "anchor", "timestamp_us": 1, "from_index": 2, "anchors": {"b1": h1.reshape(9).tolist()}})
    assert "b1" not in anchors.peers.anchors and len(anchors.peers.early) == 1
    anchors.peers.sent(1, frames[1])
    assert not anchors.peers.early
    assert np.allclose(anchors.shown.ordered()[0]["points"], warp_item(theirs, h1)["points"])
    # frozen here: the frozen picture keeps b1 where it was; on release it is brought up to date
    anchors.freeze(frames[1])
    anchors.peers.sent(2, frames[2])
    anchors.peers.received({"type": "anchor", "timestamp_us": 2, "from_index": 2, "anchors": {"b1": None}})
    assert np.allclose(anchors.shown.ordered()[0]["points"], warp_item(theirs, h1)["points"])
    assert anchors.release() == []
    assert anchors.shown.ordered() == []  # lost on the expert's console: hidden here too


def test_a_sealed_drawing_is_checked_as_the_servers_schema_checks_a_consoles():
    good = rect("b1")
    cases = [
        {"op": "add", "item": good}, {"op": "undo"}, {"op": "clear"}, {"op": "remove", "id": "b1"},
        {"op": "add", "item": {**good, "shape": "text", "points": [[0.5, 0.5]], "text": "여기", "size": 24}},
        {"op": "add", "item": {**good, "shape": "stroke", "points": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.1]]}},
        {"op": "add"}, {"op": "remove"}, {"op": "erase"}, {"op": "add", "item": None},
        {"op": "add", "item": {**good, "points": [[1.5, 0.1], [0.3, 0.4]]}},
        {"op": "add", "item": {**good, "points": [[0.1, 0.1]]}},
        {"op": "add", "item": {**good, "points": [[0.1, True], [0.3, 0.4]]}},
        {"op": "add", "item": {**good, "shape": "blob"}},
        {"op": "add", "item": {**good, "color": "red"}},
        {"op": "add", "item": {**good, "width": 100}},
        {"op": "add", "item": {**good, "id": "a b"}},
        {"op": "add", "item": {**good, "extra": 1}},
        {"op": "add", "item": {**good, "shape": "text", "points": [[0.5, 0.5]]}},
        {"op": "add", "item": {**good, "shape": "text", "points": [[0.5, 0.5]], "text": ""}},
        {"op": "add", "item": {**good, "size": 2}},
        {"op": "add", "item": {k: v for k, v in good.items() if k != "width"}},
    ]
    for case in cases:
        try:
            validate_client_message({"type": "annotation", "session_id": SID, **case}, "agent")
            allowed = True
        except ProtocolError:
            allowed = False
        assert well_formed(case) is allowed, case
