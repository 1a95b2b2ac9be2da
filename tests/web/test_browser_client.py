"""The customer in the phone's browser (issue 12): the real customer page in headless Chromium with a
fake camera playing the stamped test pattern, against the real server, the agent played by
``AgentPeer`` (``anysupport_client``'s ``AgentClient``). One browser for the whole module, a call or an
agent per test from the fixtures of ``tests/web/conftest.py`` (``phone``, ``call``, ``agents``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_asyncio
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_native import framing
from playwright.async_api import async_playwright, expect

from tests.support.browser import (
    BASE_ARGS,
    CHROMIUM,
    PHONE,
    CustomerPage,
    CuttableLink,
    hiding,
    start_call,
    wait_page_frames,
)
from tests.support.client import admin_api
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VECTORS = json.loads((ROOT / "tests" / "data" / "frame_vectors.json").read_text())


SET_VISIBILITY = """(state) => {
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


async def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# -- the JavaScript crypto against the vectors -----------------------------------------------------
# X25519 from WebCrypto, and from tweetnacl where WebCrypto lacks it (Safari before iOS 17: hidden here)
X25519_IMPLEMENTATIONS = pytest.mark.parametrize("x25519", ["webcrypto", "javascript"])


async def x25519_page(server, phone, x25519: str) -> CustomerPage:
    customer = await phone(init_script=hiding("x25519") if x25519 == "javascript" else None)
    await customer.page.goto(server.url + "/")
    found = await customer.value("import('/static/customer/support.js').then((m) => m.detect())")
    assert found["x25519"] == x25519 and found["webcrypto"] is True
    return customer


# RFC 7748 §5.2 (scalar, u, X25519(scalar, u)); the second u has its top bit set, which X25519 ignores
RFC7748_VECTORS = [
    ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
]
RFC7748_ITERATED = {1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
                    1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"}
RFC7748_ALICE_BOB = {  # §6.1
    "alice_private": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    "alice_public": "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    "bob_private": "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    "bob_public": "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    "shared": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
}


async def test_js_x25519_fallback_matches_rfc7748(server, phone):
    """The page's own JavaScript X25519 (e2e.x25519, tweetnacl's scalarMult) against RFC 7748, in a
    browser whose WebCrypto has no X25519, and the key pairs it makes (makeKeyPair) with it."""
    customer = await x25519_page(server, phone, "javascript")
    result = await customer.page.evaluate(
        """async ([vectors, iterated, ab]) => {
            const e2e = await import('/static/customer/e2e.js');
            const x = async (k, u) => e2e.hex(await e2e.x25519(e2e.fromHex(k), e2e.fromHex(u)));
            const out = {vectors: [], iterated: {}};
            for (const [k, u] of vectors) out.vectors.push(await x(k, u));
            let k = new Uint8Array(32), u = new Uint8Array(32);
            k[0] = 9; u[0] = 9;
            for (let i = 1; i <= 1000; i++) {
                const next = await e2e.x25519(k, u);
                u = k; k = next;
                if (String(i) in iterated) out.iterated[i] = e2e.hex(k);
            }
            const alice = await e2e.makeKeyPair(e2e.fromHex(ab.alice_private));
            const bob = await e2e.makeKeyPair(e2e.fromHex(ab.bob_private));
            out.alice_public = e2e.hex(alice.publicBytes);
            out.bob_public = e2e.hex(bob.publicBytes);
            out.shared_ab = await x(ab.alice_private, ab.bob_public);
            out.shared_ba = await x(ab.bob_private, ab.alice_public);
            const fresh = await e2e.makeKeyPair();
            out.fresh_differs = e2e.hex(fresh.publicBytes) !== e2e.hex((await e2e.makeKeyPair()).publicBytes);
            out.fresh_is_javascript = fresh.privateScalar instanceof Uint8Array && !fresh.privateKey;
            return out;
        }""", [RFC7748_VECTORS, RFC7748_ITERATED, RFC7748_ALICE_BOB])
    assert result["vectors"] == [want for _, _, want in RFC7748_VECTORS]
    assert result["iterated"] == {str(n): want for n, want in RFC7748_ITERATED.items()}
    assert result["alice_public"] == RFC7748_ALICE_BOB["alice_public"]
    assert result["bob_public"] == RFC7748_ALICE_BOB["bob_public"]
    assert result["shared_ab"] == result["shared_ba"] == RFC7748_ALICE_BOB["shared"]
    assert result["fresh_differs"] and result["fresh_is_javascript"]
    await customer.assert_no_errors()


@X25519_IMPLEMENTATIONS
async def test_js_framing_and_key_schedule_match_the_vectors(server, phone, x25519):
    customer = await x25519_page(server, phone, x25519)
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
    await customer.assert_no_errors()


@X25519_IMPLEMENTATIONS
async def test_js_key_exchange_follows_the_protocol(server, phone, x25519):
    """The customer's key_exchange state machine (clients/anysupport_client/e2e.py) in the page."""
    customer = await x25519_page(server, phone, x25519)
    v = VECTORS["key_schedule"][0]
    result = await customer.page.evaluate(
        """async (v) => {
            const e2e = await import('/static/customer/e2e.js');
            const agent = await e2e.makeKeyPair(e2e.fromHex(v.agent_private), e2e.fromHex(v.agent_public));
            const out = {};
            const code = async (kx, m) => { try { await kx.receive(m); return 'ok'; } catch (e) { return e.code; } };
            let kx = new e2e.CustomerKeyExchange(v.session_id);
            // committed mode: commitment → our fresh key → the reveal, checked → keys
            const first = await kx.receive({type: 'key_exchange', version: 1, commitment: v.agent_commitment});
            out.answer = first.replies.map((m) => Object.keys(m).sort().join(','));
            const mine = e2e.decodePublicKey(first.replies[0].public_key);
            const done = await kx.receive({type: 'key_exchange', version: 1, public_key: v.agent_public_encoded});
            const agentSide = await e2e.deriveSchedule(agent, mine, 'agent', v.session_id);
            out.same_sas = done.keys.sas === agentSide.sas && done.replies.length === 0;
            out.same_keys = e2e.hex(done.keys.send_key) === e2e.hex(agentSide.recv_key);
            out.repeat = await code(kx, {type: 'key_exchange', public_key: v.agent_public_encoded});
            // a new exchange whose reveal is not the committed key
            await kx.receive({type: 'key_exchange', version: 1, commitment: v.agent_commitment});
            out.wrong_reveal = await code(kx, {type: 'key_exchange', public_key: v.customer_public_encoded});
            out.version = await code(new e2e.CustomerKeyExchange(v.session_id),
                                     {type: 'key_exchange', version: 2, commitment: v.agent_commitment});
            out.low_order = await code(new e2e.CustomerKeyExchange(v.session_id),
                                       {type: 'key_exchange', public_key: e2e.b64url(new Uint8Array(32))});
            out.padded = await code(new e2e.CustomerKeyExchange(v.session_id),
                                    {type: 'key_exchange', public_key: v.agent_public_encoded.slice(0, 42) + '+'});
            // plain mode: the agent's key first, we answer with ours and derive at once
            kx = new e2e.CustomerKeyExchange(v.session_id);
            const plain = await kx.receive({type: 'key_exchange', public_key: v.agent_public_encoded});
            out.plain = plain.replies.length === 1 && plain.keys !== null;
            return out;
        }""", v)
    assert result == {"answer": ["public_key,type,version"], "same_sas": True, "same_keys": True,
                      "repeat": "protocol", "wrong_reveal": "bad_commitment", "version": "unsupported_version",
                      "low_order": "bad_public_key", "padded": "bad_public_key", "plain": True}


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


def _python_adapter_steps(script: list, level: str) -> list:
    from anysupport_client.media.adaptation import Adapter

    now = [0.0]
    py = Adapter(level, clock=lambda: now[0])
    out = []
    for step in script:
        now[0] = step[0]
        if step[1] == "report":
            py.report(*step[2:])
        elif step[1] == "rtt":
            py.round_trip(step[2])
        elif step[1] == "sent":
            py.sent(step[2])
        elif step[1] == "paced":
            py.paced()
        elif step[1] == "trouble":
            py.trouble("x")
        else:
            py.tick()
        q = py.quality
        out.append([py.rung, q.width, q.height, q.fps, q.bitrate])
    return out


async def test_js_adapter_steps_like_the_python_adapter(server, phone):
    """The same trouble, reports (lateness, goodput), round trips and quiet spells, on an injected
    clock, give the same rungs."""
    script = [(0.0, "report", 100, 0, 10.0), (0.5, "trouble"), (0.7, "trouble"), (2.0, "report", 90, 10, 0.0),
              (3.5, "report", 100, 0, 200.0), (4.0, "report", 100, 0, 220.0), (5.5, "trouble"), (7.0, "trouble"),
              (8.5, "trouble"), (10.0, "trouble"), (11.5, "trouble"), (13.0, "tick"), (17.0, "tick"), (17.5, "tick"),
              (22.0, "tick"), (22.5, "trouble"), (24.0, "tick"), (40.0, "tick"), (60.0, "tick"), (61.0, "tick"),
              (95.0, "tick"), (130.0, "tick")]
    # a slow start: start low, reports with bytes (goodput), a spike that clears, a growing queue, a
    # jump to within the goodput, the ceiling holding the climb, then its expiry
    slow = [(0.0, "rtt", 620.0), (0.05, "rtt", 300.0)]  # a slower ping first: the least one decides
    t = 0.0
    for late in (20, 480, 30, 25, 40, 70, 110, 160, 90, 30, 20, 10, 500, 520, 540, 560, 30):
        t += 0.25
        slow += [(t - 0.1, "sent", 12_500), (t, "report", 8, 0, float(late), 10_000)]
    slow += [(t + 5, "tick"), (t + 9, "tick"), (t + 20, "tick"), (t + 40, "tick"), (t + 41, "report", 8, 0, 5.0, 200),
             (t + 45, "tick"), (t + 50, "tick")]
    # paced by the ack clock on a link carrying 85 % of the offer: no climb, then trouble after 1.5 s
    paced = [(0.0, "rtt", 250.0)]
    for k in range(1, 160):
        t = k / 30
        paced.append((t, "sent", 1_666))
        if k % 8 == 0:
            paced += [(t, "paced"), (t, "report", 8, 0, 5.0, 11_366), (t, "tick")]
    want = {"high": _python_adapter_steps(script, "high"), "medium": _python_adapter_steps(slow, "medium"),
            "low": _python_adapter_steps(paced, "low")}
    customer = await phone()
    await customer.page.goto(server.url + "/")
    got = await customer.page.evaluate(
        """async (scripts) => {
            const {Adapter} = await import('/static/customer/quality.js');
            const result = {};
            for (const [level, script] of Object.entries(scripts)) {
                let now = 0;
                const a = new Adapter(level, {clock: () => now});
                const out = [];
                for (const step of script) {
                    now = step[0];
                    if (step[1] === 'report') a.report(step[2], step[3], step[4], step[5]);
                    else if (step[1] === 'rtt') a.roundTrip(step[2]);
                    else if (step[1] === 'sent') a.sent(step[2]);
                    else if (step[1] === 'paced') a.paced();
                    else if (step[1] === 'trouble') a.trouble('x');
                    else a.tick();
                    const q = a.quality;
                    out.push([a.rung, q.width, q.height, q.fps, q.bitrate]);
                }
                result[level] = out;
            }
            return result;
        }""", {"high": script, "medium": slow, "low": paced})
    assert got == want
    assert max(r[0] for r in want["high"]) == 6 and want["high"][-1][0] < 3  # down to the bottom rung and back up
    assert len({r[0] for r in want["low"]}) >= 3  # started low, went down when paced, never climbed past the start
    rungs = [r[0] for r in want["medium"]]
    assert rungs[:2] == [5, 2] and max(rungs) >= 5 and len(set(rungs)) >= 3  # lower, then the faster ping; jumped; climbed


async def test_the_voice_is_stamped_by_its_sample_count(server, phone):
    """The microphone's 20 ms blocks reach the page in bursts when it is busy (arrival gaps of 3–50 ms,
    as a loaded CI machine showed); their stamps stay 20 ms apart (microphone.js ``VoiceClock``). A stall
    that loses blocks (over 100 ms) moves the stamps on to the clock; they never go back."""
    delays = [0, 30, 5, 45, 0, 0, 12, 40, 3, 0, 25, 1]  # how late each block's message is, in ms
    arrivals = [20_000 * (i + 1) + d * 1000 for i, d in enumerate(delays)]
    arrivals += [arrivals[-1] + 400_000 + 20_000 * k for k in range(3)]  # a 400 ms stall, then on time
    arrivals += [arrivals[-1] - 150_000]  # the wall clock set back
    customer = await phone()
    await customer.page.goto(server.url + "/")
    stamps = await customer.page.evaluate(
        """async (arrivals) => {
            const {VoiceClock} = await import('/static/customer/microphone.js');
            let now = 0;
            const clock = new VoiceClock(() => now);
            return arrivals.map((t) => { now = t; return clock.stamp(); });
        }""", arrivals)
    assert stamps[:12] == [20_000 * i for i in range(12)]  # sample time, not arrival time
    assert stamps[12:15] == [arrivals[12] - 20_000 + 20_000 * k for k in range(3)]  # on to the clock after the stall
    assert stamps[15] == stamps[14] + 1  # never back


async def test_nothing_of_the_video_goes_out_once_it_is_stopped(server, phone):
    """A frame the encoder finishes after the stop (either side's, or the page hidden) is dropped, and the
    video resumes with a keyframe (sender.js ``encoded``; a loaded CI machine sent one such frame)."""
    customer = await phone()
    await customer.page.goto(server.url + "/")
    result = await customer.page.evaluate(
        """async () => {
            const {VideoSender} = await import('/static/customer/sender.js');
            const sent = [];
            const sender = new VideoSender({possible: true, send: (...args) => sent.push(args), ready: () => true,
                                            bufferedAmount: () => 0, onQuality: () => {}, stats: {}});
            sender.track = {};  // a camera, as far as `sending` goes
            sender.forceKey = false;
            sender.encoded(new Uint8Array([1]), false, 1);  // on: it goes
            sender.setEnabled(false);
            sender.encoded(new Uint8Array([2]), false, 2);  // finished after the stop: dropped
            const keyAfterStop = sender.forceKey;
            sender.setEnabled(true);
            sender.setHidden(true);
            sender.encoded(new Uint8Array([3]), false, 3);  // the page hidden: dropped
            return {sent: sent.map((args) => args[3]), keyAfterStop, sending: sender.sending};
        }""")
    assert result == {"sent": [1], "keyAfterStop": True, "sending": False}


# -- a call ----------------------------------------------------------------------------------------
async def test_video_arrives_at_the_level_size_and_follows_quality(call):
    agent, customer = await call()
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
    # the camera is asked for the level's size, and its frames go to the encoder without the canvas
    size = "window.anysupportCall.camera.track.getSettings()"
    await customer.wait(f"{size}.width === 640 && {size}.height === 480")
    await customer.wait("window.anysupportCall.stats.video_direct > 0")

    # a keyframe_request is answered at once, not at the next 2 s keyframe: the keyframe that answers it was
    # captured well before the 2 s after the last one (the page's capture clock, which a loaded test machine
    # does not stretch as it does the wall clock from the request to the decoded frame)
    last = (await agent.wait_frames(1, timeout=5, predicate=lambda f: f.keyframe))[0]
    agent.send({"type": "keyframe_request", "stream": "customer_video"})
    answer = (await agent.wait_frames(1, timeout=10, predicate=lambda f: f.keyframe and f.sequence > last.sequence))[0]
    assert answer.timestamp_us - last.timestamp_us < 1_800_000, (last.timestamp_us, answer.timestamp_us)

    mark = agent.mark()
    agent.camera("quality", level="low")
    # the camera_state that says so (one the page sent just before, of its own, may come first: a clean CI
    # run saw a late medium), as test_pipeline waits for it
    state = await agent.wait_for("camera_state", 10, since=mark, quality="low")
    assert (state["width"], state["height"]) == (320, 240)
    await agent.wait_frames(3, timeout=10, predicate=lambda f: (f.width, f.height) == (320, 240))
    await customer.wait(f"{size}.width === 320 && {size}.height === 240")  # asked again on a change
    agent.camera("quality", level="high")
    await agent.wait_frames(3, timeout=10, predicate=lambda f: (f.width, f.height) == (1280, 720))  # scaled up
    await shot(customer.page, "browser-call-ko")
    await customer.assert_no_errors()


async def test_drawing_chat_and_arrow_appear_over_the_preview(call):
    agent, customer = await call("en-US")
    await agent.wait_frames(3, timeout=15)
    agent.annotate("add", {"id": "r1", "shape": "rect", "color": "#ff0000", "width": 8,
                           "points": [[0.3, 0.4], [0.7, 0.8]]})
    agent.annotate("add", {"id": "t1", "shape": "text", "color": "#00ff00", "width": 1,
                           "points": [[0.1, 0.85]], "text": "Unscrew this", "size": 28})
    agent.chat("Please point the camera at the back")
    agent.guide("left")
    await customer.wait("window.anysupportCall.scene.size === 2")
    await expect(customer.page.locator("#chat-log li")).to_have_text(["Please point the camera at the back"])
    await expect(customer.page.locator("#guide")).to_be_visible()
    await expect(customer.page.locator("#guide .guide-text")).to_have_text("Left")
    await expect(customer.page.locator("#guide .guide-arrow")).to_have_text("←")
    # the rectangle's left edge, in picture coordinates, is red on the canvas; its inside is clear
    edge = await customer.overlay_pixel(0.3, 0.6)
    inside = await customer.overlay_pixel(0.5, 0.6)
    assert edge[0] > 200 and edge[1] < 60 and edge[3] > 200, edge
    assert inside[3] == 0, inside
    await shot(customer.page, "browser-overlay-en")
    # the language switch redraws our own texts; the agent's stay as sent
    await customer.page.click("#menu-lang")
    await expect(customer.page.locator("#guide .guide-text")).to_have_text("왼쪽으로")
    await expect(customer.page.locator("#menu-end")).to_have_text("상담 종료")
    await shot(customer.page, "browser-overlay-ko")
    agent.annotate("undo")
    agent.annotate("remove", item_id="r1")
    await customer.wait("window.anysupportCall.scene.size === 0")
    assert (await customer.overlay_pixel(0.3, 0.6))[3] == 0
    # the customer's chat reaches the agent
    mark = agent.mark()
    await customer.page.fill("#chat-input", "네, 보이시나요?")
    await customer.page.click("#chat-send")
    line = await agent.wait_for("chat", 10, since=mark)
    assert line["text"] == "네, 보이시나요?" and line["from"] == "customer"
    agent.recording(True)
    await expect(customer.page.locator("#recording-badge")).to_be_visible()
    await customer.assert_no_errors()


async def test_chat_lines_fade_from_the_picture_and_stay_readable_in_the_history(call, shot):
    """#17.10: six lines no longer cover the picture for good: at most three show, each fades after a
    while, the history button opens them all; Korean keeps its words whole (keep-all, no "깜/빡여요")."""
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    await customer.value("document.getElementById('chat-log').dataset.fadeMs = '1500'")
    lines = [f"{n}번째 안내입니다. 전원 버튼 옆의 표시등이 몇 번 깜빡여요?" for n in range(1, 7)]
    for text in lines:
        agent.chat(text)
    log = customer.page.locator("#chat-log li")
    await expect(log).to_have_count(6)
    shown = await customer.value("[...document.querySelectorAll('#chat-log li')]"
                                 ".map(li => getComputedStyle(li).display !== 'none')")
    assert shown == [False, False, False, True, True, True], shown
    assert await customer.value("getComputedStyle(document.querySelector('#chat-log li')).wordBreak") == "keep-all"
    await shot(customer.page, "browser-chat-lines-ko")
    await customer.wait("[...document.querySelectorAll('#chat-log li')].every(li => li.classList.contains('faded'))",
                        timeout=15_000)
    await customer.wait("getComputedStyle(document.querySelector('#chat-log li:last-child')).opacity === '0'")
    await expect(customer.page.locator("#chat-history")).to_have_text("대화 6")
    await customer.page.click("#chat-history")
    await expect(customer.page.locator("#chat-history")).to_have_text("대화 닫기")
    await expect(log).to_have_text(lines)
    for n in range(6):
        await expect(log.nth(n)).to_be_visible()
    await customer.wait("[...document.querySelectorAll('#chat-log li')].every(li => getComputedStyle(li).opacity === '1')")
    await shot(customer.page, "browser-chat-history-ko")
    await customer.page.click("#chat-log")  # a tap on the panel closes it
    await expect(customer.page.locator("#chat-history")).to_have_text("대화 6")
    await customer.wait("getComputedStyle(document.querySelector('#chat-log li:last-child')).opacity === '0'")
    await customer.assert_no_errors()


async def test_sound_output_is_chosen_where_the_browser_can_and_hidden_where_it_cannot(call, shot):
    """#17.15: 스피커폰 was a dead button. Chromium can move the voice (AudioContext.setSinkId; the fake
    device backend lists three outputs): the customer picks one. A browser without setSinkId (Safari,
    most phones' browsers) hides the button."""
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    button = customer.page.locator("#menu-speaker")
    await expect(button).to_be_visible()
    await expect(button).to_have_text("소리 출력")
    await button.click()
    outputs = customer.page.locator("#output-list button")
    await expect(outputs).to_have_count(3)
    chosen = outputs.filter(has_text="Fake Audio Output 1")
    await shot(customer.page, "browser-sound-output-ko")
    await chosen.click()
    await expect(customer.page.locator("#output-sheet")).to_be_hidden()
    sink = await customer.value("(async () => { const {audioContext} = await import('/static/customer/audio.js');"
                                " return audioContext().sinkId; })()")
    ids = await customer.value("navigator.mediaDevices.enumerateDevices().then(ds => ds.filter("
                               "d => d.kind === 'audiooutput' && d.label === 'Fake Audio Output 1').map(d => d.deviceId))")
    assert sink == ids[0], (sink, ids)
    await button.click()
    await expect(outputs.filter(has_text="Fake Audio Output 1")).to_have_attribute("aria-pressed", "true")
    await customer.page.click("#output-close")
    await customer.assert_no_errors()

    _, safari_like = await call(init_script="delete AudioContext.prototype.setSinkId;")
    await safari_like.wait("window.anysupportCall.stats.video_sent > 0")
    await expect(safari_like.page.locator("#menu-switch")).to_be_visible()
    await expect(safari_like.page.locator("#menu-speaker")).to_be_hidden()
    await safari_like.assert_no_errors()


async def test_camera_commands_answer_with_the_truth(call, shot):
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    for command, fields in (("flash", {"on": True}), ("switch", {"facing": "front"}), ("focus", {"x": 0.5, "y": 0.5})):
        mark = agent.mark()
        agent.camera(command, **fields)
        state = await agent.wait_for("camera_state", 10, since=mark)
        # the fake camera has no torch and is the only camera: the state says so
        assert state["flash"] is False and state["facing"] == "back" and state["video"] is True, (command, state)
    # #17.13: the fake camera cannot focus: the page does not offer it, answers that it did not take the
    # point, and shows the point (dashed) for a moment
    assert (await agent.wait_for("capabilities", 10))["focus"] is False
    assert state["focus"] == {"x": 0.5, "y": 0.5, "applied": False}
    mark = agent.mark()
    agent.speakerphone(False)
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["speakerphone"] is True  # a browser cannot move the sound to the earpiece
    mark = agent.mark()
    agent.camera("video", on=False)
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is False
    await expect(customer.page.locator("#call-status")).to_have_text("상담원이 영상을 멈췄습니다.")
    sent = (await customer.stats())["video_sent"]
    mark = agent.mark()
    agent.camera("video", on=True)
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is True
    await agent.wait_frames(5, timeout=10, predicate=lambda f: f.sequence >= sent)
    # the customer's own menu does the same
    mark = agent.mark()
    await customer.page.click("#menu-video")
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is False and state["video_paused_by"] == "customer"
    await expect(customer.page.locator("#menu-video")).to_have_text("영상 켜기")
    await expect(customer.page.locator("#menu-flash")).to_be_disabled()
    # #17.6: the customer's stop wins: the agent's start is a request the page shows, nothing is sent
    sent_after_stop = (await customer.stats())["video_sent"]
    mark = agent.mark()
    agent.camera("video", on=True)
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is False and state["video_paused_by"] == "customer"
    await expect(customer.page.locator("#call-status")).to_have_text(
        "상담원이 영상을 다시 보여 달라고 요청했습니다. 보여 주시려면 아래 '영상 켜기'를 누르세요.")
    await expect(customer.page.locator("#menu-video")).to_have_class("attention")
    assert (await customer.stats())["video_sent"] == sent_after_stop
    await shot(customer.page, "browser-video-request-ko")
    mark = agent.mark()
    await customer.page.click("#menu-video")
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is True and "video_paused_by" not in state
    await customer.wait(f"window.anysupportCall.stats.video_sent > {sent_after_stop}")
    await expect(customer.page.locator("#menu-video")).not_to_have_class("attention")
    await customer.assert_no_errors()


@pytest_asyncio.fixture(loop_scope="module")
async def two_cameras():
    """A phone page in a Chromium of its own, whose fake devices are two cameras that report no facing."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            *BASE_ARGS[:-2], "--use-fake-device-for-media-stream=device-count=2", "--use-fake-ui-for-media-stream"])
        try:
            yield CustomerPage(await (await browser.new_context(locale="ko-KR", **PHONE)).new_page())
        finally:
            await browser.close()


async def test_camera_switch_with_two_cameras(server, two_cameras, agents):
    """Chromium's own fake devices (two cameras, no facing reported): the switch takes the other one."""
    customer = two_cameras
    agent = await start_call(server.url, agents, customer, name="brs")
    caps = await agent.wait_for("capabilities", 10)
    assert caps["cameras"] == ["back", "front"]
    first = await customer.value("window.anysupportCall.camera.track.getSettings().deviceId")
    await agent.wait_frames(3, timeout=15)
    mark = agent.mark()
    agent.camera("switch", facing="front")
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["facing"] == "front" and state["video"] is True
    assert await customer.value("window.anysupportCall.camera.track.getSettings().deviceId") != first
    count = len(agent.frames)
    await agent.wait_frames(5, timeout=10)
    assert len(agent.frames) >= count + 5
    mark = agent.mark()
    await customer.page.click("#menu-switch")
    assert (await agent.wait_for("camera_state", 10, since=mark))["facing"] == "back"
    await customer.assert_no_errors()


async def test_agent_video_and_voice_play_and_forged_frames_are_refused(call):
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    sent: list[bytes] = []
    session = agent.current
    original = agent.media.send_frame  # sealed frames on their way to the relay

    def keep(frame: bytes) -> bool:
        sent.append(frame)
        return original(frame)

    agent.media.send_frame = keep
    agent.agent_video(True, TestPatternTrack(320, 240, 15), audio=ToneTrack(440.0, 0.3))
    await customer.wait("window.anysupportCall.stats.agent_frames >= 10", 15_000)
    await customer.wait("window.anysupportCall.stats.audio_frames >= 25", 15_000)
    stats = await customer.stats()
    assert stats["agent_size"] == [320, 240]
    assert stats["audio_rms"] > 0.05, stats  # the tone, not silence
    assert stats["audio_context"] == "running"  # unlocked by the join button's tap: it plays
    report = await agent.wait_for("media_report", 10, stream="agent_video")
    assert report["received"] > 0 and report["from"] == "customer"
    await customer.wait("window.anysupportCall.stats.audio_played >= 10")
    await expect(customer.page.locator("#agent-video")).to_be_visible()
    await expect(customer.page.locator("#voice-badge")).to_have_text("음성 통화 중")
    # the voice call goes both ways: the page's microphone reaches the agent
    audio = agent.media.receivers[framing.STREAM_CUSTOMER_AUDIO]
    await session.wait_until(lambda: audio.packets > 10, 10, "customer voice")
    await shot(customer.page, "browser-agent-video-ko")

    # a replayed frame and a tampered one are refused, and the stream goes on
    replay = next(f for f in sent if f[1] == framing.STREAM_AGENT_VIDEO)
    forged = bytearray(agent.media.keys.sealer.seal(framing.STREAM_AGENT_VIDEO, b"\x00\x00\x00\x01\x41forged"))
    forged[-20] ^= 0x01
    before = (await customer.stats())["agent_frames"]
    original(replay)
    original(bytes(forged))
    await customer.wait("(window.anysupportCall.stats.refused.replayed || 0) >= 1"
                        " && (window.anysupportCall.stats.refused.tampered || 0) >= 1")
    await customer.wait(f"window.anysupportCall.stats.agent_frames >= {before + 10}")
    agent.agent_video(False)
    await expect(customer.page.locator("#agent-video")).to_be_hidden()
    await expect(customer.page.locator("#voice-badge")).to_be_hidden()
    await customer.assert_no_errors()


@pytest_asyncio.fixture(loop_scope="module")
async def link(server):
    """A TCP forwarder in front of the server whose connections the test can cut."""
    link = await CuttableLink(server.port).start()
    yield link
    await link.close()


async def test_hidden_page_pauses_and_a_cut_socket_reconnects(server, link, phone, agents):
    customer = await phone()
    agent = await start_call(server.url, agents, customer, name="brc", page_url=link.url)  # through the link
    await agent.wait_frames(3, timeout=15)
    # the phone locks / another app comes to the front. Headless Chromium never hides a page (no
    # window manager), so the test plays the browser's part: visibilityState and its event
    mark = agent.mark()
    await customer.page.evaluate(SET_VISIBILITY, "hidden")
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is False
    await expect(customer.page.locator("#call-status")).to_contain_text("영상을 멈췄습니다")
    await shot(customer.page, "browser-paused-ko")
    sent = (await customer.stats())["video_sent"]
    mark = agent.mark()
    await customer.page.evaluate(SET_VISIBILITY, "visible")
    state = await agent.wait_for("camera_state", 10, since=mark)
    assert state["video"] is True
    await agent.wait_frames(5, timeout=10, predicate=lambda f: f.sequence >= sent)

    # the network goes (Wi-Fi → mobile data): the page comes back with its token within the grace period
    mark = agent.mark()
    link.cut()
    await agent.wait_for("peer", 10, since=mark, status="reconnecting")
    await agent.wait_for("peer", 10, since=mark, status="back")
    await agent.wait_frames(10, timeout=15)
    assert (await customer.stats())["reconnects"] == 1
    assert agent.current.state == "connected"
    # the agent changes keys: a fresh exchange, a new SAS on both sides, and the video goes on
    old_sas = agent.current.sas_display
    agent.current.rekey()
    await customer.wait(f"window.anysupportCall.sas !== {old_sas!r}")
    await agent.current.wait_until(lambda: agent.current.sas_display != old_sas, 10, "new keys")
    assert agent.current.sas_display == await customer.value("window.anysupportCall.sas")
    count = len(agent.frames)
    await agent.wait_frames(10, timeout=15)
    assert len(agent.frames) >= count + 10
    await customer.assert_no_errors()


async def test_a_page_reloaded_mid_call_gets_new_keys_and_video_flows_again(call):
    """The reloaded page keeps its token (sessionStorage) but not its keys: it asks for a fresh exchange
    (``key_exchange_failed`` ``no_keys``) and the agent agrees new keys by itself."""
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    old_sas = agent.current.sas_display
    assert old_sas == await customer.value("window.anysupportCall.sas")
    mark = agent.mark()
    await customer.page.reload()
    await agent.wait_for("peer", 15, since=mark, status="back")
    await customer.wait("window.anysupportCall && window.anysupportCall.sas !== null", 15_000)
    await agent.current.wait_until(lambda: agent.current.sas_display != old_sas, 15, "new keys at the agent")
    assert agent.current.sas_display == await customer.value("window.anysupportCall.sas")
    stats = await customer.stats()
    assert stats["key_requests"] == 1
    await agent.wait_frames(10, timeout=15, predicate=lambda f: f.sequence < 1000)  # the new page's frames
    assert agent.current.media.failure is None
    await expect(customer.page.locator("#call-view")).to_be_visible()
    await customer.assert_no_errors()


async def test_the_survey_in_the_call_asks_the_administrators_comment_prompt(server, call, shot):
    """#17.16: the page showed a fixed placeholder, so the admin's preview was not what customers saw."""
    admin = await admin_api(server.url)
    before = (await admin.get("/api/v1/admin/survey")).json
    prompt = {"ko": "개선할 점을 적어 주세요.", "en": "What could we do better?"}
    assert (await admin.put("/api/v1/admin/survey", {"feedback": True, "feedback_prompt": prompt})).status == 200
    try:
        agent, customer = await call()
        await agent.wait_frames(3, timeout=15)
        await customer.page.click("#menu-end")
        await expect(customer.page.locator("#call-feedback-label")).to_have_text(prompt["ko"])
        await expect(customer.page.locator("#call-feedback")).to_be_visible()
        await shot(customer.page, "browser-survey-prompt-ko")
        await customer.assert_no_errors()
    finally:
        assert (await admin.put("/api/v1/admin/survey", {"feedback": before["feedback"],
                                                         "feedback_prompt": before["feedback_prompt"]})).status == 200


async def test_end_shows_the_survey_and_the_answer_is_recorded(call):
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    await customer.page.click("#menu-end")
    await expect(customer.page.locator("#end-view")).to_be_visible()
    await expect(customer.page.locator("#end-reason")).to_have_text("상담을 종료했습니다.")
    await expect(customer.page.locator("#call-survey-question")).to_have_text("상담에 만족하셨습니까?")
    # reloaded before answering (the token is kept for the tab): the survey comes back
    await customer.page.reload()
    await expect(customer.page.locator("#call-survey-question")).to_have_text("상담에 만족하셨습니까?")
    await customer.page.click("#call-survey-submit")
    await expect(customer.page.locator("#call-survey-error")).to_have_text("답을 하나 고르세요.")
    await customer.page.locator("#call-survey-choices label", has_text="만족").first.click()
    await customer.page.fill("#call-feedback", "앱 없이 되니 편해요")
    await shot(customer.page, "browser-survey-ko")
    await customer.page.click("#call-survey-submit")
    await expect(customer.page.locator("#call-survey-done")).to_have_text("응답해 주셔서 감사합니다.")
    record = await agent.rest.record(agent.session_id)
    assert record["satisfaction"] == "satisfied" and record["feedback"] == "앱 없이 되니 편해요"
    # and once answered, the session is forgotten: a reload offers the code form (issue 17 #4)
    assert await customer.value("sessionStorage.getItem('anysupport.customer')") is None
    await customer.page.reload()
    await expect(customer.page.locator("#join-view")).to_be_visible()
    await expect(customer.page.locator("#code")).to_be_editable()
    await expect(customer.page.locator("#end-view")).to_be_hidden()
    await customer.assert_no_errors()


async def test_the_agents_end_support_shows_the_customer_it_ended_and_the_survey(call, shot):
    """Issue 17 #3: 지원 종료 in the console sends ``end`` (as here); the page says the agent ended it and asks."""
    agent, customer = await call()
    await agent.wait_frames(3, timeout=15)
    agent.end()
    await expect(customer.page.locator("#end-view")).to_be_visible()
    await expect(customer.page.locator("#end-reason")).to_have_text("상담원이 상담을 종료했습니다.")
    await expect(customer.page.locator("#call-survey-question")).to_have_text("상담에 만족하셨습니까?")
    await shot(customer.page, "browser-agent-ended-survey-ko")
    await customer.page.locator("#call-survey-choices label", has_text="만족").first.click()
    await customer.page.click("#call-survey-submit")
    await expect(customer.page.locator("#call-survey-done")).to_have_text("응답해 주셔서 감사합니다.")
    record = await agent.rest.record(agent.session_id)
    assert record["satisfaction"] == "satisfied"
    await customer.assert_no_errors(after_end=True)


async def test_after_a_call_the_customer_can_join_again_with_a_new_code(server, phone, agents):
    """Issue 17 #4: the end screen offers a new code, and that code starts a new call in the same tab."""
    first = await agents.new(server.url, "bra")
    customer = await phone("ko-KR")
    await customer.join(server.url, first.session["code"])
    await first.accept(timeout=20)
    await first.wait_for_keys(15)
    await wait_page_frames(first, customer)
    first.end()
    await expect(customer.page.locator("#end-view")).to_be_visible()
    again = customer.page.get_by_role("button", name="다른 인증번호로 접속")
    await expect(again).to_be_visible()
    await shot(customer.page, "browser-ended-new-code-ko")
    # a reload before answering keeps the end screen (and its survey), with the same way out
    await customer.page.reload()
    await expect(customer.page.locator("#end-view")).to_be_visible()
    await expect(again).to_be_visible()
    await again.click()
    await expect(customer.page.locator("#join-view")).to_be_visible()
    await expect(customer.page.locator("#end-view")).to_be_hidden()
    assert await customer.value("sessionStorage.getItem('anysupport.customer')") is None
    await customer.page.reload()  # nothing of the old session comes back
    await expect(customer.page.locator("#join-view")).to_be_visible()
    second = await agents.new(server.url, "brb")
    await customer.page.fill("#code", second.session["code"])
    await customer.page.click("#join-button")
    await second.accept(timeout=20)
    await second.wait_for_keys(15)
    await wait_page_frames(second, customer)
    await expect(customer.page.locator("#call-view")).to_be_visible()
    await customer.assert_no_errors()


async def test_wrong_code_and_a_session_that_ends_before_the_agent_accepts(server, phone, agents):
    agent = await agents.new(server.url, "brx")
    customer = await phone("en-US")
    wrong = "0000" if agent.session["code"] != "0000" else "0001"
    await customer.join(server.url, wrong)
    await expect(customer.page.locator("#join-error")).to_have_text(
        "Wrong or expired code. Check the 4 digits the agent gave you.")
    await customer.page.fill("#code", agent.session["code"])
    await customer.page.click("#join-button")
    await expect(customer.page.locator("#call-status")).to_have_text("Waiting for the agent to accept.")
    await shot(customer.page, "browser-waiting-en")
    await agent.client.delete_session(agent.session_id)
    await expect(customer.page.locator("#end-reason")).to_have_text("The agent cancelled this session.")
    await shot(customer.page, "browser-ended-en")
    await customer.assert_no_errors()


async def test_the_same_token_opened_elsewhere_closes_this_page(server, call):
    import tornado.httpclient
    import tornado.websocket

    agent, customer = await call("en-US")
    token = await customer.value("JSON.parse(sessionStorage.getItem('anysupport.customer')).token")
    request = tornado.httpclient.HTTPRequest(server.ws_base + "/ws", headers={"Authorization": f"Bearer {token}"})
    other = await tornado.websocket.websocket_connect(request)
    await expect(customer.page.locator("#end-reason")).to_have_text(
        "This session was opened in another window (tab), so this one was disconnected. Continue there.")
    other.close()


async def test_without_webcodecs_the_page_offers_the_app(server, phone, agents):
    agent = await agents.new(server.url, "brn")
    customer = await phone("ko-KR", init_script="delete window.VideoEncoder;")
    await customer.join(server.url, agent.session["code"])
    await expect(customer.page.locator("#joined-view")).to_be_visible()
    await expect(customer.page.locator("#joined-reason")).to_contain_text("WebCodecs")
    link = await customer.page.locator("#app-link").get_attribute("href")
    assert link.startswith("anysupport://join?")
    await shot(customer.page, "browser-no-webcodecs-ko")


async def test_without_x25519_in_webcrypto_the_keys_are_agreed_in_javascript(call):
    """Safari 16.4–16.x: WebCrypto without X25519. tweetnacl's X25519 agrees the keys, the agent's
    Python client shows the same security code, and the customer's frames open with those keys."""
    agent, customer = await call("en-US", init_script=hiding("x25519"))
    assert await customer.value("window.anysupportCall.found.x25519") == "javascript"
    assert await customer.value("window.anysupportCall.sas") == agent.current.sas_display
    await expect(customer.page.locator("#sas-badge")).to_contain_text(agent.current.sas_display)
    frames = await agent.wait_frames(5, timeout=15)
    assert [f.number for f in frames if f.number is not None]
    await customer.assert_no_errors()


async def test_without_webcrypto_the_page_says_why(server, phone, agents):
    agent = await agents.new(server.url, "brk")
    customer = await phone("en-US", init_script=(
        "const real = crypto.subtle.importKey.bind(crypto.subtle);"
        "crypto.subtle.importKey = (format, data, alg, ...rest) => (alg === 'HKDF' || alg.name === 'HKDF')"
        " ? Promise.reject(new DOMException('no', 'NotSupportedError')) : real(format, data, alg, ...rest);"))
    await customer.join(server.url, agent.session["code"])
    await expect(customer.page.locator("#joined-reason")).to_contain_text("WebCrypto")


async def test_without_opus_video_works_and_voice_is_reported_unavailable(call):
    """No Opus from WebCodecs nor WebAssembly (with WebAssembly, test_browser_opus_wasm.py has voice)."""
    agent, customer = await call("en-US", init_script=hiding("audio_codecs", "webassembly"))
    caps = await agent.wait_for("capabilities", 10)
    assert caps["audio"] is False
    await agent.wait_frames(5, timeout=15)
    await expect(customer.page.locator("#voice-note")).to_contain_text("talk to your agent on the phone")
    await shot(customer.page, "browser-no-voice-en")


async def test_without_track_processor_the_video_element_feeds_the_encoder(call):
    """Safari and Firefox have no MediaStreamTrackProcessor: frames come from <video> +
    requestVideoFrameCallback, and the microphone from the AudioWorklet either way."""
    agent, customer = await call("ko-KR", init_script="delete window.MediaStreamTrackProcessor;")
    frames = await agent.wait_frames(10, timeout=15)
    assert (frames[-1].width, frames[-1].height) == (640, 480)
    assert [f.number for f in frames if f.number is not None]
    agent.agent_video(True, TestPatternTrack(320, 240, 15))
    audio = agent.media.receivers[framing.STREAM_CUSTOMER_AUDIO]
    await agent.current.wait_until(lambda: audio.packets > 10, 10, "customer voice")
    # #17.1: the agent sends no voice (no microphone): the page shows its picture but claims no voice call
    await customer.wait("window.anysupportCall.agentVideo === true && window.anysupportCall.agentVoice === false")
    await expect(customer.page.locator("#voice-badge")).to_be_hidden()
    await customer.assert_no_errors()


async def test_camera_refused_is_explained(server, phone, agents):
    agent = await agents.new(server.url, "brp")
    customer = await phone("ko-KR", init_script=(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"))
    await customer.join(server.url, agent.session["code"])
    await expect(customer.page.locator("#permission-view")).to_be_visible()
    await expect(customer.page.locator("#permission-text")).to_have_text(
        "카메라(또는 마이크) 사용을 허용하지 않아 영상을 보낼 수 없습니다.")
    await shot(customer.page, "browser-permission-ko")
    await customer.page.click("#permission-app")
    await expect(customer.page.locator("#joined-view")).to_be_visible()
    await expect(customer.page.locator("#joined-reason")).to_have_text(
        "카메라(또는 마이크) 사용을 허용하지 않아 영상을 보낼 수 없습니다.")


async def test_plain_http_from_another_host_says_so(server, phone):
    customer = await phone("en-US")
    await customer.page.goto(server.url.replace("127.0.0.1", "support.test") + "/")
    await expect(customer.page.locator("#insecure-note")).to_be_visible()
    await expect(customer.page.locator("#insecure-note")).to_contain_text("https://")
    await shot(customer.page, "browser-insecure-en")


@pytest.fixture
def tls_server(tmp_path):
    """A server of its own on HTTPS with a self-signed certificate that the agent client trusts."""
    import tornado.netutil

    from tests.server.test_tls_and_errors import self_signed

    cert, key = self_signed(tmp_path)
    srv = ServerProcess(str(tmp_path / "tls-server"), {"sweep_interval": 0.1, "tls_cert": cert, "tls_key": key}).start()
    # the agent client verifies certificates with tornado's default context: trust this one test certificate
    tornado.netutil._client_ssl_defaults().load_verify_locations(cert)
    yield srv
    srv.stop()


async def test_the_same_over_the_servers_own_tls(tls_server, phone, agents):
    assert tls_server.url.startswith("https://")
    customer = await phone("ko-KR", ignore_https_errors=True)
    agent = await start_call(tls_server.url, agents, customer, name="brt")
    frames = await agent.wait_frames(5, timeout=15)
    assert (frames[-1].width, frames[-1].height) == (640, 480)
    assert (await customer.value("window.anysupportCall.socket.ws.url")).startswith("wss://")


async def test_the_security_code_cannot_be_searched_for_and_a_new_one_is_announced(server, phone, shot, unique):
    """#18.7: standing in for a malicious server (here: an agent's console socket scripted by the test,
    whose messages the server relays as they are), new key commitments are sent to the page over and
    over. The page answers a handful and refuses the rest with rekey_limit (and says so); the one new
    code it did agree on is announced prominently, with the code."""
    from anysupport_client.e2e import KeyExchange

    from tests.support.client import Api, Socket, create_agent

    login, password = await create_agent(await admin_api(server.url), unique("mitm"))
    api = Api(server.url)
    token, _ = await api.login(login, password)
    agent = api.with_token(token)
    console = await Socket.connect(server.ws_base, token)
    await console.recv_type("hello")
    session = (await agent.post("/api/v1/sessions")).json
    sid = session["id"]
    customer = await phone()
    await customer.join(server.url, session["code"])
    await console.recv_type("peer", peer="customer")
    assert (await agent.post(f"/api/v1/sessions/{sid}/connect")).status == 200

    async def exchange() -> str | None:
        """One exchange from the agent's side: the page's answer, or the reason it refused."""
        ours = KeyExchange("agent", sid)
        await console.send({"session_id": sid, "type": "key_exchange", **ours.start()})
        while True:
            message = await console.recv(timeout=10)
            if not isinstance(message, dict):
                continue  # the customer's video, sealed: not for us to read
            if message.get("type") == "key_exchange_failed":
                return message["reason"]
            if message.get("type") == "key_exchange":
                for reveal in ours.receive(message):
                    await console.send({"session_id": sid, "type": "key_exchange", **reveal})
                return None

    assert await exchange() is None  # the call's first keys
    await customer.wait("window.anysupportCall && window.anysupportCall.sas !== null")
    first = await customer.value("window.anysupportCall.sas")
    # a real re-key a moment later (a reload, a node that died): allowed once the limit's first gap has
    # passed (1 s on the answering side), waited on through the page's own limit rather than a fixed sleep
    await customer.wait("window.anysupportCall.keys.peers.get('agent').rekeys.wait() === 0", timeout=30_000)
    assert await exchange() is None
    await customer.wait(f"window.anysupportCall.sas !== '{first}'")
    second = await customer.value("window.anysupportCall.sas")
    banner = customer.page.locator("#sas-changed")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(second)
    await expect(customer.page.locator("#sas-badge")).to_have_class("badge sas changed")
    await shot(customer.page, "browser-sas-changed-ko")
    # now the search: fresh commitments as fast as the server relays them
    results = [await exchange() for _ in range(60)]
    assert results.count(None) <= 1 and results.count("rekey_limit") >= 59, results
    await expect(customer.page.locator("#call-status")).to_have_text(
        "보안 연결을 너무 자주 새로 만들려고 해서 잠시 멈췄습니다. 곧 다시 시도합니다. 계속되면 상담을 종료하세요.")
    assert (await customer.stats())["rekeys_refused"] >= 59
    console.close()
