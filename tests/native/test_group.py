"""Version 2 of the end-to-end encryption (sender keys, issue 21): the vectors, recomputed from the
formulas of docs/protocol.md with plain primitives, and the rules of ``GroupKeys`` with an injected clock."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from anysupport_native import group
from anysupport_native._frame_format import FrameError
from anysupport_native.keys import KeyExchangeError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.support.clock import ManualClock

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "group_vectors.json").read_text("utf-8"))
SID = VECTORS["session_id"]
LABEL = b"AnySupport-E2EE-v2"
PRIVATE = {int(i): bytes.fromhex(p["private"]) for i, p in VECTORS["participants"].items()}


def hkdf(ikm, salt, info, n=16):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)


def sid_field():
    return struct.pack(">H", len(SID)) + SID.encode()


def public(i):
    return X25519PrivateKey.from_private_bytes(PRIVATE[i]).public_key()


def channel(a, b):
    return group.PairChannel.agree(SID, a, PRIVATE[a], b, public(b))


# -- the vectors, from the formulas ------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", VECTORS["pairs"], ids=lambda p: f"{p['low']}-{p['high']}")
def test_pair_vector_from_the_formulas(pair):
    low, high = pair["low"], pair["high"]
    shared = X25519PrivateKey.from_private_bytes(PRIVATE[low]).exchange(public(high))
    raw = {i: bytes.fromhex(VECTORS["participants"][str(i)]["public"]) for i in (low, high)}
    salt = hashlib.sha256(LABEL + b" pair" + sid_field() + bytes([low]) + raw[low] + bytes([high]) + raw[high]).digest()
    assert hkdf(shared, salt, LABEL + b" wrap" + bytes([low, high])).hex() == pair["wrap_low_to_high"]
    assert hkdf(shared, salt, LABEL + b" wrap" + bytes([high, low])).hex() == pair["wrap_high_to_low"]
    assert f"{int.from_bytes(hkdf(shared, salt, LABEL + b' sas', 4), 'big') % 10**6:06d}" == pair["sas"]
    # and the implementation, from either end
    one, other = channel(low, high), channel(high, low)
    assert (one.send_key.hex(), one.recv_key.hex(), one.sas) == (pair["wrap_low_to_high"], pair["wrap_high_to_low"], pair["sas"])
    assert (other.send_key, other.recv_key, other.sas) == (one.recv_key, one.send_key, one.sas)


def test_every_pair_has_its_own_security_code():
    assert len({p["sas"] for p in VECTORS["pairs"]}) == 3


@pytest.mark.parametrize("entry", VECTORS["sender_keys"], ids=lambda e: f"{e['sender']}@{e['epoch']}")
def test_sender_key_vector_from_the_formulas(entry):
    sender, epoch, key = entry["sender"], entry["epoch"], bytes.fromhex(entry["sender_key"])
    salt = hashlib.sha256(LABEL + sid_field()).digest()
    assert salt.hex() == VECTORS["session_salt"]
    assert hkdf(key, salt, LABEL + b" frame" + struct.pack(">BI", sender, epoch)).hex() == entry["frame_key"]
    for box in entry["boxes"]:
        pair = next(p for p in VECTORS["pairs"] if {p["low"], p["high"]} == {sender, box["to"]})
        wrap = bytes.fromhex(pair["wrap_low_to_high"] if sender < box["to"] else pair["wrap_high_to_low"])
        aad = LABEL + b" sender-key" + sid_field() + struct.pack(">BBI", sender, box["to"], epoch)
        nonce = bytes.fromhex(box["nonce"])
        assert group.b64(nonce + AESGCM(wrap).encrypt(nonce, key, aad)) == box["box"]
        assert channel(box["to"], sender).unwrap(epoch, box["box"]) == key


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda f: f"{f['sender']}:{f['kind']}")
def test_frame_vector_from_the_formulas(vector):
    entry = next(e for e in VECTORS["sender_keys"] if (e["sender"], e["epoch"]) == (vector["sender"], vector["epoch"]))
    header = struct.pack(">BBBBIIQ", 2, vector["kind"], 1 if vector["keyframe"] else 0, vector["sender"],
                         vector["epoch"], vector["sequence"], vector["timestamp_us"])
    nonce = struct.pack(">BBHII", vector["kind"], vector["sender"], 0, vector["epoch"], vector["sequence"])
    assert nonce.hex() == vector["nonce"]
    payload = bytes.fromhex(vector["payload_hex"])
    frame = header + AESGCM(bytes.fromhex(entry["frame_key"])).encrypt(nonce, payload, header)
    assert frame.hex() == vector["frame"]
    receiver = next(i for i in PRIVATE if i != vector["sender"])
    opener = group.GroupOpener(SID, receiver)
    opener.add_key(vector["sender"], vector["epoch"], bytes.fromhex(entry["sender_key"]))
    got, opened = opener.open(frame)
    assert opened == payload and got.sender == vector["sender"] and got.sequence == 2 and got.keyframe == vector["keyframe"]


# -- the rules ---------------------------------------------------------------------------------------------------
class Party:
    """Participants that hand each other their boxes directly (the relay's part, without the relay)."""

    def __init__(self, clock, indexes=(0, 1, 2)):
        self.clock = clock
        self.keys = {i: group.GroupKeys(SID, i, clock=clock.monotonic) for i in indexes}
        for a in indexes:
            for b in indexes:
                if a != b:
                    self.keys[a].channel_ready(channel(a, b))

    def members(self, present):
        boxes = {i: self.keys[i].membership(set(present) - {i}) for i in present}
        for i, given in boxes.items():
            for peer, (epoch, box) in given.items():
                self.keys[peer].receive(i, epoch, box)


@pytest.fixture
def clock():
    return ManualClock()


def test_three_participants_open_each_others_frames(clock):
    party = Party(clock)
    party.members({0, 1, 2})
    for sender in (0, 1, 2):
        for kind in group.KINDS:
            frame = party.keys[sender].sealer.seal(kind, b"x%d" % sender, timestamp_us=1)
            for receiver in {0, 1, 2} - {sender}:
                header, payload = party.keys[receiver].opener.open(frame)
                assert payload == b"x%d" % sender and header.sender == sender and header.kind == kind


def test_a_removed_participant_opens_nothing_sealed_after_the_removal(clock):
    party = Party(clock)
    party.members({0, 1, 2})
    before = party.keys[0].sealer.seal(group.KIND_VIDEO, b"before", timestamp_us=1)
    assert party.keys[2].opener.open(before)[1] == b"before"
    party.members({0, 1})  # 2 leaves (or is removed): 0 and 1 start new epochs
    assert party.keys[0].epoch == party.keys[1].epoch == 2
    after = party.keys[0].sealer.seal(group.KIND_VIDEO, b"after", timestamp_us=2)
    with pytest.raises(FrameError) as caught:
        party.keys[2].opener.open(after)
    assert caught.value.code == "unknown_key"
    assert party.keys[1].opener.open(after)[1] == b"after"
    # the one still present no longer opens the removed one's frames either
    late = party.keys[2].sealer.seal(group.KIND_AUDIO, b"late", timestamp_us=3)
    with pytest.raises(FrameError, match="unknown_key"):
        party.keys[1].opener.open(late)


def test_a_joiner_opens_nothing_sealed_before_it_joined(clock):
    party = Party(clock, (0, 1, 2))
    party.members({0, 1})
    old = party.keys[1].sealer.seal(group.KIND_VIDEO, b"private", timestamp_us=1)
    party.members({0, 1, 2})
    with pytest.raises(FrameError, match="unknown_key"):
        party.keys[2].opener.open(old)
    new = party.keys[1].sealer.seal(group.KIND_VIDEO, b"shown", timestamp_us=2)
    assert party.keys[2].opener.open(new)[1] == b"shown"


def test_a_replaced_epoch_opens_for_the_grace_then_never(clock):
    party = Party(clock)
    party.members({0, 1, 2})
    in_flight = [party.keys[0].sealer.seal(group.KIND_VIDEO, b"%d" % i, timestamp_us=i) for i in range(2)]
    party.members({0, 1})
    assert party.keys[1].opener.epochs(0) == [1, 2]
    assert party.keys[1].opener.open(in_flight[0])[1] == b"0"
    clock.advance(1.0)
    assert party.keys[1].opener.epochs(0) == [2]
    with pytest.raises(FrameError, match="unknown_key"):
        party.keys[1].opener.open(in_flight[1])


def test_a_replayed_box_cannot_bring_back_a_replaced_key(clock):
    party = Party(clock)
    first = party.keys[0].membership({1, 2})
    party.keys[1].membership({0, 2})
    party.keys[1].receive(0, *first[1])
    party.members({0, 1})
    clock.advance(5)
    with pytest.raises(KeyExchangeError) as caught:
        party.keys[1].receive(0, *first[1])  # the server sends the epoch-1 box again
    assert caught.value.code == "old_epoch"
    assert party.keys[1].opener.epochs(0) == [2]


def test_boxes_are_bound_to_their_pair_and_epoch(clock):
    box = channel(0, 1).wrap(3, b"k" * 16)
    assert channel(1, 0).unwrap(3, box) == b"k" * 16
    for wrong in (lambda: channel(2, 0).unwrap(3, box), lambda: channel(1, 0).unwrap(4, box),
                  lambda: channel(0, 1).unwrap(3, box), lambda: channel(1, 0).unwrap(3, box[:-2] + "AA"),
                  lambda: channel(1, 0).unwrap(3, "not base64!"), lambda: channel(1, 0).unwrap(3, box + "=")):
        with pytest.raises(KeyExchangeError) as caught:
            wrong()
        assert caught.value.code == "bad_box"


def test_refused_frames(clock):
    party = Party(clock)
    party.members({0, 1, 2})
    opener = party.keys[1].opener
    frame = party.keys[0].sealer.seal(group.KIND_VIDEO, b"payload", keyframe=True, timestamp_us=9)
    cases = {
        "truncated": frame[:35],
        "bad_version": b"\x01" + frame[1:],
        "bad_stream": frame[:1] + b"\x05" + frame[2:],
        "bad_flags": frame[:2] + b"\x03" + frame[3:],
        "bad_header": frame[:4] + b"\x00\x00\x00\x00" + frame[8:],  # epoch 0
        "tampered": frame[:-1] + bytes([frame[-1] ^ 1]),
        "unknown_key": frame[:3] + b"\x07" + frame[4:],  # another sender index
    }
    cases["tampered_header"] = frame[:12] + struct.pack(">Q", 10) + frame[20:]  # the timestamp changed
    for code, bad in cases.items():
        with pytest.raises(FrameError) as caught:
            opener.open(bad)
        assert caught.value.code == code.removesuffix("_header") if code == "tampered_header" else code
    assert opener.open(frame)[1] == b"payload"  # nothing refused moved the window
    with pytest.raises(FrameError, match="replayed"):
        opener.open(frame)
    own = party.keys[1].sealer.seal(group.KIND_AUDIO, b"mine", timestamp_us=1)
    with pytest.raises(FrameError, match="wrong_direction"):
        opener.open(own)
    assert group.parse_header(frame) == (2, 0, True, 0, 1, 0, 9)


def test_keys_from_those_not_present_or_without_a_channel_are_refused(clock):
    keys = group.GroupKeys(SID, 1, clock=clock.monotonic)
    keys.membership({0})
    with pytest.raises(KeyExchangeError, match="no_channel"):
        keys.receive(0, 1, channel(0, 1).wrap(1, b"k" * 16))
    with pytest.raises(KeyExchangeError, match="not_present"):
        keys.receive(2, 1, channel(2, 1).wrap(1, b"k" * 16))
    # a channel agreed after the membership: the peer gets my current key at once
    boxes = keys.channel_ready(channel(1, 0))
    assert list(boxes) == [0] and channel(0, 1).unwrap(*boxes[0]) == keys.sender_key


def test_a_peer_that_starts_again_with_a_new_channel_starts_its_epochs_again(clock):
    party = Party(clock, (0, 1))
    party.members({0, 1})
    fresh_private = hashlib.sha256(b"the customer's second key pair").digest()
    new_channel = group.PairChannel.agree(SID, 1, PRIVATE[1], 0,
                                          X25519PrivateKey.from_private_bytes(fresh_private).public_key())
    party.keys[1].channel_ready(new_channel)
    assert party.keys[1].opener.epochs(0) == []
    restarted = group.GroupKeys(SID, 0, clock=clock.monotonic)
    restarted.channel_ready(group.PairChannel.agree(SID, 0, fresh_private, 1, public(1)))
    (epoch, box), = restarted.membership({1}).values()
    party.keys[1].receive(0, epoch, box)  # epoch 1 again: accepted, it is a new channel
    frame = restarted.sealer.seal(group.KIND_VIDEO, b"again", timestamp_us=1)
    assert party.keys[1].opener.open(frame)[1] == b"again"


def test_bad_arguments():
    with pytest.raises(KeyExchangeError, match="bad_peer"):
        group.PairChannel.agree(SID, 1, PRIVATE[1], 1, public(0))
    with pytest.raises(KeyExchangeError, match="reflected_key"):
        group.PairChannel.agree(SID, 1, PRIVATE[1], 0, public(1))
    with pytest.raises(KeyExchangeError, match="low_order_key"):
        group.PairChannel.agree(SID, 1, PRIVATE[1], 0, X25519PublicKey.from_public_bytes(bytes(32)))
    for bad in (255, -1, True, "1"):
        with pytest.raises(FrameError, match="bad_sender"):
            group.GroupSealer(SID, bad, 1, b"k" * 16)
    with pytest.raises(FrameError, match="bad_epoch"):
        group.GroupSealer(SID, 1, 0, b"k" * 16)
    with pytest.raises(FrameError, match="bad_key"):
        group.GroupSealer(SID, 1, 1, b"short")
    with pytest.raises(TypeError):
        import copy
        copy.copy(group.GroupSealer(SID, 1, 1, b"k" * 16))
