"""Key schedule of the end-to-end encrypted media (specified in ``docs/media-frames.md``).

The two clients run an X25519 key agreement over the ``key_exchange`` control message, each with
a fresh key pair per session. From the shared secret, HKDF-SHA256 derives one AES-128 key per
direction (customer→agent, agent→customer) and a six-digit short authentication string (SAS)
that both users may read to each other: equal digits mean no one sits in the middle. The server
relays the public keys but never learns the shared secret.

To stop a man in the middle from grinding key pairs until the two SAS values collide, the side
that speaks first may send ``key_commitment(its public key)`` before the key itself and reveal
the key only after it holds the peer's; ``verify_commitment`` checks the reveal.
"""

import base64
import binascii
import hashlib
import hmac
import struct
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._frame_format import KEY_SIZE, SIDES

PROTOCOL_LABEL = b"AnySupport-E2EE-v1"
LABEL_CUSTOMER_TO_AGENT = b"AnySupport-E2EE-v1 key customer->agent"
LABEL_AGENT_TO_CUSTOMER = b"AnySupport-E2EE-v1 key agent->customer"
LABEL_SAS = b"AnySupport-E2EE-v1 sas"
LABEL_COMMITMENT = b"AnySupport-E2EE-v1 commitment"
PUBLIC_KEY_SIZE = 32
PRIVATE_KEY_SIZE = 32
SAS_DIGITS = 6
MAX_SESSION_ID_BYTES = 0xFFFF


class KeyExchangeError(ValueError):
    """The key agreement was refused; ``code`` says why (``bad_public_key``, ``bad_private_key``,
    ``low_order_key``, ``reflected_key``, ``bad_side``, ``bad_session_id``, ``bad_commitment``)."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class SessionKeys(NamedTuple):
    send_key: bytes  # seals what this side sends (FrameSealer)
    recv_key: bytes  # opens what the peer sends (FrameOpener)
    sas: str  # six decimal digits, the same on both sides

    @property
    def sas_display(self) -> str:
        """The SAS as users read it aloud: two groups of three digits, e.g. ``"042 917"``."""
        return format_sas(self.sas)


def generate_private_key() -> X25519PrivateKey:
    """A fresh X25519 key pair; make a new one for every session."""
    return X25519PrivateKey.generate()


def _private_key(key) -> X25519PrivateKey:
    if isinstance(key, X25519PrivateKey):
        return key
    if isinstance(key, bytes | bytearray | memoryview) and len(key) == PRIVATE_KEY_SIZE:
        return X25519PrivateKey.from_private_bytes(bytes(key))
    raise KeyExchangeError("bad_private_key", "an X25519 private key or its 32 raw bytes is expected")


def public_key_bytes(key) -> bytes:
    """The 32 raw bytes of an X25519 public key, given a private key, a public key or raw bytes."""
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    if isinstance(key, X25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, bytes | bytearray | memoryview) and len(key) == PUBLIC_KEY_SIZE:
        return bytes(key)
    if isinstance(key, str):
        return decode_public_key(key)
    raise KeyExchangeError("bad_public_key", "an X25519 public key is 32 bytes")


def encode_public_key(key) -> str:
    """The ``public_key`` field of the ``key_exchange`` message: base64url, no padding, 43 chars."""
    return base64.urlsafe_b64encode(public_key_bytes(key)).rstrip(b"=").decode("ascii")


def decode_public_key(text: str) -> bytes:
    """The 32 raw bytes of a ``public_key`` field; padding is tolerated, any other deviation is not."""
    if not isinstance(text, str) or len(text.rstrip("=")) != 43:
        raise KeyExchangeError("bad_public_key", "expected 43 base64url characters")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    except (binascii.Error, ValueError):
        raise KeyExchangeError("bad_public_key", "not base64url") from None
    if len(raw) != PUBLIC_KEY_SIZE or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text.rstrip("="):
        raise KeyExchangeError("bad_public_key", "not the canonical encoding of 32 bytes")
    return raw


def key_commitment(public_key) -> str:
    """base64url(SHA-256(LABEL_COMMITMENT || public key)), sent before the key itself."""
    digest = hashlib.sha256(LABEL_COMMITMENT + public_key_bytes(public_key)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_commitment(public_key, commitment: str) -> None:
    """Raise KeyExchangeError(bad_commitment) unless ``public_key`` is the one committed to."""
    if not isinstance(commitment, str) or not hmac.compare_digest(
        key_commitment(public_key).encode(), commitment.encode("ascii", "replace")
    ):
        raise KeyExchangeError("bad_commitment", "the revealed public key does not match its commitment")


def _session_id_bytes(session_id) -> bytes:
    if isinstance(session_id, str):
        session_id = session_id.encode("utf-8")
    if not isinstance(session_id, bytes | bytearray) or not 0 < len(session_id) <= MAX_SESSION_ID_BYTES:
        raise KeyExchangeError("bad_session_id", "a non-empty session id of at most 65535 bytes is expected")
    return bytes(session_id)


def transcript_hash(session_id, customer_public, agent_public) -> bytes:
    """SHA-256(PROTOCOL_LABEL || u16 len(session id) || session id || customer key || agent key),
    the HKDF salt that binds the keys and the SAS to this session and to both public keys."""
    sid = _session_id_bytes(session_id)
    return hashlib.sha256(
        PROTOCOL_LABEL
        + struct.pack(">H", len(sid))
        + sid
        + public_key_bytes(customer_public)
        + public_key_bytes(agent_public)
    ).digest()


def _hkdf(shared: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(shared)


def sas_from_bytes(four_bytes: bytes) -> str:
    """Six decimal digits: the big-endian 32-bit integer modulo 10**6, zero-padded."""
    return f"{int.from_bytes(four_bytes, 'big') % 10**SAS_DIGITS:0{SAS_DIGITS}d}"


def format_sas(sas: str) -> str:
    return f"{sas[:3]} {sas[3:]}"


def derive_session_keys(my_private, peer_public, my_side: str, session_id) -> SessionKeys:
    """Both sides' media keys and SAS from one side's private key and the peer's public key.

    ``peer_public`` may be the ``key_exchange`` field (str), 32 raw bytes or an X25519PublicKey.
    The customer's ``send_key`` is the agent's ``recv_key`` and the other way round.
    """
    if my_side not in SIDES:
        raise KeyExchangeError("bad_side", f"side must be 'customer' or 'agent', not {my_side!r}")
    private = _private_key(my_private)
    mine = public_key_bytes(private)
    theirs = public_key_bytes(peer_public)
    if hmac.compare_digest(mine, theirs):
        raise KeyExchangeError("reflected_key", "the peer sent back our own public key")
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(theirs))
    except ValueError:  # OpenSSL refuses a peer key whose shared secret is all zero
        raise KeyExchangeError("low_order_key", "the peer's public key is of low order") from None
    if not any(shared):
        raise KeyExchangeError("low_order_key", "the shared secret is all zero")
    customer_public, agent_public = (mine, theirs) if my_side == "customer" else (theirs, mine)
    salt = transcript_hash(session_id, customer_public, agent_public)
    customer_to_agent = _hkdf(shared, salt, LABEL_CUSTOMER_TO_AGENT, KEY_SIZE)
    agent_to_customer = _hkdf(shared, salt, LABEL_AGENT_TO_CUSTOMER, KEY_SIZE)
    sas = sas_from_bytes(_hkdf(shared, salt, LABEL_SAS, 4))
    if my_side == "customer":
        return SessionKeys(customer_to_agent, agent_to_customer, sas)
    return SessionKeys(agent_to_customer, customer_to_agent, sas)
