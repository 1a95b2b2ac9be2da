"""Hypothesis strategies from our control-message JSON Schemas (the subset they use), and mutations that
make them invalid: the WebSocket fuzzer's input.

(hypothesis-jsonschema does not run with the Hypothesis we use, and schemathesis' generator is internal.)
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import strategies as st

JSON_ANY = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values meant to be valid (``if``/``then`` rules are not followed, so some are not: both are wanted)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema and "type" not in schema:
        return st.one_of([from_schema(s) for s in schema["anyOf"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}) for k in kind])
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries({k: from_schema(v) for k, v in props.items() if k in required},
                                     optional={k: from_schema(v) for k, v in props.items() if k not in required})
    if kind == "string":
        top = schema.get("maxLength", 50)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= top)
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat())
        return st.text(min_size=schema.get("minLength", 0), max_size=min(top, 200))
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**53)), schema.get("maximum", 2**53))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*(from_schema(s) for s in schema["prefixItems"])).map(list)
        items = from_schema(schema.get("items", {"type": "null"}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 4), 4))
    return st.none()


@st.composite
def mutated(draw, message: dict[str, Any]) -> dict[str, Any]:
    """One change that a careless or hostile client makes."""
    message = dict(message)
    keys = sorted(message)
    how = draw(st.sampled_from(["replace", "drop", "extra", "surrogate", "deep", "huge", "long"]))
    key = draw(st.sampled_from(keys))
    if how == "replace":
        message[key] = draw(JSON_ANY)
    elif how == "drop":
        message.pop(key)
    elif how == "extra":
        message[draw(st.text(min_size=1, max_size=10))] = draw(JSON_ANY)
    elif how == "surrogate":
        message[key if key != "type" else "text"] = "ok" + chr(draw(st.integers(0xD800, 0xDFFF)))
    elif how == "deep":
        depth = draw(st.integers(30, 1500))
        value: Any = 1
        for _ in range(depth):
            value = [value]
        message[key] = value
    elif how == "huge":
        message[key] = draw(st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**40]))
    else:
        message[key] = "x" * draw(st.integers(65, 5000))
    return message


def encode(message: Any) -> str:
    """As a client would put it on the wire (lone surrogates become \\ud800 escapes)."""
    return json.dumps(message)
