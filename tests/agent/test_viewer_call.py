"""Issue 17 #2, #3, #7: the viewer of a live call, walked as an agent does it, on the real server.

A real console (login window, main window, viewer) against the headless mobile client: the viewer is
closed and opened again while the call goes on (double-click, 영상 보기, 접속), closing asks whether to
end the support, 지원 종료 ends it with ``end`` (the customer gets the survey), deleting a live session
asks first, and after the end the viewer keeps its last picture and sends nothing more.
"""

from __future__ import annotations

import pytest
from anysupport_agent.texts import Texts
from anysupport_qt import QPoint, Qt

from .conftest import log_in, screenshot
from .test_console_session import connect_by_hand, new_session, wait_state

KO = Texts("ko")
pytestmark = pytest.mark.slow


def connected_call(qtbot, console_factory, new_agent, customer_factory):
    login, password = new_agent()
    app = console_factory()
    main = log_in(qtbot, app, login, password)
    session = new_session(qtbot, main)
    customer = customer_factory()
    viewer = connect_by_hand(qtbot, main, session, customer)
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.session_id == session["id"], timeout=5000)
    qtbot.waitUntil(lambda: viewer.view.rendered is not None, timeout=15000)
    return main, session, customer


def double_click_row(qtbot, tab, session_id):
    index = tab.model.index(tab.model.row_of(session_id), 0)
    rect = tab.table.visualRect(index)
    qtbot.mouseClick(tab.table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tab.table.viewport(), Qt.LeftButton, pos=rect.center())


def test_a_closed_viewer_opens_again_and_closing_asks(qtbot, console_factory, new_agent, customer_factory):
    main, session, customer = connected_call(qtbot, console_factory, new_agent, customer_factory)
    viewer, tab = main.viewer, main.sessions_tab
    asked: list[str] = []
    answer = {"now": "cancel"}

    def ask(parent):
        asked.append(answer["now"])
        return answer["now"]

    viewer.ask_end_call = ask
    viewer.close()  # 취소: nothing happens
    assert asked == ["cancel"] and viewer.isVisible()
    answer["now"] = "keep"
    viewer.close()  # 통화 유지: the window goes, the call stays
    assert asked == ["cancel", "keep"] and not viewer.isVisible()
    # the customer goes on streaming: new pictures keep arriving with the window closed
    for _ in range(3):
        before = viewer.view.rendered
        qtbot.waitUntil(lambda: viewer.view.rendered is not before, timeout=10000)  # noqa: B023
    assert tab.model.rows[tab.model.row_of(session["id"])]["state"] == "connected"
    assert customer.session.state == "connected"
    # a double-click on the row opens it again, with the live picture
    double_click_row(qtbot, tab, session["id"])
    qtbot.waitUntil(viewer.isVisible, timeout=5000)
    assert viewer.session_id == session["id"] and viewer.live
    before = viewer.view.rendered
    qtbot.waitUntil(lambda: viewer.view.rendered is not before, timeout=10000)
    viewer.close()
    assert not viewer.isVisible()
    tab.view_button.click()  # 영상 보기
    qtbot.waitUntil(viewer.isVisible, timeout=5000)
    viewer.close()
    tab.connect_button.click()  # 접속 on a Connected session shows it rather than complaining
    qtbot.waitUntil(viewer.isVisible, timeout=5000)
    assert tab.message.text() == ""
    screenshot(main, "viewer-reopened-sessions-ko")
    # closing and choosing 지원 종료 ends the call
    answer["now"] = "end"
    viewer.close()
    assert not viewer.isVisible()
    wait_state(qtbot, main, session["id"], "expired")
    assert tab.model.rows[tab.model.row_of(session["id"])]["expire_reason"] == "ended_by_agent"
    qtbot.waitUntil(lambda: customer.session.state == "expired", timeout=10000)
    # an ended session has no video to open
    tab.table.selectRow(tab.model.row_of(session["id"]))
    tab.view_button.click()
    assert tab.message.text() == KO("not_connected") and not viewer.isVisible()


def test_end_support_from_the_list_and_a_live_delete_asks(qtbot, console_factory, new_agent, customer_factory):
    main, session, customer = connected_call(qtbot, console_factory, new_agent, customer_factory)
    tab = main.sessions_tab
    questions: list[str] = []
    answer = {"now": False}

    def confirm(parent, text):
        questions.append(text)
        return answer["now"]

    tab.confirm = confirm
    tab.table.selectRow(tab.model.row_of(session["id"]))
    tab.delete_button.click()  # a live call: asked, and "no" keeps it
    assert questions == [KO("delete_confirm", code=session["code"])]
    assert tab.model.rows[tab.model.row_of(session["id"])]["state"] == "connected"
    screenshot(main, "sessions-end-support-ko")
    tab.end_button.click()  # 지원 종료
    wait_state(qtbot, main, session["id"], "expired")
    assert tab.model.rows[tab.model.row_of(session["id"])]["expire_reason"] == "ended_by_agent"
    qtbot.waitUntil(lambda: customer.session.state == "expired" and customer.session.survey is not None,
                    timeout=10000)
    assert customer.session.survey.get("question")
    # an Offline session is deleted without a question; an Online one asks
    quiet = new_session(qtbot, main)
    tab.table.selectRow(tab.model.row_of(quiet["id"]))
    tab.delete_button.click()
    wait_state(qtbot, main, quiet["id"], "expired")
    assert len(questions) == 1
    waiting = new_session(qtbot, main)
    other = customer_factory()
    other.join(waiting["code"])
    wait_state(qtbot, main, waiting["id"], "online")
    tab.table.selectRow(tab.model.row_of(waiting["id"]))
    answer["now"] = True
    tab.delete_button.click()
    assert len(questions) == 2
    wait_state(qtbot, main, waiting["id"], "expired")


def test_after_the_end_the_viewer_keeps_the_picture_and_sends_nothing(qtbot, console_factory, new_agent,
                                                                     customer_factory):
    main, session, customer = connected_call(qtbot, console_factory, new_agent, customer_factory)
    viewer = main.viewer
    viewer.resize(1180, 760)
    assert viewer.panel.send_button.isEnabled() and viewer.record_bar.record_customer_button.isEnabled()
    viewer.end_button.click()  # 지원 종료 in the viewer
    wait_state(qtbot, main, session["id"], "expired")
    qtbot.waitUntil(lambda: viewer.view.notice == KO("session_ended"), timeout=5000)
    assert viewer.isVisible() and viewer.view.image is not None  # the last picture stays, dimmed
    screenshot(viewer, "viewer-call-ended-ko")
    # a person tries to chat, draw and record: every control is off, and nothing is sent
    for button in (viewer.panel.send_button, viewer.record_bar.record_customer_button,
                   viewer.record_bar.record_screen_button, viewer.end_button, viewer.drawing_bar.undo_button,
                   *viewer.drawing_bar.shape_buttons.values(), *viewer.panel.direction_buttons.values()):
        assert not button.isEnabled(), button.text()
    assert not viewer.panel.chat_edit.isEnabled()
    lines = viewer.panel.chat_model.rowCount()
    viewer.panel.send_chat.emit("들리세요?")  # a canned phrase double-clicked
    assert viewer.panel.chat_model.rowCount() == lines
    viewer.record_bar.start.emit("customer")
    assert viewer.start_recording("view") is None and not viewer.recording.running
    assert not viewer.rec_label.isVisible()
    assert viewer.view.shape is None
    # 화면 멈춤 pressed after the end: nothing to freeze, and the button still says so (not 멈춤 해제)
    viewer.view_bar.freeze_button.click()
    assert not viewer.view_bar.freeze_button.isChecked()
    assert viewer.view_bar.freeze_button.text() == KO("freeze")


def test_zoom_shows_its_percentage_pans_by_dragging_and_drawings_land_right(qtbot, console_factory, new_agent,
                                                                           customer_factory):
    """Issue 17 #20: zoom in, drag the picture, draw on it: the item is at the frame point under the mouse."""
    from .test_video_view import drag

    main, session, customer = connected_call(qtbot, console_factory, new_agent, customer_factory)
    viewer = main.viewer
    viewer.resize(1180, 760)
    view = viewer.view
    qtbot.waitUntil(lambda: view.rendered is not None and view.rendered.frame_size == (640, 480)
                    and view.rendered.transform.widget_width == view.width(), timeout=15000)
    assert viewer.view_bar.zoom_label.text() == "100 %"
    for _ in range(5):
        viewer.view_bar.zoom_in_button.click()
    qtbot.waitUntil(lambda: view.rendered.transform.zoom_steps == 5, timeout=5000)
    assert viewer.view_bar.zoom_label.text() == "161 %"  # 1.1 ** 5
    width, height = view.width(), view.height()
    scale = min(width / 640, height / 480) * 1.1 ** 5
    room_x, room_y = (640 * scale - width) / 2, (480 * scale - height) / 2
    assert room_x > 60 and room_y > 40  # the drag below stays inside what the picture can move
    # drag the picture 60 px left and 40 px up with the mouse (no tool chosen)
    start = QPoint(width // 2, height // 2)
    qtbot.mousePress(view, Qt.LeftButton, pos=start)
    drag(view, start + QPoint(-30, -20))
    drag(view, start + QPoint(-60, -40))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=start + QPoint(-60, -40))
    qtbot.waitUntil(lambda: view.rendered.transform.picture_rect[0] == pytest.approx(-room_x - 60), timeout=5000)
    left, top = -room_x - 60, -room_y - 40  # where the picture's corner is now, worked out by hand

    def widget_at(fx, fy):
        return QPoint(round(left + fx * 640 * scale), round(top + fy * 480 * scale))

    screenshot(viewer, "viewer-zoomed-panned-ko")
    # draw an arrow from the frame point (0.4, 0.45) to (0.55, 0.6) on the zoomed, moved picture, frozen
    # (화면 멈춤) so that it stays where drawn while it is checked: on the live test pattern, stripes scrolling
    # along themselves, the arrow would follow the picture or hide where it cannot (issue 20)
    viewer.view_bar.freeze_button.click()
    viewer.drawing_bar.shape_buttons["arrow"].click()
    assert view.shape == "arrow"
    drawn = []
    view.item_drawn.connect(drawn.append)
    qtbot.mousePress(view, Qt.LeftButton, pos=widget_at(0.4, 0.45))
    drag(view, widget_at(0.5, 0.5))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=widget_at(0.55, 0.6))
    assert len(drawn) == 1
    pixel = 1 / (480 * scale)  # a widget pixel, in frame fractions
    (x0, y0), (x1, y1) = drawn[0]["points"]
    assert abs(x0 - 0.4) < pixel and abs(y0 - 0.45) < pixel and abs(x1 - 0.55) < pixel and abs(y1 - 0.6) < pixel
    # and the picture itself (what the customer is shown, composited at frame pixels) has the arrow there
    renderer = viewer.bridge.renderer

    def red_at_the_middle():
        with renderer.lock:
            rgb = renderer.last_drawn
        if rgb is None:
            return False
        patch = rgb[252 - 1:252 + 2, 304 - 1:304 + 2].astype(int)  # (0.475, 0.525) of 640x480
        return bool(((patch[..., 0] > 200) & (patch[..., 1] < 60) & (patch[..., 2] < 60)).all())

    qtbot.waitUntil(red_at_the_middle, timeout=5000)
    viewer.view_bar.freeze_button.click()  # released: the arrow now follows the (moving, striped) picture
    viewer.drawing_bar.stop_drawing()
    # 원래 크기: the whole picture, centred, at 100 %
    viewer.view_bar.reset_button.click()
    qtbot.waitUntil(lambda: view.rendered.transform.zoom_steps == 0, timeout=5000)
    t = view.rendered.transform
    assert viewer.view_bar.zoom_label.text() == "100 %" and t.pan_u == 0 and t.pan_v == 0
    assert not t.pannable


@pytest.mark.parametrize("button, answer", [("지원 종료", "end"), ("통화 유지", "keep"), ("취소", "cancel")])
def test_the_real_close_question_maps_each_button(qtbot, button, answer):
    """The dialog the tests above answer by injection: its words, and what each of its buttons means."""
    from anysupport_agent.widgets.common import ask_end_call_dialog, confirm_dialog
    from anysupport_qt import QApplication, QMessageBox, QTimer, QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[str] = []

    def press():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press)  # not shown yet: look again (a modal loop cannot be waited on otherwise)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, press)
    assert ask_end_call_dialog(KO)(parent) == answer
    assert seen == [KO("close_viewer_text")]

    def press_yes():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press_yes)
            return
        seen.append(box.text())
        box.button(QMessageBox.Yes if answer == "end" else QMessageBox.No).click()

    QTimer.singleShot(0, press_yes)
    assert confirm_dialog(KO)(parent, KO("delete_confirm", code="1234")) is (answer == "end")
    assert seen[-1] == KO("delete_confirm", code="1234")
