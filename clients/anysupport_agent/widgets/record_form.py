"""원격 지원 기록: the support record of the selected session, autosaved as a draft, "모두 저장" to the server."""

from __future__ import annotations

from typing import Any

from anysupport_client.api import ApiError
from anysupport_qt import (
    QAbstractItemView,
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTreeView,
    QVBoxLayout,
    pyqtSignal,
)

from .. import zone
from ..draft import RESOLUTIONS, DraftStore, RecordDraft, validate
from ..models.trouble_types import IdRole, TroubleTypeModel
from ..texts import Texts
from .common import MessageLine


def long_time(iso: str | None) -> str:
    """``2026-05-17 21:16:54`` in the server's zone (``zone``)."""
    return zone.show(iso, "%Y-%m-%d %H:%M:%S", "-")


class RecordForm(QGroupBox):
    saved = pyqtSignal(str)  # session id

    def __init__(self, *, texts: Texts, bridge, drafts: DraftStore, trouble_types: TroubleTypeModel, parent=None):
        super().__init__(texts("record"), parent)
        self.texts = texts
        self.bridge = bridge
        self.drafts = drafts
        self.trouble_types = trouble_types
        self.draft: RecordDraft | None = None
        self._loading = False
        self.name = QLineEdit()
        self.email = QLineEdit()
        self.phone = QLineEdit()
        self.ip = QLabel("-")
        self.started = QLabel("-")
        self.ended = QLabel("-")
        self.tree = QTreeView()
        self.tree.setModel(trouble_types)
        self.tree.setHeaderHidden(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setMinimumHeight(110)
        self.content = QPlainTextEdit()
        self.content.setMinimumHeight(80)
        self.resolution = QButtonGroup(self)
        row = QHBoxLayout()
        self.resolution_buttons: dict[str, QRadioButton] = {}
        for i, key in enumerate(RESOLUTIONS):
            button = QRadioButton(texts(key))
            self.resolution.addButton(button, i)
            self.resolution_buttons[key] = button
            row.addWidget(button)
        row.addStretch(1)
        self.save_button = QPushButton(texts("save_all"))
        self.message = MessageLine()
        self._complaint = ""  # what validation found wrong, as last shown
        form = QFormLayout()
        form.addRow(texts("customer_name"), self.name)
        form.addRow(texts("email"), self.email)
        form.addRow(texts("phone"), self.phone)
        form.addRow(texts("ip"), self.ip)
        form.addRow(texts("started_at"), self.started)
        form.addRow(texts("ended_at"), self.ended)
        form.addRow(texts("trouble_type"), self.tree)
        form.addRow(texts("content"), self.content)
        form.addRow(texts("resolution"), row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.save_button)
        layout.addLayout(bottom)
        self.name.textEdited.connect(lambda v: self._edit("customer_name", v))
        self.email.textEdited.connect(lambda v: self._edit("email", v))
        self.phone.textEdited.connect(lambda v: self._edit("phone", v))
        self.content.textChanged.connect(lambda: self._edit("content", self.content.toPlainText()))
        self.resolution.buttonClicked.connect(lambda b: self._edit("resolution", RESOLUTIONS[self.resolution.id(b)]))
        self.tree.selectionModel().currentChanged.connect(lambda cur, _prev: self._edit("trouble_type", cur.data(IdRole)))
        trouble_types.modelReset.connect(self._show_trouble_type)
        self.save_button.clicked.connect(lambda: self.save_all())
        self.set_session(None)

    # -- showing a session ---------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.draft is not None and self.draft.has_edits

    def set_session(self, session: dict[str, Any] | None) -> None:
        self.message.clear_message()
        if session is None:
            self.draft = None
            self._fill({}, {})
            self.setEnabled(False)
            return
        self.draft = self.drafts.open(session["id"])
        has_record = bool(session.get("connected_at")) or session.get("state") == "connected"
        self.setEnabled(True)
        customer = session.get("customer") or {}
        if not self.draft.has_edits and not any(self.draft.fields.values()):
            # start from what the customer typed when joining (not the agent's edit: nothing to "restore")
            self.draft.prefill({"customer_name": customer.get("name"), "email": customer.get("email"),
                                "phone": customer.get("phone")})
        info = {"ip": customer.get("ip"), "started_at": session.get("connected_at"), **{
            k: v for k, v in self.draft.info.items() if v}}
        self._fill(self.draft.fields, info)
        if self.draft.has_edits:
            self.message.show_info(self.texts("draft_restored"))
        if has_record:
            session_id = session["id"]
            self.bridge.submit(self.bridge.client.rest.record(session_id),
                               on_result=lambda record: self._server_record(session_id, record))
        else:
            self.save_button.setEnabled(False)
            self.message.show_info(self.texts("record_unavailable"))

    def refresh(self) -> None:
        """Show the draft again (another form of the same session, in the other window, may have changed it)."""
        if self.draft is not None:
            self._fill(self.draft.fields, self.draft.info)

    def other_saved(self, session_id: str) -> None:
        """The other window's form saved ``session_id``: show it here if it is this form's session."""
        if self.draft is not None and self.draft.session_id == session_id:
            self.refresh()
            self.message.clear_message()

    def _server_record(self, session_id: str, record: dict[str, Any]) -> None:
        if self.draft is None or self.draft.session_id != session_id:
            return
        self.draft.server_loaded(record)
        self._fill(self.draft.fields, self.draft.info)
        self.save_button.setEnabled(True)

    def _fill(self, fields: dict[str, Any], info: dict[str, Any]) -> None:
        self._loading = True
        try:
            self.name.setText(fields.get("customer_name") or "")
            self.email.setText(fields.get("email") or "")
            self.phone.setText(fields.get("phone") or "")
            if self.content.toPlainText() != (fields.get("content") or ""):
                self.content.setPlainText(fields.get("content") or "")
            self.resolution.setExclusive(False)
            for key, button in self.resolution_buttons.items():
                button.setChecked(fields.get("resolution") == key)
            self.resolution.setExclusive(True)
            self.ip.setText(info.get("ip") or "-")
            self.started.setText(long_time(info.get("started_at")))
            self.ended.setText(long_time(info.get("ended_at")))
            self._show_trouble_type()
        finally:
            self._loading = False

    def _show_trouble_type(self) -> None:
        was, self._loading = self._loading, True
        try:
            index = self.trouble_types.find(self.draft.fields.get("trouble_type") if self.draft else None)
            self.tree.expandAll()
            self.tree.setCurrentIndex(index)
        finally:
            self._loading = was

    def _edit(self, name: str, value: Any) -> None:
        if self._loading or self.draft is None:
            return
        self.draft.edit(name, value)
        if self._complaint and self.message.text() == self._complaint:
            # the validation message follows the corrections: what is fixed leaves it
            self._complain(validate(self.draft.fields, self.texts))

    def _complain(self, problems: dict[str, str]) -> None:
        self._complaint = "\n".join(problems.values())
        if problems:
            self.message.show_error(self._complaint)
        else:
            self.message.clear_message()

    # -- saving ------------------------------------------------------------------------------------------------
    def save_all(self, on_done=None) -> bool:
        """모두 저장: validate, then store on the server; False when there was something to fix."""
        if self.draft is None:
            return False
        problems = validate(self.draft.fields, self.texts)
        if problems:
            self._complain(problems)
            return False
        draft = self.draft
        fields = draft.changes()

        def done(record: dict[str, Any]) -> None:
            draft.mark_saved(record)
            if self.draft is draft:
                self._fill(draft.fields, draft.info)
                self.message.show_info(self.texts("saved"))
            self.saved.emit(draft.session_id)
            if on_done is not None:
                on_done()

        def failed(info: dict[str, Any]) -> None:
            current = (info.get("body") or {}).get("record") if isinstance(info.get("body"), dict) else None
            if info.get("error") == "record_changed" and current is not None:
                self._someone_else_saved(draft, current)
            else:
                self.message.show_error(self.texts.error_text(info))

        self.bridge.submit(conditional_save(self.bridge.client.rest, draft, fields), on_result=done, on_error=failed)
        return True

    def _someone_else_saved(self, draft: RecordDraft, current: dict[str, Any]) -> None:
        """412 ``record_changed``: another person (an admin, this agent's other console) saved first. Their
        version is taken in, this agent's edits stay on top, and the form says which fields they changed;
        saving again is the agent's choice."""
        theirs, both = draft.someone_else_saved(current)
        if self.draft is not draft:
            return
        self._fill(draft.fields, draft.info)
        names = [self.texts(name) for name in theirs + both]  # the form's own labels
        self.message.show_error(self.texts("record_changed_by_other", fields=", ".join(names) or "-")
                                + (" " + self.texts("record_changed_kept", fields=", ".join(
                                    self.texts(name) for name in both)) if both else ""))


async def conditional_save(rest, draft: RecordDraft, fields: dict[str, Any]) -> dict[str, Any]:
    """Every save from the console is conditional (``If-Match``). A draft that knows no version (kept on disk
    before records had one, or edited before the record arrived) is first compared with the server's copy:
    if that is still what the draft was based on, the save is conditional on its version; if somebody saved
    since, the same ``record_changed`` as a refused save, so the form merges and says what changed."""
    version = draft.version
    if version is None:
        current = await rest.record(draft.session_id)
        if not draft.based_on(current):
            raise ApiError(412, "record_changed", body={"error": "record_changed", "record": current})
        version = current.get("version")
    return await rest.put_record(draft.session_id, version=version, **fields)
