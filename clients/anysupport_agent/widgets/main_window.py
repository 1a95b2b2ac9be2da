"""The console's main window: the agent ID in the title, the sessions and record management tabs, the viewer.

With auto-connect off, a customer who comes Online is announced (``waiting_alert.WaitingAlerts`` decides
when, ``DesktopAlerts`` does it as the settings say: sound, taskbar, desktop notification).
"""

from __future__ import annotations

from typing import Any

from anysupport_qt import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from ..draft import DraftStore
from ..models.phrases import PhrasesModel
from ..settings import Settings
from ..texts import Texts
from ..waiting_alert import WaitingAlerts
from .common import AskUnsaved, OpenFolder
from .desktop_alerts import DesktopAlerts
from .handover import HandoverOfferDialog
from .invite import InvitationDialog
from .record_form import RecordForm
from .records_tab import ChoosePath, RecordsTab
from .sessions_tab import SessionsTab
from .settings_dialog import SettingsDialog
from .viewer import ViewerWindow


class MainWindow(QMainWindow):
    logged_out = pyqtSignal(str)  # why: the kick's message, a lost connection, or "" for the agent's own logout

    def __init__(self, *, texts: Texts, settings: Settings, bridge, hello: dict[str, Any], drafts: DraftStore,
                 ask_unsaved: AskUnsaved, open_folder: OpenFolder, choose_path: ChoosePath,
                 font_family: str | None = None, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.settings = settings
        self.bridge = bridge
        self.ask_unsaved = ask_unsaved
        self.agent = hello.get("agent") or bridge.client.agent or {}
        self.leaving = False
        self._kick_message = ""
        self.setWindowTitle(texts("window_title", login=self.agent.get("login", "")))
        self.resize(1100, 680)
        self.id_label = QLabel(texts("id_header", login=self.agent.get("login", "")))
        self.id_label.setStyleSheet("font-weight: bold; font-size: 15px;")
        self.connection_label = QLabel(texts("server_reconnecting"))
        self.connection_label.setStyleSheet("color: #c5221f; font-weight: bold;")
        self.connection_label.hide()
        self.settings_button = QPushButton(texts("settings"))
        self.logout_button = QPushButton(texts("logout"))
        header = QHBoxLayout()
        header.addWidget(self.id_label)
        header.addSpacing(20)
        header.addWidget(self.connection_label)
        header.addStretch(1)
        header.addWidget(self.settings_button)
        header.addWidget(self.logout_button)
        self.sessions_tab = SessionsTab(texts=texts, bridge=bridge, drafts=drafts, ask_unsaved=ask_unsaved,
                                        public_url=bridge.client.public_url,
                                        auto_connect=bool(self.agent.get("settings", {}).get("auto_connect")))
        self.records_tab = RecordsTab(texts=texts, bridge=bridge, open_folder=open_folder, choose_path=choose_path)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.sessions_tab, texts("tab_sessions"))
        self.tabs.addTab(self.records_tab, texts("tab_records"))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.phrases = PhrasesModel(texts, self)
        self.viewer_form = RecordForm(texts=texts, bridge=bridge, drafts=drafts,
                                      trouble_types=self.sessions_tab.trouble_types)
        # a save in one form shows in the other (bound methods: Qt drops the link when a form goes)
        self.viewer_form.saved.connect(self.sessions_tab.form.other_saved)
        self.sessions_tab.form.saved.connect(self.viewer_form.other_saved)
        self.viewer = ViewerWindow(texts=texts, settings=settings, bridge=bridge, phrases=self.phrases,
                                   open_folder=open_folder, font_family=font_family, record_form=self.viewer_form)
        self.viewer.panel.reload()
        self.settings_dialog: SettingsDialog | None = None
        self.waiting = WaitingAlerts()
        self.desktop_alerts = DesktopAlerts(texts, settings, self)
        self.handover_offers: dict[str, HandoverOfferDialog] = {}  # session id → the offer on screen
        self.invitations: dict[str, InvitationDialog] = {}  # session id → the invitation on screen
        self.viewer.participants.remove.connect(self._remove_participant)
        # a bound method, not a lambda: a lambda holding ``self`` would keep this window's wrapper alive
        # through the viewer after Qt deleted the window (a closed console's leftovers)
        self.viewer.participants.invite.connect(self._invite_from_viewer)
        bridge.event.connect(self._on_event)
        self.sessions_tab.view_session.connect(self.show_viewer)
        self.settings_button.clicked.connect(self.open_settings)
        self.logout_button.clicked.connect(self.logout)
        self._load(hello.get("sessions", []))  # a call already Connected opens in the viewer
        # what the client heard between the hello and this window listening (a customer who joined, a call
        # connected by auto-connect meanwhile) is not lost: the list as the client knows it now follows
        bridge.submit(bridge.client.sessions_now(), on_result=self._load)

    def _load(self, sessions: list[dict[str, Any]]) -> None:
        if self.leaving:
            return
        self.sessions_tab.load(sessions)
        self._announce(sessions)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if self.leaving:
            return
        if name == "sessions":
            self._load(data["sessions"])
        elif name == "session":
            self.sessions_tab.session_changed(data["session"])
            self._announce([data["session"]])
        elif name == "kicked":
            self._kick_message = data.get("message") or self.texts("connection_lost")
            return
        elif name in ("closed", "logged_out"):
            self.leave(self._kick_message or self.texts("connection_lost"))
            return
        elif name in ("handover_offer", "handover_cancelled", "handover_declined", "handed_over"):
            self._handover_event(name, data)
            return
        elif name == "invitation":
            self._invitation(data)
            return
        elif name == "removed":
            self.sessions_tab.message.show_info(self.texts("removed_from_call"))
        elif name == "connection":
            # the client reconnects by itself after a network drop; say so meanwhile
            self.connection_label.setVisible(data.get("status") == "reconnecting")
            return
        self.viewer.on_event(name, data)

    # -- handing calls over (widgets/handover.py; docs/protocol.md, "Handing a session over") -------------------
    def _handover_event(self, name: str, data: dict[str, Any]) -> None:
        message = self.sessions_tab.message
        session_id = data.get("session_id")
        if name == "handover_offer":
            self._close_offer(session_id)
            dialog = self.handover_offers[session_id] = HandoverOfferDialog(self.texts, data, self)
            dialog.answered.connect(lambda answer: self._answer_offer(session_id, answer))
            dialog.open()
        elif name == "handover_cancelled":
            offered_here = self._close_offer(session_id)  # else this console made the offer
            if offered_here or data.get("reason") in ("expired", "failed"):
                message.show_info(self.texts(f"handover_withdrawn_{data.get('reason')}"))
        elif name == "handover_declined":
            message.show_info(self.texts("handover_declined", name=(data.get("by") or {}).get("name", "")))
        elif name == "handed_over":
            self._close_offer(session_id)
            if data.get("arrived"):
                message.show_info(self.texts("handover_arrived", name=data["from_agent"]["name"]))
                self.show_viewer(session_id)
            else:
                message.show_info(self.texts("handover_done", name=data["to_agent"]["name"]))
                if self.viewer.session_id == session_id:
                    self.viewer.close_quietly()

    def _close_offer(self, session_id: str | None) -> bool:
        dialog = self.handover_offers.pop(session_id, None)
        if dialog is not None:
            dialog.withdraw()
        return dialog is not None

    def _answer_offer(self, session_id: str, answer: str) -> None:
        self.handover_offers.pop(session_id, None)
        client = self.bridge.client.agent_client
        if answer == "accept":
            # the session arrives with ``handed_over`` on the socket; the viewer opens on it then
            self.bridge.submit(client.accept_handover(session_id, keys=False),
                               on_error=self.sessions_tab._error)
        else:
            self.bridge.submit(client.decline_handover(session_id), on_error=self.sessions_tab._error)

    # -- invitations into another agent's call (widgets/invite.py; docs/protocol.md, "Participants") -------------
    def _invitation(self, data: dict[str, Any]) -> None:
        session_id = data.get("session_id")
        if data.get("status") == "declined":  # an agent this console invited said no
            self.sessions_tab.message.show_info(self.texts("invite_declined", name=data.get("by") or ""))
            return
        if data.get("supervise"):  # 참관 pressed on the admin pages by this very administrator: no question
            self._answer_invitation(session_id, "accept", supervise=True)
            return
        old = self.invitations.pop(session_id, None)
        if old is not None:
            old.done(0)
        dialog = self.invitations[session_id] = InvitationDialog(self.texts, data, self)
        dialog.answered.connect(lambda answer: self._answer_invitation(session_id, answer))
        dialog.open()

    def _answer_invitation(self, session_id: str, answer: str, *, supervise: bool = False) -> None:
        self.invitations.pop(session_id, None)
        if answer == "accept":
            def joined(info: dict[str, Any]) -> None:
                if self.sessions_tab.model.row_of(session_id) < 0:  # listed with the answer, whatever came first
                    self.sessions_tab.model.upsert(info)
                self.show_viewer(session_id)
                if supervise:
                    self.viewer.message.show_info(self.texts("supervising"))

            self.bridge.submit(self.bridge.client.accept_invitation(session_id), on_result=joined,
                               on_error=self.sessions_tab._error)
        else:
            self.bridge.submit(self.bridge.client.agent_client.decline_invitation(session_id),
                               on_error=self.sessions_tab._error)

    def _invite_from_viewer(self) -> None:
        self.sessions_tab.invite_into(self.viewer.session, parent=self.viewer, message=self.viewer.message)

    def _remove_participant(self, index: int) -> None:
        session_id = self.viewer.session_id
        if session_id is not None:
            self.bridge.submit(self.bridge.client.remove_participant(session_id, index),
                               on_error=lambda info: self.viewer.message.show_error(self.texts.error_text(info)))

    def _announce(self, sessions: list[dict[str, Any]]) -> None:
        """A customer newly waiting while auto-connect is off: tell the agent (once per wait)."""
        auto = self.sessions_tab.auto_connect.isChecked()
        for session in sessions:
            if self.waiting.note(session, auto_connect=auto):
                self.desktop_alerts.alert(session)

    def show_viewer(self, session_id: str) -> None:
        row = self.sessions_tab.model.row_of(session_id)
        session = self.sessions_tab.model.session(row)
        if session is None:
            return
        if self.viewer.session_id != session_id:
            self.viewer.set_session(session)
        self.viewer.show()
        self.viewer.raise_()

    def open_settings(self) -> SettingsDialog:
        self.settings_dialog = SettingsDialog(self.texts, self.settings, self)
        self.settings_dialog.open()
        return self.settings_dialog

    # -- leaving ---------------------------------------------------------------------------------------------------
    def _may_leave(self) -> bool:
        """Unsaved record edits: ask (save / don't save / cancel); the draft stays on disk either way."""
        form = self.sessions_tab.form
        if not form.dirty:
            return True
        answer = self.ask_unsaved(self)
        if answer == "cancel":
            return False
        if answer == "save":
            form.save_all()
        else:  # 저장 안 함: the agent chose to drop the edits (a crash, unasked, keeps them on disk)
            form.draft.revert()
        return True

    def logout(self) -> None:
        if not self._may_leave():
            return
        self.leaving = True
        self.bridge.submit(self.bridge.client.logout(), on_result=lambda _r: self.leave(""),
                           on_error=lambda _e: self.leave(""))

    def leave(self, reason: str) -> None:
        self.leaving = True
        try:
            self.bridge.event.disconnect(self._on_event)
        except TypeError:
            pass
        self.viewer.close_quietly()
        self.desktop_alerts.close()
        self.close()
        self.logged_out.emit(reason)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.leaving and not self._may_leave():
            event.ignore()
            return
        self.viewer.close_quietly()
        super().closeEvent(event)
