"""Issue 18 #5: concurrent edits of a support record no longer silently lose one. A save with
``If-Match`` (the ETag the form was loaded with) is refused with 412 ``record_changed`` and the current
record once somebody else saved; retried with the fresh ETag, it lands. Real server, real HTTP."""

from __future__ import annotations

import asyncio

from tests.support.client import Api, admin_api, create_agent


async def filed_session(srv, unique) -> tuple[Api, Api, str]:
    """An agent's connected session with a record; returns (the agent's API, an admin's API, session id)."""
    login, password = await create_agent(await admin_api(srv.url), unique("ver"))
    api = Api(srv.url)
    token, _ = await api.login(login, password)
    agent = api.with_token(token)
    session = (await agent.post("/api/v1/sessions")).json
    assert (await Api(srv.url).post("/api/v1/join", {"code": session["code"]})).status == 200
    assert (await agent.post(f"/api/v1/sessions/{session['id']}/connect")).status == 200
    return agent, await admin_api(srv.url, client="web"), session["id"]


async def test_a_save_from_a_stale_form_is_refused_and_loses_nothing(server, unique):
    agent, admin, sid = await filed_session(server, unique)
    path = f"/api/v1/sessions/{sid}/record"
    # both load the record
    console_view = await agent.get(path)
    admin_view = await admin.get(path)
    assert console_view.headers["ETag"] == admin_view.headers["ETag"] == '"1"' and console_view.json["version"] == 1
    # the console saves notes and 해결
    saved = await agent.put(path, {"content": "공유기 재부팅으로 해결", "resolution": "solved"},
                            headers={"If-Match": console_view.headers["ETag"]})
    assert saved.status == 200 and saved.headers["ETag"] == '"2"' and saved.json["version"] == 2
    # the admin saves the form loaded before: refused, nothing lost, and told what is current
    stale = await admin.put(path, {"customer_name": "홍길동", "content": "", "resolution": None},
                            headers={"If-Match": admin_view.headers["ETag"], "Accept-Language": "ko"})
    assert stale.status == 412 and stale.json["error"] == "record_changed"
    assert stale.json["message"] == "이 기록은 그사이 다른 사람이 저장했습니다. 최신 내용을 확인하고 다시 저장하세요."
    assert stale.json["record"]["content"] == "공유기 재부팅으로 해결" and stale.json["record"]["version"] == 2
    now = (await agent.get(path)).json
    assert now["content"] == "공유기 재부팅으로 해결" and now["resolution"] == "solved" and now["customer_name"] is None
    # retried on the current version, keeping the other person's fields: it lands
    retried = await admin.put(path, {"customer_name": "홍길동", "content": now["content"], "resolution": "solved"},
                              headers={"If-Match": '"2"'})
    assert retried.status == 200 and retried.json["version"] == 3 and retried.json["customer_name"] == "홍길동"
    assert retried.json["content"] == "공유기 재부팅으로 해결"


async def test_if_match_forms_and_an_unconditional_save(server, unique):
    agent, _admin, sid = await filed_session(server, unique)
    path = f"/api/v1/sessions/{sid}/record"
    assert (await agent.put(path, {"content": "a"}, headers={"If-Match": 'W/"1"'})).json["version"] == 2
    assert (await agent.put(path, {"content": "b"}, headers={"If-Match": '"7", "2"'})).json["version"] == 3
    assert (await agent.put(path, {"content": "c"}, headers={"If-Match": '"not-a-version"'})).status == 412
    assert (await agent.put(path, {"content": "d"}, headers={"If-Match": "*"})).json["version"] == 4
    assert (await agent.put(path, {"content": "e"})).json["version"] == 5  # no If-Match: applies to the current
    # the end of the session (the server's own write) makes no new version
    await agent.delete(f"/api/v1/sessions/{sid}")
    after = await agent.get(path)
    assert after.json["version"] == 5 and after.json["content"] == "e"


async def test_of_two_saves_at_once_on_the_same_version_exactly_one_lands(server, unique):
    agent, admin, sid = await filed_session(server, unique)
    path = f"/api/v1/sessions/{sid}/record"
    answers = await asyncio.gather(*(
        api.put(path, {"content": text}, headers={"If-Match": '"1"'})
        for api, text in ((agent, "console"), (admin, "admin"), (agent, "console again"), (admin, "admin again"))))
    assert sorted(a.status for a in answers) == [200, 412, 412, 412]
    winner = next(a for a in answers if a.status == 200)
    assert (await agent.get(path)).json["content"] == winner.json["content"]
