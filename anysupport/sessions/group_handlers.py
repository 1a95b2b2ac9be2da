"""Participants of a live session (issue 21): inviting another agent, answering, removing."""

from __future__ import annotations

from anysupport.protocol.vocabulary import MAX_PARTICIPANT_INDEX, OBJECT_ID_PATTERN, OBJECT_ID_ROUTE, RIGHTS
from anysupport.web.base import BaseHandler, endpoint

SESSION_ID = OBJECT_ID_ROUTE
INVITE_BODY = {
    "type": "object",
    "properties": {"agent_id": {"type": "string", "pattern": OBJECT_ID_PATTERN, "maxLength": 24},
                   "login": {"type": "string", "minLength": 1, "maxLength": 64},
                   "rights": {"enum": list(RIGHTS)}},
    "required": ["rights"],
    "oneOf": [{"required": ["agent_id"]}, {"required": ["login"]}],
    "additionalProperties": False,
}
INVITATION_EXAMPLE = {"session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "agent_id": "65a1f0c2e4b5d6a7b8c9d0f3",
                      "rights": "full", "invited_at": "2026-05-18T01:25:02+00:00"}
PARTICIPANTS_EXAMPLE = {
    "session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "you": 1, "version": 2,
    "participants": [
        {"index": 0, "role": "customer", "name": "홍길동", "rights": "full", "present": True},
        {"index": 1, "role": "agent", "name": "김상담", "rights": "full", "present": True},
        {"index": 2, "role": "guest", "name": "이전문", "rights": "full", "present": True}]}


class InvitationsHandler(BaseHandler):
    @endpoint(auth="agent", summary="Invite another agent (by `agent_id`, or by `login` as `GET /api/v1/agents` "
              "lists them) into a connected session, with `full` rights (video, "
              "voice, drawing, chat) or `view` (receives only). By the session's agent or an administrator; the "
              "invited agent's console gets an `invitation` message (docs/protocol.md). Only when the customer's "
              "client speaks media-frame version 2 (its `capabilities` `versions`)",
              body=INVITE_BODY, tags=("sessions",),
              responses={201: INVITATION_EXAMPLE, 404: "session_not_found or invitee_not_found",
                         409: "session_not_connected, already_participant, customer_not_group_capable, "
                              "invitee_not_online (no console open on any node), too_many_participants or "
                              "participants_busy (changed through other nodes all the while: try again)"})
    async def post(self, session_id: str) -> None:
        invitation = await self.services.invitations.invite(self.agent, session_id, self.body.get("agent_id"),
                                                            self.body["rights"], login=self.body.get("login"))
        self.send(invitation, 201)


class InvitationAnswerHandler(BaseHandler):
    @endpoint(auth="agent", summary="The invited agent accepts (`accept`: it becomes a participant with the next "
              "index, and every participant gets `participants`) or declines (`decline`: the inviting agent gets "
              "`invitation` `declined`) its invitation to this session",
              tags=("sessions",),
              responses={200: {"session_id": "65a1f0c2e4b5d6a7b8c9d0e1", "status": "accepted", "index": 2,
                               "rights": "full", "session": "{the agent view of the session}",
                               "ws_url": "wss://support.example.com/node/a/ws", "guest_socket": True},
                         404: "invitation_not_found",
                         409: "session_not_connected, guest_console_not_open (accepting needs the agent's console "
                              "open, on any node) or participants_busy"})
    async def post(self, session_id: str, answer: str) -> None:
        self.send(await self.services.invitations.answer(self.agent, session_id, answer == "accept"))


class ParticipantsHandler(BaseHandler):
    @endpoint(auth="agent", summary="Who takes part in the session (its agent, an administrator or a guest may "
              "ask): index, role, name, rights and whether its socket is open; `version` is the media-frame "
              "version its Python clients speak", tags=("sessions",),
              responses={200: PARTICIPANTS_EXAMPLE, 404: "session_not_found"})
    async def get(self, session_id: str) -> None:
        self.send(await self.services.invitations.list(self.agent, session_id))


class ParticipantHandler(BaseHandler):
    @endpoint(auth="agent", summary="Remove an invited participant (index 2 or more) by the session's agent or an "
              "administrator, or a guest leaving (its own index): it gets `removed`, every other participant "
              "`participants`, the relay stops routing to it at once and the clients replace their sender keys",
              tags=("sessions",),
              responses={204: None, 403: "not_your_session", 404: "session_not_found or participant_not_found",
                         409: "participant_not_removable (the customer, 0, and the session's agent, 1)"})
    async def delete(self, session_id: str, index: str) -> None:
        await self.services.invitations.remove(self.agent, session_id, min(int(index), MAX_PARTICIPANT_INDEX + 1))
        self.no_content()


LIVE_EXAMPLE = {"sessions": [{"id": "65a1f0c2e4b5d6a7b8c9d0e1", "number": 1024, "state": "connected",
                               "agent_name": "김상담", "agent_login": "kim", "customer": "홍길동",
                               "since": "2026-05-18T01:20:00+00:00", "participants": 2, "supervising": False,
                               "group_capable": True}], "console_open": True}


class LiveSessionsHandler(BaseHandler):
    @endpoint(auth="admin", summary="The team's live sessions for the admin pages (참관): agent, the customer's "
              "name, state, since when (connected, else online, else created), how many take part, whether "
              "this administrator already supervises it, and whether a third participant may join "
              "(`group_capable`: the customer's client speaks media-frame version 2); `console_open`: this "
              "administrator's console is open (참관 opens the call there)",
              tags=("admin",), responses={200: LIVE_EXAMPLE})
    async def get(self) -> None:
        invitations = self.services.invitations
        self.send({"sessions": await invitations.live_sessions(self.agent),
                   "console_open": await invitations.consoles.console_live(self.agent["id"])})


class SuperviseHandler(BaseHandler):
    @endpoint(auth="admin", summary="참관: the administrator joins a connected session as a view-only participant "
              "(everyone, the customer first, sees it in the participants with the role `supervisor`). Its console "
              "must be open: the console "
              "gets an `invitation` with `supervise` true, accepts it by itself and opens the viewer",
              tags=("admin",),
              responses={201: {**INVITATION_EXAMPLE, "rights": "view"}, 404: "session_not_found",
                         409: "console_not_open (no console of this administrator is open), session_not_connected, "
                              "already_participant, customer_not_group_capable, too_many_participants or "
                              "participants_busy"})
    async def post(self, session_id: str) -> None:
        self.send(await self.services.invitations.supervise(self.agent, session_id), 201)


default_handlers = [
    (r"/api/v1/admin/live-sessions", LiveSessionsHandler),
    (rf"/api/v1/admin/sessions/{SESSION_ID}/supervise", SuperviseHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/invitations", InvitationsHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/invitations/(accept|decline)", InvitationAnswerHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/participants", ParticipantsHandler),
    (rf"/api/v1/sessions/{SESSION_ID}/participants/([0-9]{{1,3}})", ParticipantHandler),
]
