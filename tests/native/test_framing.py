"""Media framing: the stored test vectors, the receiver's refusals, and native == reference.

Every test runs against the pure-Python reference and, unless ``ANYSUPPORT_NATIVE=reference``
forces the reference, against the compiled ``_framing`` extension too.
"""

import copy
import json
import pathlib
import pickle
import threading
import time

import anysupport_native
import pytest
from anysupport_native import _frame_format as fmt
from anysupport_native import _framing_reference, framing
from Crypto.Cipher import AES
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "data" / "frame_vectors.json").read_text("utf-8"))
NATIVE = anysupport_native.load_extension("_framing")
IMPLEMENTATIONS = {"reference": _framing_reference, **({"native": NATIVE} if NATIVE is not None else {})}

KEY_C2A = bytes.fromhex(VECTORS["key_schedule"][0]["customer_to_agent_key"])
KEY_A2C = bytes.fromhex(VECTORS["key_schedule"][0]["agent_to_customer_key"])


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def impl(request):
    return IMPLEMENTATIONS[request.param]


def forge(
    key: bytes, stream: int, sequence: int, payload: bytes = b"x", *, timestamp_us: int = 7, flags: int = 0
):
    """An authentic frame with any sequence, built from the spec with pycryptodome (not our code)."""
    header = (
        bytes([fmt.VERSION, stream, flags, 0]) + sequence.to_bytes(4, "big") + timestamp_us.to_bytes(8, "big")
    )
    nonce = bytes([stream >> 1, stream]) + bytes(6) + sequence.to_bytes(4, "big")
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=16)
    cipher.update(header)
    ciphertext, tag = cipher.encrypt_and_digest(payload)
    return header + ciphertext + tag


def refused(code: str):
    return pytest.raises(fmt.FrameError, match=rf"^{code}\b")


# --- backend selection and constants -------------------------------------------------------------


def test_backend_is_native_unless_reference_forced():
    if anysupport_native.reference_forced():
        assert framing.BACKEND == "reference" and framing.FrameSealer is _framing_reference.FrameSealer
    else:
        assert NATIVE is not None, "build it: .venv/bin/cythonize -i -3 native/anysupport_native/_framing.pyx"
        assert framing.BACKEND == "native" and framing.FrameSealer is NATIVE.FrameSealer


def test_constants_match_the_vectors_and_the_extension():
    c = VECTORS["constants"]
    assert (framing.VERSION, framing.HEADER_SIZE, framing.TAG_SIZE, framing.NONCE_SIZE, framing.KEY_SIZE) == (
        c["version"],
        c["header_size"],
        c["tag_size"],
        c["nonce_size"],
        c["key_size"],
    )
    assert framing.MAX_FRAME_BYTES == c["max_frame_bytes"] == 1 << 20
    assert framing.REPLAY_WINDOW == c["replay_window"]
    assert framing.FLAG_KEYFRAME == c["flag_keyframe"]
    assert {name: sid for sid, name in framing.STREAM_NAMES.items()} == c["streams"]
    assert framing.MAX_PAYLOAD_BYTES == framing.MAX_FRAME_BYTES - framing.HEADER_SIZE - framing.TAG_SIZE
    if NATIVE is not None:
        for name in ("VERSION", "HEADER_SIZE", "NONCE_SIZE", "TAG_SIZE", "REPLAY_WINDOW", "MAX_SEQUENCE"):
            assert getattr(NATIVE, name) == getattr(fmt, name), name


def test_streams_and_sides():
    assert framing.STREAMS_FROM == {
        "customer": {framing.STREAM_CUSTOMER_VIDEO, framing.STREAM_CUSTOMER_AUDIO},
        "agent": {framing.STREAM_AGENT_VIDEO, framing.STREAM_AGENT_AUDIO},
    }
    assert [framing.is_video(s) for s in framing.STREAMS] == [True, False, True, False]
    assert [framing.is_audio(s) for s in framing.STREAMS] == [False, True, False, True]
    assert not framing.is_video(4) and not framing.is_audio(5) and not framing.is_video(-2)
    assert [framing.sender_of(s) for s in framing.STREAMS] == ["customer", "customer", "agent", "agent"]
    with refused("bad_stream"):
        framing.sender_of(4)
    assert issubclass(framing.FrameError, ValueError)


# --- the stored test vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: v["name"])
def test_vector_header_nonce_and_open(impl, vector):
    frame = bytes.fromhex(vector["frame"])
    header = impl.pack_header(
        vector["stream"], vector["sequence"], vector["timestamp_us"], keyframe=vector["keyframe"]
    )
    assert header.hex() == vector["header"]
    assert impl.build_nonce(vector["stream"], vector["sequence"]).hex() == vector["nonce"]
    assert frame.hex() == vector["header"] + vector["ciphertext"] + vector["tag"]

    expected = fmt.FrameHeader(
        1, vector["stream"], 1 if vector["keyframe"] else 0, vector["sequence"], vector["timestamp_us"]
    )
    assert impl.parse_header(frame) == expected
    assert impl.unpack_header(header) == expected
    assert impl.parse_header(frame).keyframe is vector["keyframe"]

    opened_header, payload = impl.FrameOpener(bytes.fromhex(vector["key"]), vector["sender"]).open(frame)
    assert opened_header == expected and type(opened_header) is fmt.FrameHeader
    assert payload == bytes.fromhex(vector["payload"])


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: v["name"])
def test_vector_is_plain_aes_gcm_in_another_library(vector):
    """The format is exactly the doc's: pycryptodome, given the doc's nonce and AAD, agrees."""
    cipher = AES.new(bytes.fromhex(vector["key"]), AES.MODE_GCM, nonce=bytes.fromhex(vector["nonce"]))
    cipher.update(bytes.fromhex(vector["header"]))
    ciphertext, tag = cipher.encrypt_and_digest(bytes.fromhex(vector["payload"]))
    assert (ciphertext.hex(), tag.hex()) == (vector["ciphertext"], vector["tag"])


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS["frames"] if v["sequence"] < 1000], ids=lambda v: v["name"]
)
def test_vector_sealed_by_a_fresh_sealer(impl, vector):
    sealer = impl.FrameSealer(bytes.fromhex(vector["key"]), vector["sender"])
    for _ in range(vector["sequence"]):
        sealer.seal(vector["stream"], b"", timestamp_us=0)
    frame = sealer.seal(
        vector["stream"],
        bytes.fromhex(vector["payload"]),
        keyframe=vector["keyframe"],
        timestamp_us=vector["timestamp_us"],
    )
    assert frame.hex() == vector["frame"]


@pytest.mark.parametrize("case", VECTORS["invalid_frames"]["cases"], ids=lambda c: c["name"])
def test_invalid_vector_refused(impl, case):
    spec = VECTORS["invalid_frames"]
    opener = impl.FrameOpener(bytes.fromhex(spec["key"]), spec["sender"])
    with refused(case["error"]) as caught:
        opener.open(bytes.fromhex(case["frame"]))
    assert caught.value.code == case["error"]


def test_replay_window_vector(impl):
    opener = impl.FrameOpener(KEY_A2C, "agent")
    for step in VECTORS["replay_window"]["steps"]:
        frame = forge(KEY_A2C, fmt.STREAM_AGENT_AUDIO, step["sequence"])
        if step["accepted"]:
            assert opener.open(frame)[0].sequence == step["sequence"]
        else:
            with refused("replayed"):
                opener.open(frame)


# --- the receiver refuses ------------------------------------------------------------------------


def test_tampered_header_and_payload_refused(impl):
    sealer = impl.FrameSealer(KEY_C2A, "customer")
    opener = impl.FrameOpener(KEY_C2A, "customer")
    frame = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(range(200)), timestamp_us=1000)
    for index in [2, 4, 7, 8, 15, 16, 100, len(frame) - 17, len(frame) - 1]:
        bad = bytearray(frame)
        bad[index] ^= 0x01
        with pytest.raises(fmt.FrameError) as caught:
            opener.open(bytes(bad))
        # A flipped bit either makes the header invalid (flags: the keyframe bit is known, so it
        # still parses) or fails authentication; it is never accepted.
        assert caught.value.code == "tampered", index
    assert opener.open(frame)[1] == bytes(range(200))  # the refusals did not move the window


def test_every_header_bit_is_authenticated(impl):
    sealer = impl.FrameSealer(KEY_C2A, "customer")
    opener = impl.FrameOpener(KEY_C2A, "customer")
    frame = sealer.seal(framing.STREAM_CUSTOMER_AUDIO, b"voice", timestamp_us=123456789)
    for bit in range(framing.HEADER_SIZE * 8):
        bad = bytearray(frame)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(fmt.FrameError):
            opener.open(bytes(bad))
    assert opener.open(frame)[1] == b"voice"


def test_replayed_frame_refused(impl):
    sealer = impl.FrameSealer(KEY_A2C, "agent")
    opener = impl.FrameOpener(KEY_A2C, "agent")
    frames = [sealer.seal(framing.STREAM_AGENT_VIDEO, b"v%d" % i) for i in range(5)]
    for frame in frames:
        opener.open(frame)
    for frame in frames:
        with refused("replayed") as caught:
            opener.open(frame)
        assert caught.value.code == "replayed"


def test_late_frames_inside_the_window_accepted_once(impl):
    opener = impl.FrameOpener(KEY_A2C, "agent")
    sequences = [10, 3, 9, 4, 74, 11, 12, 73]
    for sequence in sequences:
        opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, sequence))
    for sequence in [*sequences, 10, 2, 0]:
        with refused("replayed"):
            opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, sequence))
    opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, 72))
    opener.open(forge(KEY_A2C, framing.STREAM_AGENT_AUDIO, 0))  # each stream has its own window
    opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, framing.MAX_SEQUENCE))
    with refused("replayed"):
        opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, 75))


def test_frame_from_the_wrong_direction_refused(impl):
    customer = impl.FrameSealer(KEY_C2A, "customer")
    agent = impl.FrameSealer(KEY_A2C, "agent")
    at_agent = impl.FrameOpener(KEY_C2A, "customer")
    at_customer = impl.FrameOpener(KEY_A2C, "agent")
    own = customer.seal(framing.STREAM_CUSTOMER_VIDEO, b"mine")
    with refused("wrong_direction"):
        at_customer.open(own)  # the customer's own frame reflected back at it
    with refused("wrong_direction"):
        at_agent.open(agent.seal(framing.STREAM_AGENT_AUDIO, b"agent's"))
    # Relabelled as an agent stream, it is refused because the nonce (direction, stream) and
    # the AAD change: the wrong key alone would already do it.
    relabelled = own[:1] + bytes([framing.STREAM_AGENT_VIDEO]) + own[2:]
    with refused("tampered"):
        at_customer.open(relabelled)
    same_key_opener = impl.FrameOpener(KEY_C2A, "agent")
    with refused("tampered"):
        same_key_opener.open(relabelled)
    assert at_agent.open(own)[1] == b"mine"


def test_sealer_refuses_streams_its_side_may_not_send(impl):
    with refused("wrong_direction"):
        impl.FrameSealer(KEY_C2A, "customer").seal(framing.STREAM_AGENT_VIDEO, b"")
    with refused("wrong_direction"):
        impl.FrameSealer(KEY_A2C, "agent").seal(framing.STREAM_CUSTOMER_AUDIO, b"")
    for stream in (-1, 4, 255, 1 << 70, "0", None, 0.0):
        with refused("bad_stream"):
            impl.FrameSealer(KEY_C2A, "customer").seal(stream, b"")


def test_truncated_frames_refused(impl):
    frame = impl.FrameSealer(KEY_C2A, "customer").seal(framing.STREAM_CUSTOMER_VIDEO, b"0123456789")
    opener = impl.FrameOpener(KEY_C2A, "customer")
    for size in range(len(frame)):
        with pytest.raises(fmt.FrameError) as caught:
            opener.open(frame[:size])
        assert caught.value.code == ("truncated" if size < framing.FRAME_OVERHEAD else "tampered"), size
        if size < framing.FRAME_OVERHEAD:
            with refused("truncated"):
                impl.parse_header(frame[:size])
    assert opener.open(frame)[1] == b"0123456789"


def test_size_limits(impl):
    sealer = impl.FrameSealer(KEY_C2A, "customer")
    opener = impl.FrameOpener(KEY_C2A, "customer")
    largest = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(framing.MAX_PAYLOAD_BYTES))
    assert len(largest) == framing.MAX_FRAME_BYTES
    assert opener.open(largest)[1] == bytes(framing.MAX_PAYLOAD_BYTES)
    with refused("too_large"):
        sealer.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(framing.MAX_PAYLOAD_BYTES + 1))
    oversized = largest + b"\0"
    with refused("too_large"):
        opener.open(oversized)
    with refused("too_large"):
        impl.parse_header(oversized)
    # A lower limit, as the server configuration may set, on the relay and on both clients.
    small = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(100))
    assert impl.parse_header(small, 132).sequence == 1
    with refused("too_large"):
        impl.parse_header(small, 131)
    with refused("too_large"):
        impl.FrameOpener(KEY_C2A, "customer", max_frame_bytes=131).open(small)
    limited = impl.FrameSealer(KEY_C2A, "customer", max_frame_bytes=132)
    limited.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(100))
    with refused("too_large"):
        limited.seal(framing.STREAM_CUSTOMER_VIDEO, bytes(101))
    for limit in (framing.FRAME_OVERHEAD - 1, framing.MAX_FRAME_BYTES + 1):
        with refused("bad_limit"):
            impl.FrameSealer(KEY_C2A, "customer", max_frame_bytes=limit)


def test_refusals_do_not_move_the_window(impl):
    opener = impl.FrameOpener(KEY_A2C, "agent")
    genuine = forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, 500, b"genuine")
    forged = bytearray(genuine)
    forged[-1] ^= 0xFF
    with refused("tampered"):
        opener.open(bytes(forged))
    # A forged far-future sequence must not push genuine frames out of the window either.
    with refused("tampered"):
        opener.open(forge(bytes(16), framing.STREAM_AGENT_VIDEO, 100_000))
    assert opener.open(genuine)[1] == b"genuine"
    assert opener.open(forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, 499))[1] == b"x"


# --- the sealer ----------------------------------------------------------------------------------


def test_sequences_count_per_stream(impl):
    sealer = impl.FrameSealer(KEY_A2C, "agent")
    video = [impl.parse_header(sealer.seal(framing.STREAM_AGENT_VIDEO, b"v")).sequence for _ in range(3)]
    audio = [impl.parse_header(sealer.seal(framing.STREAM_AGENT_AUDIO, b"a")).sequence for _ in range(2)]
    assert (video, audio) == ([0, 1, 2], [0, 1])


def test_seal_defaults_and_flags(impl):
    sealer = impl.FrameSealer(KEY_C2A, "customer")
    before = time.time_ns() // 1000
    header = impl.parse_header(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"k", keyframe=True))
    after = time.time_ns() // 1000
    assert before - 1000 <= header.timestamp_us <= after + 1000
    assert header.keyframe and header.flags == framing.FLAG_KEYFRAME and header.version == framing.VERSION
    assert not impl.parse_header(sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"d")).keyframe
    stamped = sealer.seal(framing.STREAM_CUSTOMER_AUDIO, b"a", timestamp_us=fmt.MAX_TIMESTAMP_US)
    assert impl.parse_header(stamped).timestamp_us == fmt.MAX_TIMESTAMP_US
    for bad in (-1, fmt.MAX_TIMESTAMP_US + 1, 1.5):
        with refused("bad_timestamp"):
            sealer.seal(framing.STREAM_CUSTOMER_AUDIO, b"a", timestamp_us=bad)


def test_payload_types(impl):
    sealer = impl.FrameSealer(KEY_C2A, "customer")
    opener = impl.FrameOpener(KEY_C2A, "customer")
    for payload in (b"bytes", bytearray(b"bytearray"), memoryview(b"..memoryview..")[2:-2]):
        frame = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, payload)
        assert type(frame) is bytes
        assert opener.open(bytearray(frame))[1] == bytes(payload)
    frame = sealer.seal(framing.STREAM_CUSTOMER_VIDEO, b"view")
    assert opener.open(memoryview(b"??" + frame)[2:])[1] == b"view"
    with pytest.raises(TypeError):
        sealer.seal(framing.STREAM_CUSTOMER_VIDEO, "text")
    with pytest.raises(TypeError):
        opener.open("text")


def test_bad_keys_and_sides(impl):
    for key in (b"", bytes(15), bytes(32)):
        with refused("bad_key"):
            impl.FrameSealer(key, "customer")
        with refused("bad_key"):
            impl.FrameOpener(key, "agent")
    # bytes(16) of an int is sixteen zero bytes: a key of the right length nobody meant to use
    for key in (16, "0123456789abcdef", None, [0] * 16):
        with refused("bad_key"):
            impl.FrameSealer(key, "customer")
        with refused("bad_key"):
            impl.FrameOpener(key, "agent")
    for side in ("server", "", None):
        with refused("bad_side"):
            impl.FrameSealer(bytes(16), side)
        with refused("bad_side"):
            impl.FrameOpener(bytes(16), side)
    assert impl.FrameSealer(bytearray(16), "agent").side == "agent"
    assert impl.FrameOpener(memoryview(bytes(16)), "agent").side_of_sender == "agent"


def test_pack_header_validates(impl):
    with refused("bad_stream"):
        impl.pack_header(4, 0, 0)
    with refused("sequence_exhausted"):
        impl.pack_header(0, framing.MAX_SEQUENCE + 1, 0)
    with refused("bad_timestamp"):
        impl.pack_header(0, 0, -1)
    with refused("sequence_exhausted"):
        impl.build_nonce(0, -1)
    assert impl.unpack_header(impl.pack_header(3, 9, 10) + b"trailing").sequence == 9
    with refused("truncated"):
        impl.unpack_header(bytes(15))


def test_sealers_and_openers_cannot_be_copied(impl):
    # A copied sealer would reuse its sequence numbers, hence nonces, under the same key.
    for thing in (impl.FrameSealer(KEY_C2A, "customer"), impl.FrameOpener(KEY_C2A, "customer")):
        with pytest.raises(TypeError):
            pickle.dumps(thing)
        with pytest.raises(TypeError):
            copy.copy(thing)


# --- native and reference agree ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from(["customer", "agent"]),
    kind=st.integers(0, 1),
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    keyframe=st.booleans(),
    timestamp_us=st.integers(0, fmt.MAX_TIMESTAMP_US),
    key=st.binary(min_size=16, max_size=16),
)
def test_implementations_agree_and_interoperate(side, kind, payloads, keyframe, timestamp_us, key):
    stream = (2 if side == "agent" else 0) | kind
    sealers = {name: m.FrameSealer(key, side) for name, m in IMPLEMENTATIONS.items()}
    openers = {name: m.FrameOpener(key, side) for name, m in IMPLEMENTATIONS.items()}
    for payload in payloads:
        frames = {
            name: s.seal(stream, payload, keyframe=keyframe, timestamp_us=timestamp_us)
            for name, s in sealers.items()
        }
        assert len(set(frames.values())) == 1
        frame = frames["reference"]
        for opener in openers.values():
            header, opened = opener.open(frame)
            assert opened == payload and header.keyframe is keyframe and header.timestamp_us == timestamp_us


def _outcome(function, data):
    try:
        return function(data)
    except fmt.FrameError as error:
        return error.code


@settings(max_examples=500, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=80),
        st.builds(
            lambda head, rest: bytes(head) + rest,
            st.lists(st.integers(0, 5), min_size=4, max_size=4),
            st.binary(min_size=0, max_size=60),
        ),
    )
)
def test_parse_header_never_crashes_and_agrees(data):
    outcomes = {name: _outcome(m.parse_header, data) for name, m in IMPLEMENTATIONS.items()}
    assert len(set(outcomes.values())) == 1, outcomes
    opened = {
        name: _outcome(m.FrameOpener(KEY_C2A, "customer").open, data) for name, m in IMPLEMENTATIONS.items()
    }
    assert len(set(opened.values())) == 1 and set(opened.values()) <= {
        "truncated",
        "bad_version",
        "bad_stream",
        "bad_flags",
        "bad_header",
        "wrong_direction",
        "tampered",
    }


# --- threads -------------------------------------------------------------------------------------


def test_threads_sharing_a_sealer_never_reuse_a_sequence(impl):
    sealer = impl.FrameSealer(KEY_A2C, "agent")
    frames: list[bytes] = []
    lock = threading.Lock()

    def work():
        mine = [sealer.seal(framing.STREAM_AGENT_VIDEO, bytes(4096)) for _ in range(500)]
        with lock:
            frames.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(impl.parse_header(f).sequence for f in frames) == list(range(2000))


def test_a_frame_opened_by_racing_threads_is_accepted_once(impl):
    frame = forge(KEY_A2C, framing.STREAM_AGENT_VIDEO, 3, bytes(200_000))
    for _ in range(20):
        opener = impl.FrameOpener(KEY_A2C, "agent")
        results: list[str] = []
        start = threading.Barrier(4)

        def work(opener=opener, results=results, start=start):
            start.wait()
            results.append(_outcome(lambda f: opener.open(f) and "ok", frame))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["ok", "replayed", "replayed", "replayed"]


def test_raw_cipher_matches_frame(impl):
    """What the benchmark compares against: the frame body is AESGCM(key).encrypt(nonce, payload, header)."""
    frame = impl.FrameSealer(KEY_C2A, "customer").seal(framing.STREAM_CUSTOMER_AUDIO, b"abc", timestamp_us=5)
    header = frame[: framing.HEADER_SIZE]
    body = AESGCM(KEY_C2A).encrypt(impl.build_nonce(framing.STREAM_CUSTOMER_AUDIO, 0), b"abc", header)
    assert frame == header + body
