"""Constants and types of the end-to-end encrypted media frame, shared by both implementations.

The compiled ``_framing`` extension and ``_framing_reference`` both raise this module's
``FrameError`` and return its ``FrameHeader``, so callers never see which one ran. The byte
layout is specified in ``docs/media-frames.md``; the numbers here must match it.
"""

from typing import NamedTuple

from cryptography.exceptions import InvalidTag

VERSION = 1
HEADER_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 16  # AES-128-GCM
FRAME_OVERHEAD = HEADER_SIZE + TAG_SIZE
MAX_FRAME_BYTES = 1 << 20  # largest whole frame (header + ciphertext + tag) the protocol allows
MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES - FRAME_OVERHEAD
MAX_SEQUENCE = 0xFFFFFFFF  # the 32-bit sequence never wraps under one key: the sealer refuses
MAX_TIMESTAMP_US = 0xFFFFFFFFFFFFFFFF
REPLAY_WINDOW = 64  # frames behind the highest accepted sequence that may still arrive late

# Stream ids: bit 1 is the sending side (0 customer, 1 agent), bit 0 the kind (0 video, 1 audio).
STREAM_CUSTOMER_VIDEO = 0
STREAM_CUSTOMER_AUDIO = 1
STREAM_AGENT_VIDEO = 2
STREAM_AGENT_AUDIO = 3
STREAMS = (STREAM_CUSTOMER_VIDEO, STREAM_CUSTOMER_AUDIO, STREAM_AGENT_VIDEO, STREAM_AGENT_AUDIO)
STREAM_NAMES = {
    STREAM_CUSTOMER_VIDEO: "customer_video",
    STREAM_CUSTOMER_AUDIO: "customer_audio",
    STREAM_AGENT_VIDEO: "agent_video",
    STREAM_AGENT_AUDIO: "agent_audio",
}

FLAG_KEYFRAME = 0x01
KNOWN_FLAGS = FLAG_KEYFRAME

SIDE_CUSTOMER = "customer"
SIDE_AGENT = "agent"
SIDES = (SIDE_CUSTOMER, SIDE_AGENT)
STREAMS_FROM = {
    SIDE_CUSTOMER: frozenset({STREAM_CUSTOMER_VIDEO, STREAM_CUSTOMER_AUDIO}),
    SIDE_AGENT: frozenset({STREAM_AGENT_VIDEO, STREAM_AGENT_AUDIO}),
}
# Nonce byte 0: the direction of the key that seals the frame.
DIRECTION_CUSTOMER_TO_AGENT = 0
DIRECTION_AGENT_TO_CUSTOMER = 1
DIRECTION_OF = {SIDE_CUSTOMER: DIRECTION_CUSTOMER_TO_AGENT, SIDE_AGENT: DIRECTION_AGENT_TO_CUSTOMER}


class FrameError(ValueError):
    """A frame, header or framing argument was refused; ``code`` says why in snake_case.

    Codes: ``truncated``, ``too_large``, ``bad_version``, ``bad_stream``, ``bad_flags``,
    ``bad_header`` (reserved byte set), ``wrong_direction``, ``replayed``, ``tampered``,
    ``sequence_exhausted``, ``bad_timestamp``, ``bad_key``, ``bad_side``, ``bad_limit``.
    """

    def __init__(self, code: str, message: str | None = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class FrameHeader(NamedTuple):
    version: int
    stream: int
    flags: int
    sequence: int
    timestamp_us: int

    @property
    def keyframe(self) -> bool:
        return bool(self.flags & FLAG_KEYFRAME)

    @property
    def sender(self) -> str:
        """The side that sent this stream ("customer" or "agent")."""
        return sender_of(self.stream)


def is_video(stream: int) -> bool:
    return stream in STREAM_NAMES and not stream & 1


def is_audio(stream: int) -> bool:
    return stream in STREAM_NAMES and bool(stream & 1)


def sender_of(stream: int) -> str:
    """The side allowed to send ``stream``; FrameError(bad_stream) for an unknown id."""
    if stream not in STREAM_NAMES:
        raise FrameError("bad_stream", f"unknown stream id {stream!r}")
    return SIDE_AGENT if stream & 2 else SIDE_CUSTOMER


def check_side(side: str) -> str:
    if side not in STREAMS_FROM:
        raise FrameError("bad_side", f"side must be 'customer' or 'agent', not {side!r}")
    return side


def check_key(key) -> bytes:
    """The 16 bytes of an AES-128 key given as any bytes-like object (never ``bytes(16)`` of an int)."""
    try:
        raw = bytes(memoryview(key))
    except TypeError:
        raise FrameError("bad_key", f"an AES-128 key is bytes-like, not {type(key).__name__}") from None
    if len(raw) != KEY_SIZE:
        raise FrameError("bad_key", f"an AES-128 key is {KEY_SIZE} bytes, got {len(raw)}")
    return raw


def check_limit(max_frame_bytes: int) -> int:
    if not FRAME_OVERHEAD <= max_frame_bytes <= MAX_FRAME_BYTES:
        raise FrameError("bad_limit", f"max_frame_bytes must be in {FRAME_OVERHEAD}..{MAX_FRAME_BYTES}")
    return int(max_frame_bytes)


def window_fresh(window: list[int], sequence: int) -> bool:
    """Docs §2.1 ``fresh``: ``window`` is ``[highest, seen]`` of one stream."""
    highest, bitmap = window
    if sequence > highest:
        return True
    behind = highest - sequence
    return behind < REPLAY_WINDOW and not (bitmap >> behind) & 1


def window_record(window: list[int], sequence: int) -> None:
    """Docs §2.1 ``record`` (64-bit arithmetic), after the frame authenticated and was fresh."""
    highest, bitmap = window
    if sequence > highest:
        window[0] = sequence
        window[1] = ((bitmap << (sequence - highest)) | 1) & ((1 << REPLAY_WINDOW) - 1)
    else:
        window[1] = bitmap | (1 << (highest - sequence))


def open_in_window(aead, nonce: bytes, frame, header_size: int, window: list[int], sequence: int, lock) -> bytes:
    """Open one frame under its replay window (version 1 and version 2 alike): refused if ``sequence`` was
    seen or is too old, authenticated with its header as associated data, then recorded under ``lock`` (a
    second check there: two threads may have opened the same frame)."""
    if not window_fresh(window, sequence):
        raise FrameError("replayed", f"sequence {sequence} already seen or too old")
    view = memoryview(frame).cast("B")
    try:
        payload = aead.decrypt(nonce, view[header_size:], view[:header_size])
    except InvalidTag:
        raise FrameError("tampered", "authentication failed") from None
    with lock:
        if not window_fresh(window, sequence):
            raise FrameError("replayed", f"sequence {sequence} already seen")
        window_record(window, sequence)
    return payload
