"""The customer in the phone's browser (issue 12): the real customer page in headless Chromium with a
fake camera playing the stamped test pattern, against the real server, the agent played by
``AgentPeer`` (``anysupport_client``'s ``AgentClient``). One browser for the whole module."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import av
import numpy as np
import pytest
import pytest_asyncio
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_native import framing
from playwright.async_api import async_playwright, expect

from tests.support.browser import CHROMIUM, PHONE, CustomerPage, chromium_args, new_agent, write_pattern_y4m
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VECTORS = json.loads((ROOT / "tests" / "data" / "frame_vectors.json").read_text())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium(tmp_path_factory):
    y4m = write_pattern_y4m(tmp_path_factory.mktemp("camera") / "pattern.y4m")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(y4m, "--host-resolver-rules=MAP support.test 127.0.0.1"))
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def phone(chromium):
    """A phone-sized page with touch, camera and microphone allowed; made in Korean unless asked."""
    contexts = []

    async def make(locale: str = "ko-KR", init_script: str | None = None) -> CustomerPage:
        context = await chromium.new_context(locale=locale, **PHONE)
        context.set_default_timeout(15_000)
        if init_script:
            await context.add_init_script(init_script)
        contexts.append(context)
        return CustomerPage(await context.new_page())

    yield make
    for context in contexts:
        await context.close()


async def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def start_call(server_url: str, phone, locale: str = "ko-KR"):
    """Agent and customer page up to a keyed, connected call with video arriving."""
    agent = await new_agent(server_url, "br")
    customer = await phone(locale)
    await customer.join(server_url, agent.session["code"])
    await agent.accept(timeout=15)
    await agent.wait_for_keys(15)
    await customer.wait("window.anysupportCall && window.anysupportCall.sas !== null")
    return agent, customer


# -- the JavaScript crypto against the vectors -----------------------------------------------------
async def test_js_framing_and_key_schedule_match_the_vectors(server, phone):
    customer = await phone()
    await customer.page.goto(server.url + "/")
    result = await customer.page.evaluate(
        """async (vectors) => {
            const e2e = await import('/static/customer/e2e.js');
            const out = {schedule: [], frames: [], invalid: [], replay: []};
            for (const v of vectors.key_schedule) {
                const pair = await e2e.makeKeyPair(e2e.fromHex(v.customer_private), e2e.fromHex(v.customer_public));
                const peer = e2e.decodePublicKey(v.agent_public_encoded);
                const s = await e2e.deriveSchedule(pair, peer, 'customer', v.session_id);
                const agentPair = await e2e.makeKeyPair(e2e.fromHex(v.agent_private), e2e.fromHex(v.agent_public));
                const a = await e2e.deriveSchedule(agentPair, e2e.fromHex(v.customer_public), 'agent', v.session_id);
                out.schedule.push({
                    customer_public_encoded: e2e.b64url(pair.publicBytes),
                    agent_commitment: await e2e.keyCommitment(peer),
                    customer_commitment: await e2e.keyCommitment(pair.publicBytes),
                    shared_secret: e2e.hex(s.shared), transcript: e2e.hex(s.transcript), hkdf_salt: e2e.hex(s.salt),
                    customer_to_agent_key: e2e.hex(s.customer_to_agent_key),
                    agent_to_customer_key: e2e.hex(s.agent_to_customer_key),
                    sas_bytes: e2e.hex(s.sas_bytes), sas: s.sas, sas_display: s.sas_display,
                    agent_agrees: e2e.hex(a.send_key) === e2e.hex(s.recv_key) && a.sas === s.sas,
                });
            }
            for (const f of vectors.frames) {
                const key = await e2e.aesKey(e2e.fromHex(f.key), 'encrypt');
                const frame = await e2e.sealFrame(key, f.stream, f.sequence, BigInt(f.timestamp_text), f.keyframe,
                                                  e2e.fromHex(f.payload));
                const opener = await e2e.FrameOpener.create(e2e.fromHex(f.key), f.sender);
                const opened = await opener.open(e2e.fromHex(f.frame));
                out.frames.push({frame: e2e.hex(frame), nonce: e2e.hex(e2e.buildNonce(f.stream, f.sequence)),
                                 payload: e2e.hex(opened.payload), sequence: opened.header.sequence,
                                 timestamp_us: opened.header.timestamp_us, keyframe: opened.header.keyframe});
            }
            const inv = vectors.invalid_frames;
            for (const c of inv.cases) {
                const opener = await e2e.FrameOpener.create(e2e.fromHex(inv.key), inv.sender);
                try { await opener.open(e2e.fromHex(c.frame)); out.invalid.push('accepted'); }
                catch (err) { out.invalid.push(err.code); }
            }
            const key = e2e.fromHex(vectors.key_schedule[0].customer_to_agent_key);
            const sealKey = await e2e.aesKey(key, 'encrypt');
            const opener = await e2e.FrameOpener.create(key, 'customer');
            for (const step of vectors.replay_window.steps) {
                const frame = await e2e.sealFrame(sealKey, 0, step.sequence, 1, false, new Uint8Array([1, 2, 3]));
                try { await opener.open(frame); out.replay.push(true); } catch (err) { out.replay.push(false); }
            }
            return out;
        }""", {**VECTORS, "frames": [{**f, "timestamp_text": str(f["timestamp_us"])} for f in VECTORS["frames"]]})
    for got, want in zip(result["schedule"], VECTORS["key_schedule"], strict=True):
        for name in ("customer_public_encoded", "agent_commitment", "customer_commitment", "shared_secret",
                     "hkdf_salt", "customer_to_agent_key", "agent_to_customer_key", "sas_bytes", "sas"):
            assert got[name] == want[name], name
        assert got["agent_agrees"]
    # docs/protocol.md §3.4, the worked example
    first = result["schedule"][0]
    assert first["transcript"].startswith("416e79537570706f72742d453245452d76310018")
    assert first["sas_display"] == "692 352"
    for got, want in zip(result["frames"], VECTORS["frames"], strict=True):
        assert got["frame"] == want["frame"] and got["nonce"] == want["nonce"], want["name"]
        assert got["payload"] == want["payload"] and got["sequence"] == want["sequence"]
        assert got["keyframe"] == want["keyframe"]
        if want["timestamp_us"] < 2**53:  # a JavaScript number holds it exactly (the header itself is a BigInt)
            assert got["timestamp_us"] == want["timestamp_us"]
    assert result["invalid"] == [c["error"] for c in VECTORS["invalid_frames"]["cases"]]
    assert result["replay"] == [s["accepted"] for s in VECTORS["replay_window"]["steps"]]
    customer.assert_no_errors()


async def test_js_ladder_matches_the_python_ladder(server, phone):
    from anysupport_client.media.quality import LEVELS

    customer = await phone()
    await customer.page.goto(server.url + "/")
    rungs = await customer.page.evaluate(
        """async () => {
            const q = await import('/static/customer/quality.js');
            const out = {};
            for (const name of Object.keys(q.LEVELS)) out[name] = q.ladder(q.LEVELS[name]);
            return out;
        }""")
    for name, level in LEVELS.items():
        want = [{"width": r.width, "height": r.height, "fps": r.fps, "bitrate": r.bitrate} for r in level.ladder]
        assert rungs[name] == want, name


# -- a call ----------------------------------------------------------------------------------------
async def test_video_arrives_at_the_level_size_and_follows_quality(server, phone):
    agent, customer = await start_call(server.url, phone)
    try:
        frames = await agent.wait_frames(10, timeout=15)
        assert {(f.width, f.height) for f in frames} == {(640, 480)}  # medium
        numbers = [f.number for f in frames if f.number is not None]
        assert len(numbers) >= 8 and numbers == sorted(numbers) or max(numbers) - min(numbers) > 80  # the loop wraps
        assert agent.current.sas_display == await customer.value("window.anysupportCall.sas")
        await expect(customer.page.locator("#sas-badge")).to_contain_text(agent.current.sas_display)
        state = await agent.wait_for("camera_state", 10)
        assert state["quality"] == "medium" and state["video"] is True and (state["width"], state["height"]) == (640, 480)
        caps = await agent.wait_for("capabilities", 10)
        assert caps["flash"] is False and caps["cameras"] == ["back"] and caps["audio"] is True
        assert caps["qualities"] == ["high", "medium", "low"]

        mark = agent.mark()
        agent.camera("quality", level="low")
        state = await agent.wait_for("camera_state", 10, since=mark)
        assert (state["quality"], state["width"], state["height"]) == ("low", 320, 240)
        await agent.wait_frames(3, timeout=10, predicate=lambda f: (f.width, f.height) == (320, 240))
        agent.camera("quality", level="high")
        await agent.wait_frames(3, timeout=10, predicate=lambda f: (f.width, f.height) == (1280, 720))
        await shot(customer.page, "browser-call-ko")
        customer.assert_no_errors()
    finally:
        await agent.close()
