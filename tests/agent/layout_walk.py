"""Issue 17 #9, walked on a real X screen by ``test_xcb_layout.py`` (not collected on its own: the sizes
that matter are a real screen's, 1366×768 and 1920×1080, which offscreen Qt does not have).

A connected call in Korean and in English: the viewer and the main window fit the screen whole; the
support record is written in the viewer's own tab during the call (and shows in the main window's form
too); five canned phrases are readable without scrolling.
"""

from __future__ import annotations

import os

import pytest
from anysupport_qt import QApplication

from .conftest import screenshot
from .test_console_session import auto_connected_call

SCREEN = os.environ.get("ANYSUPPORT_TEST_SCREEN", "offscreen")


def inside(rect, area) -> bool:
    return area.contains(rect.topLeft()) and area.contains(rect.bottomRight())


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_call_fits_the_screen_with_the_record_at_hand(qtbot, console_factory, customer_factory, new_agent,
                                                        language):
    app, main, session, _customer = auto_connected_call(qtbot, console_factory, customer_factory, new_agent,
                                                        language)
    viewer = main.viewer
    area = QApplication.primaryScreen().availableGeometry()
    qtbot.waitUntil(lambda: inside(viewer.frameGeometry(), area), timeout=5000)
    assert inside(main.frameGeometry(), area), (main.frameGeometry(), area)
    # the tools in one row of icons (view, camera, recording, drawing), each icon's text its tooltip (#17.24)
    bars = (viewer.view_bar, viewer.camera_bar, viewer.record_bar, viewer.drawing_bar)
    assert len({bar.geometry().top() for bar in bars}) == 1
    assert all(bar.geometry().right() < viewer.width() for bar in bars)
    assert viewer.camera_bar.flash_button.toolTip() in ("플래시", "Flash")
    # five phrases readable in the chat tab
    phrases = viewer.panel.phrase_view
    assert phrases.viewport().height() >= 5 * phrases.verticalHeader().defaultSectionSize(), phrases.viewport().height()
    screenshot(viewer, f"layout-{SCREEN}-viewer-{language}")
    # the record, written during the call in the viewer's own tab
    viewer.side_tabs.setCurrentIndex(1)
    form = viewer.record_form
    qtbot.waitUntil(lambda: form.isVisible() and form.save_button.isEnabled(), timeout=10000)
    form.content.setPlainText("통화 중에 적은 내용" if language == "ko" else "written during the call")
    form.resolution_buttons["solved"].click()
    screenshot(viewer, f"layout-{SCREEN}-record-{language}")
    form.save_button.click()
    qtbot.waitUntil(lambda: not form.dirty, timeout=10000)
    main_form = main.sessions_tab.form
    main.sessions_tab.table.selectRow(main.sessions_tab.model.row_of(session["id"]))
    qtbot.waitUntil(lambda: main_form.content.toPlainText() == form.content.toPlainText(), timeout=10000)
    app.shutdown()
