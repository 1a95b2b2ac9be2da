"""Administrators manage agent accounts."""

from __future__ import annotations

from anysupport.auth.manager import agent_view
from anysupport.protocol.vocabulary import LANGUAGES, LOGIN_PATTERN
from anysupport.web.base import BaseHandler, endpoint

LOGIN = {"type": "string", "pattern": LOGIN_PATTERN}
NAME = {"type": "string", "minLength": 1, "maxLength": 100}
SETTINGS = {
    "type": "object",
    "properties": {"auto_connect": {"type": "boolean"}, "language": {"enum": list(LANGUAGES)}},
    "additionalProperties": False,
}
CREATE_BODY = {
    "type": "object",
    "properties": {
        "login": LOGIN,
        "name": NAME,
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        "role": {"enum": ["agent", "admin"]},
        "number": {"type": "integer", "minimum": 1, "maximum": 99999},
        "settings": SETTINGS,
    },
    "required": ["login", "name"],
    "additionalProperties": False,
}
UPDATE_BODY = {
    "type": "object",
    "properties": {
        "name": NAME,
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        "role": {"enum": ["agent", "admin"]},
        "number": {"type": "integer", "minimum": 1, "maximum": 99999},
        "disabled": {"type": "boolean"},
        "settings": SETTINGS,
    },
    "additionalProperties": False,
    "minProperties": 1,
}
RESET_BODY = {
    "type": "object",
    "properties": {"password": {"type": "string", "minLength": 1, "maxLength": 1024}},
    "additionalProperties": False,
}


class AgentsHandler(BaseHandler):
    @endpoint(auth="admin", summary="List agents", tags=("admin",))
    async def get(self) -> None:
        self.send({"agents": [agent_view(a) for a in await self.services.agents.list()]})

    @endpoint(auth="admin", summary="Create an agent (a password is generated when none is given)",
              body=CREATE_BODY, tags=("admin",), responses={201: None, 409: "login_taken"})
    async def post(self) -> None:
        agent, generated = await self.services.agents.create(**self.body)
        answer = {"agent": agent_view(agent)}
        if generated:
            answer["password"] = generated
        self.send(answer, 201)


class AgentHandler(BaseHandler):
    @endpoint(auth="admin", summary="One agent", tags=("admin",), responses={200: None, 404: "agent_not_found"})
    async def get(self, login: str) -> None:
        self.send({"agent": agent_view(await self.services.agents.get(login))})

    @endpoint(auth="admin", summary="Edit, disable or re-enable an agent", body=UPDATE_BODY, tags=("admin",),
              responses={200: None, 404: "agent_not_found", 409: "last_admin"})
    async def patch(self, login: str) -> None:
        self.send({"agent": agent_view(await self.services.agents.update(login, self.body))})

    @endpoint(auth="admin", summary="Delete an agent (their records stay)", tags=("admin",),
              responses={204: None, 404: "agent_not_found", 409: "last_admin"})
    async def delete(self, login: str) -> None:
        await self.services.agents.delete(login)
        self.no_content()


class AgentPasswordHandler(BaseHandler):
    @endpoint(auth="admin", summary="Reset an agent's password (generated when none is given)", body=RESET_BODY,
              tags=("admin",))
    async def post(self, login: str) -> None:
        given = self.body.get("password") if isinstance(self.body, dict) else None
        password = await self.services.agents.reset_password(login, given)
        self.send({"login": login, **({} if given else {"password": password})})


default_handlers = [
    (r"/api/v1/admin/agents", AgentsHandler),
    (r"/api/v1/admin/agents/([A-Za-z0-9._-]{1,64})", AgentHandler),
    (r"/api/v1/admin/agents/([A-Za-z0-9._-]{1,64})/password", AgentPasswordHandler),
]
