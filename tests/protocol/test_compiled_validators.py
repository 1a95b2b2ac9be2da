"""The compiled checks (``fastjsonschema``) against the interpreted schemas (``jsonschema``, the
documented source of truth): the same verdict on every golden message, on every refused one, and
on many variants of them (a field dropped, changed to another JSON value, or one added)."""

from __future__ import annotations

import json
from pathlib import Path

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anysupport.protocol import messages
from anysupport.protocol.messages import CLIENT_SCHEMAS, SERVER_SCHEMAS, as_draft7, compile_schema

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "data" / "control_messages.json").read_text(encoding="utf-8"))
COMPILED = {("client", t): compile_schema(s) for t, s in CLIENT_SCHEMAS.items()}
COMPILED |= {("server", t): compile_schema(s) for t, s in SERVER_SCHEMAS.items()}
INTERPRETED = {("client", t): v for t, v in messages._CLIENT_VALIDATORS.items()}
INTERPRETED |= {("server", t): v for t, v in messages._SERVER_VALIDATORS.items()}


def verdicts(side: str, message) -> tuple[bool, bool]:
    key = (side, message.get("type") if isinstance(message, dict) else None)
    try:
        COMPILED[key](message)
        compiled = True
    except fastjsonschema.JsonSchemaException:
        compiled = False
    return compiled, INTERPRETED[key].is_valid(message)


def examples() -> list[tuple[str, dict]]:
    out = [("client", e["message"]) for e in GOLDEN["client"]]
    out += [("server", e["message"]) for e in GOLDEN["server"]]
    for entry in GOLDEN["invalid"]:
        message = entry.get("message")
        if isinstance(message, dict) and message.get("type") in CLIENT_SCHEMAS:
            out.append(("client", message))
    return out


EXAMPLES = examples()


@pytest.mark.parametrize("side, message", EXAMPLES, ids=[f"{s}:{json.dumps(m)[:60]}" for s, m in EXAMPLES])
def test_the_same_verdict_on_every_golden_message(side, message):
    compiled, interpreted = verdicts(side, message)
    assert compiled == interpreted


def test_prefix_items_become_draft7_tuples():
    point = {"type": "array", "prefixItems": [{"type": "number"}], "items": {"type": "string"}}
    assert as_draft7(point) == {"type": "array", "items": [{"type": "number"}], "additionalItems": {"type": "string"}}
    check = compile_schema(messages.POINT)
    check([0.5, 1])
    with pytest.raises(fastjsonschema.JsonSchemaException):
        check([0.5, 2])  # the second coordinate is checked too, as 2020-12 prefixItems does


def test_the_timestamp_format_is_checked_as_jsonschema_checks_it():
    message = next(m for s, m in EXAMPLES if s == "server" and "time" in m)
    for value in ("2026-05-18T01:20:00.000Z", "not a time", "2026-13-45T99:99:99Z"):
        assert len(set(verdicts("server", {**message, "time": value}))) == 1, value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | st.sampled_from(["#ff0000", "up", "add", "65a1f0c2e4b5d6a7b8c9d0e1", "stroke", 0.5, 1.0]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


@st.composite
def variants(draw):
    side, message = draw(st.sampled_from(EXAMPLES))
    message = json.loads(json.dumps(message))
    target = message
    # sometimes go one level down (an annotation's item, a point list)
    nested = [k for k, v in message.items() if isinstance(v, dict) and v]
    if nested and draw(st.booleans()):
        target = message[draw(st.sampled_from(nested))]
    action = draw(st.sampled_from(["drop", "change", "add"]))
    keys = [k for k in target if k != "type" or target is not message]
    if action == "drop" and keys:
        del target[draw(st.sampled_from(keys))]
    elif action == "change" and keys:
        target[draw(st.sampled_from(keys))] = draw(JSON_VALUES)
    else:
        target[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return side, message


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_the_same_verdict_on_variants(case):
    side, message = case
    compiled, interpreted = verdicts(side, message)
    assert compiled == interpreted, message
