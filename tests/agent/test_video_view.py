"""The viewer's picture widget alone: every drawing shape becomes an annotation item in frame coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from anysupport_agent.render import Rendered
from anysupport_agent.transform import ViewTransform
from anysupport_agent.widgets.video_view import SHAPES, VideoView
from anysupport_qt import QApplication, QEvent, QMouseEvent, QPoint, QPointF, Qt


@pytest.fixture
def view(qtbot):
    widget = VideoView(ask_text=lambda parent: "이 나사를 푸세요")
    widget.resize(800, 800)
    qtbot.addWidget(widget)
    # a 640x480 frame turned once and zoomed twice: the geometry a click must see through
    t = ViewTransform(640, 480, 800, 800, zoom_steps=2, quarter_turns=1)
    (sx, sy, sw, sh), dest = t.visible_source()
    widget.show_rendered(Rendered(np.zeros((dest[3], dest[2], 3), np.uint8), dest, t, (640, 480), 0.0))
    return widget


def drag(view, pos: QPoint) -> None:
    """A move with the left button held (QTest's mouseMove carries no buttons)."""
    QApplication.sendEvent(view, QMouseEvent(QEvent.MouseMove, QPointF(pos), Qt.NoButton, Qt.LeftButton,
                                             Qt.NoModifier))


def at(view, fx, fy) -> QPoint:
    x, y = view.transform.widget_point(fx, fy)
    return QPoint(round(x), round(y))


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_is_an_item_in_frame_coordinates(qtbot, view, shape):
    view.shape = shape
    view.color = "#00ff00"
    view.width_px = 5
    drawn = []
    view.item_drawn.connect(drawn.append)
    qtbot.mousePress(view, Qt.LeftButton, pos=at(view, 0.3, 0.4))
    for f in (0.35, 0.4, 0.45):
        drag(view, at(view, f, f + 0.1))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=at(view, 0.5, 0.6))
    assert len(drawn) == 1
    item = drawn[0]
    assert item["shape"] == shape and item["color"] == "#00ff00" and item["width"] == 5
    first = item["points"][0]
    assert first == pytest.approx([0.3, 0.4], abs=0.005)
    if shape == "text":
        assert item["text"] == "이 나사를 푸세요" and item["size"] > 0 and len(item["points"]) == 1
    elif shape == "stroke":
        assert len(item["points"]) >= 3
    else:
        assert len(item["points"]) == 2 and item["points"][1] == pytest.approx([0.5, 0.6], abs=0.005)


def test_a_click_without_a_drag_draws_no_line_and_focus_mode_sends_points(qtbot, view):
    drawn, focused = [], []
    view.item_drawn.connect(drawn.append)
    view.focus_clicked.connect(lambda x, y: focused.append((x, y)))
    view.shape = "line"
    qtbot.mouseClick(view, Qt.LeftButton, pos=at(view, 0.5, 0.5))
    assert drawn == []
    view.shape = None
    view.focus_mode = True
    qtbot.mouseClick(view, Qt.LeftButton, pos=at(view, 0.1, 0.9))
    assert focused and focused[0] == pytest.approx((0.1, 0.9), abs=0.005)
    qtbot.mouseClick(view, Qt.LeftButton, pos=QPoint(2, 2))  # off the picture (the dark border): nothing
    assert len(focused) == 1


def test_the_customers_focus_answer_shows_as_a_ring_for_a_moment(qtbot, view):
    """#17.13: solid when the camera took the point, dashed when it could not; gone after the moment."""
    view.show_focus(0.25, 0.75, True, seconds=0.2)
    assert view.focus_ring == (0.25, 0.75, True)
    shot = view.grab().toImage()
    cx, cy = view.transform.widget_point(0.25, 0.75)
    ring = shot.pixelColor(round(cx + 22), round(cy))
    assert (ring.red(), ring.green()) > (200, 200) and ring.blue() < 120  # yellow on the ring
    qtbot.waitUntil(lambda: view.focus_ring is None, timeout=2000)
    view.show_focus(0.5, 0.5, False, seconds=0.2)
    assert view.focus_ring == (0.5, 0.5, False)
