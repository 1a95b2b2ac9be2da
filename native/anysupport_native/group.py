"""End-to-end encryption for sessions of more than two: sender keys (version 2, issue 21).

Specified in docs/protocol.md, "Media frames, version 2"; ``tests/data/group_vectors.json`` holds
test vectors for every rule and ``docs/security.md`` says what a malicious server can and cannot do.
This is the reference implementation (pure Python, ``cryptography``); it has no transport and no
clock of its own.

- **Participants** have an index (u8) the server gives them for the session's life: 0 is the
  customer, 1 the first agent, 2, 3, … those who join later. Indexes are never reused in a session.
- **Pairwise channels** (``PairChannel``): every pair runs X25519 as version 1 does, with a
  transcript that names both indexes; each pair gets one wrap key per direction and its own
  six-digit security code (SAS).
- **Sender keys**: each participant seals all it sends (video, audio, sealed control messages) under
  its own random 16-byte key of an *epoch* (u32, from 1), and gives that key to every other
  participant wrapped under their pair's wrap key (``PairChannel.wrap`` → the ``box`` of a
  ``sender_key`` message). When the membership changes (a join or a leave) every participant
  starts a new epoch with a fresh key and gives it only to the participants present then: a
  participant can open exactly what was sealed while it was present.
- **Frames** (``GroupSealer``/``GroupOpener``): a 20-byte clear header (version 2, kind, flags,
  sender index, epoch, sequence, timestamp) authenticated as AAD, AES-128-GCM under a frame key
  derived from the sender key, the session id, the sender index and the epoch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._frame_format import (
    KEY_SIZE,
    MAX_FRAME_BYTES,
    MAX_SEQUENCE,
    NONCE_SIZE,
    TAG_SIZE,
    FrameError,
    open_in_window,
)
from .keys import KeyExchangeError, _hkdf, _private_key, _session_id_bytes, public_key_bytes, sas_from_bytes

VERSION = 2
LABEL = b"AnySupport-E2EE-v2"
HEADER_SIZE = 20  # (the tag, key and nonce sizes, the frame limit and the sequence limit are version 1's)
FRAME_OVERHEAD = HEADER_SIZE + TAG_SIZE
MAX_EPOCH = 0xFFFFFFFF
MAX_INDEX = 254  # 255 is reserved

KIND_VIDEO, KIND_AUDIO, KIND_CONTROL = 0, 1, 2
KINDS = (KIND_VIDEO, KIND_AUDIO, KIND_CONTROL)
FLAG_KEYFRAME = 0x01
CUSTOMER_INDEX = 0

_HEADER = struct.Struct(">BBBBIIQ")  # version, kind, flags, sender, epoch, sequence, timestamp_us
_NONCE = struct.Struct(">BBHII")  # kind, sender, zero, epoch, sequence


class GroupHeader(NamedTuple):
    version: int
    kind: int
    keyframe: bool
    sender: int
    epoch: int
    sequence: int
    timestamp_us: int


def _check_index(index, name: str = "index") -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise FrameError("bad_sender", f"{name} must be a participant index 0…{MAX_INDEX}, not {index!r}")
    return index


def _check_epoch(epoch) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= MAX_EPOCH:
        raise FrameError("bad_epoch", f"an epoch is 1…{MAX_EPOCH}, not {epoch!r}")
    return epoch


def _check_key(key) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        raise FrameError("bad_key", f"a key is {KEY_SIZE} bytes")
    return bytes(key)


def _sid_field(session_id) -> bytes:
    sid = _session_id_bytes(session_id)
    return struct.pack(">H", len(sid)) + sid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise ValueError("base64url without padding expected")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("not the canonical base64url of its bytes")
    return data


# -- keys --------------------------------------------------------------------------------------------------
def session_salt(session_id) -> bytes:
    """SHA-256(LABEL || u16 len(session id) || session id): the salt of every frame key."""
    return hashlib.sha256(LABEL + _sid_field(session_id)).digest()


def frame_key(sender_key: bytes, session_id, sender: int, epoch: int) -> bytes:
    """The AES-128 key that seals ``sender``'s frames of ``epoch``: HKDF-SHA256(IKM = sender key,
    salt = session_salt, info = LABEL || " frame" || u8 sender || u32 epoch)."""
    info = LABEL + b" frame" + struct.pack(">BI", _check_index(sender, "sender"), _check_epoch(epoch))
    return _hkdf(_check_key(sender_key), session_salt(session_id), info, KEY_SIZE)


def new_sender_key() -> bytes:
    return os.urandom(KEY_SIZE)


@dataclass(frozen=True)
class PairChannel:
    """The pairwise channel between participant ``me`` and ``peer``: wrap keys and the pair's SAS.

    Built from an X25519 agreement (``PairChannel.agree``). The transcript orders the two by index:
    ``LABEL || " pair" || u16 len(sid) || sid || u8 low || public(low) || u8 high || public(high)``.
    """

    session_id: str
    me: int
    peer: int
    send_key: bytes  # wraps what ``me`` sends to ``peer``
    recv_key: bytes  # unwraps what ``peer`` sends to ``me``
    sas: str

    @property
    def sas_display(self) -> str:
        return f"{self.sas[:3]} {self.sas[3:]}"

    @classmethod
    def agree(cls, session_id, me: int, my_private, peer: int, peer_public) -> PairChannel:
        me, peer = _check_index(me, "me"), _check_index(peer, "peer")
        if me == peer:
            raise KeyExchangeError("bad_peer", "a participant has no channel with itself")
        private = _private_key(my_private)
        mine, theirs = public_key_bytes(private), public_key_bytes(peer_public)
        if hmac.compare_digest(mine, theirs):
            raise KeyExchangeError("reflected_key", "the peer sent back our own public key")
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(theirs))
        except ValueError:
            raise KeyExchangeError("low_order_key", "the peer's public key is of low order") from None
        if not any(shared):
            raise KeyExchangeError("low_order_key", "the shared secret is all zero")
        (low, low_pub), (high, high_pub) = sorted(((me, mine), (peer, theirs)))
        transcript = (LABEL + b" pair" + _sid_field(session_id)
                      + bytes([low]) + low_pub + bytes([high]) + high_pub)
        salt = hashlib.sha256(transcript).digest()

        def wrap_key(src: int, dst: int) -> bytes:
            return _hkdf(shared, salt, LABEL + b" wrap" + bytes([src, dst]), KEY_SIZE)

        sas = sas_from_bytes(_hkdf(shared, salt, LABEL + b" sas", 4))
        return cls(str(session_id), me, peer, wrap_key(me, peer), wrap_key(peer, me), sas)

    def _aad(self, src: int, dst: int, epoch: int) -> bytes:
        return LABEL + b" sender-key" + _sid_field(self.session_id) + struct.pack(">BBI", src, dst, epoch)

    def wrap(self, epoch: int, sender_key: bytes, *, nonce: bytes | None = None) -> str:
        """The ``box`` of a ``sender_key`` message giving ``peer`` my key of ``epoch``:
        base64url(nonce (12 random bytes) || AES-128-GCM(send_key, nonce, sender key, AAD) || tag),
        AAD = LABEL || " sender-key" || u16 len(sid) || sid || u8 from || u8 to || u32 epoch."""
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        sealed = AESGCM(self.send_key).encrypt(nonce, _check_key(sender_key),
                                               self._aad(self.me, self.peer, _check_epoch(epoch)))
        return b64(nonce + sealed)

    def unwrap(self, epoch: int, box: str) -> bytes:
        """The peer's sender key of ``epoch`` from its ``box``; ``KeyExchangeError("bad_box")`` otherwise."""
        try:
            data = unb64(box)
        except (ValueError, TypeError):
            raise KeyExchangeError("bad_box", "the box is not base64url") from None
        if len(data) != NONCE_SIZE + KEY_SIZE + TAG_SIZE:
            raise KeyExchangeError("bad_box", "a box is 44 bytes")
        try:
            return AESGCM(self.recv_key).decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:],
                                                 self._aad(self.peer, self.me, _check_epoch(epoch)))
        except InvalidTag:
            raise KeyExchangeError("bad_box", "the box does not open with this pair's key") from None


# -- frames ------------------------------------------------------------------------------------------------
def pack_header(kind: int, sender: int, epoch: int, sequence: int, timestamp_us: int, *,
                keyframe: bool = False) -> bytes:
    if kind not in KINDS:
        raise FrameError("bad_stream", f"kind must be one of {KINDS}")
    return _HEADER.pack(VERSION, kind, FLAG_KEYFRAME if keyframe else 0, _check_index(sender, "sender"),
                        _check_epoch(epoch), sequence, timestamp_us)


def build_nonce(kind: int, sender: int, epoch: int, sequence: int) -> bytes:
    """kind || sender || 00 00 || u32 epoch || u32 sequence."""
    return _NONCE.pack(kind, sender, 0, epoch, sequence)


def parse_header(data, max_frame_bytes: int = MAX_FRAME_BYTES) -> GroupHeader:
    """What the relay reads of a version-2 frame (it holds no key): the checks of steps 1–2."""
    view = memoryview(data).cast("B")
    if len(view) < FRAME_OVERHEAD:
        raise FrameError("truncated", f"a frame is at least {FRAME_OVERHEAD} bytes")
    if len(view) > max_frame_bytes:
        raise FrameError("too_large", f"a frame is at most {max_frame_bytes} bytes")
    version, kind, flags, sender, epoch, sequence, timestamp_us = _HEADER.unpack_from(view)
    if version != VERSION:
        raise FrameError("bad_version", f"version {version}, expected {VERSION}")
    if kind not in KINDS:
        raise FrameError("bad_stream", f"kind {kind}")
    if flags & ~FLAG_KEYFRAME:
        raise FrameError("bad_flags", f"flags {flags:#04x}")
    if sender > MAX_INDEX or epoch == 0:
        raise FrameError("bad_header", "sender 255 and epoch 0 are reserved")
    return GroupHeader(version, kind, bool(flags & FLAG_KEYFRAME), sender, epoch, sequence, timestamp_us)


class GroupSealer:
    """Seals what one participant sends under its sender key of one epoch (a new epoch: a new sealer).

    One counter per kind from 0; never two sealers for one key (the counters would repeat nonces)."""

    def __init__(self, session_id, sender: int, epoch: int, sender_key: bytes, *,
                 max_frame_bytes: int = MAX_FRAME_BYTES):
        self.sender, self.epoch = _check_index(sender, "sender"), _check_epoch(epoch)
        self._aead = AESGCM(frame_key(sender_key, session_id, sender, epoch))
        self.max_frame_bytes = max_frame_bytes
        self._counters = {kind: itertools.count() for kind in KINDS}

    def __reduce__(self):
        raise TypeError("a GroupSealer must not be copied: its sequence counters prevent nonce reuse")

    def seal(self, kind: int, payload, *, keyframe: bool = False, timestamp_us: int | None = None) -> bytes:
        if kind not in KINDS:
            raise FrameError("bad_stream", f"kind must be one of {KINDS}")
        size = len(memoryview(payload).cast("B"))
        if size + FRAME_OVERHEAD > self.max_frame_bytes:
            raise FrameError("too_large", f"a {size}-byte payload is over the frame limit")
        timestamp_us = time.time_ns() // 1000 if timestamp_us is None else timestamp_us
        sequence = next(self._counters[kind])
        if sequence > MAX_SEQUENCE:
            raise FrameError("sequence_exhausted", "2**32 frames of this kind under one key: start a new epoch")
        header = pack_header(kind, self.sender, self.epoch, sequence, timestamp_us, keyframe=keyframe)
        return header + self._aead.encrypt(build_nonce(kind, self.sender, self.epoch, sequence), payload, header)


@dataclass
class _Held:
    aead: AESGCM
    windows: dict[int, list[int]] = field(default_factory=lambda: {kind: [0, 0] for kind in KINDS})
    until: float | None = None  # a replaced epoch: still opened until then (frames in flight)


class GroupOpener:
    """Opens every other participant's frames: the keys it holds by (sender, epoch), a replay window
    per sender, epoch and kind. ``clock`` (seconds, monotonic) decides when replaced epochs expire."""

    def __init__(self, session_id, me: int, *, clock=time.monotonic, grace_s: float = 1.0,
                 max_frame_bytes: int = MAX_FRAME_BYTES):
        self.session_id, self.me = str(session_id), _check_index(me, "me")
        self.clock, self.grace_s, self.max_frame_bytes = clock, grace_s, max_frame_bytes
        self._keys: dict[tuple[int, int], _Held] = {}
        self._lock = threading.Lock()

    def add_key(self, sender: int, epoch: int, sender_key: bytes) -> None:
        """Hold ``sender``'s key of ``epoch``; its older epochs are opened ``grace_s`` longer, then dropped."""
        if _check_index(sender, "sender") == self.me:
            raise FrameError("bad_sender", "my own frames are not opened")
        held = _Held(AESGCM(frame_key(sender_key, self.session_id, sender, epoch)))
        now = self.clock()
        with self._lock:
            for (s, e), old in self._keys.items():
                if s == sender and e < epoch and old.until is None:
                    old.until = now + self.grace_s
            self._keys.setdefault((sender, epoch), held)

    def remove(self, sender: int) -> None:
        """Forget every key of a participant who left: nothing of theirs opens any more."""
        with self._lock:
            for key in [k for k in self._keys if k[0] == sender]:
                del self._keys[key]

    def epochs(self, sender: int) -> list[int]:
        self._expire()
        return sorted(e for s, e in self._keys if s == sender)

    def _expire(self) -> None:
        now = self.clock()
        with self._lock:
            for key in [k for k, held in self._keys.items() if held.until is not None and held.until <= now]:
                del self._keys[key]

    def open(self, frame) -> tuple[GroupHeader, bytes]:
        header = parse_header(frame, self.max_frame_bytes)
        if header.sender == self.me:
            raise FrameError("wrong_direction", "a frame of my own came back")
        self._expire()
        held = self._keys.get((header.sender, header.epoch))
        if held is None:
            raise FrameError("unknown_key", f"no key of participant {header.sender} for epoch {header.epoch}")
        nonce = build_nonce(header.kind, header.sender, header.epoch, header.sequence)
        payload = open_in_window(held.aead, nonce, frame, HEADER_SIZE, held.windows[header.kind], header.sequence,
                                 self._lock)
        return header, payload


# -- one participant's keys ----------------------------------------------------------------------------------
class GroupKeys:
    """One participant's side of the scheme: its channels, its sender key, the others' keys.

    Every change of membership is a new epoch of my own key, given only to those present::

        keys = GroupKeys(session_id, me=1)
        keys.channel_ready(channel)           # a PairChannel with a participant now present
        boxes = keys.membership({0, 2})       # who is present now (besides me): {peer: (epoch, box)}
        keys.receive(peer, epoch, box)        # a peer's sender_key message for me
        frame = keys.sealer.seal(KIND_VIDEO, payload)
        header, payload = keys.opener.open(frame)

    ``membership`` returns the ``sender_key`` boxes to send; the caller sends them (one message per
    peer) and seals with ``sealer`` from then on. A peer left out of ``present`` is forgotten: its
    channel and its keys are dropped at once.
    """

    def __init__(self, session_id, me: int, *, clock=time.monotonic, grace_s: float = 1.0,
                 key_source=new_sender_key):
        self.session_id, self.me = str(session_id), _check_index(me, "me")
        self.key_source = key_source
        self.channels: dict[int, PairChannel] = {}
        self.highest: dict[int, int] = {}  # the newest epoch received from each peer
        self.present: frozenset[int] = frozenset()
        self.epoch = 0
        self.sender_key: bytes | None = None
        self.sealer: GroupSealer | None = None
        self.opener = GroupOpener(session_id, me, clock=clock, grace_s=grace_s)

    def channel_ready(self, channel: PairChannel) -> dict[int, tuple[int, str]]:
        """A pair's channel is agreed: if that peer is present, it gets my current key now."""
        if channel.me != self.me:
            raise KeyExchangeError("bad_peer", "the channel is not mine")
        if self.channels.get(channel.peer) not in (None, channel):  # its client started again: new keys
            self.opener.remove(channel.peer)
            self.highest.pop(channel.peer, None)
        self.channels[channel.peer] = channel
        if channel.peer in self.present and self.sender_key is not None:
            return {channel.peer: (self.epoch, channel.wrap(self.epoch, self.sender_key))}
        return {}

    def membership(self, present) -> dict[int, tuple[int, str]]:
        """The participants present now (without me). Any change starts a new epoch."""
        present = frozenset(_check_index(p, "present") for p in present) - {self.me}
        if present == self.present and self.sender_key is not None:
            return {}
        for gone in self.present - present:
            self.opener.remove(gone)
            self.channels.pop(gone, None)
            self.highest.pop(gone, None)
        self.present = present
        if self.epoch >= MAX_EPOCH:
            raise FrameError("sequence_exhausted", "no epochs left in this session")
        self.epoch += 1
        self.sender_key = self.key_source()
        self.sealer = GroupSealer(self.session_id, self.me, self.epoch, self.sender_key)
        return {peer: (self.epoch, self.channels[peer].wrap(self.epoch, self.sender_key))
                for peer in sorted(present) if peer in self.channels}

    def receive(self, peer: int, epoch: int, box: str) -> None:
        """A peer's ``sender_key`` box for me. Refused from one not present or without a channel, and
        for an epoch not newer than the last one received from that peer (a box replayed by the
        server must not bring back a replaced key, which a removed participant still knows)."""
        if peer not in self.present:
            raise KeyExchangeError("not_present", f"participant {peer} is not in the session")
        channel = self.channels.get(peer)
        if channel is None:
            raise KeyExchangeError("no_channel", f"no pairwise channel with participant {peer} yet")
        if epoch <= self.highest.get(peer, 0):
            raise KeyExchangeError("old_epoch", f"epoch {epoch} of participant {peer} is not newer than "
                                                f"{self.highest[peer]}")
        self.opener.add_key(peer, epoch, channel.unwrap(epoch, box))
        self.highest[peer] = epoch
