"""A node with its own absolute ``node_url``: the join sends the customer there, the customer page's CSP
lets it connect there, and the node lets the customer page (``public_url``) open its socket."""

from __future__ import annotations

import pytest
import tornado.httpclient

from tests.support.client import Api, Socket
from tests.support.server import ADMIN_PASSWORD

pytestmark = pytest.mark.slow


async def test_an_absolute_node_url_is_the_ws_url_allowed_by_the_csp_and_the_origin_rule(make_server):
    node = make_server({"cluster": True, "node_id": "n1", "node_url": "https://node1.example.com",
                        "public_url": "https://help.example.com"})
    api = Api(node.url)
    page = await api.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "connect-src 'self' wss://node1.example.com;" in csp
    token, _ = await api.login("admin", ADMIN_PASSWORD)
    session = (await api.with_token(token).post("/api/v1/sessions")).json
    assert session["node"] == "n1"
    joined = (await api.post("/api/v1/join", {"code": session["code"]})).json
    assert joined["ws_url"] == "wss://node1.example.com/ws"

    ws_base = node.url.replace("http", "ws", 1)
    customer = await Socket.connect(ws_base, joined["token"], headers={"Origin": "https://help.example.com"})
    assert (await customer.recv_type("hello"))["ws_url"] == "wss://node1.example.com/ws"
    customer.close()
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await Socket.connect(ws_base, joined["token"], headers={"Origin": "https://evil.example.com"})
    assert refused.value.code == 403
