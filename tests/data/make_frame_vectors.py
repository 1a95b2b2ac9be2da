"""Write ``frame_vectors.json``: fixed keys, nonces, headers and payloads and the exact bytes they give.

Run it only when the format deliberately changes (then bump the version): the tests check the
stored bytes, they never regenerate them. ``docs/media-frames.md`` explains every field.

    .venv/bin/python tests/data/make_frame_vectors.py
"""

import json
import pathlib

from anysupport_native import _framing_reference as ref
from anysupport_native import keys
from anysupport_native._frame_format import (
    FLAG_KEYFRAME,
    HEADER_SIZE,
    MAX_FRAME_BYTES,
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
    TAG_SIZE,
    VERSION,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

OUT = pathlib.Path(__file__).with_name("frame_vectors.json")

# RFC 7748 section 6.1 key pairs: Alice is the customer, Bob the agent.
CUSTOMER_PRIVATE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
AGENT_PRIVATE = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
SESSION_ID = "65a1f0c2e4b5d6a7b8c9d0e1"  # the 24-hex session id of the control messages
SECOND_SESSION_ID = "65a1f0c2e4b5d6a7b8c9d0e2"


def pattern(n: int) -> bytes:
    return bytes(i * 7 % 256 for i in range(n))


def key_schedule_vector(session_id: str) -> dict:
    customer_key = X25519PrivateKey.from_private_bytes(CUSTOMER_PRIVATE)
    agent_key = X25519PrivateKey.from_private_bytes(AGENT_PRIVATE)
    customer_public = keys.public_key_bytes(customer_key)
    agent_public = keys.public_key_bytes(agent_key)
    customer = keys.derive_session_keys(
        customer_key, keys.encode_public_key(agent_public), "customer", session_id
    )
    agent = keys.derive_session_keys(agent_key, keys.encode_public_key(customer_public), "agent", session_id)
    assert (
        customer.send_key == agent.recv_key
        and customer.recv_key == agent.send_key
        and customer.sas == agent.sas
    )
    shared = customer_key.exchange(agent_key.public_key())
    salt = keys.transcript_hash(session_id, customer_public, agent_public)
    return {
        "session_id": session_id,
        "customer_private": CUSTOMER_PRIVATE.hex(),
        "agent_private": AGENT_PRIVATE.hex(),
        "customer_public": customer_public.hex(),
        "agent_public": agent_public.hex(),
        "customer_public_encoded": keys.encode_public_key(customer_public),
        "agent_public_encoded": keys.encode_public_key(agent_public),
        "customer_commitment": keys.key_commitment(customer_public),
        "agent_commitment": keys.key_commitment(agent_public),
        "shared_secret": shared.hex(),
        "hkdf_salt": salt.hex(),
        "customer_to_agent_key": customer.send_key.hex(),
        "agent_to_customer_key": customer.recv_key.hex(),
        "sas_bytes": keys._hkdf(shared, salt, keys.LABEL_SAS, 4).hex(),
        "sas": customer.sas,
    }


def frame_vector(
    name: str,
    key: bytes,
    side: str,
    stream: int,
    sequence: int,
    timestamp_us: int,
    keyframe: bool,
    payload: bytes,
) -> dict:
    header = ref.pack_header(stream, sequence, timestamp_us, keyframe=keyframe)
    nonce = ref.build_nonce(stream, sequence)
    frame = header + AESGCM(key).encrypt(nonce, payload, header)
    return {
        "name": name,
        "key": key.hex(),
        "sender": side,
        "stream": stream,
        "keyframe": keyframe,
        "sequence": sequence,
        "timestamp_us": timestamp_us,
        "payload": payload.hex(),
        "header": header.hex(),
        "nonce": nonce.hex(),
        "ciphertext": frame[HEADER_SIZE:-TAG_SIZE].hex(),
        "tag": frame[-TAG_SIZE:].hex(),
        "frame": frame.hex(),
    }


def flip(frame: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(frame)
    out[index] ^= mask
    return bytes(out)


def main() -> None:
    schedule = key_schedule_vector(SESSION_ID)
    c2a = bytes.fromhex(schedule["customer_to_agent_key"])
    a2c = bytes.fromhex(schedule["agent_to_customer_key"])
    ts = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds
    frames = [
        frame_vector(
            "customer video keyframe, first frame",
            c2a,
            "customer",
            STREAM_CUSTOMER_VIDEO,
            0,
            ts,
            True,
            b"AnySupport test frame: customer video keyframe",
        ),
        frame_vector(
            "customer audio, empty payload",
            c2a,
            "customer",
            STREAM_CUSTOMER_AUDIO,
            1,
            ts + 20_000,
            False,
            b"",
        ),
        frame_vector(
            "customer video delta frame, 1000 bytes",
            c2a,
            "customer",
            STREAM_CUSTOMER_VIDEO,
            1,
            ts + 33_333,
            False,
            pattern(1000),
        ),
        frame_vector(
            "agent video keyframe", a2c, "agent", STREAM_AGENT_VIDEO, 258, ts + 40_000, True, pattern(33)
        ),
        frame_vector(
            "agent audio, last sequence before the key must change",
            a2c,
            "agent",
            STREAM_AGENT_AUDIO,
            0xFFFFFFFF,
            0xFFFFFFFFFFFFFFFF,
            False,
            b"\x00\xff" * 8,
        ),
    ]
    good = bytes.fromhex(frames[2]["frame"])
    agent_frame = bytes.fromhex(frames[3]["frame"])
    invalid = [
        {
            "name": "header byte changed (flags: keyframe bit set)",
            "frame": flip(good, 2).hex(),
            "error": "tampered",
        },
        {"name": "header timestamp changed", "frame": flip(good, 15).hex(), "error": "tampered"},
        {
            "name": "sequence changed (so the nonce changes)",
            "frame": flip(good, 7).hex(),
            "error": "tampered",
        },
        {
            "name": "ciphertext bit flipped",
            "frame": flip(good, HEADER_SIZE + 500, 0x80).hex(),
            "error": "tampered",
        },
        {"name": "tag bit flipped", "frame": flip(good, len(good) - 1).hex(), "error": "tampered"},
        {"name": "tag cut off", "frame": good[:-TAG_SIZE].hex(), "error": "tampered"},
        {
            "name": "shorter than header and tag",
            "frame": good[: HEADER_SIZE + TAG_SIZE - 1].hex(),
            "error": "truncated",
        },
        {"name": "empty message", "frame": "", "error": "truncated"},
        {"name": "unknown version", "frame": (bytes([VERSION + 1]) + good[1:]).hex(), "error": "bad_version"},
        {"name": "unknown stream id", "frame": (good[:1] + b"\x04" + good[2:]).hex(), "error": "bad_stream"},
        {"name": "unknown flag bit", "frame": flip(good, 2, 0x80).hex(), "error": "bad_flags"},
        {"name": "reserved byte set", "frame": flip(good, 3).hex(), "error": "bad_header"},
        {
            "name": "agent stream sent to a customer-frame opener",
            "frame": agent_frame.hex(),
            "error": "wrong_direction",
        },
        {
            "name": "customer stream id on an agent frame (the direction is in the nonce)",
            "frame": (agent_frame[:1] + bytes([STREAM_CUSTOMER_VIDEO]) + agent_frame[2:]).hex(),
            "error": "tampered",
        },
    ]
    # Sequences one stream's receiver sees, in order, and whether each is accepted (REPLAY_WINDOW = 64).
    replay = [
        (0, True),
        (0, False),
        (2, True),
        (1, True),
        (1, False),
        (2, False),
        (70, True),
        (6, False),
        (7, True),
        (7, False),
        (6, False),
        (69, True),
        (200, True),
        (137, True),
        (136, False),
        (136 + 64, False),
        (201, True),
    ]
    vectors = {
        "description": "AnySupport end-to-end encrypted media frames, version 1: see docs/media-frames.md",
        "constants": {
            "version": VERSION,
            "header_size": HEADER_SIZE,
            "tag_size": TAG_SIZE,
            "nonce_size": 12,
            "key_size": 16,
            "max_frame_bytes": MAX_FRAME_BYTES,
            "replay_window": 64,
            "flag_keyframe": FLAG_KEYFRAME,
            "streams": {"customer_video": 0, "customer_audio": 1, "agent_video": 2, "agent_audio": 3},
        },
        "key_schedule": [schedule, key_schedule_vector(SECOND_SESSION_ID)],
        "frames": frames,
        "invalid_frames": {
            "key": c2a.hex(),
            "sender": "customer",
            "note": "each frame is opened by a fresh FrameOpener(key, sender) and must be refused with the error",
            "cases": invalid,
        },
        "replay_window": {
            "note": "authentic frames of one stream with these sequences, opened in this order by one FrameOpener",
            "steps": [{"sequence": s, "accepted": ok} for s, ok in replay],
        },
    }
    OUT.write_text(json.dumps(vectors, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
