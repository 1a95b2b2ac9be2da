"""A connected session with more than two participants over the real server (issue 21): the session's
agent, its customer (who says it speaks version 2) and further agents' consoles, all raw sockets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tests.support.client import Api, Socket, admin_api, create_agent


@dataclass
class Agent:
    api: Api
    info: dict[str, Any]
    console: Socket

    @property
    def id(self) -> str:
        return self.info["id"]


@dataclass
class GroupCall:
    url: str
    ws_base: str
    sid: str
    agent: Agent
    customer: Socket
    others: list[Agent] = field(default_factory=list)

    async def new_agent(self, *, role: str = "agent") -> Agent:
        return await open_console(self.url, self.ws_base, role=role)

    async def invite(self, guest: Agent, rights: str = "full", *, by: Agent | None = None) -> dict[str, Any]:
        r = await (by or self.agent).api.post(f"/api/v1/sessions/{self.sid}/invitations",
                                              {"agent_id": guest.id, "rights": rights})
        assert r.status == 201, r.body
        await guest.console.recv_type("invitation", session_id=self.sid, status="open")
        r = await guest.api.post(f"/api/v1/sessions/{self.sid}/invitations/accept")
        assert r.status == 200, r.body
        return r.json


async def open_console(url: str, ws_base: str, *, role: str = "agent") -> Agent:
    login = f"grp{os.urandom(4).hex()}"
    await create_agent(await admin_api(url, client="web"), login, "group-password", name=f"이름 {login}", role=role)
    token, info = await Api(url).login(login, "group-password")
    console = await Socket.connect(ws_base, token)
    await console.recv_type("hello")
    return Agent(Api(url, token), info, console)


async def group_call(srv, *, versions=(1, 2)) -> GroupCall:
    """A connected session whose customer sent ``capabilities`` with ``versions``."""
    agent = await open_console(srv.url, srv.ws_base)
    session = (await agent.api.post("/api/v1/sessions")).json
    joined = (await Api(srv.url).post("/api/v1/join", {"code": session["code"], "name": "홍길동"})).json
    customer = await Socket.connect(srv.ws_base, joined["token"])
    await customer.recv_type("hello")
    r = await agent.api.post(f"/api/v1/sessions/{session['id']}/connect")
    assert r.status == 200, r.body
    await customer.recv_type("state", state="connected")
    await customer.send({"type": "capabilities", "flash": False, "focus": False, "cameras": [], "audio": True,
                         "versions": list(versions)})
    await agent.console.recv_type("capabilities")
    return GroupCall(srv.url, srv.ws_base, session["id"], agent, customer)
