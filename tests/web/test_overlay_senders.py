"""The page's drawings are their senders' (issue 21: an invited expert draws too): an undo or clear takes
only its sender's drawings, and each agent's ``anchor`` list anchors its own drawings and leaves the
others' alone (overlay.js AnnotationScene, anchoring.js PageAnchors), in the browser."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser]

SCENE = """async () => {
    const {AnnotationScene} = await import('/static/customer/overlay.js');
    const {PageAnchors} = await import('/static/customer/anchoring.js');
    const posted = [];
    const worker = {postMessage: (m) => posted.push(m), terminate: () => {}};
    const scene = new AnnotationScene();
    const anchors = new PageAnchors(() => {}, () => worker);
    const item = (id, x) => ({id: id, shape: 'line', color: '#ff0000', width: 4, points: [[x, 0.1], [x + 0.1, 0.2]]});
    const H = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    scene.apply({op: 'add', item: item('a1', 0.1)});  // version 1: the session's agent's
    scene.apply({op: 'add', item: item('x1', 0.5), from_index: 2});
    scene.apply({op: 'add', item: item('a2', 0.3), from_index: 1});
    anchors.receive({timestamp_us: 10, anchors: {a1: H}, from_index: 1}, scene);
    anchors.receive({timestamp_us: 20, anchors: {x1: H}, from_index: 2}, scene);
    anchors.answered({timestamp_us: 30, anchors: {a1: H, x1: H}});
    const bothAnchored = [anchors.placement('a1'), anchors.placement('x1')].every((h) => Array.isArray(h));
    anchors.receive({timestamp_us: 40, anchors: {a2: H}}, scene);  // the agent's next list: a1 no longer, x1 untouched
    const afterAgent = {a1: anchors.placement('a1'), x1: anchors.placement('x1'), keep: posted[posted.length - 1].keep};
    const clearedByExpert = scene.apply({op: 'clear', from_index: 2});
    anchors.forget(scene);
    const afterClear = [...scene.order];
    const undoneByExpert = scene.apply({op: 'undo', from_index: 2});  // nothing of its own left
    scene.apply({op: 'undo'});
    return {bothAnchored, afterAgent, clearedByExpert, afterClear, undoneByExpert, left: [...scene.order],
            named: [...anchors.named]};
}"""


async def test_each_senders_drawings_and_anchors_are_its_own(server, open_page):
    """The scene and the anchors, unit by unit in the page: an undo or clear takes only its sender's drawings;
    an agent's anchor list leaves the expert's anchored drawings anchored (and tells the Worker to keep them)."""
    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(SCENE)
    assert got["bothAnchored"] is True
    assert got["afterAgent"]["a1"] is None or "a1" not in got["named"]
    assert isinstance(got["afterAgent"]["x1"], list) and got["afterAgent"]["keep"] == ["x1"]
    assert got["clearedByExpert"] is True and got["afterClear"] == ["a1", "a2"]
    assert got["undoneByExpert"] is False and got["left"] == ["a1"]
    assert "x1" not in got["named"]
    problems.assert_none()
