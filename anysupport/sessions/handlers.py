"""Sessions for agents, and joining for customers."""

from __future__ import annotations

from anysupport.protocol.vocabulary import LANGUAGES, OBJECT_ID_ROUTE, SATISFACTION
from anysupport.web.base import BaseHandler, endpoint

SESSION_ID = OBJECT_ID_ROUTE
JOIN_BODY = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[0-9]{4}$"},
        "number": {"type": "integer", "minimum": 1, "maximum": 2**53},
        "name": {"type": "string", "maxLength": 100},
        "email": {"type": "string", "maxLength": 254},
        "phone": {"type": "string", "maxLength": 40},
        "language": {"enum": list(LANGUAGES)},
    },
    "additionalProperties": False,
    # the code is what admits; a session number only narrows the match (numbers are sequential)
    "required": ["code"],
}
SESSION_EXAMPLE = {"id": "6b07…", "code": "1675", "state": "offline", "created_at": "2026-05-17T21:16:54+00:00", "number": 9}
# the agent view of a session (docs/protocol.md, session objects); ``node`` only with several nodes
AGENT_SESSION_EXAMPLE = {
    "id": "65a1f0c2e4b5d6a7b8c9d0e1", "code": "4384", "state": "connected", "number": 12,
    "created_at": "2026-05-18T01:20:02+00:00", "online_at": "2026-05-18T01:21:10+00:00",
    "connected_at": "2026-05-18T01:21:30+00:00", "expired_at": None, "expire_reason": None, "agent_login": "kim",
    "customer": {"name": "홍길동", "email": None, "phone": "010-1234-5678", "language": "ko", "ip": "203.0.113.7"},
    "customer_present": True, "node": "help1-8801"}


class SessionsHandler(BaseHandler):
    @endpoint(auth="agent", summary="This agent's sessions (live ones and those of the last 24 hours), each the "
              "agent view of docs/protocol.md (with several nodes, `node` is the node it lives on)",
              tags=("sessions",), responses={200: {"sessions": [AGENT_SESSION_EXAMPLE]}})
    async def get(self) -> None:
        sessions = await self.services.sessions.list_for_agent(self.agent)
        self.send({"sessions": [self.services.sessions.agent_view(s) for s in sessions]})

    @endpoint(auth="agent", summary="Create a session with a fresh 4-digit code (within the agent's limits)",
              tags=("sessions",), responses={201: SESSION_EXAMPLE, 409: "too_many_live_sessions",
                                             429: "too_many_sessions_created"})
    async def post(self) -> None:
        session = await self.services.sessions.create(self.agent)
        self.send(self.services.sessions.agent_view(session), 201)


class SessionHandler(BaseHandler):
    @endpoint(auth="agent", summary="One of this agent's sessions", tags=("sessions",),
              responses={200: SESSION_EXAMPLE, 404: "session_not_found"})
    async def get(self, session_id: str) -> None:
        session = await self.services.sessions.get_for_agent(self.agent, session_id)
        self.send(self.services.sessions.agent_view(session))

    @endpoint(auth="agent", summary="Delete (expire) a session; its record, if any, is kept", tags=("sessions",),
              responses={204: None, 404: "session_not_found"})
    async def delete(self, session_id: str) -> None:
        await self.services.sessions.delete(self.agent, session_id)
        self.no_content()


class SessionConnectHandler(BaseHandler):
    @endpoint(auth="agent", summary="Accept an online session: it becomes connected", tags=("sessions",),
              responses={200: None, 409: "session_not_online"})
    async def post(self, session_id: str) -> None:
        session = await self.services.sessions.connect(self.agent, session_id)
        self.send(self.services.sessions.agent_view(session))


class JoinHandler(BaseHandler):
    @endpoint(auth="public", summary="A customer joins with the 4-digit code (and, optionally, the session number)",
              body=JOIN_BODY, tags=("customer",),
              responses={200: {"session_id": "…", "token": "…", "ws_url": "/ws"}, 404: "invalid_code",
                         409: "code_in_use", 429: "too_many_attempts"})
    async def post(self) -> None:
        body = self.body
        customer = {k: (body.get(k) or "").strip() or None for k in ("name", "email", "phone")}
        customer["language"] = body.get("language") or self.language
        sessions = self.services.sessions
        session, token = await sessions.join(body["code"], customer, self.client_ip, number=body.get("number"))
        self.send({"session_id": session["id"], "token": token, "ws_url": sessions.ws_url(session),
                   "state": session["state"], "session": sessions.customer_view(session)})


class CustomerSessionHandler(BaseHandler):
    @endpoint(auth="customer", summary="The customer's own session", tags=("customer",))
    async def get(self) -> None:
        sessions = self.services.sessions
        self.send(sessions.customer_view(await sessions.get_for_customer(self.principal.session_id)))


SURVEY_BODY = {
    "type": "object",
    "properties": {"answer": {"enum": list(SATISFACTION)}, "feedback": {"type": "string", "maxLength": 2000}},
    "required": ["answer"],
    "additionalProperties": False,
}


class SurveyAnswerHandler(BaseHandler):
    @endpoint(auth="customer", summary="The customer answers the satisfaction survey after the session",
              body=SURVEY_BODY, tags=("customer",),
              responses={204: None, 403: "survey_not_open", 404: "record_not_found", 409: "survey_answered"})
    async def post(self) -> None:
        await self.services.records.save_survey(self.principal.session_id, self.body["answer"], self.body.get("feedback"))
        self.no_content()


default_handlers = [
    (r"/api/v1/sessions", SessionsHandler),
    (rf"/api/v1/sessions/{SESSION_ID}", SessionHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/connect", SessionConnectHandler),
    (r"/api/v1/join", JoinHandler),
    (r"/api/v1/customer/session", CustomerSessionHandler),
    (r"/api/v1/customer/survey", SurveyAnswerHandler),
]
