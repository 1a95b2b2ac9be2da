"""The customer page's rule for who wrote a chat line (anysupport/static/customer/chat.js, issue 21) in real
headless Chromium, on the cases of tests/data/chat_writers.json that the Python rule passes too
(tests/protocol/test_chat_writers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

CASES = json.loads((Path(__file__).resolve().parents[1] / "data" / "chat_writers.json").read_text("utf-8"))["cases"]

JS_CASES = """async (cases) => {
    const {ChatWriters} = await import('/static/customer/chat.js');
    return cases.map((c) => {
        const writers = new ChatWriters();
        for (const list of c.lists) writers.learn(list, c.you);
        return {writer: writers.writer(c.line), mine: writers.isMine(c.line)};
    });
}"""


async def test_js_names_the_same_writers(server, phone):
    customer = await phone()
    await customer.page.goto(server.url + "/")
    got = await customer.page.evaluate(JS_CASES, CASES)
    for case, result in zip(CASES, got, strict=True):
        writer = result["writer"]
        assert (writer["index"] if writer else None) == case["writer"], case["name"]
        assert result["mine"] is case["mine"], case["name"]
        if "unknown_role" in case:
            assert writer == {"index": case["writer"], "role": case["unknown_role"], "name": ""}, case["name"]
        elif writer is not None:
            assert writer == [p for lst in case["lists"] for p in lst if p["index"] == case["writer"]][-1], case["name"]
    await customer.assert_no_errors()
