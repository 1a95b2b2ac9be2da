"""Input that parses but nothing downstream can hold: each is a 4xx with our JSON error (REST), or an
``error`` message on a socket that stays up (WebSocket). Each of these answered 500 or dropped the socket."""

import json

import pytest

from anysupport.protocol.messages import MAX_JSON_DEPTH
from tests.server.test_control import assert_alive, connected  # noqa: F401  (a fixture)
from tests.support.client import Api

DEEP = "[" * 1200 + "]" * 1200
DEEP_OBJECT = '{"a":' * 1200 + "1" + "}" * 1200


def assert_json_error(r, status: int, code: str) -> dict:
    assert r.status == status, (r.status, r.body[:300])
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json
    assert body["error"] == code and body["message"], body
    return body


@pytest.mark.parametrize("raw, code, field", [
    ('{"login": "\\ud800", "password": "x"}', "invalid_field", "login"),
    ('{"login": "a", "password": "\\udfff\\ud800"}', "invalid_field", "password"),
    ('{"\\ud800": 1, "login": "a", "password": "b"}', "invalid_field", "\\ud800"),
    (DEEP, "json_too_deep", None),
    (DEEP_OBJECT, "json_too_deep", None),
    ("[" * 100_000, "json_too_deep", None),
    ('{"login": "a", "password": "b", "force": 1e999}', "invalid_field", "force"),
    ('{"login": "a", "password": "b", "force": NaN}', "invalid_field", "force"),
])
async def test_unholdable_json_bodies_are_400(api, raw, code, field):
    r = await api.post("/api/v1/auth/login", body=raw, headers={"Content-Type": "application/json"})
    body = assert_json_error(r, 400, code)
    if field is not None:
        assert body["field"] == field
    if code == "json_too_deep":
        assert str(MAX_JSON_DEPTH) in body["message"]


async def test_deep_nesting_message_in_english(server):
    r = await Api(server.url, language="en").post("/api/v1/auth/login", body=DEEP,
                                                  headers={"Content-Type": "application/json"})
    assert assert_json_error(r, 400, "json_too_deep")["message"] == (
        f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**30])
async def test_integers_past_64_bits_in_a_body_are_400(api, number):
    r = await api.post("/api/v1/join", body=f'{{"number": {number}, "code": "1234"}}',
                       headers={"Content-Type": "application/json"})
    assert assert_json_error(r, 400, "invalid_field")["field"] == "number"


@pytest.mark.parametrize("query, field", [
    ("skip=9223372036854775808", "skip"),
    ("skip=99999999999999999999999999", "skip"),
    ("limit=-9223372036854775809", "limit"),
    ("to=9999-12-31", "to"),
    ("from=0001-01-01", "from"),
    ("from=0001-01-01&to=9999-12-31", "from"),
])
async def test_out_of_range_query_values_are_400(agent_factory, query, field):
    client, _agent, _ = await agent_factory()
    for path in ("/api/v1/records", "/api/v1/records/stats"):
        if path.endswith("stats") and query.startswith(("skip", "limit")):
            continue
        r = await client.get(f"{path}?{query}")
        assert assert_json_error(r, 400, "invalid_query")["field"] == field, path


async def test_largest_dates_that_fit_still_work(agent_factory):
    client, _agent, _ = await agent_factory()
    r = await client.get("/api/v1/records?from=0001-01-02&to=9999-12-30")
    assert r.status == 200, r.body


@pytest.mark.parametrize("path", ["/static/x%00", "/static/%00", "/static/common.js%00.map", "/static/..%00/x"])
async def test_nul_in_a_static_path_is_json_404(api, path):
    assert_json_error(await api.get(path), 404, "not_found")


async def test_missing_static_file_is_json_404_in_english(server):
    r = await Api(server.url, language="en").get("/static/no-such-file.js")
    assert assert_json_error(r, 404, "not_found")["message"] == "There is nothing at this address."


# -- the WebSocket ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, code, field", [
    ('{"type": "ping", "id": "\\ud800"}', "invalid_message", "id"),
    ('{"type": "chat", "text": "hi \\udc00"}', "invalid_message", "text"),
    ('{"type": "chat", "\\ud800": 1}', "invalid_message", "\\ud800"),
    ('{"type": "ping", "id": ' + "[" * 1200 + "]" * 1200 + "}", "json_too_deep", None),
    ("[" * 10_000, "json_too_deep", None),
    ('{"type": "ping", "id": 9223372036854775808}', "invalid_message", "id"),
    ('{"type": "media_report", "stream": "agent_video", "received": 1e999}', "invalid_message", "received"),
])
async def test_websocket_unholdable_json_gets_an_error_and_the_socket_stays(connected, raw, code, field):  # noqa: F811
    session, console, customer = connected
    for sock in (console, customer):
        await sock.send(raw.replace('"type": "chat"', f'"type": "chat", "session_id": "{session["id"]}"')
                        if sock is console else raw)
        err = await sock.recv_type("error")
        assert err["error"] == code and err["message"], err
        assert err.get("field") == field
        await assert_alive(sock)


async def test_websocket_surrogate_in_a_relayed_chat_never_reaches_the_peer(connected):  # noqa: F811
    session, console, customer = connected
    await console.send(json.dumps({"type": "chat", "session_id": session["id"], "text": "\ud800"}))
    assert (await console.recv_type("error"))["field"] == "text"
    await console.send({"type": "chat", "session_id": session["id"], "text": "after"})
    assert (await customer.recv_type("chat"))["text"] == "after"
