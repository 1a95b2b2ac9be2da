"""Seal + open of one media frame: our framing (native, reference) against the raw AES-GCM ciphers.

What this watches is the framing's own cost per frame (header, nonce, replay window, the buffer
handling around the cipher) over the fastest raw cipher, ``cryptography``'s ``AESGCM`` with one
object per key; the goal is at most 1 µs. pycryptodome is here because it was the other
candidate for the AES: its GCM object is one-shot, so every message pays for a new cipher.

    .venv/bin/pytest benchmarks/test_bench_framing.py --benchmark-enable

In the normal suite (``--benchmark-disable``) every case runs once, as a smoke test, and the
agreement checks still run.
"""

import os

import anysupport_native
import pytest
from anysupport_native import _framing_reference
from anysupport_native._frame_format import HEADER_SIZE, STREAM_AGENT_VIDEO
from Crypto.Cipher import AES
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NATIVE = anysupport_native.load_extension("_framing")
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
TIMESTAMP_US = 1_767_225_600_000_000
SIZES = {"1KB": 1024, "16KB": 16 * 1024, "100KB": 100 * 1024}

# The first frame every candidate produces: sequence 0 of the agent's video stream.
HEADER = _framing_reference.pack_header(STREAM_AGENT_VIDEO, 0, TIMESTAMP_US, keyframe=True)
NONCE = _framing_reference.build_nonce(STREAM_AGENT_VIDEO, 0)


class Framing:
    """Our API: a sealer and an opener that keep sequences and the replay window."""

    def __init__(self, module):
        self.sealer = module.FrameSealer(KEY, "agent")
        self.opener = module.FrameOpener(KEY, "agent")

    def seal(self, payload: bytes) -> bytes:
        return self.sealer.seal(STREAM_AGENT_VIDEO, payload, keyframe=True, timestamp_us=TIMESTAMP_US)

    def open(self, frame: bytes) -> bytes:
        return self.opener.open(frame)[1]


class RawCryptography:
    """``cryptography``'s AESGCM alone, one object per key, the frame's nonce and header as AAD."""

    def __init__(self):
        self.aead = AESGCM(KEY)

    def seal(self, payload: bytes) -> bytes:
        return self.aead.encrypt(NONCE, payload, HEADER)

    def open(self, body: bytes) -> bytes:
        return self.aead.decrypt(NONCE, body, HEADER)


class RawPycryptodome:
    """pycryptodome's AES GCM alone; a GCM object seals or opens one message only."""

    def seal(self, payload: bytes) -> bytes:
        cipher = AES.new(KEY, AES.MODE_GCM, nonce=NONCE)
        cipher.update(HEADER)
        ciphertext, tag = cipher.encrypt_and_digest(payload)
        return ciphertext + tag

    def open(self, body: bytes) -> bytes:
        cipher = AES.new(KEY, AES.MODE_GCM, nonce=NONCE)
        cipher.update(HEADER)
        return cipher.decrypt_and_verify(body[:-16], body[-16:])


CANDIDATES = {
    **({"native": lambda: Framing(NATIVE)} if NATIVE is not None else {}),
    "reference": lambda: Framing(_framing_reference),
    "raw_cryptography": RawCryptography,
    "raw_pycryptodome": RawPycryptodome,
}


def expected_first(payload: bytes, candidate: str) -> bytes:
    body = AESGCM(KEY).encrypt(NONCE, payload, HEADER)
    return body if candidate.startswith("raw_") else HEADER + body


@pytest.mark.parametrize("candidate", list(CANDIDATES))
@pytest.mark.parametrize(
    "size",
    [
        pytest.param(size, id=label, marks=pytest.mark.benchmark(group=f"seal+open {label}"))
        for label, size in SIZES.items()
    ],
)
def test_seal_open(benchmark, candidate, size):
    payload = os.urandom(size)
    subject = CANDIDATES[candidate]()
    first = subject.seal(payload)
    assert first == expected_first(payload, candidate)  # every candidate makes the same bytes
    assert subject.open(first) == payload

    def seal_open():
        return subject.open(subject.seal(payload))

    assert benchmark(seal_open) == payload


def test_candidates_agree_on_every_size():
    for size in SIZES.values():
        payload = os.urandom(size)
        firsts = {name: make().seal(payload) for name, make in CANDIDATES.items()}
        bodies = {
            name: frame if name.startswith("raw_") else frame[HEADER_SIZE:] for name, frame in firsts.items()
        }
        assert len(set(bodies.values())) == 1
        assert all(
            frame[:HEADER_SIZE] == HEADER for name, frame in firsts.items() if not name.startswith("raw_")
        )
