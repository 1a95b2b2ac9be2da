"""A sealed message that arrives before its sender's key waits for it (issue 21; ``SealedWait`` and
``GroupMedia``): three participants wired in memory (tests/clients/test_group_media.py's ``Net``), a
``sender_key`` held back by hand, a hand-moved clock."""

from __future__ import annotations

from anysupport_client.session.sealed_wait import SealedWait

from tests.clients.test_group_media import PEOPLE, Net
from tests.support.clock import ManualClock


def held_back(net: Net, to: int) -> list[dict]:
    """Run the net, keeping back (not delivering) the sender_key messages for ``to``; they are returned."""
    kept = []
    while net.queue:
        sender, message = net.queue[0]
        if message["type"] == "sender_key" and message["to"] == to:
            net.queue.pop(0)
            kept.append({**message, "from_index": sender})
        else:
            net.run_one()
    return kept


def chat(media, text: str, sender: int) -> dict:
    return {**media.seal_control({"type": "chat", "text": text}), "from": "agent", "from_index": sender, "time": 1}


def start(clock: ManualClock):
    net = Net(clock)
    net.members(PEOPLE)
    # the agent (1) starts a new epoch (as after a join), its box to the customer held back
    net.media[1].keys.present = frozenset()  # so that its next membership is a change
    net.media[1].on_participants({"type": "participants", "you": 1, "version": 2, "participants": PEOPLE})
    return net, held_back(net, 0)


def text_of(messages):
    return [m["text"] for m in messages]


def test_an_early_message_is_opened_once_in_order_when_its_key_arrives():
    clock = ManualClock()
    net, boxes = start(clock)
    customer, agent = net.media[0], net.media[1]
    assert len(boxes) == 1 and boxes[0]["epoch"] == 2
    first, second = chat(agent, "하나", 1), chat(agent, "two", 1)
    assert customer.open_control(first) is None and customer.open_control(second) is None
    assert customer.refused == 0 and len(customer.waiting) == 2
    clock.advance(4.5)
    assert text_of(customer.on_sender_key(boxes[0])) == ["하나", "two"]
    assert len(customer.waiting) == 0
    assert customer.open_control(first) is None and customer.refused == 1  # a replay is still refused
    assert customer.open_control(chat(agent, "three", 1))["text"] == "three"


def test_a_replay_while_waiting_is_refused_when_the_key_arrives():
    net, boxes = start(ManualClock())
    customer, agent = net.media[0], net.media[1]
    line = chat(agent, "once", 1)
    customer.open_control(line)
    customer.open_control(line)
    assert text_of(customer.on_sender_key(boxes[0])) == ["once"]
    assert customer.refused == 1
    assert [e[2]["code"] for e in net.events if e[0] == 0 and e[1] == "group_refused"] == ["replayed"]


def test_what_waits_longer_than_the_limit_is_refused_not_opened():
    clock = ManualClock()
    net, boxes = start(clock)
    customer, agent = net.media[0], net.media[1]
    customer.open_control(chat(agent, "late", 1))
    clock.advance(5.0)
    assert customer.on_sender_key(boxes[0]) == []
    assert customer.refused == 1 and len(customer.waiting) == 0
    assert [e[2]["code"] for e in net.events if e[0] == 0 and e[1] == "group_refused"] == ["unknown_key"]


def test_overflow_is_refused_and_what_was_kept_still_opens():
    clock = ManualClock()
    net, boxes = start(clock)
    customer, agent = net.media[0], net.media[1]
    customer.waiting.max_messages = 3
    lines = [chat(agent, str(i), 1) for i in range(5)]
    for line in lines:
        customer.open_control(line)
    assert len(customer.waiting) == 3 and customer.refused == 2
    assert text_of(customer.on_sender_key(boxes[0])) == ["0", "1", "2"]


def test_a_removed_participants_waiting_messages_are_dropped():
    net, _ = start(ManualClock())
    customer, guest = net.media[0], net.media[2]
    guest.keys.present = frozenset()  # the guest too starts a new epoch; its box to the customer is held back
    guest.on_participants({"type": "participants", "you": 2, "version": 2, "participants": PEOPLE})
    guest_boxes = held_back(net, 0)
    customer.open_control(chat(guest, "from the guest", 2))
    assert len(customer.waiting) == 1
    customer.on_participants({"type": "participants", "you": 0, "version": 2, "participants": PEOPLE[:2]})
    assert customer.refused == 1 and len(customer.waiting) == 0  # the guest was removed
    assert customer.on_sender_key(guest_boxes[0]) == []  # not present: its key is refused too
    assert customer.open_control(chat(guest, "after", 2)) is None  # nor does anything of it wait now
    assert customer.refused == 3 and len(customer.waiting) == 0


def test_sealed_wait_bounds_bytes_and_keeps_later_epochs_waiting():
    clock = ManualClock()
    wait = SealedWait(clock=clock.monotonic, max_messages=10, max_bytes=100, max_age_s=5)
    assert wait.hold(1, 2, 60, "a") and not wait.hold(1, 2, 41, "b") and wait.hold(1, 3, 40, "c")
    assert wait.hold(2, 2, 0, "d")
    assert wait.take(1, 2) == ["a"] and wait.senders() == {1, 2}
    assert wait.hold(1, 3, 60, "e")  # the bytes of what was taken are free again
    assert wait.drop(2) == ["d"]
    clock.advance(5)
    assert wait.expire() == ["c", "e"] and len(wait) == 0
