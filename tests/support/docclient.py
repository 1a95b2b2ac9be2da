"""A version-2 participant written from docs/protocol.md and docs/api.md alone (issue 21): plain Tornado
HTTP and WebSocket clients and `cryptography` primitives. It must not import anysupport_client or
anysupport_native: it is the proof that the documents are enough to interoperate. Section names in the
comments are those of docs/protocol.md."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def with_length(session_id: str) -> bytes:
    sid = session_id.encode()
    return struct.pack(">H", len(sid)) + sid


class Pair:
    """V2.2: the pairwise channel with one other participant."""

    def __init__(self, session_id: str, me: int, peer: int, private: X25519PrivateKey, peer_public: bytes):
        mine = raw_public(private)
        if peer_public == mine:
            raise ValueError("bad_public_key: reflected")
        shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
        if shared == bytes(32):
            raise ValueError("bad_public_key: low order")
        low, high = sorted((me, peer))
        keys = {me: mine, peer: peer_public}
        transcript = (b"AnySupport-E2EE-v2 pair" + with_length(session_id)
                      + bytes([low]) + keys[low] + bytes([high]) + keys[high])
        salt = hashlib.sha256(transcript).digest()
        self.wrap_out = hkdf(shared, salt, b"AnySupport-E2EE-v2 wrap" + bytes([me, peer]), 16)
        self.wrap_in = hkdf(shared, salt, b"AnySupport-E2EE-v2 wrap" + bytes([peer, me]), 16)
        self.sas = f"{struct.unpack('>I', hkdf(shared, salt, b'AnySupport-E2EE-v2 sas', 4))[0] % 1_000_000:06d}"


def box_aad(session_id: str, src: int, dst: int, epoch: int) -> bytes:
    return b"AnySupport-E2EE-v2 sender-key" + with_length(session_id) + bytes([src, dst]) + struct.pack(">I", epoch)


def frame_key(session_id: str, sender_key: bytes, sender: int, epoch: int) -> bytes:
    salt = hashlib.sha256(b"AnySupport-E2EE-v2" + with_length(session_id)).digest()
    return hkdf(sender_key, salt, b"AnySupport-E2EE-v2 frame" + bytes([sender]) + struct.pack(">I", epoch), 16)


HEADER = struct.Struct(">BBBBIIQ")  # V2.4: version, kind, flags, sender, epoch, sequence, timestamp_us
KIND_VIDEO, KIND_AUDIO, KIND_CONTROL = 0, 1, 2


def nonce_of(kind: int, sender: int, epoch: int, sequence: int) -> bytes:
    return bytes([kind, sender, 0, 0]) + struct.pack(">II", epoch, sequence)


class DocParticipant:
    """An agent who logs in by REST, accepts an invitation and speaks version 2 as docs/protocol.md says."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = AsyncHTTPClient()
        self.token: str | None = None
        self.socket = None
        self.session_id: str | None = None
        self.me: int | None = None
        self.version = 1
        self.present: list[int] = []
        self.privates: dict[int, X25519PrivateKey] = {}  # my key pair per peer, while its exchange runs
        self.pairs: dict[int, Pair] = {}
        self.keys: dict[tuple[int, int], AESGCM] = {}  # (sender, epoch) -> the sender's frame key
        self.seen: set[tuple[int, int, int, int]] = set()  # (sender, epoch, kind, sequence) opened
        self.epoch = 0
        self.my_key: bytes | None = None
        self.sequence = {KIND_CONTROL: 0}
        self.frames: list[tuple[tuple, bytes]] = []  # (header fields, payload) of opened media frames
        self.chats: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # -- REST (docs/api.md) ----------------------------------------------------------------------------------
    async def rest(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = HTTPRequest(self.base_url + path, method=method, headers=headers,
                              body=None if body is None and method == "GET" else json.dumps(body or {}))
        response = await self.http.fetch(request, raise_error=False)
        return response.code, json.loads(response.body) if response.body else None

    async def login(self, login: str, password: str) -> dict[str, Any]:
        status, body = await self.rest("POST", "/api/v1/auth/login", {"login": login, "password": password, "force": True})
        assert status == 200, body
        self.token = body["token"]
        return body["agent"]

    async def open(self) -> dict[str, Any]:
        """The console: `/ws` on the server it logged in to, `Authorization: Bearer`; `hello` comes first."""
        url = self.base_url.replace("http", "ws", 1) + "/ws"
        self.socket = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"Bearer {self.token}"}))
        hello = json.loads(await self.socket.read_message())
        assert hello["type"] == "hello" and hello["role"] == "agent", hello
        self._reader = asyncio.ensure_future(self._read())
        return hello

    async def accept(self, session_id: str) -> dict[str, Any]:
        self.session_id = session_id
        status, body = await self.rest("POST", f"/api/v1/sessions/{session_id}/invitations/accept")
        assert status == 200, body
        return body

    async def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def wait_until(self, predicate, timeout: float, what: str):
        async def loop():
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
        try:
            await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; refused {self.refused[-5:]}") from None

    def send(self, message: dict[str, Any]) -> None:
        self.socket.write_message(json.dumps(message, ensure_ascii=False))

    # -- receiving ------------------------------------------------------------------------------------------
    async def _read(self) -> None:
        while True:
            data = await self.socket.read_message()
            if data is None:
                break
            if isinstance(data, bytes):
                self._on_binary(data)
            else:
                message = json.loads(data)
                self.messages.append(message)
                handler = getattr(self, "_on_" + message["type"], None)
                if handler is not None and message.get("session_id", self.session_id) == self.session_id:
                    handler(message)
            self._changed.set()
        self._changed.set()

    def _on_participants(self, message: dict[str, Any]) -> None:
        self.me = message["you"]
        self.version = message["version"]
        indexes = sorted(p["index"] for p in message["participants"] if p["present"])
        changed = indexes != self.present
        self.present = indexes
        for gone in set(self.pairs) - set(indexes):
            self.pairs.pop(gone)
            for key in [k for k in self.keys if k[0] == gone]:
                self.keys.pop(key)
        if self.version != 2:
            return
        # V2.8 step 1: of each pair the higher index speaks first (plain mode: my public key)
        for peer in indexes:
            if peer < self.me and peer not in self.pairs and peer not in self.privates:
                self.privates[peer] = X25519PrivateKey.generate()
                self.send({"type": "key_exchange", "session_id": self.session_id, "version": 2, "to": peer,
                           "public_key": b64(raw_public(self.privates[peer]))})
        if changed and self.pairs:
            self._new_epoch()  # step 3: every change of membership is a new epoch

    def _on_key_exchange(self, message: dict[str, Any]) -> None:
        peer = message["from_index"]
        if "public_key" not in message:
            self.refused.append("key_exchange without public_key (committed mode not implemented)")
            return
        private = self.privates.pop(peer, None)
        if private is None:  # the peer speaks first (it has the higher index): answer with a fresh key pair
            private = X25519PrivateKey.generate()
            self.send({"type": "key_exchange", "session_id": self.session_id, "version": 2, "to": peer,
                       "public_key": b64(raw_public(private))})
        self.pairs[peer] = Pair(self.session_id, self.me, peer, private, unb64(message["public_key"]))
        if self.my_key is None:
            self._new_epoch()
        else:
            self._send_key(peer)

    def _new_epoch(self) -> None:
        """V2.3: a fresh random sender key, given to each participant whose channel is agreed."""
        self.epoch += 1
        self.my_key = os.urandom(16)
        self.sequence = {KIND_CONTROL: 0}
        for peer in self.pairs:
            self._send_key(peer)

    def _send_key(self, peer: int) -> None:
        nonce = os.urandom(12)
        sealed = AESGCM(self.pairs[peer].wrap_out).encrypt(nonce, self.my_key,
                                                           box_aad(self.session_id, self.me, peer, self.epoch))
        self.send({"type": "sender_key", "session_id": self.session_id, "to": peer, "epoch": self.epoch,
                   "box": b64(nonce + sealed)})

    def _on_sender_key(self, message: dict[str, Any]) -> None:
        src, epoch = message["from_index"], message["epoch"]
        if any(s == src and e >= epoch for s, e in self.keys):
            self.refused.append("old_epoch")
            return
        raw = unb64(message["box"])
        sender_key = AESGCM(self.pairs[src].wrap_in).decrypt(raw[:12], raw[12:], box_aad(self.session_id, src, self.me, epoch))
        self.keys[(src, epoch)] = AESGCM(frame_key(self.session_id, sender_key, src, epoch))

    def open_frame(self, frame: bytes) -> tuple[tuple, bytes] | None:
        """V2.4 checks: header, not mine, a key held, not replayed, then AES-GCM."""
        if len(frame) < 36 or frame[0] != 2:
            self.refused.append("bad_header")
            return None
        fields = HEADER.unpack(frame[:20])
        _version, kind, flags, sender, epoch, sequence, _ts = fields
        if kind > 2 or flags & ~1 or sender == 255 or epoch == 0:
            self.refused.append("bad_header")
            return None
        if sender == self.me:
            self.refused.append("wrong_direction")
            return None
        cipher = self.keys.get((sender, epoch))
        if cipher is None:
            self.refused.append("unknown_key")
            return None
        if (sender, epoch, kind, sequence) in self.seen:
            self.refused.append("replayed")
            return None
        payload = cipher.decrypt(nonce_of(kind, sender, epoch, sequence), frame[20:], frame[:20])
        self.seen.add((sender, epoch, kind, sequence))
        return fields, payload

    def _on_binary(self, data: bytes) -> None:
        # on an agent's socket: the 12-byte session id, then the frame
        if data[:12] != bytes.fromhex(self.session_id or "00" * 12):
            return
        opened = self.open_frame(data[12:])
        if opened is not None:
            self.frames.append(opened)

    def _on_sealed(self, message: dict[str, Any]) -> None:
        opened = self.open_frame(unb64(message["frame"]))
        if opened is None:
            return
        fields, payload = opened
        inner = json.loads(payload)
        if fields[1] == KIND_CONTROL and inner.get("type") == "chat":
            self.chats.append({**inner, "from_index": fields[3]})

    # -- sending --------------------------------------------------------------------------------------------
    def send_sealed(self, message: dict[str, Any]) -> None:
        """V2.5: the version-1 message (without session_id) as a kind-2 frame inside `sealed`."""
        sequence = self.sequence[KIND_CONTROL]
        self.sequence[KIND_CONTROL] += 1
        header = HEADER.pack(2, KIND_CONTROL, 0, self.me, self.epoch, sequence, time.time_ns() // 1000)
        cipher = AESGCM(frame_key(self.session_id, self.my_key, self.me, self.epoch))
        body = cipher.encrypt(nonce_of(KIND_CONTROL, self.me, self.epoch, sequence),
                              json.dumps(message, ensure_ascii=False).encode(), header)
        self.send({"type": "sealed", "session_id": self.session_id, "frame": b64(header + body)})
