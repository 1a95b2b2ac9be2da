"""Login, logout and the caller's own account."""

from __future__ import annotations

from anysupport.auth.manager import agent_view
from anysupport.protocol.vocabulary import LANGUAGES
from anysupport.web.base import BaseHandler, endpoint

LOGIN_BODY = {
    "type": "object",
    "properties": {
        "login": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        "force": {"type": "boolean"},
        "client": {"enum": ["console", "web"]},
    },
    "required": ["login", "password"],
    "additionalProperties": False,
}
SETTINGS_BODY = {
    "type": "object",
    "properties": {"auto_connect": {"type": "boolean"}, "language": {"enum": list(LANGUAGES)}},
    "additionalProperties": False,
    "minProperties": 1,
}
PASSWORD_BODY = {
    "type": "object",
    "properties": {
        "current": {"type": "string", "minLength": 1, "maxLength": 1024},
        "new": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
    "required": ["current", "new"],
    "additionalProperties": False,
}
LOGIN_ANSWER = {"token": "…", "agent": {"login": "test3", "name": "Kim", "number": 3, "role": "agent"}}


class LoginHandler(BaseHandler):
    @endpoint(auth="public", summary="Log an agent in; answers a bearer token (`client: web` for the admin pages: "
              "not a console, so it neither meets nor kicks the agent's open console)", body=LOGIN_BODY, tags=("auth",),
              responses={200: LOGIN_ANSWER, 401: "invalid_credentials", 403: "account_disabled",
                         409: "already_logged_in", 429: "too_many_attempts"})
    async def post(self) -> None:
        token, agent = await self.services.auth.login(
            self.body["login"], self.body["password"], force=self.body.get("force", False), ip=self.client_ip,
            web=self.body.get("client") == "web",
        )
        self.send({"token": token, "agent": agent_view(agent)})


class LogoutHandler(BaseHandler):
    @endpoint(auth="any", summary="Revoke the token of this request", tags=("auth",), responses={204: None})
    async def post(self) -> None:
        await self.services.auth.logout(self.principal)
        self.no_content()


ME_ANSWER = {"agent": {"login": "test3", "name": "Kim", "number": 3, "role": "agent",
                       "settings": {"auto_connect": True, "language": "ko"}},
             "public_url": "https://support.example.com", "time_zone": "Asia/Seoul"}


class MeHandler(BaseHandler):
    @endpoint(auth="agent", summary="The logged-in agent's account and settings, the customer page's address, and "
              "the server's time zone (the one its days, statistics and workbooks count in; the console shows "
              "every time and day in it)", tags=("auth",), responses={200: ME_ANSWER})
    async def get(self) -> None:
        self.send({"agent": agent_view(self.agent), "public_url": await self.services.site.public_url(self.base_url),
                   "time_zone": self.config.time_zone})


class MeSettingsHandler(BaseHandler):
    @endpoint(auth="agent", summary="Change the agent's own settings (auto-connect, language)", body=SETTINGS_BODY,
              tags=("auth",))
    async def patch(self) -> None:
        agent = await self.services.agents.update_settings(self.agent, self.body)
        self.send({"agent": agent_view(agent)})


class MePasswordHandler(BaseHandler):
    @endpoint(auth="agent", summary="Change the agent's own password (the agent's other logins end)", body=PASSWORD_BODY, tags=("auth",),
              responses={204: None, 401: "wrong_password", 400: "password_too_short"})
    async def post(self) -> None:
        await self.services.agents.change_own_password(self.agent, self.body["current"], self.body["new"],
                                                       keep=self.principal.token_hash)
        self.no_content()


default_handlers = [
    (r"/api/v1/auth/login", LoginHandler),
    (r"/api/v1/auth/logout", LogoutHandler),
    (r"/api/v1/me", MeHandler),
    (r"/api/v1/me/settings", MeSettingsHandler),
    (r"/api/v1/me/password", MePasswordHandler),
]
