"""The page's version-2 crypto (anysupport/static/customer/group.js, issue 21) in real headless Chromium:
the vectors of tests/data/group_vectors.json, frames that the Python reference (anysupport_native.group)
opens and seals the other way, and the membership rules with a hand-moved clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anysupport_native import group
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "group_vectors.json").read_text("utf-8"))
SID = VECTORS["session_id"]
PRIVATE = {int(i): bytes.fromhex(p["private"]) for i, p in VECTORS["participants"].items()}
PUBLIC = {int(i): p["public"] for i, p in VECTORS["participants"].items()}


def shared(a: int, b: int) -> str:
    peer = X25519PrivateKey.from_private_bytes(PRIVATE[b]).public_key()
    return X25519PrivateKey.from_private_bytes(PRIVATE[a]).exchange(peer).hex()


async def with_vectors(server, phone, script: str):
    """A phone's page and what ``script`` returned there, given the vectors, each pair's shared secret
    and the public keys."""
    customer = await phone()
    await customer.page.goto(server.url + "/")
    pairs = [{**p, "shared": shared(p["low"], p["high"])} for p in VECTORS["pairs"]]
    return customer, await customer.page.evaluate(script, {**VECTORS, "pairs": pairs, "pub": PUBLIC})


JS_VECTORS = """async (v) => {
    const g = await import('/static/customer/group.js');
    const {fromHex, hex} = await import('/static/customer/e2e.js');
    const out = {pairs: [], keys: [], frames: []};
    for (const p of v.pairs) {
        const ch = await g.pairChannel(v.session_id, p.low, fromHex(v.pub[p.low]), p.high, fromHex(v.pub[p.high]),
                                       fromHex(p.shared));
        out.pairs.push([hex(ch.sendKey), hex(ch.recvKey), ch.sas]);
    }
    for (const e of v.sender_keys) {
        const row = {frame_key: hex(await g.frameKey(fromHex(e.sender_key), v.session_id, e.sender, e.epoch)), boxes: []};
        for (const b of e.boxes) {
            const p = v.pairs.find((p) => (p.low === e.sender && p.high === b.to) || (p.high === e.sender && p.low === b.to));
            const ch = await g.pairChannel(v.session_id, e.sender, fromHex(v.pub[e.sender]), b.to, fromHex(v.pub[b.to]),
                                           fromHex(p.shared));
            const back = await g.pairChannel(v.session_id, b.to, fromHex(v.pub[b.to]), e.sender, fromHex(v.pub[e.sender]),
                                             fromHex(p.shared));
            row.boxes.push([await ch.wrap(e.epoch, fromHex(e.sender_key), fromHex(b.nonce)),
                            hex(await back.unwrap(e.epoch, b.box))]);
        }
        out.keys.push(row);
    }
    for (const f of v.frames) {
        const e = v.sender_keys.find((e) => e.sender === f.sender && e.epoch === f.epoch);
        const sealer = await g.GroupSealer.create(v.session_id, f.sender, f.epoch, fromHex(e.sender_key));
        let frame;
        for (let i = 0; i < 3; i++) frame = await sealer.seal(f.kind, fromHex(f.payload_hex), f.keyframe, f.timestamp_us);
        const opener = new g.GroupOpener(v.session_id, 254);
        await opener.addKey(f.sender, f.epoch, fromHex(e.sender_key));
        const opened = await opener.open(fromHex(f.frame));
        out.frames.push([hex(frame), hex(g.buildNonce(f.kind, f.sender, f.epoch, 2)), hex(opened.payload),
                         opened.header.sequence]);
    }
    return out;
}"""


async def test_js_matches_the_vectors(server, phone):
    customer, result = await with_vectors(server, phone, JS_VECTORS)
    assert result["pairs"] == [[p["wrap_low_to_high"], p["wrap_high_to_low"], p["sas"]] for p in VECTORS["pairs"]]
    for got, want in zip(result["keys"], VECTORS["sender_keys"], strict=True):
        assert got["frame_key"] == want["frame_key"]
        assert got["boxes"] == [[b["box"], want["sender_key"]] for b in want["boxes"]]
    for got, want in zip(result["frames"], VECTORS["frames"], strict=True):
        assert got == [want["frame"], want["nonce"], want["payload_hex"], 2]
    await customer.assert_no_errors()


JS_RULES = """async (v) => {
    const g = await import('/static/customer/group.js');
    const {fromHex, hex} = await import('/static/customer/e2e.js');
    let now = 0;
    const clock = {now: () => now};
    const keys = {};
    for (const i of [0, 1, 2]) keys[i] = new g.GroupKeys(v.session_id, i, clock);
    for (const p of v.pairs) {
        for (const [a, b] of [[p.low, p.high], [p.high, p.low]]) {
            await keys[a].channelReady(await g.pairChannel(v.session_id, a, fromHex(v.pub[a]), b, fromHex(v.pub[b]),
                                                           fromHex(p.shared)));
        }
    }
    async function members(present) {
        const given = {};
        for (const i of present) given[i] = await keys[i].membership(present.filter((p) => p !== i));
        for (const i of present) for (const [peer, b] of given[i]) await keys[peer].receive(i, b.epoch, b.box);
        return given;
    }
    async function tryOpen(i, frame) {
        try { return new TextDecoder().decode((await keys[i].opener.open(frame)).payload); } catch (e) { return e.code; }
    }
    const out = {};
    const first = await members([0, 1, 2]);
    const before = await keys[0].sealer.seal(g.KIND.video, new TextEncoder().encode('before'), false, 1);
    out.before = [await tryOpen(1, before), await tryOpen(2, before)];
    await members([0, 1]);  // 2 leaves
    const after = await keys[0].sealer.seal(g.KIND.video, new TextEncoder().encode('after'), false, 2);
    out.after = [await tryOpen(1, after), await tryOpen(2, after), keys[0].epoch];
    out.late = await tryOpen(1, await keys[2].sealer.seal(g.KIND.audio, new TextEncoder().encode('x'), false, 3));
    await members([0, 1]);  // no change: no new epoch
    out.same_epoch = keys[1].epoch;
    out.epochs = keys[0].opener.epochs(1);
    now += 1000;
    out.epochs_later = keys[0].opener.epochs(1);
    try { await keys[1].receive(0, 1, first[0].get(1).box); out.replayed_box = 'accepted'; }
    catch (e) { out.replayed_box = e.code; }
    out.python_frame = hex(await keys[1].sealer.seal(g.KIND.control, new TextEncoder().encode('{"type":"chat"}'), false, 5));
    out.key1 = hex(keys[1].senderKey);
    out.epoch1 = keys[1].epoch;
    return out;
}"""


async def test_js_membership_rules_and_python_opens_what_js_seals(server, phone):
    customer, got = await with_vectors(server, phone, JS_RULES)
    assert got["before"] == ["before", "before"]
    assert got["after"] == ["after", "unknown_key", 2]  # the one who left opens nothing sealed after
    assert got["late"] == "unknown_key"  # and the others no longer open what it sends
    assert got["same_epoch"] == 2
    assert got["epochs"] == [1, 2] and got["epochs_later"] == [2]  # the replaced epoch: 1 s of grace, then gone
    assert got["replayed_box"] == "old_epoch"
    opener = group.GroupOpener(SID, 0)
    opener.add_key(1, got["epoch1"], bytes.fromhex(got["key1"]))
    header, payload = opener.open(bytes.fromhex(got["python_frame"]))
    assert payload == b'{"type":"chat"}' and header.kind == group.KIND_CONTROL and header.sender == 1
    await customer.assert_no_errors()
