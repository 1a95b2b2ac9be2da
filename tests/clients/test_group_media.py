"""``GroupMedia`` (the Python clients' version 2, issue 21) on its own: three participants wired through
in-memory message passing in place of the server, a hand-moved clock."""

from __future__ import annotations

from anysupport_client.session.group_media import GroupMedia
from anysupport_native import keys

from tests.support.clock import ManualClock

SID = "65a1f0c2e4b5d6a7b8c9d0e1"
PEOPLE = [{"index": i, "role": r, "name": r, "rights": "full", "present": True}
          for i, r in ((0, "customer"), (1, "agent"), (2, "guest"))]


class Net:
    """Routes what each GroupMedia sends as the server would (``to`` one, ``from_index`` added)."""

    def __init__(self, clock):
        self.queue: list[tuple[int, dict]] = []
        self.sent: list[tuple[int, dict]] = []
        self.events: list[tuple[int, str, dict]] = []
        self.media = {i: GroupMedia(SID, send_json=lambda m, i=i: self.queue.append((i, m)),
                                    emit=lambda n, d, i=i: self.events.append((i, n, d)), monotonic=clock.monotonic)
                      for i in range(3)}

    def members(self, people):
        for i, media in self.media.items():
            if any(p["index"] == i for p in people):
                media.on_participants({"type": "participants", "you": i, "version": 2, "participants": people})
        self.run()

    def run(self):
        while self.queue:
            self.run_one()

    def run_one(self):
        if self.queue:
            sender, message = self.queue.pop(0)
            self.sent.append((sender, message))
            target = self.media[message["to"]]
            relayed = {**message, "from_index": sender}
            if message["type"] == "key_exchange":
                target.on_key_exchange(relayed)
            elif message["type"] == "sender_key":
                target.on_sender_key(relayed)
            elif message["type"] == "key_exchange_failed" and message["reason"] == "no_keys":
                target.on_no_keys(relayed)
            elif message["type"] == "key_exchange_failed":
                self.events.append((message["to"], "retry_after", {"peer": sender,
                                                                    "wait": target.on_key_exchange_failed(relayed)}))


def test_three_agree_pairs_and_keys_and_a_removed_one_opens_nothing_new():
    net = Net(ManualClock())
    net.members(PEOPLE)
    a, b, c = (net.media[i] for i in range(3))
    assert a.sas[1] == b.sas[0] and a.sas[2] == c.sas[0] and b.sas[2] == c.sas[1]
    frame = a.seal(0, b"video", True, 1)
    assert b.open(frame)[1] == b"video" and c.open(frame)[1] == b"video"
    # the guest (2) is removed: the others start new epochs it never gets
    net.members(PEOPLE[:2])
    frame = a.seal(0, b"after", True, 2)
    assert b.open(frame)[1] == b"after"
    assert c.open(frame) is None
    control = a.seal_control({"type": "chat", "text": "비밀"})
    assert b.open_control({**control, "from": "customer", "from_index": 0})["text"] == "비밀"
    assert c.open_control({**control, "from": "customer", "from_index": 0}) is None


def test_a_peer_cannot_make_me_answer_new_pair_keys_too_often():
    clock = ManualClock()
    net = Net(clock)
    net.members(PEOPLE)
    customer = net.media[0]
    first = customer.sas[2]
    clock.advance(1.5)  # past the first gap (2 s, halved on the answering side)
    mark = len(net.sent)

    def forged():  # a server making "participant 2" start a new pair again and again, to search for a code
        net.queue.append((2, {"type": "key_exchange", "version": 2, "to": 0,
                              "public_key": keys.encode_public_key(keys.generate_private_key())}))
        net.run()

    for _ in range(5):
        forged()
    answers = [m for s, m in net.sent[mark:] if s == 0 and m["type"] == "key_exchange" and m["to"] == 2]
    refusals = [m for s, m in net.sent[mark:] if s == 0 and m["type"] == "key_exchange_failed"]
    assert len(answers) == 1 and customer.sas[2] != first  # one new code, then no more for a while
    assert len(refusals) >= 4 and {m["reason"] for m in refusals} == {"rekey_limit"}
    assert all(m["retry_after"] >= 1 and m["to"] == 2 for m in refusals)
    clock.advance(20)
    mark = len(net.sent)
    forged()
    assert [m["type"] for s, m in net.sent[mark:] if s == 0][:1] == ["key_exchange"]  # answered again, later


def test_a_participant_started_again_asks_for_new_pairs_and_is_answered_within_the_limit():
    """The customer's page reloaded mid-call: a new GroupMedia for index 0, with no pair; it asks 1 and 2
    (`key_exchange_failed` `no_keys` with `to`), they start new pairs, and its new frames open again. Asked
    again at once (a server replaying the request), they refuse: no new code."""
    clock = ManualClock()
    net = Net(clock)
    net.members(PEOPLE)
    old = (net.media[1].sas[0], net.media[2].sas[0])
    net.media[0] = GroupMedia(SID, send_json=lambda m: net.queue.append((0, m)),
                              emit=lambda n, d: net.events.append((0, n, d)), monotonic=clock.monotonic)
    net.media[0].on_participants({"type": "participants", "you": 0, "version": 2, "participants": PEOPLE})

    def ask():
        for peer in (1, 2):
            net.queue.append((0, {"type": "key_exchange_failed", "reason": "no_keys", "to": peer}))
        net.run()

    ask()
    page, agent, guest = (net.media[i] for i in range(3))
    assert page.sas[1] == agent.sas[0] and page.sas[2] == guest.sas[0]
    assert (agent.sas[0], guest.sas[0]) != old
    frame = page.seal(0, b"again", True, 1)
    assert agent.open(frame)[1] == b"again" and guest.open(frame)[1] == b"again"
    mark = len(net.sent)
    ask()
    assert not [m for s, m in net.sent[mark:] if m["type"] == "key_exchange"]
    assert agent.refused >= 1 and guest.refused >= 1


def test_a_new_pair_asked_for_and_refused_by_the_limit_is_started_again_after_the_wait():
    """The customer asks the agent for a new pair (``no_keys``) so soon after the first that its own re-key
    limit refuses the agent's exchange (``rekey_limit``): the agent still holds the old channel, and starts
    the exchange again after the wait it was given (as ``AgentSession`` schedules ``retry_pair``)."""
    clock = ManualClock()
    net = Net(clock)
    net.members(PEOPLE[:2])
    customer, agent = net.media[0], net.media[1]
    old = agent.sas[0]
    net.queue.append((0, {"type": "key_exchange_failed", "reason": "no_keys", "to": 1}))
    net.run()
    [(_, _, refused)] = [e for e in net.events if e[1] == "retry_after"]
    assert refused["peer"] == 0 and refused["wait"] > 0 and agent.sas[0] == old
    clock.advance(refused["wait"])
    agent.retry_pair(0)
    net.run()
    assert agent.sas[0] != old and agent.sas[0] == customer.sas[1]
    agent.retry_pair(0)  # agreed: nothing more to start
    net.run()
    assert agent.sas[0] == customer.sas[1]
