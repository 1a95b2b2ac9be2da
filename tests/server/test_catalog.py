"""Trouble types, the survey settings, canned phrases and site settings."""

from anysupport.catalog.manager import trouble_type_paths, trouble_type_tree
from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD
from tests.support.sessions import open_session


async def test_trouble_type_tree_add_rename_move_delete_and_retire(server, admin, agent_factory):
    root = (await admin.post("/api/v1/admin/trouble-types", {"name": "네트워크"})).json
    child = (await admin.post("/api/v1/admin/trouble-types", {"name": "와이파이", "parent_id": root["id"]})).json
    other = (await admin.post("/api/v1/admin/trouble-types", {"name": "전원"})).json
    r = await admin.patch(f"/api/v1/admin/trouble-types/{child['id']}", {"name": "Wi-Fi"})
    assert r.status == 200 and r.json["name"] == "Wi-Fi"
    # cannot move a type under itself or its descendant
    r = await admin.patch(f"/api/v1/admin/trouble-types/{root['id']}", {"parent_id": child["id"]})
    assert r.status == 400 and r.json["field"] == "parent_id"
    r = await admin.patch(f"/api/v1/admin/trouble-types/{child['id']}", {"parent_id": other["id"]})
    assert r.status == 200 and r.json["parent_id"] == other["id"]
    # a type used by a record is retired, not deleted
    client, _agent, session, _j, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await client.put(f"/api/v1/sessions/{session['id']}/record", {"trouble_type": child["id"]})
    assert (await client.get(f"/api/v1/sessions/{session['id']}/record")).json["trouble_type_name"] == "전원 / Wi-Fi"
    assert (await admin.delete(f"/api/v1/admin/trouble-types/{other['id']}")).json.get("error") == "trouble_type_has_children"
    assert (await admin.delete(f"/api/v1/admin/trouble-types/{child['id']}")).json == {"result": "retired"}
    assert (await admin.delete(f"/api/v1/admin/trouble-types/{root['id']}")).json == {"result": "deleted"}
    tree = (await client.get("/api/v1/trouble-types")).json["trouble_types"]
    ids = {t["id"] for t in tree} | {c["id"] for t in tree for c in t["children"]}
    assert child["id"] not in ids and other["id"] in ids
    everything = (await admin.get("/api/v1/admin/trouble-types")).json["trouble_types"]
    assert any(t["id"] == child["id"] and t["retired"] for t in everything)
    # the record keeps its type name; a retired type cannot be chosen again
    r = await client.put(f"/api/v1/sessions/{session['id']}/record", {"trouble_type": child["id"]})
    assert r.status == 400


async def test_survey_settings_round_trip_and_validation(admin):
    current = (await admin.get("/api/v1/admin/survey")).json
    assert current["enabled"] is True and len(current["choices"]) == 3
    r = await admin.put("/api/v1/admin/survey", {"question": {"ko": "만족하셨나요?", "en": "Happy?"}, "feedback": False})
    assert r.status == 200 and r.json["question"]["ko"] == "만족하셨나요?" and r.json["feedback"] is False
    assert (await admin.put("/api/v1/admin/survey", {"question": {"ko": "only korean"}})).status == 400
    assert (await admin.put("/api/v1/admin/survey", {"enabled": "yes"})).status == 400
    await admin.put("/api/v1/admin/survey", {"question": current["question"], "feedback": True})


async def test_canned_phrases_follow_the_agent(admin, agent_factory):
    defaults = (await admin.get("/api/v1/admin/phrases")).json["phrases"]
    assert defaults and defaults[0]["text"]
    added = await admin.post("/api/v1/admin/phrases", {"text": "원격 지원을 시작합니다.", "shortcut": "F9"})
    assert added.status == 201
    client, _agent, _ = await agent_factory()
    mine = (await client.get("/api/v1/phrases")).json["phrases"]
    assert [p["text"] for p in mine][-1] == "원격 지원을 시작합니다."
    new = await client.post("/api/v1/phrases", {"text": "재부팅 해주세요", "shortcut": "Ctrl+1"})
    assert new.status == 201
    assert (await client.post("/api/v1/phrases", {"text": "dup", "shortcut": "Ctrl+1"})).json["error"] == "shortcut_taken"
    assert (await client.post("/api/v1/phrases", {"text": "bad key", "shortcut": "Hyper+Q"})).status == 400
    r = await client.patch(f"/api/v1/phrases/{new.json['id']}", {"order": 0})
    assert r.status == 200
    assert (await client.get("/api/v1/phrases")).json["phrases"][0]["text"] == "재부팅 해주세요"
    other, _o, _ = await agent_factory()
    assert (await other.delete(f"/api/v1/phrases/{new.json['id']}")).status == 404
    assert (await client.delete(f"/api/v1/phrases/{new.json['id']}")).status == 204
    # the admin's defaults are untouched by an agent's edits
    assert any(p["text"] == "원격 지원을 시작합니다." for p in (await admin.get("/api/v1/admin/phrases")).json["phrases"])
    await admin.delete(f"/api/v1/admin/phrases/{added.json['id']}")


async def test_site_settings(admin, agent_factory):
    r = await admin.put("/api/v1/admin/site", {"public_url": "https://help.example.kr", "brand_name": "헬프데스크"})
    assert r.status == 200
    client, _agent, _ = await agent_factory()
    assert (await client.get("/api/v1/me")).json["public_url"] == "https://help.example.kr"
    assert (await admin.put("/api/v1/admin/site", {"public_url": "javascript:alert(1)"})).status == 400
    await admin.put("/api/v1/admin/site", {"public_url": ""})


async def test_canned_phrases_are_capped_per_agent_and_for_the_shared_set(make_server):
    """``phrases_max`` caps each agent's list and the default set separately, with a clear error."""
    srv = make_server({"phrases_max": 7})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = Api(srv.url, token, "en")
    assert len((await admin.get("/api/v1/phrases")).json["phrases"]) == 5  # the default set, copied
    added = [await admin.post("/api/v1/phrases", {"text": f"mine {i}"}) for i in range(2)]
    assert [r.status for r in added] == [201, 201]
    full = await admin.post("/api/v1/phrases", {"text": "one too many"})
    assert full.status == 409 and full.json["error"] == "too_many_phrases"
    assert full.json["message"] == "At most 7 canned phrases can be kept; delete one before adding another."
    korean = await api.with_token(token).post("/api/v1/phrases", {"text": "하나 더"}, headers={"Accept-Language": "ko"})
    assert korean.status == 409 and korean.json["message"].startswith("상용문구는 7개까지")
    assert len((await admin.get("/api/v1/phrases")).json["phrases"]) == 7
    assert (await admin.delete(f"/api/v1/phrases/{added[0].json['id']}")).status == 204
    assert (await admin.post("/api/v1/phrases", {"text": "room again"})).status == 201
    # the shared default set has its own count, and the same cap
    assert [(await admin.post("/api/v1/admin/phrases", {"text": f"shared {i}"})).status for i in range(3)] == [201, 201, 409]
    assert len((await admin.get("/api/v1/admin/phrases")).json["phrases"]) == 7


async def test_trouble_type_depth_is_limited_counting_the_moved_subtree(make_server):
    """Issue 18 #4: each type moved under the next built a chain deep enough to break both GETs.
    Adding or moving past ``trouble_type_max_depth`` levels (the moved type's subtree counted) is
    refused with a clear error; the GETs keep answering."""
    srv = make_server({"trouble_type_max_depth": 3})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    admin = Api(srv.url, token, "en")

    async def add(name, parent=None):
        r = await admin.post("/api/v1/admin/trouble-types", {"name": name, "parent_id": parent})
        return r

    a = (await add("a")).json
    b = (await add("b", a["id"])).json
    c = (await add("c", b["id"])).json
    too_deep = await add("d", c["id"])
    assert too_deep.status == 400 and too_deep.json["error"] == "trouble_type_too_deep"
    assert too_deep.json["message"] == "Trouble types can be nested at most 3 levels deep."
    ko = await api.with_token(token).post("/api/v1/admin/trouble-types", {"name": "d", "parent_id": c["id"]},
                                         headers={"Accept-Language": "ko"})
    assert ko.status == 400 and "3단계" in ko.json["message"]
    # x -> y is two levels: under b (level 2) it would reach level 4
    x = (await add("x")).json
    await add("y", x["id"])
    moved = await admin.patch(f"/api/v1/admin/trouble-types/{x['id']}", {"parent_id": b["id"]})
    assert moved.status == 400 and moved.json["error"] == "trouble_type_too_deep"
    assert (await admin.patch(f"/api/v1/admin/trouble-types/{x['id']}", {"parent_id": a["id"]})).status == 200
    # the chain of the report: every type moved under the next
    chain = [(await add(f"chain{i}")).json for i in range(6)]
    statuses = [(await admin.patch(f"/api/v1/admin/trouble-types/{chain[i]['id']}",
                                   {"parent_id": chain[i + 1]["id"]})).status for i in range(5)]
    assert statuses == [200, 200, 400, 200, 200]  # chain2 (3 levels now) may not go under anything
    tree = await admin.get("/api/v1/trouble-types")
    assert tree.status == 200

    def depth(nodes):
        return 1 + max((depth(n["children"]) for n in nodes), default=0) if nodes else 0

    assert depth(tree.json["trouble_types"]) == 3
    assert (await admin.get("/api/v1/admin/trouble-types")).status == 200


def test_a_chain_deeper_than_the_limit_already_stored_serialises_without_recursion():
    """Types stored before the limit (or written around it) must not break the GETs: the tree is built
    without recursion and hangs what lies below the last level flat under it; paths are walked likewise."""
    import json

    types = [{"id": f"t{i}", "name": f"n{i}", "parent_id": f"t{i - 1}" if i else None, "order": 0} for i in range(5000)]
    tree = trouble_type_tree(types, max_depth=4)
    json.dumps(tree)
    level, depth = tree, 0
    while level:
        depth += 1
        level = level[0]["children"]
    assert depth == 4
    assert len(tree[0]["children"][0]["children"][0]["children"]) == 5000 - 3  # the rest, flat at level 4
    paths = trouble_type_paths(types)
    assert len(paths) == 5000 and paths[2][1] == "n0 / n1 / n2"
