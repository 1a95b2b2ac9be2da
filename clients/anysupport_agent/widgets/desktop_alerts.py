"""The ways the console tells the agent a customer is waiting (when ``waiting_alert.WaitingAlerts`` says so).

Each is a setting (설정, ``alert_sound`` / ``alert_taskbar`` / ``alert_notification``): a sound (the
desktop's bell, ``QApplication.beep``), the taskbar (``QApplication.alert``: the window's button
flashes / asks for attention until the agent looks), and a desktop notification through the system
tray (``QSystemTrayIcon.showMessage``) where the desktop has a tray; clicking it brings the console up.
``given`` lists what was done, latest last, for the agent's own status line and for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anysupport_qt import QApplication, QObject, QStyle, QSystemTrayIcon, QWidget

from ..settings import Settings
from ..texts import Texts

NOTIFICATION_MS = 10_000


class DesktopAlerts(QObject):
    def __init__(self, texts: Texts, settings: Settings, window: QWidget, *,
                 beep: Callable[[], None] = QApplication.beep,
                 tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable):
        super().__init__(window)  # the window is the parent, not a Python reference (no cycle keeps it alive)
        self.texts = texts
        self.settings = settings
        self.beep = beep
        self.tray_available = tray_available
        self.tray: QSystemTrayIcon | None = None
        self.given: list[tuple[str, str]] = []  # (kind, session id)

    @property
    def window(self) -> QWidget:
        return self.parent()

    def alert(self, session: dict[str, Any]) -> list[str]:
        """Say that ``session``'s customer is waiting, in every way the settings allow; returns the ways used."""
        done = []
        if self.settings["alert_sound"]:
            self.beep()
            done.append("sound")
        if self.settings["alert_taskbar"]:
            QApplication.alert(self.window, 0)  # until the window is activated
            done.append("taskbar")
        if self.settings["alert_notification"] and self.tray_available():
            self._tray().showMessage(self.texts("waiting_alert_title"), self.message(session),
                                     QSystemTrayIcon.Information, NOTIFICATION_MS)
            done.append("notification")
        self.given.extend((kind, session.get("id", "")) for kind in done)
        return done

    def message(self, session: dict[str, Any]) -> str:
        name = (session.get("customer") or {}).get("name")
        if name:
            return self.texts("waiting_alert_named", code=session.get("code", ""), name=name)
        return self.texts("waiting_alert_text", code=session.get("code", ""))

    def _tray(self) -> QSystemTrayIcon:
        if self.tray is None:
            icon = self.window.windowIcon()
            if icon.isNull():
                icon = self.window.style().standardIcon(QStyle.SP_MessageBoxInformation)
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.setToolTip(self.texts("app"))
            self.tray.messageClicked.connect(self._bring_up)
            self.tray.show()
        return self.tray

    def _bring_up(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
