"""The blind media relay.

The server never holds a media key. For each binary message it reads only the 16-byte frame header
(``anysupport_native.framing.parse_header``) and then:

- refuses frames that are too large, malformed, from the wrong side for their stream, on a session
  that is not connected, or past the sender's frame-rate ceiling (counted, with an ``error`` to the
  sender now and then, never affecting other sessions);
- puts the rest on the receiver's ``Outbox``: one write in flight at a time, the rest queued up to
  ``media_queue_bytes``. Over that, stale non-key video goes first, then older keyframes, audio
  last; once a video frame is dropped, that stream's frames wait for the next keyframe (they could
  not be decoded anyway) and the sender is asked for one at once. The sender is never blocked.

Agents' sockets carry many sessions, so on them every binary message is prefixed with the session's
12-byte id (the hex ``session_id`` decoded); customers' sockets carry the bare frame.

A session's customer frames go to its agent's console and to every other agent watching it
(``LiveSession.watchers``, issue 21), each receiver through its own ``Outbox``: one slow receiver
sheds its own frames and never holds the others back. Only the session's agent sends to the
customer (version-1 frames carry one agent's keys).

Version 2 (first byte 2, issue 21): the sender is the participant of the connection (0 the customer,
its own index for an agent, ``LiveSession.roster``); the frame's header must name that index
(``wrong_sender``), the sender must have full rights (``view_only``), and the frame goes to every
other participant, each through its own ``Outbox``. Streams are the header's kind (0 video, 1
audio); kind 2 (sealed control) travels in ``sealed`` control messages, not here.
"""

from __future__ import annotations

import logging
import struct
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from anysupport_native import framing, group

from anysupport import i18n
from anysupport.protocol.vocabulary import CLOSE_ABUSE, CUSTOMER_INDEX
from anysupport.ratelimit import TokenBucket
from anysupport.sessions.manager import now_iso

log = logging.getLogger("anysupport.relay")

parse_header = framing.parse_header
FrameError = framing.FrameError
FLAG_KEYFRAME = framing.FLAG_KEYFRAME

SESSION_PREFIX = 12
DROP_REASONS = (
    "too_large", "malformed", "wrong_direction", "not_connected", "rate", "no_receiver", "queue_full",
    "awaiting_keyframe", "stale", "view_only", "wrong_sender",
)  # fmt: skip
GROUP_VERSION = group.VERSION  # first byte of a version-2 frame (docs/protocol.md, V2.4)
GROUP_MEDIA_KINDS = frozenset({group.KIND_VIDEO, group.KIND_AUDIO})  # kind 2 travels in ``sealed`` messages
_GROUP_HEADER = struct.Struct(">BBBBI")  # version, kind, flags, sender, epoch (V2.4; the rest is not read)


def group_header(frame: bytes) -> tuple[int, bool, int, int]:
    """(kind, keyframe, sender, epoch) of a version-2 frame, with the checks of ``group.parse_header``
    (a test holds the two to the same answers) without building its objects: this runs per frame."""
    if len(frame) < group.FRAME_OVERHEAD:
        raise FrameError("truncated", "a version-2 frame is at least 36 bytes")
    _version, kind, flags, sender, epoch = _GROUP_HEADER.unpack_from(frame)
    if kind > group.KIND_CONTROL or flags & ~group.FLAG_KEYFRAME or sender > group.MAX_INDEX or not epoch:
        raise FrameError("bad_header", "not a valid version-2 header")
    return kind, flags != 0, sender, epoch
KEYFRAME_REQUEST_INTERVAL = 0.5
ERROR_INTERVAL = 1.0


class Counters:
    __slots__ = ("frames_in", "bytes_in", "frames_out", "bytes_out", "dropped")

    def __init__(self) -> None:
        self.frames_in = self.bytes_in = self.frames_out = self.bytes_out = 0
        self.dropped: Counter[str] = Counter()


class Item:
    __slots__ = ("data", "stream", "keyframe", "session_id", "sender")

    def __init__(self, data: bytes, stream: int, keyframe: bool, session_id: str, sender: Any):
        self.data = data
        self.stream = stream
        self.keyframe = keyframe
        self.session_id = session_id
        self.sender = sender


class Outbox:
    """What one receiving socket still has to be sent, bounded in bytes."""

    __slots__ = ("relay", "conn", "queue", "bytes", "inflight", "waiting_keyframe")

    def __init__(self, relay: Relay, conn: Any):
        self.relay = relay
        self.conn = conn
        self.queue: deque[Item] = deque()
        self.bytes = 0
        self.inflight = 0
        self.waiting_keyframe: set[tuple[str, int]] = set()

    def send(self, data: bytes, stream: int, keyframe: bool, session_id: str, sender: Any) -> None:
        """One frame for this receiver. The usual case (nothing queued, nothing in flight, no stream
        waiting for a keyframe) writes at once and builds nothing; otherwise ``push`` decides."""
        if self.inflight or self.queue or self.waiting_keyframe:
            self.push(Item(data, stream, keyframe, session_id, sender))
            return
        future = self.conn.send_binary(data)
        if future is None:
            return
        relay = self.relay
        size = len(data)
        total = relay.total
        total.frames_out += 1
        total.bytes_out += size
        c = relay.per_session.get(session_id)
        if c is not None:
            c.frames_out += 1
            c.bytes_out += size
        if not future.done():
            # the socket did not take it all: wait for the flush before writing more
            self.inflight = size
            future.add_done_callback(self._written)

    def push(self, item: Item) -> None:
        key = (item.session_id, item.stream)
        video = framing.is_video(item.stream)
        if video and key in self.waiting_keyframe:
            if not item.keyframe:
                self.relay.drop(item.session_id, "awaiting_keyframe", item.sender, item.stream, notify=False)
                # ask again (rate-limited): the keyframe asked for may itself have been dropped
                self.relay.request_keyframe(item.session_id, item.sender, item.stream)
                return
            self.waiting_keyframe.discard(key)
        if video and item.keyframe and self.queue:
            self._drop_stale_before_keyframe(key)
        if not self.inflight and not self.queue:
            self._write(item)
            return
        self.queue.append(item)
        self.bytes += len(item.data)
        if self.bytes + self.inflight > self.relay.queue_limit:
            self._shed()

    def _drop_stale_before_keyframe(self, key: tuple[str, int]) -> None:
        kept: deque[Item] = deque()
        for queued in self.queue:
            if (queued.session_id, queued.stream) == key:
                self.bytes -= len(queued.data)
                self.relay.drop(queued.session_id, "stale", queued.sender, queued.stream, notify=False)
            else:
                kept.append(queued)
        self.queue = kept

    def _shed(self) -> None:
        """Drop until under the limit: non-key video oldest first, then keyframes, then audio.

        Once a video frame of a stream is dropped, the later non-key frames of that stream in the
        queue cannot be decoded either, so they go too, and the stream waits for a keyframe."""
        limit = self.relay.queue_limit
        for wanted in ("delta", "key", "audio"):
            if self.bytes + self.inflight <= limit:
                return
            kept: deque[Item] = deque()
            broken: set[tuple[str, int]] = set()
            for queued in self.queue:
                key = (queued.session_id, queued.stream)
                video = framing.is_video(queued.stream)
                kind = "audio" if not video else ("key" if queued.keyframe else "delta")
                if video and key in broken and not queued.keyframe:
                    self.bytes -= len(queued.data)
                    self.relay.drop(queued.session_id, "awaiting_keyframe", queued.sender, queued.stream, notify=False)
                elif kind == wanted and self.bytes + self.inflight > limit:
                    self.bytes -= len(queued.data)
                    self.relay.drop(queued.session_id, "queue_full", queued.sender, queued.stream, notify=False)
                    if video:
                        broken.add(key)
                        self.relay.request_keyframe(queued.session_id, queued.sender, queued.stream)
                else:
                    if video and queued.keyframe:
                        broken.discard(key)
                    kept.append(queued)
            self.waiting_keyframe |= broken
            self.queue = kept

    def _write(self, item: Item) -> None:
        while True:
            future = self.conn.send_binary(item.data)
            if future is None:
                return
            self.relay.count_out(item.session_id, len(item.data))
            if not future.done():
                # the socket did not take it all: wait for the flush before writing more
                self.inflight = len(item.data)
                future.add_done_callback(self._written)
                return
            # flushed at once (the usual case): no callback, no extra turn of the event loop
            if not self.queue:
                return
            item = self.queue.popleft()
            self.bytes -= len(item.data)

    def _written(self, _future: Any) -> None:
        self.inflight = 0
        if self.queue:
            item = self.queue.popleft()
            self.bytes -= len(item.data)
            self._write(item)


class SenderState:
    """Per sending socket: a frame-rate budget per session (an agent's console carries several), and
    what the hot path would otherwise look up per frame (the side, its streams, its agent or session)."""

    __slots__ = ("buckets", "fps", "last_error", "conn", "clock", "role", "agent", "streams", "agent_id",
                 "session_id", "only_session", "refused", "refused_since")

    def __init__(self, conn: Any, fps: float, clock: Callable[[], float] = time.monotonic):
        self.conn = conn
        self.fps = fps
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}
        self.last_error: dict[str, float] = {}
        principal = conn.principal
        self.role = principal.kind
        self.agent = self.role == "agent"
        self.streams = framing.STREAMS_FROM[self.role]
        self.agent_id = principal.agent_id
        self.session_id = principal.session_id
        # a guest socket (issue 21) carries one session: frames naming another are refused as not its own
        self.only_session = getattr(conn, "guest_session", None)
        self.refused = 0  # frames refused for the sender's own fault in the current second (the flood cut-off)
        self.refused_since = -1e9

    def allow(self, session_id: str) -> bool:
        bucket = self.buckets.get(session_id)
        if bucket is None:
            bucket = self.buckets[session_id] = TokenBucket(self.fps, max(1, int(self.fps)), clock=self.clock)
        return bucket.take()


class Relay:
    """``clock`` (monotonic seconds) paces the frame-rate budgets, the error and the keyframe-request
    intervals; tests inject one."""

    def __init__(self, config, hub, sessions, *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.config = config
        self.hub = hub
        self.sessions = sessions
        self.queue_limit = config.media_queue_bytes
        self.max_frame = config.media_max_frame_bytes
        self.total = Counters()
        self.per_session: dict[str, Counters] = {}
        self.outboxes: dict[int, Outbox] = {}
        self._last_keyframe_request: dict[tuple[str, int], float] = {}

    # -- bookkeeping ------------------------------------------------------------------------------------
    def new_sender(self, conn: Any) -> SenderState:
        return SenderState(conn, self.config.media_max_fps, self.clock)

    def forget(self, conn: Any) -> None:
        self.outboxes.pop(id(conn), None)

    def forget_session(self, session_id: str) -> None:
        self.per_session.pop(session_id, None)
        for sender in (self.hub.customer(session_id), *self.hub.consoles.values(), *self.hub.guests.values()):
            if sender is not None and getattr(sender, "media", None) is not None:
                sender.media.buckets.pop(session_id, None)
        for key in [k for k in self._last_keyframe_request if k[0] == session_id]:
            del self._last_keyframe_request[key]

    def _counters(self, session_id: str) -> Counters:
        c = self.per_session.get(session_id)
        if c is None:
            c = self.per_session[session_id] = Counters()
        return c

    def count_out(self, session_id: str, size: int) -> None:
        self.total.frames_out += 1
        self.total.bytes_out += size
        c = self.per_session.get(session_id)
        if c is not None:
            c.frames_out += 1
            c.bytes_out += size

    def drop(self, session_id: str | None, reason: str, sender: Any, stream: int | None = None, *,
             notify: bool = True) -> None:
        self.total.dropped[reason] += 1
        if session_id is not None and not self._sender_owns(sender, session_id):
            # another agent's session (or none): never confirm it exists, never count against it
            session_id = None
        if session_id is not None:
            self._counters(session_id).dropped[reason] += 1
        if notify and sender is not None:
            state: SenderState = sender.media
            now = self.clock()
            if self._flooding(state, now):
                return
            if now - state.last_error.get(reason, -1e9) >= ERROR_INTERVAL:
                state.last_error[reason] = now
                language = sender.peer.language if sender.peer is not None else "ko"
                message = {"type": "error", "error": "frame_dropped", "field": reason, "time": now_iso(),
                           "message": i18n.text("frame_dropped", language, detail=reason)}
                if session_id is not None:
                    message["session_id"] = session_id
                sender.send_json(message)

    def _flooding(self, state: SenderState, now: float) -> bool:
        """Count a frame refused for the sender's own fault (over the rate, malformed, not its stream or
        session); past ``media_flood_frames`` in one second the socket is cut off, as a control flood is:
        an error, then close 4008 ``flooding`` (issue 18 #6: 1.35 million refused frames in 5 s cost the
        server 3.3 s of CPU and every bystander's latency, and were never cut off)."""
        if now - state.refused_since >= 1.0:
            state.refused_since, state.refused = now, 0
        state.refused += 1
        if state.refused <= self.config.media_flood_frames:
            return False
        if state.refused == self.config.media_flood_frames + 1:
            conn = state.conn
            language = conn.peer.language if conn.peer is not None else "ko"
            log.warning("closing %s socket: media flooding (%d refused frames in a second)", state.role, state.refused)
            conn.send_json({"type": "error", "error": "flooding", "time": now_iso(),
                            "message": i18n.text("flooding", language)})
            conn.close(CLOSE_ABUSE, "flooding")
        return True

    def _sender_owns(self, sender: Any, session_id: str) -> bool:
        """True when ``session_id`` is a live session of ``sender``'s own: the customer's one session,
        or one of the agent's. Only those are named in a ``frame_dropped`` and counted."""
        live = self.sessions.live.get(session_id)
        if live is None or sender is None:
            return False
        state: SenderState = sender.media
        if state.agent:
            return live.agent_id == state.agent_id or state.agent_id in live.roster.by_agent
        return session_id == state.session_id

    def request_keyframe(self, session_id: str, sender: Any, stream: int) -> None:
        key = (session_id, stream)
        now = self.clock()
        if now - self._last_keyframe_request.get(key, -1e9) < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_keyframe_request[key] = now
        sender.send_json({"type": "keyframe_request", "session_id": session_id, "from": "server",
                          "stream": framing.STREAM_NAMES[stream], "reason": "receiver_behind", "time": now_iso()})

    # -- the hot path ---------------------------------------------------------------------------------------
    def on_frame(self, conn: Any, data: bytes) -> None:
        """One binary message from ``conn``. Kept short: every lookup that does not change per frame
        is made once per sender (``SenderState``), and the usual case builds no objects of its own."""
        state: SenderState = conn.media
        size = len(data)
        total = self.total
        total.frames_in += 1
        total.bytes_in += size
        agent = state.agent
        if agent:
            if size < SESSION_PREFIX:
                self.drop(None, "malformed", conn)
                return
            session_id = data[:SESSION_PREFIX].hex()
            frame = data[SESSION_PREFIX:]
            if state.only_session is not None and session_id != state.only_session:
                self.drop(None, "not_connected", conn)
                return
        else:
            session_id = state.session_id
            frame = data
        if len(frame) > self.max_frame:
            self.drop(session_id, "too_large", conn)
            return
        if frame[:1] == b"\x02":
            self._on_group_frame(conn, state, session_id, frame, size)
            return
        try:
            _version, stream, flags, _sequence, _timestamp = parse_header(frame)
        except FrameError:
            self.drop(session_id, "malformed", conn)
            return
        if stream not in state.streams:
            self.drop(session_id, "wrong_direction", conn, stream)
            return
        live = self.sessions.live.get(session_id)
        if live is None or live.state != "connected" or (agent and live.agent_id != state.agent_id):
            self.drop(session_id if live else None, "not_connected", conn, stream)
            return
        self._count_in(session_id, size)
        if not self._within_rate(state, session_id, conn, stream):
            return
        keyframe = flags & FLAG_KEYFRAME != 0
        if agent:
            delivered = self._deliver(self.hub.customer(session_id), frame, stream, keyframe, session_id, conn)
        else:
            out = live.prefix + frame  # one copy, whatever the number of receivers
            hub = self.hub
            # the session's own agent: its console (the session lives on its node, never a guest socket)
            delivered = self._deliver(hub.console(live.agent_id), out, stream, keyframe, session_id, conn)
            for watcher in live.watchers:
                delivered += self._deliver(hub.participant(session_id, watcher), out, stream, keyframe, session_id,
                                           conn)
        if not delivered:
            self.drop(session_id, "no_receiver", conn, stream, notify=False)

    def _count_in(self, session_id: str, size: int) -> None:
        counters = self.per_session.get(session_id)
        if counters is None:
            counters = self.per_session[session_id] = Counters()
        counters.frames_in += 1
        counters.bytes_in += size

    def _within_rate(self, state: SenderState, session_id: str, conn: Any, stream: int) -> bool:
        """The sender's frame rate in this session (a token bucket per sender and session); over it, dropped."""
        bucket = state.buckets.get(session_id)
        if bucket is None:
            bucket = state.buckets[session_id] = TokenBucket(state.fps, max(1, int(state.fps)), clock=state.clock)
        if bucket.take():
            return True
        self.drop(session_id, "rate", conn, stream)
        return False

    def _on_group_frame(self, conn: Any, state: SenderState, session_id: str, frame: bytes, size: int) -> None:
        """A version-2 frame: from a participant with full rights, whose index its header names, to
        every other participant of the session."""
        try:
            kind, keyframe, sender, _epoch = group_header(frame)
        except FrameError:
            self.drop(session_id, "malformed", conn)
            return
        if kind not in GROUP_MEDIA_KINDS:
            self.drop(session_id, "wrong_direction", conn, kind)
            return
        live = self.sessions.live.get(session_id)
        me = None if live is None else live.roster.index_of(state.role, state.agent_id)
        if me is None or live.state != "connected":
            self.drop(session_id if me is not None else None, "not_connected", conn, kind)
            return
        roster = live.roster
        self._count_in(session_id, size)
        if roster.by_index[me].rights != "full":
            self.drop(session_id, "view_only", conn, kind)
            return
        if sender != me:
            self.drop(session_id, "wrong_sender", conn, kind)
            return
        if not self._within_rate(state, session_id, conn, kind):
            return
        # the version-1 stream of the sender's side, for the per-receiver drop policy and keyframe requests
        # (the agents of a session share the agent streams there)
        stream = (kind if me == CUSTOMER_INDEX else kind + framing.STREAM_AGENT_VIDEO)
        prefixed = None
        delivered = 0
        for index, member in roster.by_index.items():
            if index == me:
                continue
            if member.agent_id is None:
                delivered += self._deliver(self.hub.customer(session_id), frame, stream, keyframe, session_id, conn)
            else:
                if prefixed is None:
                    prefixed = live.prefix + frame  # one copy for every console
                # its guest socket for this session when it has one here, else its console
                delivered += self._deliver(self.hub.participant(session_id, member.agent_id), prefixed, stream,
                                           keyframe, session_id, conn)
        if not delivered:
            self.drop(session_id, "no_receiver", conn, kind, notify=False)

    def _deliver(self, target: Any, out: bytes, stream: int, keyframe: bool, session_id: str, sender: Any) -> int:
        """Hand ``out`` to one receiver's queue (its ``Outbox``: the drop policy is per receiver)."""
        if target is None:
            return 0
        outbox = self.outboxes.get(id(target))
        if outbox is None or outbox.conn is not target:
            outbox = self.outboxes[id(target)] = Outbox(self, target)
        outbox.send(out, stream, keyframe, session_id, sender)
        return 1

    # -- what the metrics and the admin API read ---------------------------------------------------------
    def queued_bytes(self) -> int:
        return sum(o.bytes for o in self.outboxes.values())

    def session_counters(self) -> list[dict[str, Any]]:
        """The counters of every live session that has sent media (the admin API's answer; kept out
        of the Prometheus text, where one series per session would grow without bound)."""
        return [{"session_id": sid, "frames_in": c.frames_in, "bytes_in": c.bytes_in, "frames_out": c.frames_out,
                 "bytes_out": c.bytes_out, "dropped": dict(sorted(c.dropped.items()))}
                for sid, c in self.per_session.items()]

    def metrics_text(self) -> str:
        """The Prometheus text (format 0.0.4) of ``anysupport.relay.metrics``."""
        from anysupport.relay.metrics import exposition

        return exposition(self)[0].decode()
