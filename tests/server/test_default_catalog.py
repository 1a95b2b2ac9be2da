"""The trouble-type tree and canned phrases a fresh install starts with (the manual's network, printing,
audio and display errors and 고객관리), in the install's language (issue 17 #17), seeded once per database
and then the administrator's to edit."""

from __future__ import annotations

import asyncio

import pytest

from anysupport.catalog.manager import CatalogManager, default_type_tree, trouble_type_paths
from anysupport.store import Store
from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD

PATHS = ["네트워크 오류", "네트워크 오류 / 와이파이", "네트워크 오류 / 모바일 데이터", "인쇄 오류", "오디오 오류",
         "오디오 오류 / 마이크", "오디오 오류 / 스피커", "화면 오류", "고객관리"]
PATHS_EN = ["Network Error", "Network Error / Wi-Fi", "Network Error / Mobile data", "Printing Error", "Audio Error",
            "Audio Error / Microphone", "Audio Error / Speaker", "Display Error", "Customer care"]


@pytest.fixture
async def store(tmp_path):
    s = await Store.open(data_dir=str(tmp_path))
    yield s
    await s.close()


async def test_fresh_database_gets_the_default_tree_once(store):
    catalog = CatalogManager(store)
    assert await catalog.ensure_default_trouble_types()
    assert [path for _t, path in trouble_type_paths(await catalog.trouble_types())] == PATHS
    tree = await catalog.trouble_type_tree()
    assert [t["name"] for t in tree] == [name for name, _children in default_type_tree("ko")]
    assert [c["name"] for c in tree[0]["children"]] == ["와이파이", "모바일 데이터"]
    assert not await catalog.ensure_default_trouble_types()  # a restart adds nothing
    assert len(await catalog.trouble_types()) == len(PATHS)


async def test_an_english_install_gets_the_tree_in_english(store):
    catalog = CatalogManager(store, language="en")
    assert await catalog.ensure_default_trouble_types()
    assert [path for _t, path in trouble_type_paths(await catalog.trouble_types())] == PATHS_EN
    assert [p["text"] for p in await catalog.default_phrases()][0] == "Hello. How can I help you?"


async def test_deleted_defaults_stay_deleted(store):
    catalog = CatalogManager(store)
    await catalog.ensure_default_trouble_types()
    for t in reversed(await catalog.trouble_types()):  # children first (roots sort first)
        if t["parent_id"]:
            assert await catalog.delete_trouble_type(t["id"]) == "deleted"
    for t in await catalog.trouble_types():
        assert await catalog.delete_trouble_type(t["id"]) == "deleted"
    assert not await catalog.ensure_default_trouble_types()
    assert await catalog.trouble_types() == []


async def test_an_install_that_has_types_is_left_alone(store):
    catalog = CatalogManager(store)
    await catalog.add_trouble_type("우리 회사 분류")
    assert not await catalog.ensure_default_trouble_types()
    assert [t["name"] for t in await catalog.trouble_types()] == ["우리 회사 분류"]


async def test_nodes_starting_at_once_seed_it_once(store):
    results = await asyncio.gather(*(CatalogManager(store).ensure_default_trouble_types() for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    assert len(await CatalogManager(store).trouble_types()) == len(PATHS)


async def test_fresh_server_offers_the_default_tree_and_the_admin_edits_it(make_server):
    srv = make_server()
    srv.wait_for_log(r"added the default trouble types")
    admin = Api(srv.url)
    admin = admin.with_token((await admin.login("admin", ADMIN_PASSWORD))[0])
    tree = (await admin.get("/api/v1/trouble-types")).json["trouble_types"]
    assert [t["name"] for t in tree] == ["네트워크 오류", "인쇄 오류", "오디오 오류", "화면 오류", "고객관리"]
    printing = tree[1]
    r = await admin.patch(f"/api/v1/admin/trouble-types/{printing['id']}", {"name": "프린터 오류"})
    assert r.status == 200 and r.json["name"] == "프린터 오류"
    display = tree[3]
    assert (await admin.delete(f"/api/v1/admin/trouble-types/{display['id']}")).json == {"result": "deleted"}
    srv.restart()
    admin = Api(srv.url)
    admin = admin.with_token((await admin.login("admin", ADMIN_PASSWORD))[0])
    names = [t["name"] for t in (await admin.get("/api/v1/trouble-types")).json["trouble_types"]]
    assert names == ["네트워크 오류", "프린터 오류", "오디오 오류", "고객관리"]  # the admin's edits stay


@pytest.mark.parametrize("install, types, hello", [
    ("ko", ["네트워크 오류", "인쇄 오류", "오디오 오류", "화면 오류", "고객관리"], "안녕하세요. 무엇을 도와드릴까요?"),
    ("en", ["Network Error", "Printing Error", "Audio Error", "Display Error", "Customer care"],
     "Hello. How can I help you?"),
])
async def test_an_install_speaks_its_language_and_each_agent_gets_phrases_in_theirs(make_server, install, types,
                                                                                    hello):
    srv = make_server({"default_language": install})
    admin = Api(srv.url)
    admin = admin.with_token((await admin.login("admin", ADMIN_PASSWORD))[0])
    assert [t["name"] for t in (await admin.get("/api/v1/trouble-types")).json["trouble_types"]] == types
    assert (await admin.get("/api/v1/admin/phrases")).json["phrases"][0]["text"] == hello
    for login, language, first in (("kor", "ko", "안녕하세요. 무엇을 도와드릴까요?"),
                                   ("eng", "en", "Hello. How can I help you?")):
        r = await admin.post("/api/v1/admin/agents", {"login": login, "name": login, "password": f"{login}-password"})
        assert r.status == 201, r.body
        agent = Api(srv.url, language=language)
        agent = agent.with_token((await agent.login(login, f"{login}-password"))[0])
        phrases = (await agent.get("/api/v1/phrases")).json["phrases"]
        assert [p["text"] for p in phrases][0] == first and len(phrases) == 5
