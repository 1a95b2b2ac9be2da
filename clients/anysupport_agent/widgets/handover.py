"""Handing a call over to a colleague (상담 넘기기): whom to hand it to, and the offer a colleague answers.

``HandoverDialog`` lists the server's other active agents (``GET /api/v1/agents``); those whose console
is closed are shown but cannot be picked. ``HandoverOfferDialog`` is what the colleague's console shows
for a ``handover_offer``: 수락 takes the call over (its viewer opens on it), 거절 declines. Neither is
modal, so the console goes on while they are open; the rules are the server's (docs/protocol.md,
"Handing a session over").
"""

from __future__ import annotations

from typing import Any

from anysupport_qt import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    Qt,
    QVBoxLayout,
    pyqtSignal,
)

from ..texts import Texts


class HandoverDialog(QDialog):
    """Pick the colleague to hand session ``session`` to; ``chosen`` carries the colleague's login."""

    chosen = pyqtSignal(str)

    def __init__(self, texts: Texts, session: dict[str, Any], colleagues: list[dict[str, Any]], parent=None):
        super().__init__(parent)
        self.texts = texts
        self.session_id = session["id"]
        self.setWindowTitle(texts("handover_title"))
        self.list = QListWidget()
        for colleague in sorted(colleagues, key=lambda c: (not c.get("available"), c.get("name") or "")):
            label = f'{colleague["name"]} ({colleague["login"]})'
            if not colleague.get("available"):
                label += f' — {texts("handover_away")}'
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, colleague["login"])
            if not colleague.get("available"):
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled & ~Qt.ItemIsSelectable)
            self.list.addItem(item)
        self.buttons = QDialogButtonBox()
        self.hand_button = self.buttons.addButton(texts("handover_send"), QDialogButtonBox.AcceptRole)
        self.buttons.addButton(texts("cancel"), QDialogButtonBox.RejectRole)
        self.hand_button.setEnabled(False)
        layout = QVBoxLayout(self)
        self.pick_label = QLabel(texts("handover_pick", code=session.get("code") or ""))
        layout.addWidget(self.pick_label)
        layout.addWidget(self.list, 1)
        if not any(c.get("available") for c in colleagues):
            layout.addWidget(QLabel(texts("handover_nobody")))
        layout.addWidget(self.buttons)
        self.list.currentItemChanged.connect(self._picked)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.resize(360, 320)

    def _picked(self, current, _previous) -> None:
        self.hand_button.setEnabled(current is not None and bool(current.flags() & Qt.ItemIsEnabled))

    def choose(self, login: str) -> bool:
        """Select the colleague ``login`` (as a click would); False when it is not there or not available."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.UserRole) == login and item.flags() & Qt.ItemIsEnabled:
                self.list.setCurrentItem(item)
                return True
        return False

    def accept(self) -> None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemIsEnabled:
            return
        super().accept()
        self.chosen.emit(item.data(Qt.UserRole))


class HandoverOfferDialog(QDialog):
    """A colleague offers this agent a call: ``answered`` carries ``"accept"`` or ``"decline"``."""

    answered = pyqtSignal(str)

    def __init__(self, texts: Texts, offer: dict[str, Any], parent=None):
        super().__init__(parent)
        self.session_id = offer["session_id"]
        session = offer.get("session") or {}
        customer = (session.get("customer") or {}).get("name") or texts("handover_customer")
        self.setWindowTitle(texts("handover_offer_title"))
        self.text = QLabel(texts("handover_offer_text", name=offer["by"]["name"], login=offer["by"]["login"],
                                 customer=customer, number=session.get("number") or ""))
        self.text.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.accept_button = self.buttons.addButton(texts("handover_accept"), QDialogButtonBox.AcceptRole)
        self.decline_button = self.buttons.addButton(texts("handover_decline"), QDialogButtonBox.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self.accept_button.clicked.connect(lambda: self._answer("accept"))
        self.decline_button.clicked.connect(lambda: self._answer("decline"))
        self.resize(380, 140)

    def withdraw(self) -> None:
        """The offer ended elsewhere (cancelled, lapsed, the call ended): close without answering."""
        self.done(QDialog.Rejected)

    def _answer(self, answer: str) -> None:
        self.answered.emit(answer)
        self.done(QDialog.Accepted if answer == "accept" else QDialog.Rejected)

    def reject(self) -> None:  # Esc or the window's close button: a decline, so the offerer hears at once
        if self.isVisible():
            self._answer("decline")
