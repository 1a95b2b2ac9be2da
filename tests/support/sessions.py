"""Open a whole support session on a running test server: agent console, session, joined customer."""

from __future__ import annotations

from tests.support.client import Api, Socket


async def open_session(server, agent_factory, *, auto_connect=False, customer=None):
    """An agent with a console socket, a session, and a joined customer with its socket."""
    client, agent, _ = await agent_factory(auto_connect=auto_connect)
    console = await Socket.connect(server.ws_base, client.token)
    await console.recv_type("hello")
    created = await client.post("/api/v1/sessions")
    assert created.status == 201
    session = created.json
    await console.recv_type("state", state="offline", session_id=session["id"])
    joined = await Api(server.url).post("/api/v1/join", {"code": session["code"], **(customer or {"name": "고객"})})
    assert joined.status == 200, joined.body
    customer_socket = await Socket.connect(server.ws_base, joined.json["token"], path=joined.json["ws_url"])
    hello = await customer_socket.recv_type("hello")
    assert hello["role"] == "customer" and hello["session_id"] == session["id"]
    return client, agent, session, joined.json, console, customer_socket
