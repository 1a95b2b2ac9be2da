"""``AgentPeer``: a scripted agent for one session at a time, a thin layer over ``AgentClient``.

Tests, benchmarks and load runs drive the mobile client with it: log in (or use a token), create a
session, accept it once the customer is online, then read the customer's stamped frames and send
commands. Everything real is ``AgentClient`` / ``AgentSession``; this only remembers "the" session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anysupport_client.session import AgentClient, AgentSession, ReceivedFrame


class AgentPeer:
    def __init__(self, server_url: str, *, login: str | None = None, password: str | None = None,
                 token: str | None = None, read_stamps: bool = True, composite: bool = True,
                 report_interval: float = 0.25):
        self.client = AgentClient(server_url, token=token, read_stamps=read_stamps, composite=composite,
                                  keep_frames=True, report_interval=report_interval)
        self.login_name = login
        self.password = password
        self.current: AgentSession | None = None
        self.session: dict[str, Any] | None = None

    # the client's parts, under the names the tests use
    @property
    def rest(self):
        return self.client.rest

    @property
    def socket(self):
        return self.client.socket

    @property
    def inbox(self) -> list[dict[str, Any]]:
        return self.client.inbox

    @property
    def listeners(self):
        return self.client.listeners

    def mark(self) -> int:
        return self.client.mark()

    async def wait_for(self, kind: str, timeout: float = 10.0, *, since: int = 0, **match: Any) -> dict[str, Any]:
        return await self.client.wait_for(kind, timeout, since=since, **match)

    async def start(self) -> None:
        if self.client.token is None:
            await self.client.start(self.login_name, self.password, force=True)
        else:
            await self.client.start()

    async def close(self) -> None:
        await self.client.close()

    # -- the session -----------------------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        return self.current.id if self.current else None

    @property
    def media(self):
        return self.current.media if self.current else None

    @property
    def scene(self):
        return self.current.scene

    @property
    def frames(self) -> list[ReceivedFrame]:
        return self.current.frames

    @property
    def last_frame(self):
        return self.current.last_frame

    @property
    def video_receiver(self):
        return self.current.video_receiver

    @property
    def frame_listeners(self) -> list[Callable]:
        return self.current.frame_listeners

    async def create_session(self) -> dict[str, Any]:
        self.current = await self.client.create_session()
        self.session = dict(self.current.info)
        return self.session

    async def accept(self, timeout: float = 10.0, versions: list[int] | None = None) -> None:
        """Wait for the customer to join, connect the session (saying ``versions``) and wait for the keys."""
        await self.current.wait_until(lambda: self.current.state == "online", timeout, "state online")
        await self.client.accept(self.current.id, timeout=timeout, versions=versions)

    async def wait_for_keys(self, timeout: float = 10.0) -> None:
        await self.current.wait_keys(timeout)

    async def wait_frames(self, count: int, timeout: float = 10.0,
                          predicate: Callable[[ReceivedFrame], bool] | None = None) -> list[ReceivedFrame]:
        """Wait until ``count`` more frames (matching ``predicate``) have been decoded; returns them."""
        session = self.current
        start = len(session.frames)

        def got() -> list[ReceivedFrame]:
            return [f for f in session.frames[start:] if predicate is None or predicate(f)]

        try:
            await session.wait_until(lambda: len(got()) >= count, timeout, f"{count} frames")  # re-checked per frame
        except TimeoutError as exc:  # what this end received: none at all, refused, or not decoded
            video = session.video_receiver
            raise TimeoutError(
                f"{exc}: {len(got())} matched; the agent: ready {session.ready}, state {session.state}, "
                f"received {video.loss.total_received}, lost {video.loss.total_lost}, decoded {video.frames_decoded}, "
                f"discarded {video.frames_discarded}, decode errors {video.decode_errors}, "
                f"awaiting a keyframe {video.awaiting_keyframe}, refused {session.media.frames_refused}"
                f"+{session.media.group.refused}") from None
        return got()

    def send(self, message: dict[str, Any]) -> bool:
        return self.current.send(message) if message.get("type") != "ping" else self.client.send(message)

    # -- commands --------------------------------------------------------------------------------------
    def camera(self, command: str, **fields: Any) -> bool:
        return self.current.camera(command, **fields)

    def annotate(self, op: str, item: dict[str, Any] | None = None, item_id: str | None = None) -> bool:
        return self.current.annotate(op, item, item_id)

    def chat(self, text: str) -> bool:
        return self.current.send_chat(text)

    def guide(self, direction: str) -> bool:
        return self.current.guide(direction)

    def speakerphone(self, on: bool) -> bool:
        return self.current.speakerphone(on)

    def recording(self, on: bool) -> bool:
        return self.current.recording(on)

    def agent_video(self, on: bool, source=None, level: str = "low", audio=None) -> bool:
        return self.current.agent_video(on, source, audio, level=level)

    def end(self) -> bool:
        return self.current.end()
