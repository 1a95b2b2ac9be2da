"""The worked key-schedule example of docs/protocol.md (§3.4), recomputed.

Every line of the ```text key-schedule-example``` block is derived again here, once with the
reference implementation (``anysupport_native.keys``) and once from the doc's formulas (§3.2) with
``hashlib``/``hmac``, so the numbers an implementer copies from the page are the code's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from anysupport_native import keys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from tests.support.hkdf import hkdf_rfc5869

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
VECTORS = json.loads((ROOT / "tests" / "data" / "frame_vectors.json").read_text(encoding="utf-8"))
LABEL = b"AnySupport-E2EE-v1"


def example() -> dict[str, str]:
    block = re.search(r"^```text key-schedule-example\n(.*?)^```", DOC, re.MULTILINE | re.DOTALL)
    assert block, "docs/protocol.md has no key-schedule-example block"
    values = {}
    for line in block.group(1).splitlines():
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


EXAMPLE = example()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_example_lists_every_value():
    assert set(EXAMPLE) == {
        "session_id", "customer_private", "customer_public", "customer_public_b64", "agent_private", "agent_public",
        "agent_public_b64", "agent_commitment_b64", "shared", "transcript", "salt", "customer_to_agent_key",
        "agent_to_customer_key", "sas_bytes", "sas", "sas_display",
    }  # fmt: skip


def test_public_keys_and_commitment():
    for side in ("customer", "agent"):
        private = X25519PrivateKey.from_private_bytes(bytes.fromhex(EXAMPLE[f"{side}_private"]))
        public = keys.public_key_bytes(private)
        assert public.hex() == EXAMPLE[f"{side}_public"]
        assert keys.encode_public_key(private) == EXAMPLE[f"{side}_public_b64"] == b64(public)
    agent_public = bytes.fromhex(EXAMPLE["agent_public"])
    assert keys.key_commitment(agent_public) == EXAMPLE["agent_commitment_b64"]
    assert b64(hashlib.sha256(b"AnySupport-E2EE-v1 commitment" + agent_public).digest()) == EXAMPLE["agent_commitment_b64"]
    keys.verify_commitment(EXAMPLE["agent_public_b64"], EXAMPLE["agent_commitment_b64"])
    # the doc's commitment example (§3.3) is this one: it commits to the agent's key
    assert f'"commitment": "{EXAMPLE["agent_commitment_b64"]}"' in DOC


def test_schedule_from_the_formulas():
    customer = X25519PrivateKey.from_private_bytes(bytes.fromhex(EXAMPLE["customer_private"]))
    agent_public = bytes.fromhex(EXAMPLE["agent_public"])
    shared = customer.exchange(X25519PublicKey.from_public_bytes(agent_public))
    assert shared.hex() == EXAMPLE["shared"]
    sid = EXAMPLE["session_id"].encode()
    transcript = LABEL + len(sid).to_bytes(2, "big") + sid + bytes.fromhex(EXAMPLE["customer_public"]) + agent_public
    assert transcript.hex() == EXAMPLE["transcript"].replace(" ", "") and len(transcript) == 108
    salt = hashlib.sha256(transcript).digest()
    assert salt.hex() == EXAMPLE["salt"]
    assert hkdf_rfc5869(shared, salt, LABEL + b" key customer->agent", 16).hex() == EXAMPLE["customer_to_agent_key"]
    assert hkdf_rfc5869(shared, salt, LABEL + b" key agent->customer", 16).hex() == EXAMPLE["agent_to_customer_key"]
    sas_bytes = hkdf_rfc5869(shared, salt, LABEL + b" sas", 4)
    assert sas_bytes.hex() == EXAMPLE["sas_bytes"]
    assert f"{int.from_bytes(sas_bytes, 'big') % 1_000_000:06d}" == EXAMPLE["sas"]


def test_schedule_from_the_reference_implementation_on_both_sides():
    sid = EXAMPLE["session_id"]
    customer = keys.derive_session_keys(bytes.fromhex(EXAMPLE["customer_private"]), EXAMPLE["agent_public_b64"],
                                        "customer", sid)
    agent = keys.derive_session_keys(bytes.fromhex(EXAMPLE["agent_private"]), EXAMPLE["customer_public_b64"],
                                     "agent", sid)
    assert customer.send_key.hex() == agent.recv_key.hex() == EXAMPLE["customer_to_agent_key"]
    assert agent.send_key.hex() == customer.recv_key.hex() == EXAMPLE["agent_to_customer_key"]
    assert customer.sas == agent.sas == EXAMPLE["sas"]
    assert customer.sas_display == EXAMPLE["sas_display"]


def test_the_example_is_the_first_stored_vector_and_keys_the_frame_example():
    vector = VECTORS["key_schedule"][0]
    assert vector["session_id"] == EXAMPLE["session_id"]
    for name in ("customer_to_agent_key", "agent_to_customer_key", "sas_bytes", "sas"):
        assert vector[name] == EXAMPLE[name]
    assert vector["hkdf_salt"] == EXAMPLE["salt"]
    # §1.4's frame example is sealed with the customer's key of this schedule
    assert f"customer→agent key\n`{EXAMPLE['customer_to_agent_key']}`" in DOC
