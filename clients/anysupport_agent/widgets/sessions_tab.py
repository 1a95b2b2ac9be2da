"""세션 탭: the session list, create / delete / connect, auto-connect, the customer page, the record form.

상담 넘기기 offers a Connected call to a colleague (``widgets/handover.py``); 초대 invites one into it
(``widgets/invite.py``).

A Connected session's video opens again at any time (double-click its row, 영상 보기, or 접속 on it);
지원 종료 ends its call (the protocol's ``end``: the customer reads that the support ended and gets the
survey). Deleting a session whose customer is there (Online or Connected) asks first.
"""

from __future__ import annotations

import functools
from typing import Any

from anysupport_qt import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from ..draft import DraftStore
from ..models.sessions import SessionsModel
from ..models.trouble_types import TroubleTypeModel
from ..texts import Texts
from .common import AskUnsaved, Confirm, MessageLine, confirm_dialog
from .handover import HandoverDialog
from .invite import InviteDialog
from .record_form import RecordForm

PRUNE_EVERY_MS = 30_000  # how often expired sessions whose time is over leave the list
LIVE_STATES = ("online", "connected")  # the customer is there: deleting the session cuts them off


class SessionsTab(QWidget):
    view_session = pyqtSignal(str)  # a session became connected, or the agent asked to see it: show it in the viewer

    def __init__(self, *, texts: Texts, bridge, drafts: DraftStore, ask_unsaved: AskUnsaved,
                 public_url: str = "", auto_connect: bool = False, confirm: Confirm | None = None, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.bridge = bridge
        self.ask_unsaved = ask_unsaved
        self.confirm = confirm or confirm_dialog(texts)
        self.model = SessionsModel(texts, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.create_button = QPushButton(texts("create_session"))
        self.delete_button = QPushButton(texts("delete_session"))
        self.connect_button = QPushButton(texts("connect"))
        self.view_button = QPushButton(texts("open_viewer"))
        self.end_button = QPushButton(texts("end_support"))
        self.end_button.setToolTip(texts("end_support_tip"))
        self.handover_button = QPushButton(texts("handover"))
        self.handover_button.setToolTip(texts("handover_tip"))
        self.handover_dialog: HandoverDialog | None = None
        self.invite_button = QPushButton(texts("invite"))
        self.invite_button.setToolTip(texts("invite_tip"))
        self.invite_dialog: InviteDialog | None = None
        self.auto_connect = QCheckBox(texts("auto_connect"))
        self.auto_connect.setChecked(auto_connect)
        self.page_url = QLineEdit(public_url)
        self.page_url.setReadOnly(True)
        self.copy_button = QPushButton(texts("copy"))
        self.message = MessageLine()
        self.trouble_types = TroubleTypeModel(self)
        self.form = RecordForm(texts=texts, bridge=bridge, drafts=drafts, trouble_types=self.trouble_types)
        buttons = QHBoxLayout()
        for b in (self.create_button, self.delete_button, self.connect_button, self.view_button, self.end_button,
                  self.handover_button, self.invite_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        page = QHBoxLayout()
        page.addWidget(QLabel(texts("customer_page")))
        page.addWidget(self.page_url, 1)
        page.addWidget(self.copy_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.auto_connect)
        left_layout.addLayout(page)
        left_layout.addWidget(self.message)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.form)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.create_button.clicked.connect(self.create_session)
        self.delete_button.clicked.connect(self.delete_session)
        self.connect_button.clicked.connect(self.connect_session)
        self.view_button.clicked.connect(self.open_viewer)
        self.end_button.clicked.connect(self.end_support)
        self.handover_button.clicked.connect(self.hand_over)
        self.invite_button.clicked.connect(self.invite)
        self.table.doubleClicked.connect(lambda _index: self.open_viewer())
        self.auto_connect.toggled.connect(self.set_auto_connect)
        self.copy_button.clicked.connect(self.copy_url)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self._shown_id: str | None = None
        # expired sessions fade, then leave the list (models/sessions.py, session_list.py)
        self.prune_timer = QTimer(self)
        self.prune_timer.setInterval(PRUNE_EVERY_MS)
        self.prune_timer.timeout.connect(self.model.prune)
        self.prune_timer.start()
        bridge.submit(bridge.client.rest.trouble_types(), on_result=self.trouble_types.load)

    # -- the list -----------------------------------------------------------------------------------------
    def load(self, sessions: list[dict[str, Any]]) -> None:
        """A whole list (the hello, a hand-over, catching up): as ``session_changed`` for each, the first call
        that became Connected since the list before opens in the viewer."""
        before = {row["id"]: row.get("state") for row in self.model.rows}
        self.model.reset(sessions)
        if self.model.rows:
            self.table.selectRow(0)
        for session in sessions:
            if self._became_connected(session["id"], before.get(session["id"])):
                break

    def session_changed(self, session: dict[str, Any]) -> None:
        before = self.model.row_of(session["id"])
        old_state = self.model.rows[before].get("state") if before >= 0 else None
        self.model.upsert(session)
        row = self.model.row_of(session["id"])
        self._became_connected(session["id"], old_state)
        if session["id"] == self._shown_id and self.model.rows[row].get("state") in ("connected", "expired"):
            self.form.set_session(self.model.rows[row])

    def _became_connected(self, session_id: str, old_state: str | None) -> bool:
        """A call that has just become Connected (it was ``old_state``) is selected and its viewer opens."""
        row = self.model.row_of(session_id)
        if row < 0 or self.model.rows[row].get("state") != "connected" or old_state == "connected":
            return False
        self.table.selectRow(row)
        self.view_session.emit(session_id)
        return True

    def selected(self) -> dict[str, Any] | None:
        index = self.table.currentIndex()
        return self.model.session(index.row()) if index.isValid() else None

    def _row_changed(self, current, previous) -> None:
        session = self.model.session(current.row()) if current.isValid() else None
        new_id = session["id"] if session else None
        if new_id == self._shown_id:
            return
        if self.form.dirty:
            answer = self.ask_unsaved(self)
            if answer == "cancel":
                back = self.model.row_of(self._shown_id) if self._shown_id else -1
                if back >= 0:
                    self.table.selectionModel().blockSignals(True)
                    self.table.selectRow(back)
                    self.table.selectionModel().blockSignals(False)
                return
            if answer == "save":
                self.form.save_all()
            else:
                self.form.draft.revert()
        self._shown_id = new_id
        self.message.clear_message()  # what it said was about the session shown before
        self.model.pinned = {new_id} if new_id else set()  # its record form may be in use: it stays listed
        self.form.set_session(session)

    # -- actions --------------------------------------------------------------------------------------------
    def _error(self, info: dict[str, Any]) -> None:
        self.message.show_error(self.texts.error_text(info))

    def create_session(self) -> None:
        self.message.clear_message()
        self.bridge.submit(self.bridge.client.create_session(), on_result=self._created, on_error=self._error)

    def _created(self, session: dict[str, Any]) -> None:
        self.model.upsert(session)
        if not self.form.dirty:  # a record being written stays on screen; the new code is in the list
            self.table.selectRow(self.model.row_of(session["id"]))

    def delete_session(self) -> None:
        session = self.selected()
        if session is None:
            self.message.show_error(self.texts("select_session"))
            return
        self.message.clear_message()  # an earlier complaint about this session (not Online ...) is over
        if session.get("state") in LIVE_STATES and not self.confirm(
                self, self.texts("delete_confirm", code=session.get("code", ""))):
            return
        self.bridge.submit(self.bridge.client.delete_session(session["id"]), on_error=self._error)

    def _connected_selected(self) -> dict[str, Any] | None:
        session = self.selected()
        if session is None:
            self.message.show_error(self.texts("select_session"))
            return None
        if session.get("state") != "connected":
            self.message.show_error(self.texts("not_connected"))
            return None
        self.message.clear_message()
        return session

    def open_viewer(self) -> None:
        """영상 보기 / double-click: the viewer of a Connected session, again after it was closed."""
        session = self._connected_selected()
        if session is not None:
            self.view_session.emit(session["id"])

    def _own_connected_selected(self) -> dict[str, Any] | None:
        """The selected Connected call, if it is this agent's own (not one it was invited into)."""
        session = self._connected_selected()
        if session is not None and session.get("guest"):
            self.message.show_error(self.texts("guest_not_yours"))
            return None
        return session

    def end_support(self) -> None:
        """지원 종료: the call ends (``end``); the session expires and the customer gets the survey."""
        session = self._own_connected_selected()
        if session is not None:
            self.bridge.call(functools.partial(self.bridge.client.end, session["id"]))

    def hand_over(self) -> None:
        """상담 넘기기: pick a colleague (the server's list of the other agents) and offer them the call."""
        session = self._own_connected_selected()
        if session is not None:
            self.bridge.submit(self.bridge.client.agent_client.colleagues(),
                               on_result=lambda found: self._pick_colleague(session, found), on_error=self._error)

    def _pick_colleague(self, session: dict[str, Any], colleagues: list[dict[str, Any]]) -> None:
        self.handover_dialog = HandoverDialog(self.texts, session, colleagues, self)
        self.handover_dialog.chosen.connect(lambda login: self._offer(session["id"], login))
        self.handover_dialog.open()

    def _offer(self, session_id: str, login: str) -> None:
        def offered(offer: dict[str, Any]) -> None:
            self.message.show_info(self.texts("handover_offered", name=offer["to"]["name"]))

        self.bridge.submit(self.bridge.client.agent_client.offer_handover(session_id, login), on_result=offered,
                           on_error=self._error)

    def invite(self) -> None:
        """초대: pick a colleague and the rights (전체 권한 / 보기만) and invite them into the call."""
        session = self._own_connected_selected()
        if session is not None:
            self.invite_into(session)

    def invite_into(self, session: dict[str, Any], *, parent: QWidget | None = None, message=None) -> None:
        """The invitation dialog for ``session`` (from the list's 초대, or over the viewer from its 참여자 tab,
        whose message line then says how it went)."""
        message = message or self.message

        def failed(info: dict[str, Any]) -> None:
            message.show_error(self.texts.error_text(info))

        def pick(colleagues: list[dict[str, Any]]) -> None:
            self.invite_dialog = InviteDialog(self.texts, session, colleagues, parent or self)
            names = {c["login"]: c["name"] for c in colleagues}

            def invite(login: str, rights: str) -> None:
                self.bridge.submit(self.bridge.client.agent_client.invite(session["id"], rights=rights, login=login),
                                   on_result=lambda _r: message.show_info(self.texts("invite_sent", name=names[login])),
                                   on_error=failed)

            self.invite_dialog.invited.connect(invite)
            self.invite_dialog.open()

        self.bridge.submit(self.bridge.client.agent_client.colleagues(), on_result=pick, on_error=failed)

    def connect_session(self) -> None:
        session = self.selected()
        if session is None:
            self.message.show_error(self.texts("select_session"))
            return
        if session.get("state") == "connected":  # already in the call: 접속 shows it
            self.open_viewer()
            return
        if session.get("state") != "online":
            self.message.show_error(self.texts("not_online"))
            return
        self.message.clear_message()
        self.bridge.submit(self.bridge.client.connect_session(session["id"]), on_error=self._error)

    def set_auto_connect(self, on: bool) -> None:
        self.bridge.submit(self.bridge.client.agent_client.update_settings(auto_connect=on), on_error=self._error)

    def copy_url(self) -> None:
        QApplication.clipboard().setText(self.page_url.text())
        self.message.show_info(self.texts("copied"))
