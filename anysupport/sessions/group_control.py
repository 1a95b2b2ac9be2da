"""Control messages of version 2 (issue 21), routed by participant index.

- ``sender_key`` and a ``key_exchange`` / ``key_exchange_failed`` with ``to``: to participant ``to``
  only;
- ``sealed``: to every other participant, after checking that the sealed frame's header names the
  sender's own index (``wrong_sender``) and that the sender has full rights (``view_only``).

The server adds ``from_index`` (and ``from``, ``session_id``, ``time`` as for every relayed message)
and reads nothing else: boxes and sealed frames are opaque to it (docs/protocol.md, V2.3–V2.5).
"""

from __future__ import annotations

from typing import Any

from anysupport_native import group

from anysupport import errors
from anysupport.protocol.vocabulary import CUSTOMER_INDEX


def named_session_id(peer, message: dict[str, Any]) -> str:
    """The session a control message is about: a customer's own (it may name it), an agent's as named (a
    guest socket's one session only)."""
    if peer.role == "customer":
        if message.get("session_id") not in (None, peer.session_id):
            raise errors.NotFound("session_not_found")
        return peer.session_id
    session_id = message.get("session_id")
    if not session_id:
        raise errors.Invalid("session_required")
    if peer.session_id is not None and session_id != peer.session_id:  # a guest socket: its one session
        raise errors.NotFound("session_not_found")
    return session_id


def _session(control, peer, message: dict[str, Any]):
    session_id = named_session_id(peer, message)
    live = control.sessions.live.get(session_id)
    me = None if live is None else live.roster.index_of(peer.role, peer.agent_id)
    if me is None:  # not a participant (or not live here): never confirm that the session exists
        raise errors.NotFound("session_not_found")
    if live.state != "connected":
        raise errors.Conflict("session_not_connected")
    return session_id, live, me


def check_sealed(frame_text: str, me: int) -> None:
    """A ``sealed`` message's frame: a version-2 frame of kind 2 whose sender is ``me``."""
    try:
        header = group.parse_header(group.unb64(frame_text))
    except (ValueError, TypeError, group.FrameError):
        raise errors.Invalid("invalid_message", detail="'frame' is not a version-2 frame") from None
    if header.kind != group.KIND_CONTROL:
        raise errors.Invalid("invalid_message", detail="a sealed frame is of kind 2")
    if header.sender != me:
        raise errors.Forbidden("wrong_sender")


async def route_group_message(control, peer, message: dict[str, Any]) -> None:
    kind = message["type"]
    session_id, live, me = _session(control, peer, message)
    roster = live.roster
    if kind == "sealed":
        if roster.by_index[me].rights != "full":
            raise errors.Forbidden("view_only")
        check_sealed(message["frame"], me)
        targets = [i for i in roster.by_index if i != me]
    else:
        to = message["to"]
        if to == me or to not in roster.by_index:
            raise errors.NotFound("participant_not_found")
        targets = [to]
    out = {**message, "session_id": session_id, "from": "customer" if me == CUSTOMER_INDEX else "agent",
           "from_index": me, "time": control._now_iso()}
    sent = 0
    for index in targets:
        member = roster.by_index[index]
        conn = control.hub.participant(session_id, member.agent_id)  # a guest socket first, then the console
        if conn is not None:
            conn.send_json(out)
            sent += 1
    if not sent and kind != "sealed":
        raise errors.Conflict("peer_not_connected")
