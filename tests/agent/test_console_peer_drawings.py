"""Two real consoles (offscreen) and the headless customer on the real server, issue 21: the session's agent (A)
sees what the invited expert (B, full rights) draws over the picture, each console's undo and clear take only its
own drawings, and the expert's clear takes its drawing off A's viewer (and the customer's)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from anysupport_qt import QPoint, Qt

from .conftest import screenshot
from .test_console_invite import call_with_guest

pytestmark = pytest.mark.slow

BLUE = (0x29, 0x79, 0xFF)


def drag(qtbot, view, a, b):
    """Draw from frame point ``a`` to ``b`` (fractions of the picture) with the mouse."""
    wa, wb = view.transform.widget_point(*a), view.transform.widget_point(*b)
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(round(wa[0]), round(wa[1])))
    qtbot.mouseMove(view, QPoint(round((wa[0] + wb[0]) / 2), round((wa[1] + wb[1]) / 2)))
    qtbot.mouseMove(view, QPoint(round(wb[0]), round(wb[1])))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(round(wb[0]), round(wb[1])))


def shown_ids(app) -> list[str]:
    """The drawings A's viewer draws over the picture now (its renderer's scene, as composited)."""
    with app.bridge.renderer.lock:
        return [item["id"] for item in app.bridge.renderer.compositor.scene.ordered()]


def blue_near(rgb: np.ndarray, fx: float, fy: float, r: int = 4) -> bool:
    h, w = rgb.shape[:2]
    x, y = round(fx * w), round(fy * h)
    patch = rgb[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].astype(int)
    return bool(np.any(np.all(np.abs(patch - np.array(BLUE)) <= 40, axis=-1)))


def blue_pixels(rgb: np.ndarray) -> int:
    return int(np.count_nonzero(np.all(np.abs(rgb.astype(int) - np.array(BLUE)) <= 25, axis=-1)))


def test_the_agents_console_shows_the_experts_drawing_each_undo_and_clear_its_own(
        qtbot, console_factory, customer_factory, new_agent):
    app, main, session, customer, other, other_main, *_ = call_with_guest(
        qtbot, console_factory, customer_factory, new_agent, "full")
    sid = session["id"]
    viewer = other_main.viewer
    expert = other.bridge.client.agent_client.live_sessions[sid]
    host = app.bridge.client.agent_client.live_sessions[sid]
    qtbot.waitUntil(lambda: expert.frames_decoded > 0 and viewer.view.rendered is not None, timeout=15000)
    qtbot.waitUntil(lambda: expert.index == 2 and expert.media.group.ready and host.media.group.ready
                    and len(customer.session.participants) == 3, timeout=15000)

    assert blue_pixels(main.viewer.view.rendered.image) < 50  # (the test pattern has next to none of that blue)
    # A draws a red line of its own (A's default colour)
    host_view = main.viewer.view
    main.viewer.drawing_bar.shape_buttons["line"].click()
    drag(qtbot, host_view, (0.1, 0.1), (0.3, 0.15))
    qtbot.waitUntil(lambda: len(host.scene) == 1 and len(customer.session.scene) == 1, timeout=10000)
    mine = host.scene.order[0]
    assert host.scene.owners[mine] == 1
    qtbot.waitUntil(lambda: mine in expert.scene.items, timeout=10000)  # B's console shows A's line, as A's
    assert expert.scene.owners[mine] == 1

    # B freezes its picture (화면 멈춤) and draws a blue rectangle on it: A's viewer holds it, and the customer's,
    # both as the expert's. (Frozen, B anchors it only on release: it stays where drawn everywhere, whereas on the
    # test pattern's moving stripes B's tracker would lose it and hide it on every side, A's too.)
    viewer.view_bar.freeze_button.click()
    qtbot.waitUntil(lambda: other.bridge.anchoring.get(sid) is not None
                    and other.bridge.anchoring[sid].frozen is not None, timeout=5000)
    viewer.drawing_bar.set_colour("#2979ff")
    viewer.drawing_bar.shape_buttons["rect"].click()
    drag(qtbot, viewer.view, (0.2, 0.3), (0.6, 0.7))
    qtbot.waitUntil(lambda: len(expert.scene) == 2, timeout=10000)
    theirs = expert.scene.order[1]
    assert expert.scene.owners[theirs] == 2 and theirs != mine
    qtbot.waitUntil(lambda: theirs in host.scene.items and theirs in shown_ids(app), timeout=10000)
    assert host.scene.owners[theirs] == 2 and host.scene.items[theirs]["color"] == "#2979ff"
    qtbot.waitUntil(lambda: theirs in customer.session.scene.items, timeout=10000)
    # drawn over A's picture: blue on the rectangle's left edge of the frame A renders
    qtbot.waitUntil(lambda: app.bridge.renderer.last_drawn is not None
                    and blue_near(app.bridge.renderer.last_drawn, 0.2, 0.5), timeout=10000)
    # ... and on A's screen: the pictures the viewer paints now have the blue rectangle
    qtbot.waitUntil(lambda: blue_pixels(main.viewer.view.rendered.image) > 300, timeout=10000)
    screenshot(main.viewer, "peer-drawing-host-viewer-ko")

    # A's undo takes A's line, B's rectangle stays on A's viewer, B's and the customer's
    main.viewer.drawing_bar.undo_button.click()
    qtbot.waitUntil(lambda: mine not in host.scene.items and mine not in customer.session.scene.items
                    and mine not in expert.scene.items, timeout=10000)
    assert shown_ids(app) == [theirs]
    assert list(customer.session.scene.items) == [theirs] and list(expert.scene.items) == [theirs]
    main.viewer.drawing_bar.clear_button.click()  # A has nothing of its own left: B's stays
    done = threading.Event()
    app.bridge.call(done.set)  # after the clear on A's loop thread (its calls run in order)
    qtbot.waitUntil(done.is_set, timeout=5000)
    assert list(host.scene.items) == [theirs] and shown_ids(app) == [theirs]

    # B's clear takes it off A's viewer and the customer's
    viewer.drawing_bar.clear_button.click()
    qtbot.waitUntil(lambda: len(host.scene) == 0 and shown_ids(app) == [] and len(customer.session.scene) == 0,
                    timeout=10000)
    assert len(expert.scene) == 0
    viewer.view_bar.freeze_button.click()
