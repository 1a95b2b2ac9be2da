import pytest
from anysupport_agent.transform import ViewTransform, rotate_point, unrotate_point
from hypothesis import given
from hypothesis import strategies as st

unit = st.floats(0.0, 1.0, allow_nan=False)


def test_zoom_steps_are_ten_percent_of_the_current_size():
    t = ViewTransform(640, 480, 640, 480)
    assert t.scale == pytest.approx(1.0)
    assert t.zoomed(1).scale == pytest.approx(1.1)
    assert t.zoomed(2).scale == pytest.approx(1.21)
    assert t.zoomed(1).zoomed(-1).scale == pytest.approx(1.0)
    assert t.zoomed(-1).scale == pytest.approx(1 / 1.1)
    assert t.zoomed(1000).zoom_steps == 25 and t.zoomed(-1000).zoom_steps == -10


def test_rotation_is_clockwise():
    # the frame's top-left corner goes to the top-right after a quarter turn clockwise
    assert rotate_point(0, 0, 1) == (1, 0)
    assert rotate_point(1, 0, 1) == (1, 1)
    assert rotate_point(0.25, 0.1, 2) == (0.75, 0.9)
    t = ViewTransform(640, 480, 800, 800).rotated()
    assert t.quarter_turns == 1 and t.rotated_size == (480, 640)
    assert t.rotated().rotated().rotated().quarter_turns == 0


def test_click_on_a_rotated_zoomed_view_lands_on_the_frame_point():
    # 640x480 frame, rotated once: 480 wide, 640 high, fitted into 800x800 → scale 1.25, then zoom 1.21
    t = ViewTransform(640, 480, 800, 800).rotated().zoomed(2)
    x, y, w, h = t.picture_rect
    assert w == pytest.approx(480 * 1.25 * 1.21) and h == pytest.approx(640 * 1.25 * 1.21)
    # the frame's point (0.25, 0.75) after rotation is at (1 - 0.75, 0.25) of the picture
    wx, wy = x + 0.25 * w, y + 0.25 * h
    fx, fy = t.frame_point(wx, wy)
    assert (fx, fy) == (pytest.approx(0.25), pytest.approx(0.75))
    assert t.frame_point(-5000, 10) is None


@given(unit, unit, st.integers(0, 3), st.integers(-10, 25), st.integers(1, 2000), st.integers(1, 2000),
       st.integers(1, 3000), st.integers(1, 3000))
def test_round_trip_frame_widget_frame(fx, fy, turns, zoom, fw, fh, ww, wh):
    t = ViewTransform(fw, fh, ww, wh, zoom_steps=zoom, quarter_turns=turns)
    wx, wy = t.widget_point(fx, fy)
    back = t.frame_point(wx, wy)
    assert back is not None
    assert back[0] == pytest.approx(fx, abs=1e-9) and back[1] == pytest.approx(fy, abs=1e-9)


@given(unit, unit, st.integers(0, 3))
def test_rotate_then_unrotate(u, v, turns):
    x, y = unrotate_point(*rotate_point(u, v, turns), turns)
    assert x == pytest.approx(u) and y == pytest.approx(v)


@given(st.integers(0, 3), st.integers(-10, 25), st.integers(2, 1500), st.integers(2, 1500),
       st.integers(2, 1500), st.integers(2, 1500))
def test_visible_source_is_inside_both(turns, zoom, fw, fh, ww, wh):
    t = ViewTransform(fw, fh, ww, wh, zoom_steps=zoom, quarter_turns=turns)
    got = t.visible_source()
    assert got is not None
    (sx, sy, sw, sh), (dx, dy, dw, dh) = got
    rw, rh = t.rotated_size
    assert 0 <= sx and 0 <= sy and sw >= 1 and sh >= 1 and sx + sw <= rw and sy + sh <= rh
    # the destination covers the widget's visible part, give or take a source pixel's size
    slack = t.scale + 1
    assert dx >= -slack and dy >= -slack and dx + dw <= ww + slack and dy + dh <= wh + slack


def test_a_drag_moves_the_zoomed_picture_only_as_far_as_it_fills_the_widget():
    # 640x480 in 640x480 at 121 %: the picture is 774.4 x 580.8, so it can move 67.2 px sideways, 50.4 down
    t = ViewTransform(640, 480, 640, 480).zoomed(2)
    assert t.pannable and not ViewTransform(640, 480, 640, 480).pannable
    x0, y0, w, h = t.picture_rect
    moved = t.panned(30, -20)
    assert moved.picture_rect[:2] == (pytest.approx(x0 + 30), pytest.approx(y0 - 20))
    far = moved.panned(1000, 1000)
    assert far.picture_rect[:2] == (pytest.approx(0.0), pytest.approx(0.0))  # its top-left corner at the widget's
    assert far.panned(-5000, -5000).picture_rect[:2] == (pytest.approx(640 - w), pytest.approx(480 - h))
    # the same part stays in the middle when zooming on, and zooming back out centres the picture again
    centre = moved.frame_point(320, 240)
    assert moved.zoomed(3).frame_point(320, 240) == (pytest.approx(centre[0]), pytest.approx(centre[1]))
    assert moved.zoomed(-2).picture_rect[:2] == (pytest.approx(0.0), pytest.approx(0.0))
    assert moved.reset() == ViewTransform(640, 480, 640, 480)
    assert ViewTransform(640, 480, 640, 480).panned(50, 50) == ViewTransform(640, 480, 640, 480)


@given(unit, unit, st.integers(0, 3), st.integers(0, 25), st.integers(16, 2000), st.integers(16, 2000),
       st.integers(16, 3000), st.integers(16, 3000), st.floats(-3000, 3000), st.floats(-3000, 3000))
def test_round_trip_and_visible_source_when_panned(fx, fy, turns, zoom, fw, fh, ww, wh, dx, dy):
    t = ViewTransform(fw, fh, ww, wh, zoom_steps=zoom, quarter_turns=turns).panned(dx, dy)
    back = t.frame_point(*t.widget_point(fx, fy))
    assert back is not None
    assert back[0] == pytest.approx(fx, abs=1e-9) and back[1] == pytest.approx(fy, abs=1e-9)
    (sx, sy, sw, sh), _dest = t.visible_source()
    rw, rh = t.rotated_size
    assert 0 <= sx and 0 <= sy and sx + sw <= rw and sy + sh <= rh
