"""Inviting a colleague into a live call (초대), the invitation a colleague answers, and who takes part.

``InviteDialog`` is the hand-over's colleague list (``GET /api/v1/agents``: those whose console is
closed cannot be picked) with the rights to give: 전체 권한 (video, drawing, directions, chat, voice)
or 보기만 (receives only). ``InvitationDialog`` is what the invited console shows for an
``invitation``: 수락 joins the call as a guest (its viewer opens on it), 거절 declines.
``ParticipantsPanel`` is the viewer's list of who is present (name, role, rights, and the security
code of this console's pair with each one); the session's agent may remove an invited participant.
The rules are the server's (docs/protocol.md, "Participants"); the keys are the client library's.
"""

from __future__ import annotations

from typing import Any

from anysupport_qt import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from ..texts import Texts
from .handover import HandoverDialog

# the roles of an invited participant (docs/protocol.md `participants`): an invited agent, or an administrator
# supervising from the admin pages (참관); either may leave, and the session's agent may remove either
INVITED_ROLES = ("guest", "supervisor")


class InviteDialog(HandoverDialog):
    """Pick the colleague and the rights; ``invited`` carries (login, rights)."""

    invited = pyqtSignal(str, str)

    def __init__(self, texts: Texts, session: dict[str, Any], colleagues: list[dict[str, Any]], parent=None):
        super().__init__(texts, session, colleagues, parent)
        self.setWindowTitle(texts("invite_title"))
        self.hand_button.setText(texts("invite_send"))
        self.pick_label.setText(texts("invite_pick", code=session.get("code") or ""))
        self.full_button = QRadioButton(texts("rights_full"))
        self.full_button.setToolTip(texts("rights_full_tip"))
        self.view_button = QRadioButton(texts("rights_view"))
        self.view_button.setToolTip(texts("rights_view_tip"))
        self.full_button.setChecked(True)
        rights = QHBoxLayout()
        rights.addWidget(self.full_button)
        rights.addWidget(self.view_button)
        rights.addStretch(1)
        self.layout().insertLayout(self.layout().count() - 1, rights)
        self.chosen.connect(lambda login: self.invited.emit(login, self.rights))

    @property
    def rights(self) -> str:
        return "view" if self.view_button.isChecked() else "full"


class InvitationDialog(QDialog):
    """Another agent invites this one into a call: ``answered`` carries ``"accept"`` or ``"decline"``."""

    answered = pyqtSignal(str)

    def __init__(self, texts: Texts, invitation: dict[str, Any], parent=None):
        super().__init__(parent)
        self.session_id = invitation["session_id"]
        self.rights = invitation.get("rights", "full")
        self.setWindowTitle(texts("invitation_title"))
        self.text = QLabel(texts("invitation_text", by=invitation.get("by") or "",
                                 customer=invitation.get("customer") or texts("invitation_customer"),
                                 number=invitation.get("number") or "", rights=texts(f"rights_{self.rights}")))
        self.text.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.accept_button = self.buttons.addButton(texts("invitation_accept"), QDialogButtonBox.AcceptRole)
        self.decline_button = self.buttons.addButton(texts("invitation_decline"), QDialogButtonBox.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self.accept_button.clicked.connect(lambda: self._answer("accept"))
        self.decline_button.clicked.connect(lambda: self._answer("decline"))
        self.resize(400, 150)

    def _answer(self, answer: str) -> None:
        self.answered.emit(answer)
        self.done(QDialog.Accepted if answer == "accept" else QDialog.Rejected)

    def reject(self) -> None:  # Esc or the close button: a decline, so the inviter hears at once
        if self.isVisible():
            self._answer("decline")


class ParticipantsPanel(QWidget):
    """Who takes part in the viewed call; ``remove`` carries the index the session's agent removes."""

    remove = pyqtSignal(int)  # the session's agent removes a guest, or a guest leaves (its own index)
    invite = pyqtSignal()  # 초대… : the session's agent invites someone (the sessions tab's dialog)
    COLUMNS = ("participants_col_name", "participants_col_role", "participants_col_rights", "participants_col_code")

    def __init__(self, texts: Texts, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.participants: list[dict[str, Any]] = []
        self.you: int | None = None
        self.codes: dict[int, str] = {}
        self.model = QStandardItemModel(0, len(self.COLUMNS), self)
        self.model.setHorizontalHeaderLabels([texts(c) for c in self.COLUMNS])
        self.model.horizontalHeaderItem(3).setToolTip(texts("participants_code_tip"))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for col in range(len(self.COLUMNS)):  # the code whole, the name with what is left
            header.setSectionResizeMode(col, QHeaderView.Stretch if col == 0 else QHeaderView.ResizeToContents)
        self.remove_button = QPushButton(texts("participant_remove"))
        self.remove_button.setToolTip(texts("participant_remove_tip"))
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove)
        self.invite_button = QPushButton(texts("participant_invite"))
        self.invite_button.setToolTip(texts("invite_tip"))
        self.invite_button.setEnabled(False)
        self.invite_button.clicked.connect(self.invite.emit)
        self.leave_button = QPushButton(texts("participant_leave"))
        self.leave_button.setToolTip(texts("participant_leave_tip"))
        self.leave_button.hide()
        self.leave_button.clicked.connect(lambda: self.remove.emit(self.you) if self._role_of(self.you) in INVITED_ROLES else None)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.invite_button)
        row.addStretch(1)
        row.addWidget(self.leave_button)
        row.addWidget(self.remove_button)
        layout.addLayout(row)

    def show_participants(self, participants: list[dict[str, Any]], you: int | None, codes: dict[int, str]) -> None:
        self.participants, self.you, self.codes = list(participants), you, dict(codes)
        guest = self._role_of(you) in INVITED_ROLES
        self.invite_button.setVisible(not guest)
        self.remove_button.setVisible(not guest)
        self.leave_button.setVisible(guest)
        self.model.setRowCount(len(self.participants))
        for row, p in enumerate(self.participants):
            name = p.get("name") or ""
            if p["index"] == you:
                name = self.texts("participant_you", name=name)
            elif p.get("present") is False:
                name = f'{name} — {self.texts("participant_away")}'
            code = "" if p["index"] == you else self.codes.get(p["index"], "")
            cells = (name, self.texts(f'role_{p.get("role", "guest")}'), self.texts(f'rights_{p.get("rights", "full")}'),
                     code)
            for col, text in enumerate(cells):
                item = QStandardItem(text)
                item.setToolTip(text)
                item.setData(p["index"], Qt.UserRole)
                self.model.setItem(row, col, item)
        self._selection()

    def _role_of(self, index: int | None) -> str | None:
        """A participant's role by its index: the session's agent is 1 until a hand-over in version 2 gives
        the new one another index, so the list's roles say who is who, not the numbers."""
        return next((p.get("role") for p in self.participants if p["index"] == index), None)

    def row_of(self, index: int) -> int:
        return next((row for row, p in enumerate(self.participants) if p["index"] == index), -1)

    def code_of(self, index: int) -> str:
        row = self.row_of(index)
        return self.model.item(row, 3).text() if row >= 0 else ""

    def _selected_index(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.participants[rows[0].row()]["index"] if rows and rows[0].row() < len(self.participants) else None

    def select(self, index: int) -> None:
        row = self.row_of(index)
        if row >= 0:
            self.table.selectRow(row)

    def _selection(self) -> None:
        index = self._selected_index()
        # the session's agent removes an invited participant
        self.remove_button.setEnabled(self._role_of(self.you) == "agent" and self._role_of(index) in INVITED_ROLES)

    def _remove(self) -> None:
        index = self._selected_index()
        if index is not None and self._role_of(self.you) == "agent" and self._role_of(index) in INVITED_ROLES:
            self.remove.emit(index)
