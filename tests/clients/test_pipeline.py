"""The media pipeline end to end: headless customer → real server → scripted agent, real H.264."""

import asyncio

import pytest
from anysupport_client.media.quality import LEVELS

from tests.clients.conftest import wait_until


async def test_video_arrives_decodes_with_stamped_frame_numbers_in_order(pair):
    agent, customer, source = pair
    assert agent.media.keys.sas == customer.media.keys.sas  # both sides show the same SAS
    frames = await agent.wait_frames(30, timeout=15)
    numbers = [f.number for f in frames]
    assert None not in numbers, "every decoded frame carries a readable stamp"
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert (frames[0].width, frames[0].height) == (640, 480)
    assert all(0 <= f.latency_ms < 1000 for f in frames)
    assert agent.video_receiver.decode_errors == 0


async def test_quality_change_changes_the_resolution_the_agent_receives(pair):
    agent, customer, _source = pair
    await agent.wait_frames(5)
    for level in ("low", "high", "medium"):
        top = LEVELS[level].quality
        mark = len(agent.inbox)
        agent.camera("quality", level=level)
        state = await agent.wait_for("camera_state", since=mark, quality=level)
        assert (state["width"], state["height"]) == (top.width, top.height)
        got = await agent.wait_frames(3, timeout=10, predicate=lambda f, t=top: (f.width, f.height) == (t.width, t.height))
        assert got[0].keyframe  # a new size starts with an IDR
        assert all(f.number is not None for f in got)


async def test_pause_stops_frames_and_resume_restarts_them_with_a_keyframe(pair):
    agent, customer, _source = pair
    await agent.wait_frames(5)
    mark = len(agent.inbox)
    agent.camera("video", on=False)
    await agent.wait_for("camera_state", since=mark, video=False)
    sender = customer.video_sender
    assert sender.enabled is False
    sent, skipped = sender.frames_sent, sender.frames_skipped
    # the customer's own capture clock, not a timer: frames already on the way land while it skips 10
    await wait_until(lambda: sender.frames_skipped >= skipped + 10, 10)
    count = len(agent.frames)
    await wait_until(lambda: sender.frames_skipped >= skipped + 30, 10)  # about a second of capture, paused
    assert sender.frames_sent == sent, "nothing encoded or sent while paused"
    assert len(agent.frames) == count, "no frames while paused"
    agent.camera("video", on=True)
    resumed = await agent.wait_frames(5)
    assert resumed[0].keyframe
    assert resumed[0].number > agent.frames[count - 1].number


async def test_the_customers_stop_wins_over_the_agents_start(pair):
    """#17.6: after the customer stops the camera, the agent's start is a request the customer sees;
    only the customer turns it back on. camera_state says who stopped it."""
    agent, customer, _source = pair
    await agent.wait_frames(3)
    mark = agent.mark()
    customer.set_video(False)
    state = await agent.wait_for("camera_state", since=mark, video=False)
    assert state["video_paused_by"] == "customer"
    mark = agent.mark()
    request = asyncio.ensure_future(customer.wait_event("video_request"))
    agent.camera("video", on=True)
    await request
    state = await agent.wait_for("camera_state", since=mark)
    assert state["video"] is False and state["video_paused_by"] == "customer"
    assert customer.video_sender.enabled is False
    mark = agent.mark()
    customer.set_video(True)
    state = await agent.wait_for("camera_state", since=mark, video=True)
    assert "video_paused_by" not in state
    await agent.wait_frames(3)
    # the agent's own stop is the agent's to lift
    mark = agent.mark()
    agent.camera("video", on=False)
    assert (await agent.wait_for("camera_state", since=mark, video=False))["video_paused_by"] == "agent"
    mark = agent.mark()
    agent.camera("video", on=True)
    await agent.wait_for("camera_state", since=mark, video=True)


async def test_camera_switch_flash_and_focus_reach_the_source(pair):
    agent, customer, source = pair
    await agent.wait_frames(3)
    mark, customer_mark = agent.mark(), customer.mark()
    agent.camera("switch", facing="front")
    agent.camera("flash", on=True)
    agent.camera("focus", x=0.25, y=0.75)
    await agent.wait_for("camera_state", since=mark, facing="front", flash=True)
    await customer.wait_for("camera", since=customer_mark, command="focus")  # the last command, obeyed
    assert source.commands == [("switch", "front"), ("flash", True), ("focus", (0.25, 0.75))]
    assert source.facing == "front" and source.flash and source.focus_point == (0.25, 0.75)
    # #17.13: the camera's answer to the focus point comes back once, in camera_state
    mark = agent.mark()
    agent.camera("focus", x=0.5, y=0.4)
    state = await agent.wait_for("camera_state", since=mark, focus={"x": 0.5, "y": 0.4, "applied": True})
    assert state["focus"]["applied"] is True
    mark = agent.mark()
    agent.camera("flash", on=False)
    assert "focus" not in await agent.wait_for("camera_state", since=mark)
    caps = await agent.wait_for("capabilities")
    assert caps["flash"] is True and caps["cameras"] == ["back", "front"] and caps["device"] == "test pattern"


async def test_annotations_appear_in_the_customers_composited_preview(pair):
    agent, customer, _source = pair
    await agent.wait_frames(3)
    rect = {"id": "r1", "shape": "rect", "color": "#ff0000", "width": 6, "points": [[0.25, 0.5], [0.75, 0.9]]}
    line = {"id": "l1", "shape": "line", "color": "#0000ff", "width": 8, "points": [[0.1, 0.4], [0.9, 0.4]]}
    agent.annotate("add", rect)
    agent.annotate("add", line)
    await customer.wait_until(lambda: len(customer.scene) == 2, 5, "2 drawings")
    assert len(customer.scene) == 2
    raw = customer.last_preview.to_ndarray(format="rgb24")
    shown = customer.preview_rgb(customer.last_preview)
    h, w = shown.shape[:2]
    # the rect's left edge at x = 0.25 w, halfway down it; the line across y = 0.4 h
    assert list(shown[int(0.7 * h), int(0.25 * w)]) == [255, 0, 0]
    assert list(shown[int(0.4 * h), int(0.5 * w)]) == [0, 0, 255]
    # inside the rect and away from every stroke the camera picture is untouched
    assert (shown[int(0.7 * h), int(0.5 * w)] == raw[int(0.7 * h), int(0.5 * w)]).all()
    agent.annotate("undo")
    await customer.wait_until(lambda: len(customer.scene) == 1, 5, "1 drawings")
    shown = customer.preview_rgb(customer.last_preview)
    raw = customer.last_preview.to_ndarray(format="rgb24")
    assert (shown[int(0.4 * h), int(0.5 * w)] == raw[int(0.4 * h), int(0.5 * w)]).all()
    agent.annotate("clear")
    await customer.wait_until(lambda: len(customer.scene) == 0, 5, "0 drawings")
    assert len(customer.scene) == 0


@pytest.mark.slow
async def test_survey_answer_lands_in_the_record(pair):
    agent, customer, _source = pair
    await agent.wait_frames(3)
    agent.end()
    survey = await customer.wait_for("survey")
    assert [c["value"] for c in survey["choices"]] == ["satisfied", "neutral", "unsatisfied"]
    assert customer.state == "expired"
    customer.answer_survey("neutral", "the picture was clear")
    await customer.wait_for("survey_saved")
    record = await agent.rest.record(agent.session_id)
    assert record["satisfaction"] == "neutral" and record["feedback"] == "the picture was clear"
    await asyncio.wait_for(customer.finished.wait(), 5)


@pytest.mark.slow
async def test_dropped_connection_recovers_within_grace_without_a_new_code(pair):
    agent, customer, _source = pair
    await agent.wait_frames(5)
    session_id, token = customer.session_id, customer.token
    mark = len(agent.inbox)
    customer.drop_connection()
    await agent.wait_for("peer", since=mark, peer="customer", status="reconnecting")
    await agent.wait_for("peer", since=mark, peer="customer", status="back", timeout=10)
    before = agent.frames[-1].number
    after = await agent.wait_frames(10, timeout=10)
    assert after[-1].number > before
    assert customer.reconnects == 1 and customer.session_id == session_id and customer.token == token
    assert customer.state == "connected"
