"""The login window (로그인): ID, password, remember ID / password, 환경설정, and what can go wrong."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from anysupport_qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from .. import update as updates
from ..credentials import LoginStore
from ..settings import Settings
from ..texts import Texts
from ..update import CONSOLE_VERSION, UPGRADE_COMMAND, needs_upgrade
from .common import MessageLine


class PreferencesDialog(QDialog):
    """환경설정 of the login window: the server's address and the language."""

    def __init__(self, texts: Texts, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle(texts("preferences"))
        self.server = QLineEdit(settings["server_url"])
        self.server.setMinimumWidth(320)
        self.language = QComboBox()
        self.language.addItem(texts("lang_ko"), "ko")
        self.language.addItem(texts("lang_en"), "en")
        self.language.setCurrentIndex(0 if settings["language"] == "ko" else 1)
        form = QFormLayout(self)
        form.addRow(texts("server_url"), self.server)
        form.addRow(texts("language"), self.language)
        buttons = QDialogButtonBox()
        buttons.addButton(texts("ok_button"), QDialogButtonBox.AcceptRole)
        buttons.addButton(texts("cancel"), QDialogButtonBox.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        url = self.server.text().strip().rstrip("/")
        if url and not url.startswith(("http://", "https://")):
            url = "http://" + url
        self.settings.update({"server_url": url or self.settings["server_url"],
                              "language": self.language.currentData()})
        super().accept()


class DuplicateLoginDialog(QDialog):
    """중복 로그인: the ID is live in another console — take over here, or enter another ID."""

    def __init__(self, texts: Texts, login: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(texts("duplicate_title"))
        self.setMinimumWidth(420)
        self.choice = "other"
        layout = QVBoxLayout(self)
        text = QLabel(texts("duplicate_text", login=login))
        text.setWordWrap(True)
        layout.addWidget(text)
        row = QHBoxLayout()
        self.take_over = QPushButton(texts("take_over"))
        self.other = QPushButton(texts("other_id"))
        row.addStretch(1)
        row.addWidget(self.take_over)
        row.addWidget(self.other)
        layout.addLayout(row)
        self.take_over.clicked.connect(lambda: self._done("take_over"))
        self.other.clicked.connect(lambda: self._done("other"))

    def _done(self, choice: str) -> None:
        self.choice = choice
        self.accept()


class LoginWindow(QWidget):
    """Emits ``logged_in(hello)`` once the console's socket is open."""

    logged_in = pyqtSignal(object)
    failed = pyqtSignal()  # a login did not succeed: the window must be on screen to say why

    def __init__(self, *, texts: Texts, settings: Settings, bridge, store: LoginStore,
                 console_version: str = CONSOLE_VERSION, parent=None):
        super().__init__(parent)
        self.console_version = console_version
        self.server_version: str | None = None
        self.texts = texts
        self.settings = settings
        self.bridge = bridge
        self.store = store
        self.duplicate: DuplicateLoginDialog | None = None
        self.setMinimumWidth(380)
        self.id_label, self.password_label = QLabel(), QLabel()
        self.id_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.Password)
        self.remember_id = QCheckBox()
        self.remember_password = QCheckBox()
        self.login_button = QPushButton()
        self.login_button.setDefault(True)
        self.preferences = QPushButton()
        self.message = MessageLine()
        self.upgrade = QLabel()  # the start-up check: this console is older than the server
        self.upgrade.setWordWrap(True)
        self.upgrade.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.upgrade.setStyleSheet("color: #8a5a00; background: #fff4d6; padding: 6px;")
        self.upgrade.hide()
        # the manual's auto-upgrade: the server's newer console package, fetched, checked and installed here
        self.package: dict[str, Any] | None = None
        self.update_button = QPushButton()
        self.update_button.hide()
        self.update_button.clicked.connect(self.update_now)
        self.install = updates.install_package  # what installs the checked package (a test puts its own)
        self.restart = updates.restart  # what starts the new version
        form = QFormLayout()
        form.addRow(self.id_label, self.id_edit)
        form.addRow(self.password_label, self.password_edit)
        checks = QHBoxLayout()
        checks.addWidget(self.remember_id)
        checks.addWidget(self.remember_password)
        checks.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preferences)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignCenter)
        self.title.setStyleSheet("font-size: 20px; font-weight: bold; padding: 12px;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.upgrade)
        layout.addWidget(self.update_button)
        layout.addLayout(form)
        layout.addLayout(checks)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.login_button.clicked.connect(lambda: self.login())
        self.password_edit.returnPressed.connect(lambda: self.login())
        self.id_edit.returnPressed.connect(self.password_edit.setFocus)
        self.preferences.clicked.connect(self.open_preferences)
        self.remember_password.toggled.connect(lambda on: on and self.remember_id.setChecked(True))
        self.remember_id.setChecked(settings["remember_id"])
        self.remember_password.setChecked(settings["remember_password"])
        self.retranslate()
        self.fill_remembered()
        self.check_version()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t("login_title"))
        self.title.setText(t("app"))
        self.id_label.setText(t("login_id"))
        self.password_label.setText(t("password"))
        self.remember_id.setText(t("remember_id"))
        self.remember_password.setText(t("remember_password"))
        self.login_button.setText(t("login"))
        self.preferences.setText(t("preferences"))
        self.update_button.setText(t("update_now"))
        self._show_upgrade()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Enter on a focused "ID 저장" / "PASSWORD 저장" box logs in, as everywhere else in the window (a
        # check box ignores the key, so it comes here). The line edits answer Enter themselves.
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.focusWidget() in (self.remember_id,
                                                                                  self.remember_password):
            self.login()
            return
        super().keyPressEvent(event)

    # -- the version check at start (and after the server address changes) ----------------------------------
    def check_version(self) -> None:
        self.bridge.submit(self.bridge.client.rest.server_version(), on_result=self._version_known,
                           on_error=lambda _info: self._version_known(None))
        self.bridge.submit(updates.newer_package(self.bridge.client.rest, self.console_version),
                           on_result=self._package_known, on_error=lambda _info: self._package_known(None))

    def _package_known(self, package: dict[str, Any] | None) -> None:
        self.package = package
        self._show_upgrade()

    def update_now(self) -> None:
        """지금 업데이트: fetch the package from this server, check its SHA-256, install it, restart."""
        package = self.package
        if package is None:
            return
        self.update_button.setEnabled(False)
        self.message.show_info(self.texts("update_fetching", version=package["version"]))
        rest = self.bridge.client.rest
        folder = tempfile.mkdtemp(prefix="anysupport-update-")

        async def fetch_and_install():
            path = await updates.fetch_package(rest, package, folder)
            await asyncio.to_thread(self.install, path)
            return path

        def failed(info: dict[str, Any]) -> None:
            self.update_button.setEnabled(True)
            self.message.show_error(self.texts("update_failed", reason=info.get("message") or info.get("error") or ""))

        self.bridge.submit(fetch_and_install(), on_result=lambda _path: self._installed(package), on_error=failed)

    def _installed(self, package: dict[str, Any]) -> None:
        self.message.show_info(self.texts("update_restarting", version=package["version"]))
        self.restart(["--server", self.settings["server_url"]])

    def _version_known(self, version: str | None) -> None:
        self.server_version = version
        self._show_upgrade()

    def _show_upgrade(self) -> None:
        if self.package is not None:  # the server hands out a newer console: one click updates
            self.upgrade.setText(self.texts("update_available", version=self.package["version"],
                                            console=self.console_version))
            self.upgrade.show()
            self.update_button.show()
            self.adjustSize()
            return
        self.update_button.hide()
        server = self.server_version
        if server is None or not needs_upgrade(self.console_version, server):
            if self.upgrade.isVisible():
                self.upgrade.hide()
                self.adjustSize()
            return
        self.upgrade.setText(self.texts("upgrade_available", server=server, console=self.console_version,
                                        command=UPGRADE_COMMAND))
        self.upgrade.show()
        self.adjustSize()  # a wrapped label does not grow a window that is already laid out

    def fill_remembered(self) -> None:
        remembered = self.store.load(self.settings["server_url"])
        if remembered is not None:
            self.id_edit.setText(remembered.login)
            self.password_edit.setFocus()

    def open_preferences(self) -> QDialog:
        dialog = PreferencesDialog(self.texts, self.settings, self)
        dialog.accepted.connect(self._preferences_changed)
        dialog.open()
        return dialog

    def _preferences_changed(self) -> None:
        self.texts.language = self.settings["language"]
        self.bridge.call(self._set_client, self.settings["server_url"], self.settings["language"])
        self.retranslate()
        self.check_version()

    def _set_client(self, server_url: str, language: str) -> None:
        self.bridge.client.set_server(server_url, language)

    # -- logging in ----------------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self.login_button.setEnabled(not busy)
        self.id_edit.setEnabled(not busy)
        self.password_edit.setEnabled(not busy)
        if busy:
            self.message.show_info(self.texts("logging_in"))

    def try_remembered(self) -> bool:
        """Log in with the remembered token, if there is one; True when it is being tried."""
        remembered = self.store.load(self.settings["server_url"])
        if remembered is None or remembered.token is None or not self.settings["remember_password"]:
            return False
        self.set_busy(True)
        self.bridge.submit(self.bridge.client.resume(remembered.token), on_result=lambda agent: self._open(),
                           on_error=self._remembered_failed)
        return True

    def _remembered_failed(self, info: dict[str, Any]) -> None:
        self.set_busy(False)
        self.failed.emit()
        if info.get("error") == "unreachable":
            self.message.show_error(self.texts("unreachable"))
            return
        self.store.forget_token()
        self.message.show_error(self.texts("saved_login_expired"))

    def login(self, *, force: bool = False) -> None:
        login, password = self.id_edit.text().strip(), self.password_edit.text()
        if not login or not password:
            self.message.show_error(self.texts("need_id_password"))
            return
        self.set_busy(True)
        self.bridge.submit(self.bridge.client.login(login, password, force=force),
                           on_result=lambda agent: self._logged_in(login), on_error=self._failed)

    def _failed(self, info: dict[str, Any]) -> None:
        self.set_busy(False)
        self.failed.emit()
        code = info.get("error")
        if code == "invalid_credentials":
            self.message.show_error(self.texts("wrong_password"))
            self.password_edit.selectAll()
            self.password_edit.setFocus()
        elif code == "too_many_attempts":
            wait = info.get("retry_after")
            self.message.show_error(self.texts("locked_out", wait=self.texts.duration(wait or 60)))
        elif code == "already_logged_in":
            self.message.clear_message()
            self.duplicate = DuplicateLoginDialog(self.texts, self.id_edit.text().strip(), self)
            self.duplicate.finished.connect(self._duplicate_answered)
            self.duplicate.open()
        elif code == "unreachable":
            self.message.show_error(self.texts("unreachable"))
        else:
            self.message.show_error(self.texts.error_text(info))

    def _duplicate_answered(self, _result: int) -> None:
        if self.duplicate.choice == "take_over":
            self.login(force=True)
        else:
            self.id_edit.clear()
            self.password_edit.clear()
            self.id_edit.setFocus()

    def _logged_in(self, login: str) -> None:
        server = self.settings["server_url"]
        remember_id, remember_password = self.remember_id.isChecked(), self.remember_password.isChecked()
        self.settings.update({"remember_id": remember_id or remember_password, "remember_password": remember_password})
        old = self.store.load(server)
        if old is not None and old.token and old.token != self.bridge.client.token:
            self.bridge.submit(self.bridge.client.revoke(old.token))
        if remember_password:
            self.store.save(server, login, self.bridge.client.token)
        elif remember_id:
            self.store.save(server, login, None)
        else:
            self.store.clear()
        self._open()

    def _open(self) -> None:
        self.bridge.submit(self.bridge.client.open(), on_result=self._opened, on_error=self._failed)

    def _opened(self, hello: dict[str, Any]) -> None:
        self.set_busy(False)
        self.message.clear_message()
        self.password_edit.clear()
        self.logged_in.emit(hello)

    def show_reason(self, text: str) -> None:
        """Back at the login window after a kick or a lost connection: say why."""
        self.set_busy(False)
        self.message.show_error(text)
