"""One session's end-to-end encrypted media for one side: the key exchange, seal, open, receivers.

Transport-free: the owner gives ``SessionMedia`` its ``send_json`` and ``send_frame`` callables and
an ``emit`` for events. A refused key exchange is told to the peer as ``key_exchange_failed``
(docs/protocol.md) and emitted locally; the peer's ``key_exchange_failed`` is emitted too, so the
window can say the connection is not secure and what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from anysupport_native.framing import STREAM_NAMES, FrameError

from anysupport.protocol.vocabulary import REKEY

from ..e2e import VERSION, KeyExchange, KeyExchangeError, MediaKeys
from ..media.receiver import AudioReceiver, VideoReceiver
from .events import Listener
from .group_media import GroupMedia
from .rekey import RekeyLimit

log = logging.getLogger("anysupport.client")

STREAM_IDS = {name: stream for stream, name in STREAM_NAMES.items()}

# why a key exchange failed, as ``key_exchange_failed`` says it: the key module's finer codes folded in
FAILURE_REASONS = ("bad_commitment", "bad_public_key", "unsupported_version", "protocol", "no_keys", "rekey_limit")
_REASON_OF_CODE = {"bad_commitment": "bad_commitment", "bad_public_key": "bad_public_key",
                   "low_order_key": "bad_public_key", "reflected_key": "bad_public_key",
                   "unsupported_version": "unsupported_version"}


def failure_reason(code: str) -> str:
    """The ``key_exchange_failed`` reason for a ``KeyExchangeError`` code (anything else: ``protocol``)."""
    return _REASON_OF_CODE.get(code, "protocol")


def stream_id(name: str) -> int:
    return STREAM_IDS[name]


class SessionMedia:
    """Keys and media of one session, for one side."""

    def __init__(self, side: str, session_id: str, *, send_json: Callable[[dict[str, Any]], Any],
                 send_frame: Callable[[bytes], bool], emit: Listener, monotonic: Callable[[], float] = time.monotonic):
        self.side = side
        self.session_id = session_id
        self.send_json = send_json
        self.send_frame = send_frame
        self.emit = emit
        self.exchange = KeyExchange(side, session_id)
        # new keys at most as often as the protocol allows (rekey.py); the answering side allows half the gap
        self.rekeys = RekeyLimit(clock=monotonic, slack=1.0 if side == "agent" else REKEY["answer_slack"])
        self.keys: MediaKeys | None = None
        self._previous: MediaKeys | None = None  # opens frames still in flight after a re-key
        self.receivers: dict[int, VideoReceiver | AudioReceiver] = {}
        self.frames_refused = 0
        self.taps: list[Callable[[Any, bytes], None]] = []  # (header, payload) of every opened frame (recorders)
        self.failure: dict[str, Any] | None = None  # the last key exchange failure, ours or the peer's
        # version 2 (a session of more than two, issue 21): from the first ``participants`` with version 2
        self.group = GroupMedia(session_id, send_json=send_json, emit=emit, monotonic=monotonic)
        self._epochs: dict[int, tuple[int, int]] = {}  # stream -> (sender, epoch) of the last opened v2 frame

    @property
    def ready(self) -> bool:
        """Media can be sealed: version-1 keys agreed, or (version 2) a sender key of mine."""
        return self.group.ready if self.group.active else self.keys is not None

    def start_key_exchange(self) -> float:
        """Start a new exchange now, or say how many seconds it must wait (``RekeyLimit``, counted from the
        last keys agreed): 0 when started."""
        wait = self.rekeys.wait()
        if wait > 0:
            return wait
        self.failure = None
        self.send_json(self.exchange.start())
        return 0.0

    def on_key_exchange(self, message: dict[str, Any]) -> None:
        try:
            version = message.get("version", VERSION)
            if version != VERSION:
                raise KeyExchangeError("unsupported_version", f"key exchange version {version!r}, we speak {VERSION}")
            for name in ("public_key", "commitment"):
                if name in message and not isinstance(message[name], str):
                    raise KeyExchangeError("protocol", f"{name} is not a string")
            if self.side == "customer" and self.exchange.starts_new(message):
                wait = self.rekeys.retry_after()
                if wait > 0:  # new keys too soon after the last: no fresh key for this one (issue 18 #7)
                    self.refuse_rekey(wait)
                    return
                self.rekeys.agreed()
            replies = self.exchange.receive(message)
        except KeyExchangeError as exc:
            self.fail(exc.code, str(exc))
            return
        for reply in replies:
            self.send_json(reply)
        new = self.exchange.keys
        if new is not None and new is not self.keys:
            if self.side == "agent":
                # the agent counts keys agreed, not exchanges started: one that never reached the customer
                # (its socket was gone) gave no code to compare and does not make the next one wait longer
                self.rekeys.agreed()
            self.failure = None
            self._previous, self.keys = self.keys, new
            for receiver in self.receivers.values():
                receiver.new_key()
            self.emit("keys", {"sas": new.sas, "sas_display": new.sas_display, "generation": new.generation})

    def fail(self, code: str, detail: str = "") -> dict[str, Any]:
        """Refuse the exchange: tell the peer (``key_exchange_failed``) and emit it; returns what was sent."""
        reason = failure_reason(code)
        log.warning("key exchange refused (%s): %s", reason, detail or code)
        message: dict[str, Any] = {"type": "key_exchange_failed", "reason": reason}
        if self.side == "agent":
            message["session_id"] = self.session_id
        self.send_json(message)
        self.failure = {"reason": reason, "by": "us", "code": code, "session_id": self.session_id}
        self.emit("key_exchange_failed", dict(self.failure))
        return message

    def refuse_rekey(self, retry_after: int) -> None:
        """Too many new keys too fast: refuse this exchange (``rekey_limit``, with when to try again)."""
        log.warning("key exchange refused: new keys asked for too often (again in %d s)", retry_after)
        message: dict[str, Any] = {"type": "key_exchange_failed", "reason": "rekey_limit", "retry_after": retry_after}
        if self.side == "agent":
            message["session_id"] = self.session_id
        self.send_json(message)
        self.failure = {"reason": "rekey_limit", "by": "us", "code": "rekey_limit", "retry_after": retry_after,
                        "session_id": self.session_id}
        self.emit("key_exchange_failed", dict(self.failure))

    def on_key_exchange_failed(self, message: dict[str, Any]) -> None:
        """The peer refused our keys: no media will flow until a new exchange succeeds."""
        reason = message.get("reason") if message.get("reason") in FAILURE_REASONS else "protocol"
        self.failure = {"reason": reason, "by": "peer", "code": reason, "session_id": self.session_id}
        if isinstance(message.get("retry_after"), int):
            self.failure["retry_after"] = message["retry_after"]
        self.emit("key_exchange_failed", dict(self.failure))

    def seal_and_send(self, stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bool:
        keys = self.keys
        if self.group.active:  # version 2: never version 1 again in this session
            try:
                frame = self.group.seal(stream, payload, keyframe, timestamp_us)
            except FrameError as exc:
                log.warning("frame not sealed: %s", exc)
                return False
            return frame is not None and self.send_frame(frame)
        if keys is None:
            return False
        try:
            frame = keys.sealer.seal(stream, payload, keyframe=keyframe, timestamp_us=timestamp_us)
        except FrameError as exc:
            log.warning("frame not sealed: %s", exc)
            return False
        return self.send_frame(frame)

    def _on_group_frame(self, frame: bytes, arrival_us: int) -> None:
        opened = self.group.open(frame)
        if opened is None:
            self.frames_refused += 1
            return
        header, payload, sender, epoch = opened
        for tap in self.taps:
            tap(header, payload)
        receiver = self.receivers.get(header.stream)
        if receiver is None:
            return
        if self._epochs.get(header.stream) != (sender, epoch):  # a new key: sequences start again
            receiver.new_key()
            self._epochs[header.stream] = (sender, epoch)
        receiver.receive(header, payload, arrival_us)

    def on_frame(self, frame: bytes) -> None:
        arrival_us = time.time_ns() // 1000
        if frame[:1] == b"\x02":
            self._on_group_frame(frame, arrival_us)
            return
        opened = None
        for keys in (self.keys, self._previous):
            if keys is None:
                continue
            try:
                opened = keys.opener.open(frame)
                break
            except FrameError:
                continue
        if opened is None:
            self.frames_refused += 1
            return
        header, payload = opened
        for tap in self.taps:
            tap(header, payload)
        receiver = self.receivers.get(header.stream)
        if receiver is not None:
            receiver.receive(header, payload, arrival_us)
