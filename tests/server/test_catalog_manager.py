"""``CatalogManager`` and ``SiteSettings`` directly, over a real store: the trouble-type tree and the
canned phrases. End to end (the admin REST API) in test_catalog.py.

The tests add their own types and look only at those, so a default tree a fresh install may be
given does not change what they check.
"""

from __future__ import annotations

import pytest

from anysupport.catalog.manager import SiteSettings, default_phrase_set, trouble_type_paths, trouble_type_tree
from anysupport.errors import Conflict, Invalid, NotFound
from tests.support.managers import build_managers

DEFAULT_PHRASES = default_phrase_set("ko")  # the managers' install is Korean


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock)


def subtree(tree, root_id):
    return next(node for node in tree if node["id"] == root_id)


async def test_types_form_a_tree_with_path_names(m):
    catalog = m.catalog
    network = await catalog.add_trouble_type("  Network Error ")
    wifi = await catalog.add_trouble_type("Wi-Fi", network["id"], order=2)
    cable = await catalog.add_trouble_type("LAN cable", network["id"], order=1)
    router = await catalog.add_trouble_type("공유기", wifi["id"])
    assert network["name"] == "Network Error"
    node = subtree(await catalog.trouble_type_tree(), network["id"])
    assert [c["name"] for c in sorted(node["children"], key=lambda c: c["order"])] == ["LAN cable", "Wi-Fi"]
    assert await catalog.trouble_type_path(router["id"]) == "Network Error / Wi-Fi / 공유기"
    ours = {network["id"], wifi["id"], cable["id"], router["id"]}
    paths = [path for t, path in trouble_type_paths(await catalog.trouble_types()) if t["id"] in ours]
    assert paths == ["Network Error", "Network Error / LAN cable", "Network Error / Wi-Fi",
                     "Network Error / Wi-Fi / 공유기"]  # parents first, siblings by order


async def test_a_type_cannot_move_under_itself_or_an_unknown_parent(m):
    catalog = m.catalog
    top = await catalog.add_trouble_type("Display Error")
    child = await catalog.add_trouble_type("No picture", top["id"])
    for parent in (top["id"], child["id"]):
        with pytest.raises(Invalid) as refused:
            await catalog.update_trouble_type(top["id"], {"parent_id": parent})
        assert refused.value.fields["field"] == "parent_id"
    with pytest.raises(Invalid):
        await catalog.add_trouble_type("Orphan", "0" * 24)
    with pytest.raises(NotFound) as missing:
        await catalog.update_trouble_type("0" * 24, {"name": "x"})
    assert missing.value.code == "trouble_type_not_found"
    moved = await catalog.update_trouble_type(child["id"], {"parent_id": None, "name": " Blank screen "})
    assert moved["parent_id"] is None and moved["name"] == "Blank screen"


async def test_deleting_keeps_what_records_use(m):
    catalog = m.catalog
    top = await catalog.add_trouble_type("Audio Error")
    used = await catalog.add_trouble_type("No sound", top["id"])
    unused = await catalog.add_trouble_type("Echo", top["id"])
    with pytest.raises(Conflict) as refused:
        await catalog.delete_trouble_type(top["id"])
    assert refused.value.code == "trouble_type_has_children"
    await m.store.records.insert_many([{"session_id": "s1", "agent_id": "a", "trouble_type": used["id"]}])
    assert await catalog.delete_trouble_type(used["id"]) == "retired"
    assert await catalog.delete_trouble_type(unused["id"]) == "deleted"
    active = {t["id"] for t in await catalog.trouble_types(include_retired=False)}
    assert used["id"] not in active and top["id"] in active
    with pytest.raises(Invalid):
        await catalog.trouble_type_path(used["id"])  # a retired type is not offered for new records
    kept = next(t for t in await catalog.trouble_types() if t["id"] == used["id"])
    assert kept["retired"]  # still there for the statistics of the records that use it
    node = subtree(trouble_type_tree(await catalog.trouble_types()), top["id"])
    assert [c["id"] for c in node["children"]] == [used["id"]]


async def test_each_agent_starts_from_the_default_phrases_and_keeps_its_own(m):
    catalog = m.catalog
    defaults = await catalog.default_phrases()
    assert [p["text"] for p in defaults] == [p["text"] for p in DEFAULT_PHRASES]
    mine = await catalog.phrases("kim")
    assert [(p["text"], p["shortcut"]) for p in mine] == [(p["text"], p["shortcut"]) for p in DEFAULT_PHRASES]
    added = await catalog.add_phrase("kim", " 다시 연결해 주세요. ", "F6")
    assert added["text"] == "다시 연결해 주세요." and added["order"] == len(DEFAULT_PHRASES) + 1
    with pytest.raises(Conflict) as taken:
        await catalog.add_phrase("kim", "another", "F1")
    assert taken.value.code == "shortcut_taken" and taken.value.fields == {"shortcut": "F1"}
    for phrase in await catalog.phrases("kim"):
        await catalog.delete_phrase("kim", phrase["id"])
    assert await catalog.phrases("kim") == []  # an emptied list stays empty: the defaults are copied once
    with pytest.raises(NotFound):
        await catalog.delete_phrase("lee", added["id"])  # another agent's phrase
    assert len(await catalog.phrases("lee")) == len(DEFAULT_PHRASES)


async def test_an_agent_of_the_other_language_starts_from_the_defaults_in_theirs(m):
    catalog = m.catalog
    assert catalog.language == "ko"
    english = await catalog.phrases("smith", "en")
    assert [p["text"] for p in english] == [p["text"] for p in default_phrase_set("en")]
    assert english[0]["text"] == "Hello. How can I help you?" and english[0]["shortcut"] == "F1"
    assert [p["text"] for p in await catalog.phrases("park", "ko")][0] == "안녕하세요. 무엇을 도와드릴까요?"
    # once the administrator has made the set their own, everybody starts from it as it is
    first = (await catalog.default_phrases())[0]
    await catalog.update_phrase("default", first["id"], {"text": "반갑습니다, 애니서포트입니다."})
    assert (await catalog.phrases("jones", "en"))[0]["text"] == "반갑습니다, 애니서포트입니다."


async def test_site_settings_fall_back_to_the_configuration(m):
    site = SiteSettings(m.store, m.config)
    assert await site.public_url("http://127.0.0.1:8888") == "http://127.0.0.1:8888"
    assert (await site.get())["brand_name"] == m.config.brand_name
    await site.put({"public_url": "https://support.example.com"})
    assert await site.public_url("http://127.0.0.1:8888") == "https://support.example.com"
