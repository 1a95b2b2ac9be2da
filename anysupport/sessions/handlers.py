"""Sessions for agents, and joining for customers."""

from __future__ import annotations

from anysupport.protocol.vocabulary import LANGUAGES, LOGIN_PATTERN, OBJECT_ID_ROUTE, SATISFACTION
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


CONNECT_BODY = {
    "type": "object",
    # the media-frame versions the agent's client speaks: with 2 (and the customer's client's), the session
    # speaks version 2 from the start, everything between them sealed (docs/protocol.md V2.8)
    "properties": {"versions": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 255},
                                "uniqueItems": True, "maxItems": 8}},
    "additionalProperties": False,
}


class SessionConnectHandler(BaseHandler):
    @endpoint(auth="agent", summary="Accept an online session: it becomes connected (optional body: the "
                                    "`versions` the agent's client speaks)", body=CONNECT_BODY, tags=("sessions",),
              responses={200: None, 409: "session_not_online"})
    async def post(self, session_id: str) -> None:
        session = await self.services.sessions.connect(self.agent, session_id, versions=self.body.get("versions"))
        self.send(self.services.sessions.agent_view(session))


HANDOVER_BODY = {
    "type": "object",
    "properties": {"to": {"type": "string", "pattern": LOGIN_PATTERN}},
    "required": ["to"],
    "additionalProperties": False,
}
HANDOVER_EXAMPLE = {"session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "by": {"login": "kim", "name": "김상담"},
                    "to": {"login": "lee", "name": "이전문"}, "offered_at": "2026-05-18T01:30:00.000+00:00",
                    "expires_at": "2026-05-18T01:31:00.000+00:00"}
HANDED_OVER_EXAMPLE = {**AGENT_SESSION_EXAMPLE, "agent_login": "lee",
                       "agents": [{"login": "kim", "name": "김상담"}, {"login": "lee", "name": "이전문"}]}


class HandoverHandler(BaseHandler):
    @endpoint(auth="agent", summary="The hand-over offered for this session, if any (to its agent, the agent "
              "offered it, or an administrator)", tags=("sessions",),
              responses={200: HANDOVER_EXAMPLE, 404: "handover_not_found"})
    async def get(self, session_id: str) -> None:
        self.send(await self.services.handover.pending(self.agent, session_id))

    @endpoint(auth="agent", summary="Offer a connected session (one's own, or any for an administrator) to another "
              "agent whose console is open; the offer lapses after `handover_timeout` seconds",
              body=HANDOVER_BODY, tags=("sessions",),
              responses={201: HANDOVER_EXAMPLE, 400: "handover_to_self", 404: "session_not_found or agent_not_found",
                         409: "session_not_connected, already_participant (the agent is a guest of the session), "
                              "handover_pending or agent_not_available"})
    async def post(self, session_id: str) -> None:
        self.send(await self.services.handover.offer(self.agent, session_id, self.body["to"]), 201)

    @endpoint(auth="agent", summary="Cancel the hand-over offered (by the offerer, the session's agent or an "
              "administrator)", tags=("sessions",),
              responses={204: None, 403: "not_your_handover", 404: "handover_not_found"})
    async def delete(self, session_id: str) -> None:
        await self.services.handover.cancel(self.agent, session_id)
        self.no_content()


class HandoverAcceptHandler(BaseHandler):
    @endpoint(auth="agent", summary="The agent offered the session accepts: the session (and its record) is "
              "its own from now on (in version 2 with a new participant index); answers the session as its new "
              "agent sees it",
              tags=("sessions",),
              responses={200: HANDED_OVER_EXAMPLE, 403: "not_your_handover", 404: "handover_not_found",
                         409: "handover_stale, already_participant, session_has_guests (it has guests and the "
                              "agent's console is on another node), agent_not_available, too_many_live_sessions "
                              "or too_many_participants"})
    async def post(self, session_id: str) -> None:
        session = await self.services.handover.accept(self.agent, session_id)
        self.send(self.services.sessions.agent_view(session))


class HandoverDeclineHandler(BaseHandler):
    @endpoint(auth="agent", summary="The agent offered the session declines (the offerer's console is told)",
              tags=("sessions",), responses={204: None, 403: "not_your_handover", 404: "handover_not_found"})
    async def post(self, session_id: str) -> None:
        await self.services.handover.decline(self.agent, session_id)
        self.no_content()


class ColleaguesHandler(BaseHandler):
    @endpoint(auth="agent", summary="The other active agents (login, name, number, and whether their console is "
              "open): whom a session may be handed over to", tags=("sessions",),
              responses={200: {"agents": [{"login": "lee", "name": "이전문", "number": 3, "available": True}]}})
    async def get(self) -> None:
        self.send({"agents": await self.services.handover.colleagues(self.agent)})


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
    (rf"/api/v1/sessions/{SESSION_ID}/handover", HandoverHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/handover/accept", HandoverAcceptHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/handover/decline", HandoverDeclineHandler),
    (r"/api/v1/agents", ColleaguesHandler),
    (r"/api/v1/join", JoinHandler),
    (r"/api/v1/customer/session", CustomerSessionHandler),
    (r"/api/v1/customer/survey", SurveyAnswerHandler),
]
