"""The page's wait for a sealed message's key (issue 21; keys.js GroupNegotiation with group.js SealedWait)
in real headless Chromium: a chat line sealed by the agent before the customer holds the agent's key of
that epoch waits and is handed on (onOpened) when the key arrives; a replay, what waited too long, what
did not fit and a removed participant's messages are refused. Driven from Python with page.evaluate, the
channels from tests/data/group_vectors.json, a hand-moved clock."""

from __future__ import annotations

import pytest

from tests.web.test_group_js import with_vectors

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

JS_WAIT = """async (v) => {
    const g = await import('/static/customer/group.js');
    const k = await import('/static/customer/keys.js');
    const {fromHex, b64url} = await import('/static/customer/e2e.js');
    let now = 0;  // seconds
    const opened = [], refused = [];
    const neg = new k.GroupNegotiation(v.session_id, {send: () => true, onOpened: (m) => opened.push(m.text),
                                                      onRefused: (r) => refused.push(r.code), now: () => now});
    neg.me = 0;
    neg.keys = new g.GroupKeys(v.session_id, 0);
    const keys = {0: neg.keys, 1: new g.GroupKeys(v.session_id, 1), 2: new g.GroupKeys(v.session_id, 2)};
    for (const p of v.pairs) {
        for (const [a, b] of [[p.low, p.high], [p.high, p.low]]) {
            await keys[a].channelReady(await g.pairChannel(v.session_id, a, fromHex(v.pub[a]), b, fromHex(v.pub[b]),
                                                           fromHex(p.shared)));
        }
    }
    await neg.keys.membership([1, 2]);
    async function newEpoch(i) {  // participant i starts a new epoch (as after a join): its box for the customer
        keys[i].present = new Set();
        const box = (await keys[i].membership([0, 1, 2].filter((p) => p !== i))).get(0);
        return {type: 'sender_key', from_index: i, epoch: box.epoch, box: box.box};
    }
    async function chat(i, text) {
        const frame = await keys[i].sealer.seal(g.KIND.control, new TextEncoder().encode(
            JSON.stringify({type: 'chat', text: text})), false, 0);
        return {type: 'sealed', frame: b64url(frame), from: 'agent', from_index: i, time: 1};
    }
    const out = {};
    await neg.senderKey(await newEpoch(2));  // the guest's key arrives in time
    const box = await newEpoch(1);  // the agent's does not, yet
    const one = await chat(1, '하나');
    out.early = [await neg.openControl(one), await neg.openControl(await chat(1, 'two')), await neg.openControl(one),
                 neg.waiting.size];
    now += 4.5;
    await neg.senderKey(box);
    out.when_key = [opened.slice(), refused.slice(), neg.waiting.size];
    out.direct = (await neg.openControl(await chat(1, 'three'))).text;
    // what waits longer than 5 s is refused, not opened
    const late = await newEpoch(1);
    await neg.openControl(await chat(1, 'late'));
    now += 5;
    await neg.senderKey(late);
    out.expired = [opened.length, refused.slice(), neg.waiting.size];
    // what does not fit is refused; what was kept still opens
    neg.waiting.maxMessages = 2;
    const full = await newEpoch(1);
    for (const text of ['a', 'b', 'c']) await neg.openControl(await chat(1, text));
    out.full_refused = refused.length;
    await neg.senderKey(full);
    out.full = opened.slice(2);  // "three" opened directly, not through onOpened
    // a removed participant's waiting messages are dropped (refused)
    await newEpoch(2);
    await neg.openControl(await chat(2, 'guest'));
    out.guest_waits = neg.waiting.size;
    await neg.membership({type: 'participants', version: 2, you: 0,
                          participants: [{index: 0, role: 'customer'}, {index: 1, role: 'agent'}]});
    await neg.openControl(await chat(2, 'after'));  // nothing of a participant who left waits now
    out.removed = [neg.waiting.size, refused.slice(out.full_refused), opened.length];
    return out;
}"""


async def test_a_sealed_message_early_for_its_key_waits_for_it_in_the_page(server, phone):
    customer, got = await with_vectors(server, phone, JS_WAIT)
    assert got["early"] == [None, None, None, 3]  # kept, a replay among them
    assert got["when_key"] == [["하나", "two"], ["replayed"], 0]  # opened once, in order
    assert got["direct"] == "three"
    assert got["expired"] == [2, ["replayed", "unknown_key"], 0]
    assert got["full_refused"] == 3 and got["full"] == ["a", "b"]
    assert got["guest_waits"] == 1
    assert got["removed"] == [0, ["unknown_key", "unknown_key"], 4]
    await customer.assert_no_errors()
