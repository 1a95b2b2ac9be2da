"""The page checks what its H.264 encoder really gives on a test frame at start (issue 19 "WebKit"),
in Chromium: its own Annex B is sent as it is; an encoder that ignores ``avc: {format: "annexb"}``
(as WebKitGTK's does; here Chromium's, made to) is converted and the agent decodes the call; an
encoder that gives bytes of neither kind is named in the page instead of a silent call."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.browser import assert_discards_only_after_stale

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

# Chromium's encoder as WebKitGTK 2.50's: asked for Annex B, it gives length-prefixed AVC (and an avcC)
LENGTH_PREFIXED = """
(() => {
    const Real = window.VideoEncoder;
    window.VideoEncoder = class extends Real {
        configure(config) { super.configure({...config, avc: {format: 'avc'}}); }
    };
})();
"""

# an encoder that says yes to the config and then gives bytes that are no H.264 we can send
GARBAGE = """
(() => {
    const Real = window.VideoEncoder;
    window.VideoEncoder = class extends Real {
        constructor(init) {
            super({error: init.error, output: (chunk) => init.output(new EncodedVideoChunk(
                {type: chunk.type, timestamp: chunk.timestamp, data: new Uint8Array([9, 9, 9, 9, 9, 9])}), {})});
        }
    };
})();
"""


async def test_chromium_annexb_is_found_and_sent_as_it_is(call):
    agent, customer = await call()
    assert await customer.value("window.anysupportCall.found.video_encode_output") == "annexb"
    frames = await agent.wait_frames(5, timeout=15)
    assert {(f.width, f.height) for f in frames} == {(640, 480)}
    await customer.assert_no_errors()


async def test_length_prefixed_encoder_output_is_converted_and_decoded(call):
    agent, customer = await call("en-US", init_script=LENGTH_PREFIXED)
    assert await customer.value("window.anysupportCall.found.video_encode_output") == "avc"
    frames = await agent.wait_frames(10, timeout=15)
    assert {(f.width, f.height) for f in frames} == {(640, 480)}
    await assert_discards_only_after_stale(agent, customer)
    # a keyframe asked for starts with the parameter sets the agent's decoder needs
    last = (await agent.wait_frames(1, timeout=5, predicate=lambda f: f.keyframe))[0]
    agent.send({"type": "keyframe_request", "stream": "customer_video"})
    await agent.wait_frames(1, timeout=10, predicate=lambda f: f.keyframe and f.sequence > last.sequence)
    assert await customer.value("window.anysupportCall.stats.encode_errors") == 0
    await customer.assert_no_errors()


@pytest.mark.parametrize("locale, text", [
    ("ko-KR", "시험 화면을 보낼 수 있는 영상으로 만들지 못했습니다"),
    ("en-US", "could not turn a test picture into video we can send"),
])
async def test_an_encoder_that_gives_nothing_usable_is_named(server, phone, agents, locale, text):
    agent = await agents.new(server.url, "bre")
    customer = await phone(locale, init_script=GARBAGE)
    await customer.join(server.url, agent.session["code"])
    await expect(customer.page.locator("#joined-view")).to_be_visible()
    await expect(customer.page.locator("#joined-reason")).to_contain_text(text)
    assert (await customer.page.locator("#app-link").get_attribute("href")).startswith("anysupport://join?")
