from anysupport_agent.draft import DraftStore, validate
from anysupport_agent.texts import Texts


def test_edits_are_on_disk_at_once_and_survive_a_restart(console_home):
    store = DraftStore()
    draft = store.open("65a1f0c2e4b5d6a7b8c9d0e1")
    assert not draft.dirty
    draft.edit("customer_name", "홍길동")
    draft.edit("content", "와이파이 재설정")
    assert draft.dirty
    assert draft.path.exists() and "홍길동" in draft.path.read_text(encoding="utf-8")
    # a new console (the old one crashed): the draft is back, still dirty
    again = DraftStore().open("65a1f0c2e4b5d6a7b8c9d0e1")
    assert again.fields["customer_name"] == "홍길동" and again.dirty
    assert [d.session_id for d in DraftStore().unsaved()] == ["65a1f0c2e4b5d6a7b8c9d0e1"]


def test_server_copy_and_saving(console_home):
    store = DraftStore()
    draft = store.open("s1")
    draft.server_loaded({"customer_name": "Kim", "ip": "203.0.113.7", "started_at": "2026-05-18T01:21:10+00:00"})
    assert draft.fields["customer_name"] == "Kim" and not draft.dirty and draft.info["ip"] == "203.0.113.7"
    draft.edit("phone", "010-1234-5678")
    draft.server_loaded({"customer_name": "Kim"})  # a refresh does not wipe the agent's edits
    assert draft.fields["phone"] == "010-1234-5678" and draft.dirty
    draft.mark_saved()
    assert not draft.dirty and DraftStore().unsaved() == []
    draft.edit("phone", "  ")
    assert draft.fields["phone"] is None and draft.dirty
    draft.revert()
    assert draft.fields["phone"] == "010-1234-5678"
    store.discard("s1")
    assert not draft.path.exists()


def test_what_the_customer_typed_is_no_edit_of_the_agents(console_home):
    draft = DraftStore().open("s2")
    draft.prefill({"customer_name": "홍길동", "phone": "010-1234-5678"})
    assert draft.fields["customer_name"] == "홍길동" and not draft.edited and not draft.has_edits
    assert DraftStore().unsaved() == []  # nothing to restore in a new console
    draft.server_loaded({"customer_name": None, "content": "다른 콘솔에서 저장"})
    assert draft.fields["customer_name"] == "홍길동" and draft.fields["content"] == "다른 콘솔에서 저장"
    draft.edit("content", "메모")
    assert draft.has_edits and DraftStore().open("s2").has_edits
    draft.mark_saved()
    assert not draft.edited


def test_validation_messages_in_both_languages():
    ko, en = Texts("ko"), Texts("en")
    good = {"customer_name": "Kim", "email": "kim@example.com", "phone": "+82 10-1234-5678", "resolution": "solved"}
    assert validate(good, ko) == {}
    bad = {"email": "kim@", "phone": "call me", "customer_name": "x" * 101, "resolution": "maybe"}
    problems = validate(bad, ko)
    assert set(problems) == {"email", "phone", "customer_name", "resolution"}
    assert "E-mail" in problems["email"] and "100" in problems["customer_name"]
    assert "고객 이름" in problems["customer_name"]
    assert "at most 100" in validate(bad, en)["customer_name"]


def test_another_persons_save_is_taken_in_and_the_agents_edits_stay_on_top(console_home):
    """#18.5: the save was refused (412 record_changed): their version becomes the saved one, the
    agent's own edits stay, and the fields they changed are named (both changed: the agent's kept)."""
    draft = DraftStore().open("s2")
    draft.server_loaded({"customer_name": "Kim", "content": "", "resolution": None, "version": 3})
    assert draft.version == 3
    draft.edit("content", "공유기 재부팅 안내")
    draft.edit("phone", "010-1111-2222")
    theirs, both = draft.someone_else_saved({"customer_name": "김철수", "content": "관리자 메모", "resolution": "solved",
                                             "phone": None, "version": 4})
    assert theirs == ["customer_name", "resolution"] and both == ["content"]
    assert draft.fields["customer_name"] == "김철수" and draft.fields["resolution"] == "solved"
    assert draft.fields["content"] == "공유기 재부팅 안내" and draft.fields["phone"] == "010-1111-2222"
    assert draft.version == 4 and draft.has_edits
    again = DraftStore().open("s2")  # the merge is on disk too, with the version to save against
    assert again.version == 4 and again.fields == draft.fields
    # nothing of the agent's edited: their version is taken whole, nothing left to save
    clean = DraftStore().open("s3")
    clean.server_loaded({"customer_name": "Kim", "version": 1})
    assert clean.someone_else_saved({"customer_name": "Lee", "version": 2}) == (["customer_name"], [])
    assert clean.fields["customer_name"] == "Lee" and not clean.has_edits


def test_a_draft_is_based_on_a_record_while_nobody_saved_its_fields_since(console_home):
    """#18.5: what a draft without a version is compared with before its conditional save."""
    draft = DraftStore().open("s4")
    draft.server_loaded({"customer_name": "Kim", "content": "", "resolution": None, "version": 2})
    draft.edit("content", "공유기 재부팅 안내")  # the agent's own edits do not count
    assert draft.based_on({"customer_name": "Kim ", "content": None, "version": 2, "ended_at": "later"})
    assert not draft.based_on({"customer_name": "Kim", "resolution": "solved", "version": 3})
