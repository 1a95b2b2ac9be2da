"""Agents, login, tokens, duplicate login and lockout, over real HTTP and WebSockets."""


import pytest

from tests.support.client import Api, Socket, admin_api
from tests.support.server import ADMIN_PASSWORD


async def test_login_answers_token_and_agent(api):
    r = await api.post("/api/v1/auth/login", {"login": "admin", "password": ADMIN_PASSWORD})
    assert r.status == 200
    assert len(r.json["token"]) >= 40
    agent = r.json["agent"]
    assert {k: agent[k] for k in ("login", "role")} == {"login": "admin", "role": "admin"}
    assert isinstance(agent["number"], int) and agent["name"]
    assert "password_hash" not in agent


async def test_wrong_password_and_unknown_login_are_401(api, agent_factory):
    _client, agent, _pw = await agent_factory()
    for login, password in ((agent["login"], "wrong"), ("no-such-agent", "whatever")):
        r = await api.post("/api/v1/auth/login", {"login": login, "password": password})
        assert r.status == 401 and r.json["error"] == "invalid_credentials"


async def test_token_required_and_checked(api):
    for token in (None, "garbage", "x" * 300):
        r = await api.get("/api/v1/sessions", token=token)
        assert r.status == 401 and r.json["error"] == "unauthorized"
    r = await api.get("/api/v1/sessions", headers={"Authorization": "Basic abc"})
    assert r.status == 401


async def test_logout_revokes_the_token(agent_factory):
    client, _agent, _pw = await agent_factory()
    assert (await client.get("/api/v1/me")).status == 200
    r = await client.post("/api/v1/auth/logout")
    assert r.status == 204
    assert (await client.get("/api/v1/me")).status == 401


async def test_me_names_the_servers_time_zone(make_server):
    """The console shows times and days in the zone the server counts them in (#17.21)."""
    srv = make_server({"time_zone": "America/New_York"})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    me = (await api.get("/api/v1/me", token=token)).json
    assert me["time_zone"] == "America/New_York" and me["agent"]["login"] == "admin"


async def test_expired_token_is_401(make_server):
    srv = make_server({"token_ttl": 60})
    api = Api(srv.url)
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    assert (await api.get("/api/v1/me", token=token)).status == 200
    # age the token in the database itself, through the real driver
    from pymongo import MongoClient

    uri = srv.wait_for_log(r"embedded database \(nx-27017\) on").split(" on ")[1].split(",")[0].strip()
    with MongoClient(f"mongodb://{uri}/?directConnection=true") as client:
        # times are stored as epoch milliseconds (docs/architecture.md); this is 2000-01-01
        result = client.anysupport.tokens.update_many({}, {"$set": {"expires_at": 946684800000}})
        assert result.modified_count >= 1
    assert (await api.get("/api/v1/me", token=token)).status == 401


async def test_agent_cannot_reach_admin_endpoints(agent_factory):
    client, agent, _ = await agent_factory()
    for method, path, body in (
        ("GET", "/api/v1/admin/agents", ...),
        ("POST", "/api/v1/admin/agents", {"login": "x1", "name": "X"}),
        ("PATCH", "/api/v1/admin/agents/admin", {"name": "pwned"}),
        ("DELETE", "/api/v1/admin/agents/admin", ...),
        ("GET", "/api/v1/admin/trouble-types", ...),
        ("PUT", "/api/v1/admin/survey", {"enabled": False}),
        ("GET", "/api/v1/metrics", ...),
    ):
        r = await client.request(method, path, body)
        assert r.status == 403, (method, path, r.status)
        assert r.json["error"] == "admin_only"


async def test_admin_creates_lists_updates_disables_and_deletes_agents(admin, api, unique):
    login = unique("crud")
    r = await admin.post("/api/v1/admin/agents", {"login": login, "name": "김상담", "role": "agent"})
    assert r.status == 201
    generated = r.json["password"]
    number = r.json["agent"]["number"]
    assert (await api.post("/api/v1/auth/login", {"login": login, "password": generated})).status == 200
    listed = (await admin.get("/api/v1/admin/agents")).json["agents"]
    assert any(a["login"] == login and a["name"] == "김상담" for a in listed)
    r = await admin.patch(f"/api/v1/admin/agents/{login}", {"name": "Kim", "settings": {"auto_connect": True}})
    assert r.status == 200 and r.json["agent"]["name"] == "Kim" and r.json["agent"]["settings"]["auto_connect"] is True
    # duplicate login / number
    assert (await admin.post("/api/v1/admin/agents", {"login": login, "name": "dup"})).json["error"] == "login_taken"
    r = await admin.post("/api/v1/admin/agents", {"login": unique("n"), "name": "dup", "number": number})
    assert r.status == 409 and r.json["error"] == "number_taken"
    # disable: login refused, tokens dead
    token, _ = await api.login(login, generated)
    assert (await admin.patch(f"/api/v1/admin/agents/{login}", {"disabled": True})).status == 200
    r = await api.post("/api/v1/auth/login", {"login": login, "password": generated})
    assert r.status == 403 and r.json["error"] == "account_disabled"
    assert (await api.get("/api/v1/me", token=token)).status == 401
    # reset password and re-enable
    await admin.patch(f"/api/v1/admin/agents/{login}", {"disabled": False})
    r = await admin.post(f"/api/v1/admin/agents/{login}/password", {"password": "brand-new-pass"})
    assert r.status == 200
    assert (await api.post("/api/v1/auth/login", {"login": login, "password": "brand-new-pass"})).status == 200
    assert (await admin.delete(f"/api/v1/admin/agents/{login}")).status == 204
    assert (await admin.get(f"/api/v1/admin/agents/{login}")).status == 404
    assert (await api.post("/api/v1/auth/login", {"login": login, "password": "brand-new-pass"})).status == 401


async def test_bad_agent_input_is_refused(admin):
    cases = [
        ({"login": "has space", "name": "x"}, "login"),
        ({"login": "ok1", "name": ""}, "name"),
        ({"login": "ok2", "name": "x", "role": "root"}, "role"),
        ({"login": "ok3", "name": "x", "number": "7"}, "number"),
    ]
    for body, field in cases:
        r = await admin.post("/api/v1/admin/agents", body)
        assert r.status == 400 and r.json["field"] == field, (body, r.body)
    r = await admin.post("/api/v1/admin/agents", {"login": "ok4", "name": "x", "password": "short"})
    assert r.status == 400 and r.json["error"] == "password_too_short"


async def test_last_admin_cannot_be_removed(make_server):
    # a server of its own: on the shared one other tests create administrators (issue 21's supervisors),
    # and then "admin" is not the last one, its demotion succeeds and every later admin call fails
    admin = await admin_api(make_server().url)
    r = await admin.patch("/api/v1/admin/agents/admin", {"role": "agent"})
    assert r.status == 409 and r.json["error"] == "last_admin"
    assert (await admin.delete("/api/v1/admin/agents/admin")).status == 409


async def test_own_settings_and_password(agent_factory, api):
    client, agent, password = await agent_factory()
    r = await client.patch("/api/v1/me/settings", {"auto_connect": True, "language": "en"})
    assert r.status == 200 and r.json["agent"]["settings"] == {"auto_connect": True, "language": "en"}
    assert (await client.patch("/api/v1/me/settings", {"language": "fr"})).status == 400
    r = await client.post("/api/v1/me/password", {"current": "wrong", "new": "another-pass"})
    assert r.status == 401 and r.json["error"] == "wrong_password"
    web_token, _ = await api.login(agent["login"], password, client="web")
    web = api.with_token(web_token)
    assert (await web.post("/api/v1/me/password", {"current": password, "new": "another-pass"})).status == 204
    assert (await api.post("/api/v1/auth/login", {"login": agent["login"], "password": "another-pass"})).status == 200
    # a new password ends the agent's other logins (a token taken with the old password is no use);
    # the login that changed it goes on
    assert (await client.get("/api/v1/me")).status == 401
    assert (await web.get("/api/v1/me")).status == 200


async def test_duplicate_login_409_and_force_kicks_the_older_console(server, agent_factory, api):
    client, agent, password = await agent_factory()
    console = await Socket.connect(server.ws_base, client.token)
    hello = await console.recv_type("hello")
    assert hello["agent"]["login"] == agent["login"]
    r = await api.post("/api/v1/auth/login", {"login": agent["login"], "password": password})
    assert r.status == 409 and r.json["error"] == "already_logged_in"
    r = await api.post("/api/v1/auth/login", {"login": agent["login"], "password": password, "force": True})
    assert r.status == 200
    kicked = await console.recv_type("kicked")
    assert kicked["reason"] == "logged_in_elsewhere"
    assert kicked["message"] == "같은 ID로 다른 곳에서 로그인하여 연결이 끊어졌습니다."  # the agent's language
    code, _reason = await console.closed()
    assert code == 4001
    # the old console's token is dead; the new one works and holds the console now
    assert (await client.get("/api/v1/me")).status == 401
    new = await Socket.connect(server.ws_base, r.json["token"])
    await new.recv_type("hello")
    new.close()


async def test_login_guessing_is_locked_out(make_server):
    srv = make_server({"login_max_failures": 3, "login_window": 60})
    api = Api(srv.url)
    for _ in range(3):
        r = await api.post("/api/v1/auth/login", {"login": "admin", "password": "guess"})
        assert r.status == 401
    r = await api.post("/api/v1/auth/login", {"login": "admin", "password": ADMIN_PASSWORD})
    assert r.status == 429 and r.json["error"] == "too_many_attempts"
    assert 1 <= r.json["retry_after"] <= 60
    assert r.headers["Retry-After"] == str(r.json["retry_after"])
    # other logins from the same address are still served (the per-address limit is higher)
    assert (await api.get("/healthz")).status == 200


async def test_websocket_refuses_missing_or_bad_tokens_and_foreign_origins(server, admin):
    import tornado.httpclient
    import tornado.websocket

    for token in (None, "nope"):
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await Socket.connect(server.ws_base, token)
        assert info.value.code == 401
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await Socket.connect(server.ws_base, admin.token, headers={"Origin": "https://evil.example"})
    assert info.value.code == 403
    same = await Socket.connect(server.ws_base, admin.token, query_token=True,
                                headers={"Origin": server.url})
    await same.recv_type("hello")
    same.close()
    await same.closed()  # the server has answered the close: its console is detached before the next test


async def test_foreign_origin_refusal_is_json(server, admin):
    r = await admin.get("/ws", headers={"Origin": "https://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
                                        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status == 403 and r.json["error"] == "origin_not_allowed"


async def test_forced_login_tells_customers_the_agent_is_reconnecting(server, agent_factory, api):
    from tests.support.sessions import open_session

    client, agent, session, _joined, console, customer = await open_session(server, agent_factory)
    await client.post(f"/api/v1/sessions/{session['id']}/connect")
    await customer.recv_type("state", state="connected")
    agent_password = "pw-" + agent["login"]
    r = await api.post("/api/v1/auth/login", {"login": agent["login"], "password": agent_password, "force": True})
    assert r.status == 200
    await customer.recv_type("peer", peer="agent", status="reconnecting")
    new_console = await Socket.connect(server.ws_base, r.json["token"])
    await new_console.recv_type("hello")
    await customer.recv_type("peer", peer="agent", status="back")


async def test_web_login_does_not_meet_the_open_console(server, agent_factory, api):
    client, agent, password = await agent_factory()
    console = await Socket.connect(server.ws_base, client.token)
    await console.recv_type("hello")
    r = await api.post("/api/v1/auth/login", {"login": agent["login"], "password": password, "client": "web"})
    assert r.status == 200
    await console.send({"type": "ping", "id": "still"})
    assert (await console.recv_type("pong"))["id"] == "still"
    # and since it skipped the one-console check, its token cannot open a second console
    web = Api(server.url).with_token(r.json["token"])
    r = await web.get("/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Accept-Language": "en"})
    assert r.status == 403 and r.json["error"] == "web_login_not_console"
    assert r.json["message"].startswith("This login is for the admin pages")
    assert (await web.get("/api/v1/me")).status == 200
    await console.send({"type": "ping", "id": "after"})
    assert (await console.recv_type("pong"))["id"] == "after"
    console.close()


# -- a revoked token closes the sockets opened with it, at once -------------------------------------------------
async def test_logout_closes_the_console_opened_with_the_token_at_once(server, agent_factory, api):
    from tests.support.sessions import open_session

    client, agent, session, joined, console, customer = await open_session(server, agent_factory)
    assert (await client.post(f"/api/v1/sessions/{session['id']}/connect")).status == 200
    await customer.recv_type("state", state="connected")
    assert (await client.post("/api/v1/auth/logout")).status == 204
    kicked = await console.recv_type("kicked", timeout=5)
    assert kicked["reason"] == "logged_out" and kicked["message"]
    assert await console.closed(timeout=5) == (4001, "logged_out")
    # the customer's socket (its own token) stays, and hears that the agent is away
    await customer.recv_type("peer", peer="agent", status="reconnecting")
    await customer.send({"type": "ping", "id": 1})
    assert (await customer.recv_type("pong"))["id"] == 1
    # no new customer reaches the revoked console: it is gone, and a socket with the token is refused
    refused = await api.get("/ws", token=client.token)
    assert refused.status == 401
    customer.close()


async def test_logout_of_a_customer_closes_its_socket(server, agent_factory):
    from tests.support.sessions import open_session

    client, agent, session, joined, console, customer = await open_session(server, agent_factory)
    r = await Api(server.url, token=joined["token"]).post("/api/v1/auth/logout")
    assert r.status == 204
    assert (await customer.recv_type("kicked", timeout=5))["reason"] == "logged_out"
    assert await customer.closed(timeout=5) == (4001, "logged_out")
    await console.send({"type": "ping", "id": 2})
    assert (await console.recv_type("pong"))["id"] == 2
    console.close()


async def test_another_logins_logout_leaves_the_console_open(server, agent_factory, api):
    client, agent, password = await agent_factory()
    console = await Socket.connect(server.ws_base, client.token)
    await console.recv_type("hello")
    web_token, _ = await api.login(agent["login"], password, client="web")
    assert (await api.with_token(web_token).post("/api/v1/auth/logout")).status == 204
    await console.send({"type": "ping", "id": 3})
    assert (await console.recv_type("pong"))["id"] == 3  # nothing else came first: no kicked
    console.close()


async def test_changing_ones_own_password_closes_the_other_logins_console_at_once(server, agent_factory, api):
    client, agent, password = await agent_factory()
    console = await Socket.connect(server.ws_base, client.token)
    await console.recv_type("hello")
    web_token, _ = await api.login(agent["login"], password, client="web")
    web = api.with_token(web_token)
    assert (await web.post("/api/v1/me/password", {"current": password, "new": "another-pass-1"})).status == 204
    kicked = await console.recv_type("kicked", timeout=5)
    assert kicked["reason"] == "password_changed"
    assert await console.closed(timeout=5) == (4001, "password_changed")


async def test_changing_the_password_from_the_console_keeps_that_console(server, agent_factory):
    client, agent, password = await agent_factory()
    console = await Socket.connect(server.ws_base, client.token)
    await console.recv_type("hello")
    assert (await client.post("/api/v1/me/password", {"current": password, "new": "another-pass-2"})).status == 204
    await console.send({"type": "ping", "id": 4})
    assert (await console.recv_type("pong"))["id"] == 4
    console.close()


async def test_flags_read_back_as_booleans(admin, unique):
    # nx-27017 stores a top-level boolean written by $set as 1/0; answers must still say true/false
    login = unique("flag")
    assert (await admin.post("/api/v1/admin/agents", {"login": login, "name": "Flag", "role": "agent"})).status == 201
    for value in (True, False):
        r = await admin.patch(f"/api/v1/admin/agents/{login}", {"disabled": value})
        assert r.status == 200 and r.json["agent"]["disabled"] is value
        assert (await admin.get(f"/api/v1/admin/agents/{login}")).json["agent"]["disabled"] is value
        listed = (await admin.get("/api/v1/admin/agents")).json["agents"]
        assert next(a for a in listed if a["login"] == login)["disabled"] is value
