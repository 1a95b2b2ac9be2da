"""The login window against the real server: wrong password, locked out, duplicate login and take-over,
kicked back to the login window, remembered login (a token, never the password)."""

from __future__ import annotations

from anysupport_agent.credentials import LoginStore
from anysupport_agent.texts import Texts

from .conftest import log_in, screenshot

KO = Texts("ko")


def test_wrong_password_then_login(qtbot, console_factory, new_agent):
    login, password = new_agent()
    app = console_factory()
    window = app.login_window
    window.show()
    screenshot(window, "login-ko")
    window.id_edit.setText(login)
    window.password_edit.setText("wrong")
    window.login_button.click()
    qtbot.waitUntil(lambda: window.message.text() == KO("wrong_password"), timeout=10000)
    screenshot(window, "login-wrong-password-ko")
    assert app.main is None
    main = log_in(qtbot, app, login, password)
    assert main.windowTitle() == KO("window_title", login=login)
    assert main.id_label.text() == f"ID : {login}"
    assert not window.isVisible()


def test_locked_out_says_how_long(qtbot, console_factory, new_agent):
    login, _password = new_agent()
    app = console_factory()
    window = app.login_window
    window.show()
    window.id_edit.setText(login)
    for _ in range(5):  # the shared server locks a login after 5 failures
        window.password_edit.setText("wrong")
        window.login_button.click()
        qtbot.waitUntil(lambda: window.login_button.isEnabled(), timeout=10000)
    window.password_edit.setText("wrong")
    window.login_button.click()
    qtbot.waitUntil(lambda: "로그인 실패가 너무 많습니다" in window.message.text(), timeout=10000)
    assert "초" in window.message.text() or "분" in window.message.text()
    screenshot(window, "login-locked-out-ko")


def test_duplicate_login_take_over_and_kicked_back(qtbot, console_factory, new_agent):
    login, password = new_agent()
    first = console_factory()
    log_in(qtbot, first, login, password)
    second = console_factory()
    window = second.login_window
    window.show()
    window.id_edit.setText(login)
    window.password_edit.setText(password)
    window.login_button.click()
    qtbot.waitUntil(lambda: window.duplicate is not None and window.duplicate.isVisible(), timeout=10000)
    screenshot(window.duplicate, "duplicate-login-ko")
    assert login in window.duplicate.findChildren(type(window.title))[0].text()
    window.duplicate.take_over.click()
    qtbot.waitUntil(lambda: second.main is not None, timeout=15000)
    qtbot.addWidget(second.main)
    # the first console was kicked: back at its login window, saying why
    qtbot.waitUntil(lambda: first.main is None and first.login_window.isVisible(), timeout=10000)
    assert "다른 곳에서 로그인" in first.login_window.message.text()
    screenshot(first.login_window, "kicked-ko")


def test_duplicate_login_other_id(qtbot, console_factory, new_agent):
    login, password = new_agent()
    first = console_factory()
    log_in(qtbot, first, login, password)
    second = console_factory()
    window = second.login_window
    window.show()
    window.id_edit.setText(login)
    window.password_edit.setText(password)
    window.login_button.click()
    qtbot.waitUntil(lambda: window.duplicate is not None and window.duplicate.isVisible(), timeout=10000)
    window.duplicate.other.click()
    assert window.id_edit.text() == "" and second.main is None and first.main is not None


def test_remembered_password_is_a_token_and_logs_in_next_time(qtbot, console_factory, new_agent, console_home):
    login, password = new_agent()
    app = console_factory()
    app.login_window.remember_password.setChecked(True)
    log_in(qtbot, app, login, password)
    store = LoginStore()
    remembered = store.load(app.settings["server_url"])
    assert remembered.login == login and remembered.token and password not in store.path.read_text()
    app.main.leave("")  # the console closes (not a logout: the token stays valid)
    qtbot.waitUntil(lambda: app.main is None)
    again = console_factory()
    assert again.login_window.try_remembered()
    qtbot.waitUntil(lambda: again.main is not None, timeout=15000)
    qtbot.addWidget(again.main)
    # logging out revokes it: the next start asks for the password
    again.main.logout()
    qtbot.waitUntil(lambda: again.main is None, timeout=10000)
    third = console_factory()
    assert third.login_window.try_remembered()
    qtbot.waitUntil(lambda: third.login_window.message.text() == KO("saved_login_expired"), timeout=10000)
    assert LoginStore().load(third.settings["server_url"]).token is None


def test_preferences_change_server_and_language(qtbot, console_factory, server):
    app = console_factory()
    window = app.login_window
    window.show()
    dialog = window.open_preferences()
    screenshot(dialog, "preferences-ko")
    dialog.server.setText(server.url.replace("http://", "") + "/")
    dialog.language.setCurrentIndex(1)
    dialog.accept()
    assert app.settings["server_url"] == server.url and app.settings["language"] == "en"
    assert window.login_button.text() == "Log in" and window.remember_password.text() == "Remember password"
    qtbot.waitUntil(lambda: app.bridge.client.server_url == server.url)


def test_account_disabled_by_the_admin_kicks_and_refuses_the_next_login(qtbot, console_factory, new_agent, server,
                                                                       helper_loop):
    from tests.support.client import Api
    from tests.support.server import ADMIN_PASSWORD

    login, password = new_agent()
    app = console_factory()
    log_in(qtbot, app, login, password)

    async def disable():
        admin = Api(server.url)
        token, _ = await admin.login("admin", ADMIN_PASSWORD)
        r = await admin.with_token(token).patch(f"/api/v1/admin/agents/{login}", {"disabled": True})
        assert r.status == 200, r.body

    helper_loop.run(disable(), timeout=30)
    qtbot.waitUntil(lambda: app.main is None and app.login_window.isVisible(), timeout=10000)
    kicked = app.login_window.message.text()
    assert kicked and "account_changed" not in kicked  # the server's sentence, not its code
    window = app.login_window
    window.id_edit.setText(login)
    window.password_edit.setText(password)
    window.login_button.click()
    qtbot.waitUntil(lambda: window.login_button.isEnabled() and window.message.text() != kicked, timeout=10000)
    assert "account_disabled" not in window.message.text() and window.message.text()
    screenshot(window, "login-account-disabled-ko")


def test_enter_on_the_focused_remember_id_box_logs_in(qtbot, console_factory, new_agent):
    """Issue 17 #23: type the ID and password, tick "ID 저장" with Space, press Enter: logged in."""
    from anysupport_qt import Qt

    login, password = new_agent()
    app = console_factory()
    window = app.login_window
    window.show()
    qtbot.waitExposed(window)
    window.id_edit.setFocus()
    qtbot.keyClicks(window.id_edit, login)
    qtbot.keyClick(window.id_edit, Qt.Key_Return)  # Enter in the ID field moves on to the password
    assert window.focusWidget() is window.password_edit
    qtbot.keyClicks(window.password_edit, password)
    window.remember_id.setFocus()  # as Tab from the password field does
    window.remember_id.setChecked(False)
    qtbot.keyClick(window.remember_id, Qt.Key_Space)
    assert window.remember_id.isChecked() and app.main is None
    qtbot.keyClick(window.remember_id, Qt.Key_Return)
    qtbot.waitUntil(lambda: app.main is not None, timeout=15000)
    qtbot.addWidget(app.main)
    assert not window.isVisible()


def test_the_login_window_offers_the_servers_newer_console_and_installs_it(qtbot, make_server, console_factory,
                                                                             tmp_path):
    """The manual's auto-upgrade, in the window: the server hands out a newer package; 지금 업데이트 fetches it
    from that server, checks its SHA-256 and has it installed, then restarts. (Installing a real package into
    an environment and restarting into it: tests/agent/test_upgrade.py; here the two last steps are the
    test's, so the test's own environment is left alone.)"""
    import os
    from pathlib import Path

    folder = tmp_path / "console-packages"
    folder.mkdir()
    wheel = folder / "anysupport-99.0.0-py3-none-any.whl"
    wheel.write_bytes(os.urandom(50_000))
    srv = make_server({"console_packages": str(folder)})
    app = console_factory("ko", server_url=srv.url)
    window = app.login_window
    installed, restarted = [], []
    window.install = lambda path: installed.append(Path(path).read_bytes())
    window.restart = restarted.append
    window.show()
    qtbot.waitUntil(lambda: window.update_button.isVisible(), timeout=10000)
    assert "99.0.0" in window.upgrade.text() and window.update_button.text() == KO("update_now")
    screenshot(window, "login-update-available-ko")
    window.update_button.click()
    qtbot.waitUntil(lambda: bool(restarted), timeout=15000)
    assert installed == [wheel.read_bytes()]  # what was installed is what the server has, byte for byte
    assert restarted == [["--server", srv.url]]
    assert window.message.text() == KO("update_restarting", version="99.0.0")
