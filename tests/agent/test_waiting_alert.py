"""Issue 17 #11: the rule that decides when a waiting customer is announced (injected clock), and the console doing it."""

from __future__ import annotations

import pytest
from anysupport_agent.waiting_alert import WaitingAlerts
from anysupport_qt import QSystemTrayIcon

from tests.support.clock import ManualClock

from .conftest import log_in, screenshot
from .test_console_session import new_session, wait_state


def s(sid: str, state: str) -> dict:
    return {"id": sid, "state": state}


def test_once_per_session_becoming_online_waiting():
    clock = ManualClock()
    alerts = WaitingAlerts(merge_seconds=3, clock=clock.monotonic)
    assert not alerts.note(s("a", "offline"), auto_connect=False)
    assert alerts.note(s("a", "online"), auto_connect=False)
    clock.advance(60)
    assert not alerts.note(s("a", "online"), auto_connect=False)  # still the same wait: said once
    assert not alerts.note(s("a", "connected"), auto_connect=False)
    assert alerts.note(s("a", "online"), auto_connect=False)  # waiting again after the call: a new wait


def test_a_session_that_leaves_online_and_returns_is_announced_again():
    clock = ManualClock()
    alerts = WaitingAlerts(merge_seconds=3, clock=clock.monotonic)
    assert alerts.note(s("a", "online"), auto_connect=False)
    clock.advance(10)
    assert not alerts.note(s("a", "offline"), auto_connect=False)  # the customer went away
    assert alerts.note(s("a", "online"), auto_connect=False)  # and came back


def test_auto_connect_on_says_nothing_and_a_burst_is_one_alert():
    clock = ManualClock()
    alerts = WaitingAlerts(merge_seconds=3, clock=clock.monotonic)
    assert not alerts.note(s("a", "online"), auto_connect=True)
    assert not alerts.note(s("a", "online"), auto_connect=False)  # its wait began with auto-connect on
    assert alerts.note(s("b", "online"), auto_connect=False)
    clock.advance(1)
    assert not alerts.note(s("c", "online"), auto_connect=False)  # within 3 s of the last alert: merged
    clock.advance(2.5)
    assert alerts.note(s("d", "online"), auto_connect=False)
    assert not alerts.note({"state": "online"}, auto_connect=False)  # no id: nothing to track


def test_a_list_at_login_is_one_alert():
    alerts = WaitingAlerts(clock=ManualClock().monotonic)
    assert alerts.note_all([s("a", "online"), s("b", "online"), s("c", "connected")], auto_connect=False)
    assert not alerts.note_all([s("a", "online"), s("b", "online")], auto_connect=False)


@pytest.mark.slow
def test_the_console_announces_a_waiting_customer_as_the_settings_say(qtbot, console_factory, new_agent,
                                                                      customer_factory):
    """Through the widgets: a customer joins with auto-connect off, the agent is alerted; 설정 turns ways off."""
    login, password = new_agent(auto_connect=False)
    app = console_factory()
    main = log_in(qtbot, app, login, password)
    clock = ManualClock()
    main.waiting.clock = clock.monotonic
    alerts = main.desktop_alerts
    beeps: list[int] = []
    real_beep = alerts.beep

    def beep():
        beeps.append(1)
        real_beep()

    alerts.beep = beep
    tray = QSystemTrayIcon.isSystemTrayAvailable()
    first = new_session(qtbot, main)
    assert alerts.given == []  # Offline: nobody waits yet
    customer_factory().join(first["code"])
    wait_state(qtbot, main, first["id"], "online")
    expected = [("sound", first["id"]), ("taskbar", first["id"])] + ([("notification", first["id"])] if tray else [])
    assert alerts.given == expected and beeps == [1]
    assert "홍길동" in alerts.message(main.sessions_tab.model.rows[main.sessions_tab.model.row_of(first["id"])])
    # 설정: no sound, no taskbar; the desktop notification stays on
    dialog = main.open_settings()
    assert all(box.isChecked() for box in dialog.alerts.values())
    screenshot(dialog, "settings-alerts-ko")
    dialog.alerts["sound"].setChecked(False)
    dialog.alerts["taskbar"].setChecked(False)
    dialog.accept()
    assert app.settings["alert_sound"] is False and app.settings["alert_taskbar"] is False
    clock.advance(10)
    second = new_session(qtbot, main)
    customer_factory().join(second["code"])
    wait_state(qtbot, main, second["id"], "online")
    assert alerts.given[len(expected):] == ([("notification", second["id"])] if tray else [])
    assert beeps == [1]
    # a desktop with a tray (this test's display may have none): the notification goes through it
    alerts.tray_available = lambda: True
    row = main.sessions_tab.model.rows[main.sessions_tab.model.row_of(second["id"])]
    assert alerts.alert(row) == ["notification"] and alerts.tray is not None and alerts.tray.isVisible()
    # auto-connect on: the console connects at once, and says nothing
    app.settings.update({"alert_sound": True, "alert_taskbar": True})
    main.sessions_tab.auto_connect.setChecked(True)
    qtbot.waitUntil(lambda: app.bridge.client.agent.get("settings", {}).get("auto_connect") is True, timeout=5000)
    clock.advance(10)
    given = len(alerts.given)
    third = new_session(qtbot, main)
    customer_factory().join(third["code"])
    wait_state(qtbot, main, third["id"], "connected")
    assert len(alerts.given) == given and beeps == [1]
