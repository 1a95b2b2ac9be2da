"""Version 2 for one participant of a session of more than two (issue 21; docs/protocol.md V2.8).

Transport-free, as ``SessionMedia`` (which owns one and hands it the version-2 messages and frames):

- ``on_participants``: the server's list. From the first with ``version`` 2 on, every list is a
  membership: a new epoch of my sender key (``GroupKeys.membership``) given to those present only,
  and a pairwise X25519 agreement (``key_exchange`` with ``to``, plain mode, version 2) with each new
  participant; of each pair the higher index speaks first.
- ``on_key_exchange`` (a pair's public key, ``from_index``): answer with mine if the peer spoke first,
  agree the ``PairChannel`` and give the peer my current key; the pair's security code is emitted
  (``pair_keys``) to show next to that participant's name.
- ``on_sender_key``: a peer's key of an epoch, for my opener; returns the ``sealed`` messages of that peer
  that arrived before it (``SealedWait``), opened now, in arrival order.
- ``seal`` / ``open``: version-2 frames (``GroupSealer`` / ``GroupOpener``); ``open`` returns a
  version-1-shaped header (``FrameHeader``) so the receivers need not know the version.

A refused box or pair key is emitted as ``group_refused`` and logged; it never stops the rest.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from anysupport_native import group, keys
from anysupport_native._frame_format import FLAG_KEYFRAME, FrameHeader
from anysupport_native.framing import STREAM_AGENT_VIDEO, FrameError
from anysupport_native.keys import KeyExchangeError

from anysupport.protocol.vocabulary import REKEY

from .rekey import RekeyLimit
from .sealed_wait import SealedWait

log = logging.getLogger("anysupport.client")

VERSION = group.VERSION
# what travels sealed between participants in a version-2 session (docs/protocol.md V2.5)
SEALED_TYPES = frozenset({"chat", "guide", "annotation", "anchor"})


class GroupMedia:
    def __init__(self, session_id: str, *, send_json: Callable[[dict[str, Any]], Any], emit,
                 monotonic: Callable[[], float] = time.monotonic):
        self.session_id = session_id
        self.send_json = send_json
        self.emit = emit
        self.monotonic = monotonic
        self.keys: group.GroupKeys | None = None
        self.me: int | None = None
        self.participants: list[dict[str, Any]] = []
        self._pending: dict[int, Any] = {}  # peer -> my private key sent to it, its answer awaited
        self.sas: dict[int, str] = {}  # each pair's security code, by the peer's index
        # how often a peer may make me answer a new pair exchange (a new code): the version-1 rule, per pair
        self._answers: dict[int, RekeyLimit] = {}
        self._restarts: dict[int, RekeyLimit] = {}  # how often a peer may ask me for a new pair (no_keys)
        # peers that asked for a new pair (no_keys) not agreed yet: my old channel with them is of no use to
        # them, so a refused exchange is started again (``retry_pair``) although I still hold that channel
        self._renewing: set[int] = set()
        self.refused = 0
        self.waiting = SealedWait(clock=monotonic)  # sealed messages early for their sender's key

    @property
    def active(self) -> bool:
        return self.keys is not None

    @property
    def ready(self) -> bool:
        return self.keys is not None and self.keys.sealer is not None

    @property
    def epoch(self) -> int:
        return self.keys.epoch if self.keys is not None else 0

    # -- membership ----------------------------------------------------------------------------------------
    def on_participants(self, message: dict[str, Any]) -> None:
        self.participants = list(message.get("participants") or ())
        if message.get("version") != VERSION and self.keys is None:
            return
        me = message["you"]
        if self.keys is None or self.me != me:
            self.me = me
            self.keys = group.GroupKeys(self.session_id, me, clock=self.monotonic)
            self._pending.clear()
            self.sas.clear()
            self._refuse_waiting(self.waiting.clear(), "a new participant index")
        # members, whether or not their socket is open this moment: keys change when someone joins or
        # leaves, not when a socket blinks (a reconnection keeps its keys, as in version 1)
        present = {p["index"] for p in self.participants} - {me}
        for gone in set(self.sas) - present:
            self.sas.pop(gone, None)
        for peer in set(self._pending) - present:
            self._pending.pop(peer, None)
        self._renewing &= present
        self._expire_waiting()
        for gone in self.waiting.senders() - present:  # it left: its keys are gone, nothing of it opens
            self._refuse_waiting(self.waiting.drop(gone), "the participant left")
        self._send_boxes(self.keys.membership(present))
        for peer in sorted(present):
            if me > peer and peer not in self.keys.channels and peer not in self._pending:
                self._pending[peer] = private = keys.generate_private_key()
                self._key_message(peer, private)
        self.emit("group_epoch", {"epoch": self.keys.epoch, "present": sorted(present), "you": me})

    def _key_message(self, peer: int, private) -> None:
        self.send_json({"type": "key_exchange", "version": VERSION, "to": peer,
                        "public_key": keys.encode_public_key(private)})

    def _send_boxes(self, boxes: dict[int, tuple[int, str]]) -> None:
        for peer, (epoch, box) in boxes.items():
            self.send_json({"type": "sender_key", "to": peer, "epoch": epoch, "box": box})

    # -- pairs and keys ------------------------------------------------------------------------------------
    def on_key_exchange(self, message: dict[str, Any]) -> None:
        if self.keys is None:
            return
        peer = message.get("from_index")
        public = message.get("public_key")
        if not isinstance(peer, int) or not isinstance(public, str):
            return
        private = self._pending.pop(peer, None)
        if private is None:  # the peer spoke first (its index is higher): answer with a fresh key of mine
            limit = self._answers.setdefault(peer, RekeyLimit(clock=self.monotonic, slack=REKEY["answer_slack"]))
            wait = limit.retry_after()
            if wait > 0:  # new codes too often: a server searching for a matching code (issue 18 #7)
                self.send_json({"type": "key_exchange_failed", "reason": "rekey_limit", "retry_after": wait,
                                "to": peer})
                self._refused("pair", peer, KeyExchangeError("rekey_limit", f"again in {wait} s"))
                return
            limit.agreed()
            private = keys.generate_private_key()
            self._key_message(peer, private)
        try:
            channel = group.PairChannel.agree(self.session_id, self.me, private, peer, keys.decode_public_key(public))
        except (KeyExchangeError, ValueError) as exc:
            self._refused("pair", peer, exc)
            return
        self.sas[peer] = channel.sas
        self._renewing.discard(peer)
        self._send_boxes(self.keys.channel_ready(channel))
        self.emit("pair_keys", {"peer": peer, "sas": channel.sas, "sas_display": channel.sas_display,
                                "name": self.name_of(peer)})

    def on_no_keys(self, message: dict[str, Any]) -> None:
        """A peer of a lower index has no pair with me (its client started again: a reloaded page): a new
        pair exchange, at most as often as the re-key limit allows (a server replaying the request gets a
        handful of new codes, not a search). Ignored while my key message to it awaits its answer."""
        peer = message.get("from_index")
        if self.keys is None or self.me is None or not isinstance(peer, int) or peer >= self.me:
            return
        if peer in self._pending or peer not in {p.get("index") for p in self.participants}:
            return
        limit = self._restarts.setdefault(peer, RekeyLimit(clock=self.monotonic))
        if limit.retry_after() > 0:
            self._refused("pair", peer, KeyExchangeError("rekey_limit", "asked again too soon"))
            return
        limit.agreed()
        self._renewing.add(peer)
        self._pending[peer] = private = keys.generate_private_key()
        self._key_message(peer, private)

    def on_key_exchange_failed(self, message: dict[str, Any]) -> float | None:
        """A peer refused the pair exchange I started; with ``rekey_limit`` (e.g. this console restarted
        moments after its first exchange) the seconds after which to start it again, else None."""
        peer = message.get("from_index")
        if self.keys is None or peer not in self._pending:
            return None
        self._pending.pop(peer, None)
        self._refused("pair", peer, KeyExchangeError(str(message.get("reason") or "protocol"), "refused by the peer"))
        retry = message.get("retry_after")
        if message.get("reason") == "rekey_limit" and isinstance(retry, (int, float)) and retry >= 0:
            return float(retry)
        return None

    def retry_pair(self, peer: int) -> None:
        """Start the pair exchange with ``peer`` again (it is still present and still has no channel, or asked
        for a new one)."""
        if self.keys is None or self.me is None or peer in self._pending:
            return
        if peer in self.keys.channels and peer not in self._renewing:
            return
        if peer not in {p["index"] for p in self.participants} or not self.me > peer:
            return
        self._pending[peer] = private = keys.generate_private_key()
        self._key_message(peer, private)

    def on_sender_key(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Hold a peer's key; the sealed messages of that peer that waited for it, opened (in arrival order)."""
        if self.keys is None:
            return []
        peer = message.get("from_index")
        try:
            self.keys.receive(peer, message["epoch"], message["box"])
        except (KeyExchangeError, FrameError) as exc:
            self._refused("sender_key", peer, exc)
            return []
        self.emit("sender_key", {"peer": peer, "epoch": message["epoch"]})
        self._expire_waiting()
        opened = (self._open_sealed(waiting, wait=False) for waiting in self.waiting.take(peer, message["epoch"]))
        return [inner for inner in opened if inner is not None]

    def _refused(self, what: str, peer: Any, exc: Exception) -> None:
        self.refused += 1
        log.warning("version 2: %s of participant %s refused: %s", what, peer, exc)
        self.emit("group_refused", {"what": what, "peer": peer, "code": getattr(exc, "code", "protocol")})

    def name_of(self, index: int) -> str:
        return next((p.get("name", "") for p in self.participants if p.get("index") == index), "")

    # -- frames --------------------------------------------------------------------------------------------
    def seal(self, stream: int, payload: bytes, keyframe: bool, timestamp_us: int) -> bytes | None:
        """A version-2 frame of ``stream``'s kind (video or audio), or None without a key yet."""
        sealer = self.keys.sealer if self.keys is not None else None
        if sealer is None:
            return None
        return sealer.seal(stream & 1, payload, keyframe=keyframe, timestamp_us=timestamp_us)

    def open(self, frame: bytes) -> tuple[FrameHeader, bytes, int, int] | None:
        """(a version-1-shaped header, the payload, the sender's index, its epoch), or None (refused: counted)."""
        if self.keys is None:
            return None
        try:
            header, payload = self.keys.opener.open(frame)
        except FrameError:
            self.refused += 1
            return None
        stream = header.kind + (0 if header.sender == group.CUSTOMER_INDEX else STREAM_AGENT_VIDEO)
        flags = FLAG_KEYFRAME if header.keyframe else 0
        return (FrameHeader(VERSION, stream, flags, header.sequence, header.timestamp_us), payload, header.sender,
                header.epoch)

    def seal_control(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """A ``sealed`` message carrying ``message`` (without ``session_id``) as a kind-2 frame, or None
        without a key of mine yet."""
        sealer = self.keys.sealer if self.keys is not None else None
        if sealer is None:
            return None
        inner = {k: v for k, v in message.items() if k != "session_id"}
        frame = sealer.seal(group.KIND_CONTROL, json.dumps(inner, ensure_ascii=False).encode())
        return {"type": "sealed", "frame": group.b64(frame)}

    def open_control(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """The message inside a ``sealed`` one, with ``from``/``from_index``/``time`` as relayed, or None:
        refused, or (its sender's key of that epoch not held yet) kept until that key arrives
        (``on_sender_key`` returns it then), at most ``SEALED_WAIT``."""
        if self.keys is None:
            return None
        self._expire_waiting()
        return self._open_sealed(message, wait=True)

    def _open_sealed(self, message: dict[str, Any], *, wait: bool) -> dict[str, Any] | None:
        try:
            frame = group.unb64(message.get("frame", ""))
            header, payload = self.keys.opener.open(frame)
            inner = json.loads(payload)
        except (FrameError, ValueError, TypeError) as exc:
            if wait and getattr(exc, "code", None) == "unknown_key":
                early = group.parse_header(frame)  # only a member's key can still come
                if early.sender in self.keys.present and self.waiting.hold(early.sender, early.epoch, len(frame), message):
                    return None
                exc = FrameError("unknown_key", f"{exc}; {len(self.waiting)} sealed messages wait already")
            self._refused("sealed", message.get("from_index"), exc)
            return None
        if header.kind != group.KIND_CONTROL or not isinstance(inner, dict) or inner.get("type") not in SEALED_TYPES:
            self._refused("sealed", header.sender, FrameError("bad_stream", "not a sealed control message"))
            return None
        return {**inner, "from": message.get("from"), "from_index": header.sender, "time": message.get("time"),
                **({"session_id": message["session_id"]} if "session_id" in message else {})}

    def _expire_waiting(self) -> None:
        self._refuse_waiting(self.waiting.expire(), f"no key within {self.waiting.max_age_s:g} s")

    def _refuse_waiting(self, messages: list[dict[str, Any]], why: str) -> None:
        for message in messages:
            self._refused("sealed", message.get("from_index"), FrameError("unknown_key", f"waited: {why}"))

    def removed(self) -> None:
        """I was removed from the session: every key goes (nothing more is opened or sealed)."""
        self.keys = None
        self.waiting.clear()
        self._pending.clear()
        self.sas.clear()
