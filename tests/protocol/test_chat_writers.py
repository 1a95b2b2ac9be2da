"""Who wrote a chat line (anysupport/protocol/chat_writers.py), on the cases of tests/data/chat_writers.json
that the customer page's chat.js passes too (tests/web/test_chat_js.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anysupport.protocol.chat_writers import ChatWriters

CASES = json.loads((Path(__file__).resolve().parents[1] / "data" / "chat_writers.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_writer_of_a_line(case):
    writers = ChatWriters()
    for participants in case["lists"]:
        writers.learn(participants, case["you"])
    writer = writers.writer(case["line"])
    assert (writer["index"] if writer else None) == case["writer"]
    assert writers.is_mine(case["line"]) is case["mine"]
    if "unknown_role" in case:
        assert writer == {"index": case["writer"], "role": case["unknown_role"], "name": ""}
    elif writer is not None:
        listed = [p for lst in case["lists"] for p in lst if p["index"] == case["writer"]]
        assert writer == listed[-1]


def test_bad_lists_are_ignored():
    writers = ChatWriters()
    writers.learn("not a list", "x")
    writers.learn([None, {"index": "1"}, {"role": "agent"}, 7])
    assert writers.known == {} and writers.you is None and not writers.named
    assert writers.writer({"from": "agent", "text": "x"}) is None


def test_a_true_from_index_is_not_index_one():
    writers = ChatWriters()
    writers.learn([{"index": i, "role": r, "name": ""} for i, r in enumerate(("customer", "agent", "guest"))], 0)
    assert writers.index_of({"from": "customer", "from_index": True}) == 0
