"""Key schedule: X25519 over ``key_exchange``, HKDF-SHA256 direction keys and the SAS.

The stored vectors are checked against ``anysupport_native.keys`` and against an independent
HKDF written here from RFC 5869 with ``hmac``, so the doc's formulas are what the code does.
"""

import base64
import hashlib
import json
import pathlib

import pytest
from anysupport_native import framing, keys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests.support.hkdf import hkdf_rfc5869

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "data" / "frame_vectors.json").read_text("utf-8"))

# Public keys of small order on Curve25519 (and their non-canonical twins): a peer sending one
# would force a shared secret everyone knows.
LOW_ORDER_POINTS = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.mark.parametrize("vector", VECTORS["key_schedule"], ids=lambda v: v["session_id"])
def test_key_schedule_vector(vector):
    customer_private = bytes.fromhex(vector["customer_private"])
    agent_private = bytes.fromhex(vector["agent_private"])
    assert (
        keys.public_key_bytes(X25519PrivateKey.from_private_bytes(customer_private)).hex()
        == vector["customer_public"]
    )
    assert (
        keys.encode_public_key(bytes.fromhex(vector["customer_public"])) == vector["customer_public_encoded"]
    )
    assert keys.decode_public_key(vector["agent_public_encoded"]).hex() == vector["agent_public"]

    customer = keys.derive_session_keys(
        customer_private, vector["agent_public_encoded"], "customer", vector["session_id"]
    )
    agent = keys.derive_session_keys(
        agent_private, vector["customer_public_encoded"], "agent", vector["session_id"]
    )
    assert customer.send_key.hex() == agent.recv_key.hex() == vector["customer_to_agent_key"]
    assert customer.recv_key.hex() == agent.send_key.hex() == vector["agent_to_customer_key"]
    assert customer.sas == agent.sas == vector["sas"]
    assert keys.key_commitment(vector["customer_public_encoded"]) == vector["customer_commitment"]
    assert keys.key_commitment(bytes.fromhex(vector["agent_public"])) == vector["agent_commitment"]


@pytest.mark.parametrize("vector", VECTORS["key_schedule"], ids=lambda v: v["session_id"])
def test_key_schedule_vector_from_the_doc_formulas(vector):
    shared = bytes.fromhex(vector["shared_secret"])
    sid = vector["session_id"].encode()
    customer_public = bytes.fromhex(vector["customer_public"])
    agent_public = bytes.fromhex(vector["agent_public"])
    salt = hashlib.sha256(
        b"AnySupport-E2EE-v1" + len(sid).to_bytes(2, "big") + sid + customer_public + agent_public
    ).digest()
    assert salt.hex() == vector["hkdf_salt"]
    assert (
        hkdf_rfc5869(shared, salt, b"AnySupport-E2EE-v1 key customer->agent", 16).hex()
        == vector["customer_to_agent_key"]
    )
    assert (
        hkdf_rfc5869(shared, salt, b"AnySupport-E2EE-v1 key agent->customer", 16).hex()
        == vector["agent_to_customer_key"]
    )
    sas_bytes = hkdf_rfc5869(shared, salt, b"AnySupport-E2EE-v1 sas", 4)
    assert sas_bytes.hex() == vector["sas_bytes"]
    assert f"{int.from_bytes(sas_bytes, 'big') % 1_000_000:06d}" == vector["sas"]
    commitment = hashlib.sha256(b"AnySupport-E2EE-v1 commitment" + customer_public).digest()
    assert base64.urlsafe_b64encode(commitment).rstrip(b"=").decode() == vector["customer_commitment"]


def test_rfc7748_shared_secret():
    vector = VECTORS["key_schedule"][0]
    assert vector["shared_secret"] == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    assert vector["customer_public"] == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    assert vector["agent_public"] == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"


def test_fresh_keys_agree_and_differ_per_direction_and_session():
    customer_key, agent_key = keys.generate_private_key(), keys.generate_private_key()
    customer_pub, agent_pub = keys.encode_public_key(customer_key), keys.encode_public_key(agent_key)
    assert len(customer_pub) == 43 and "=" not in customer_pub
    customer = keys.derive_session_keys(customer_key, agent_pub, "customer", "session-1")
    agent = keys.derive_session_keys(agent_key, customer_pub, "agent", "session-1")
    assert (customer.send_key, customer.recv_key, customer.sas) == (agent.recv_key, agent.send_key, agent.sas)
    assert customer.send_key != customer.recv_key and len(customer.send_key) == framing.KEY_SIZE
    assert len(customer.sas) == 6 and customer.sas.isdigit()
    assert customer.sas_display == f"{customer.sas[:3]} {customer.sas[3:]}"
    other = keys.derive_session_keys(customer_key, agent_pub, "customer", "session-2")
    assert {other.send_key, other.recv_key}.isdisjoint({customer.send_key, customer.recv_key})


def test_derived_keys_drive_the_frames():
    customer_key, agent_key = keys.generate_private_key(), keys.generate_private_key()
    customer = keys.derive_session_keys(customer_key, keys.encode_public_key(agent_key), "customer", "s")
    agent = keys.derive_session_keys(agent_key, keys.encode_public_key(customer_key), "agent", "s")
    to_agent = framing.FrameSealer(customer.send_key, "customer").seal(framing.STREAM_CUSTOMER_VIDEO, b"cam")
    assert framing.FrameOpener(agent.recv_key, "customer").open(to_agent)[1] == b"cam"
    to_customer = framing.FrameSealer(agent.send_key, "agent").seal(framing.STREAM_AGENT_AUDIO, b"hi")
    assert framing.FrameOpener(customer.recv_key, "agent").open(to_customer)[1] == b"hi"


def test_a_man_in_the_middle_shows_different_sas():
    vector = VECTORS["key_schedule"][0]
    mallory = X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    mallory_pub = keys.encode_public_key(mallory)
    customer = keys.derive_session_keys(
        bytes.fromhex(vector["customer_private"]), mallory_pub, "customer", vector["session_id"]
    )
    agent = keys.derive_session_keys(
        bytes.fromhex(vector["agent_private"]), mallory_pub, "agent", vector["session_id"]
    )
    assert customer.sas != agent.sas and customer.send_key != agent.recv_key


@pytest.mark.parametrize("point", LOW_ORDER_POINTS)
def test_low_order_public_keys_refused(point):
    with pytest.raises(keys.KeyExchangeError) as caught:
        keys.derive_session_keys(keys.generate_private_key(), bytes.fromhex(point), "agent", "s")
    assert caught.value.code == "low_order_key"


def test_reflected_public_key_refused():
    mine = keys.generate_private_key()
    with pytest.raises(keys.KeyExchangeError) as caught:
        keys.derive_session_keys(mine, keys.encode_public_key(mine), "customer", "s")
    assert caught.value.code == "reflected_key"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "B",  # the last character carries two bits that must be zero
        "+" * 43,
        "/" * 43,
        "ü" * 43,
        "A" * 42 + "=",
        None,
        b"A" * 43,
    ],
)
def test_bad_public_key_encodings_refused(text):
    with pytest.raises(keys.KeyExchangeError) as caught:
        keys.decode_public_key(text)
    assert caught.value.code == "bad_public_key"


def test_public_key_encoding_round_trip_and_padding():
    raw = bytes(range(32))
    text = keys.encode_public_key(raw)
    assert keys.decode_public_key(text) == raw and keys.decode_public_key(text + "=") == raw
    assert base64.urlsafe_b64decode(text + "=") == raw
    with pytest.raises(keys.KeyExchangeError):
        keys.public_key_bytes(bytes(31))


def test_commitment_checks_the_revealed_key():
    key = keys.generate_private_key()
    commitment = keys.key_commitment(key)
    keys.verify_commitment(keys.encode_public_key(key), commitment)
    for wrong in (keys.key_commitment(keys.generate_private_key()), "", commitment[:-1], "é" * 43, None):
        with pytest.raises(keys.KeyExchangeError) as caught:
            keys.verify_commitment(key, wrong)
        assert caught.value.code == "bad_commitment"


def test_bad_arguments_refused():
    mine, peer = keys.generate_private_key(), keys.encode_public_key(keys.generate_private_key())
    cases = [
        ((mine, peer, "server", "s"), "bad_side"),
        ((mine, peer, "agent", ""), "bad_session_id"),
        ((mine, peer, "agent", "x" * 65536), "bad_session_id"),
        ((mine, peer, "agent", 42), "bad_session_id"),
        ((bytes(31), peer, "agent", "s"), "bad_private_key"),
        (("secret", peer, "agent", "s"), "bad_private_key"),
        ((mine, 42, "agent", "s"), "bad_public_key"),
    ]
    for args, code in cases:
        with pytest.raises(keys.KeyExchangeError) as caught:
            keys.derive_session_keys(*args)
        assert caught.value.code == code, args
    assert issubclass(keys.KeyExchangeError, ValueError)
