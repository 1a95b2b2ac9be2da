"""The ``key_exchange`` procedure of one side, as a small state machine (docs/protocol.md §3).

The agent speaks first with a commitment to its public key; the customer answers with its public
key; the agent reveals its own; the customer checks the reveal against the commitment. Both then
derive the same direction keys and SAS. ``receive`` returns the messages to send back and raises
``KeyExchangeError`` for a key that must be refused. A new commitment from the agent starts a new
exchange with a fresh key pair (sequences are never restarted under a used key): a pair derives once,
so a repeated ``public_key`` is ignored and another one of the same exchange refused (``protocol``).
"""

from __future__ import annotations

from typing import Any

from anysupport_native import framing, keys
from anysupport_native.keys import KeyExchangeError, SessionKeys

__all__ = ["VERSION", "KeyExchange", "KeyExchangeError", "MediaKeys"]

VERSION = 1


class MediaKeys:
    """The sealer and opener of one derived key pair, with the SAS to show."""

    def __init__(self, session_keys: SessionKeys, side: str, generation: int):
        peer = "agent" if side == "customer" else "customer"
        self.side = side
        self.generation = generation
        self.sas = session_keys.sas
        self.sas_display = session_keys.sas_display
        self.sealer = framing.FrameSealer(session_keys.send_key, side)
        self.opener = framing.FrameOpener(session_keys.recv_key, peer)


class KeyExchange:
    def __init__(self, side: str, session_id: str):
        if side not in ("customer", "agent"):
            raise ValueError(f"side must be 'customer' or 'agent', not {side!r}")
        self.side = side
        self.session_id = session_id
        self.generation = 0
        self.keys: MediaKeys | None = None
        self._new_pair()

    def _new_pair(self) -> None:
        self._private = keys.generate_private_key()
        self._public = keys.encode_public_key(self._private)
        self._peer_commitment: str | None = None
        self._sent_public = False
        self._started = False  # (agent) our first message of this exchange has gone out
        self._derived_from: str | None = None  # the peer key the current pair has derived from, if any
        self._plain = False  # (customer) this exchange began with the agent's public key

    def _message(self, **fields: Any) -> dict[str, Any]:
        message = {"type": "key_exchange", "version": VERSION, **fields}
        if self.side == "agent":
            message["session_id"] = self.session_id
        return message

    def start(self, *, commit: bool = True) -> dict[str, Any]:
        """The agent's opening move with a fresh key pair: a commitment (committed mode, what the reference
        agent does) or, with ``commit=False``, its public key (plain mode). Also how an agent changes keys."""
        if self.side != "agent":
            raise ValueError("the agent starts the key exchange")
        self._new_pair()
        self._started = True
        if commit:
            return self._message(commitment=keys.key_commitment(self._private))
        self._sent_public = True
        return self._message(public_key=self._public)

    def _derive(self, peer_public: str) -> None:
        derived = keys.derive_session_keys(self._private, peer_public, self.side, self.session_id)
        self.generation += 1
        self.keys = MediaKeys(derived, self.side, self.generation)
        self._derived_from = peer_public

    def _repeat(self, public: str) -> bool:
        """A ``public_key`` after this pair has derived: never derive twice from the same two keys (a new
        sealer would start at sequence 0 under a used key, repeating nonces). The same key again is a
        duplicate and ignored; another key without a new exchange is refused (``protocol``)."""
        if self._derived_from is None:
            return False
        if public == self._derived_from:
            return True
        raise KeyExchangeError("protocol", "a second public key in one key exchange; new keys need a new exchange")

    def starts_new(self, message: dict[str, Any]) -> bool:
        """(customer) Whether ``message`` begins a new exchange, i.e. would be answered with a fresh key:
        a commitment alone, or (plain mode) a public key with no commitment pending that is not the one
        the keys in use came from."""
        public, commitment = message.get("public_key"), message.get("commitment")
        if commitment and not public:
            return True
        return bool(public) and self._peer_commitment is None and public != self._derived_from

    def receive(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        public = message.get("public_key")
        commitment = message.get("commitment")
        if self.side == "customer":
            if commitment and not public:
                self._new_pair()  # a new exchange: never reuse a key pair
                self._peer_commitment = commitment
                self._sent_public = True
                return [self._message(public_key=self._public)]
            if public:
                if self._plain and public != self._derived_from:
                    self._new_pair()  # plain mode: the agent's new key starts a new exchange, with a new pair
                if self._repeat(public):
                    return []
                plain = self._peer_commitment is None
                if not plain:
                    keys.verify_commitment(public, self._peer_commitment)
                self._derive(public)
                self._peer_commitment = None
                if not plain:
                    return []
                self._plain = self._sent_public = True
                return [self._message(public_key=self._public)]
            return []
        # agent
        if public:
            if not self._started:
                raise KeyExchangeError("protocol", "the customer sent a key before the agent's key_exchange")
            if self._repeat(public):
                return []
            self._derive(public)
            if self._sent_public:
                return []  # plain mode: the customer has our key already
            self._sent_public = True
            return [self._message(public_key=self._public)]  # committed mode: the reveal
        return []
