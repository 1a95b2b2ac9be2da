"""Checking one control message: the compiled schemas (what the server runs) against interpreting
the same JSON Schemas with ``jsonschema`` per message (what it ran before issue 13), with parsing
the message's JSON text as the baseline.

    .venv/bin/pytest benchmarks/test_bench_control.py --benchmark-enable

In the normal suite (``--benchmark-disable``) every case runs once, and the verdicts are checked.
"""

from __future__ import annotations

import json

import pytest

from anysupport.protocol import messages
from anysupport.protocol.messages import parse_json, validate_client_message

SID = "65a1f0c2e4b5d6a7b8c9d0e1"
CASES = {
    "chat": ("agent", {"type": "chat", "session_id": SID, "text": "카메라를 조금 더 가까이 대 주세요."}),
    "guide": ("agent", {"type": "guide", "session_id": SID, "direction": "closer"}),
    "camera": ("agent", {"type": "camera", "session_id": SID, "command": "focus", "x": 0.4, "y": 0.6}),
    "stroke_200": ("agent", {"type": "annotation", "session_id": SID, "op": "add", "item": {
        "id": "s1", "shape": "stroke", "color": "#ff3b30", "width": 4,
        "points": [[i / 200, (200 - i) / 200] for i in range(200)]}}),
}


def interpreted(message: dict, sender: str) -> dict:
    """The check as it was: every message through the interpreted schema."""
    problem = messages._first_error(messages._CLIENT_VALIDATORS[message["type"]], message)
    assert problem is None
    return message


@pytest.mark.parametrize("case", CASES)
def test_compiled(benchmark, case):
    sender, message = CASES[case]
    assert benchmark(validate_client_message, message, sender) is message


@pytest.mark.parametrize("case", CASES)
def test_interpreted_before(benchmark, case):
    sender, message = CASES[case]
    assert benchmark(interpreted, message, sender) is message


@pytest.mark.parametrize("case", CASES)
def test_baseline_parse_json(benchmark, case):
    text = json.dumps(CASES[case][1], ensure_ascii=False)
    assert benchmark(parse_json, text) == CASES[case][1]
