"""Pure-Python reference of the media framing: the test oracle and the fallback for ``_framing``.

Same API, same bytes and same error codes as the Cython extension; written for clarity with
``struct`` and Python ints. The AES-128-GCM itself is ``cryptography``'s ``AESGCM`` in both.
"""

import itertools
import struct
import threading
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._frame_format import (
    DIRECTION_OF,
    FLAG_KEYFRAME,
    FRAME_OVERHEAD,
    HEADER_SIZE,
    KNOWN_FLAGS,
    MAX_FRAME_BYTES,
    MAX_SEQUENCE,
    MAX_TIMESTAMP_US,
    STREAM_NAMES,
    STREAMS_FROM,
    VERSION,
    FrameError,
    FrameHeader,
    check_key,
    check_limit,
    check_side,
    open_in_window,
    sender_of,
)

_HEADER = struct.Struct(">BBBBIQ")  # version, stream, flags, reserved, sequence, timestamp_us
_NONCE = struct.Struct(">BB6xI")  # direction, stream, 6 zero bytes, sequence


def _check_stream(stream) -> int:
    if not isinstance(stream, int) or stream not in STREAM_NAMES:
        raise FrameError("bad_stream", f"unknown stream id {stream!r}")
    return stream


def _check_timestamp(timestamp_us) -> int:
    if not isinstance(timestamp_us, int) or not 0 <= timestamp_us <= MAX_TIMESTAMP_US:
        raise FrameError("bad_timestamp", "timestamp_us must fit in 64 unsigned bits")
    return timestamp_us


def _check_fields(stream, sequence, timestamp_us) -> None:
    _check_stream(stream)
    if not isinstance(sequence, int) or not 0 <= sequence <= MAX_SEQUENCE:
        raise FrameError("sequence_exhausted", "sequence must fit in 32 bits")
    _check_timestamp(timestamp_us)


def pack_header(stream: int, sequence: int, timestamp_us: int, *, keyframe: bool = False) -> bytes:
    """The 16 header bytes of a version-1 frame."""
    _check_fields(stream, sequence, timestamp_us)
    return _HEADER.pack(VERSION, stream, FLAG_KEYFRAME if keyframe else 0, 0, sequence, timestamp_us)


def build_nonce(stream: int, sequence: int) -> bytes:
    """The 12-byte AES-GCM nonce of frame ``sequence`` on ``stream`` (direction taken from it)."""
    _check_fields(stream, sequence, 0)
    return _NONCE.pack(DIRECTION_OF[sender_of(stream)], stream, sequence)


def unpack_header(data) -> FrameHeader:
    """Parse and validate the first HEADER_SIZE bytes of ``data`` (no frame-length rules)."""
    if len(memoryview(data).cast("B")) < HEADER_SIZE:
        raise FrameError("truncated", f"a header is {HEADER_SIZE} bytes")
    version, stream, flags, reserved, sequence, timestamp_us = _HEADER.unpack_from(data)
    if version != VERSION:
        raise FrameError("bad_version", f"version {version} is not {VERSION}")
    if stream not in STREAM_NAMES:
        raise FrameError("bad_stream", f"unknown stream id {stream}")
    if flags & ~KNOWN_FLAGS:
        raise FrameError("bad_flags", f"unknown flag bits {flags:#04x}")
    if reserved:
        raise FrameError("bad_header", "reserved byte must be zero")
    return FrameHeader(version, stream, flags, sequence, timestamp_us)


def parse_header(data, max_frame_bytes: int = MAX_FRAME_BYTES) -> FrameHeader:
    """Validate a whole frame as received and return its header (what the blind relay calls)."""
    size = len(memoryview(data).cast("B"))
    if size < FRAME_OVERHEAD:
        raise FrameError("truncated", f"a frame is at least {FRAME_OVERHEAD} bytes, got {size}")
    if size > max_frame_bytes:
        raise FrameError("too_large", f"{size} bytes is over the {max_frame_bytes}-byte limit")
    return unpack_header(data)


def _check_key(key) -> AESGCM:
    return AESGCM(check_key(key))


class FrameSealer:
    """Seals the frames one side sends under one direction key.

    Keeps a sequence counter per stream, starting at 0. Never make two sealers for one key: the
    second would restart the counters and repeat nonces. ``itertools.count`` makes taking the
    next sequence atomic, so threads may share a sealer.
    """

    def __init__(self, key: bytes, side: str, *, max_frame_bytes: int = MAX_FRAME_BYTES):
        self._aead = _check_key(key)
        self.side = check_side(side)
        self.max_frame_bytes = check_limit(max_frame_bytes)
        self._counters = {stream: itertools.count() for stream in STREAMS_FROM[side]}

    def __reduce__(self):
        raise TypeError("a FrameSealer must not be copied: its sequence counters prevent nonce reuse")

    def seal(self, stream: int, payload, *, keyframe: bool = False, timestamp_us: int | None = None) -> bytes:
        counter = self._counters.get(_check_stream(stream))
        if counter is None:
            raise FrameError("wrong_direction", f"the {self.side} may not send stream {stream}")
        size = len(memoryview(payload).cast("B"))
        if size + FRAME_OVERHEAD > self.max_frame_bytes:
            raise FrameError("too_large", f"a {size}-byte payload is over the frame limit")
        if timestamp_us is None:
            timestamp_us = time.time_ns() // 1000
        else:
            _check_timestamp(timestamp_us)
        sequence = next(counter)
        if sequence > MAX_SEQUENCE:
            raise FrameError("sequence_exhausted", "2**32 frames sealed on this stream: exchange a new key")
        header = _HEADER.pack(VERSION, stream, FLAG_KEYFRAME if keyframe else 0, 0, sequence, timestamp_us)
        nonce = _NONCE.pack(DIRECTION_OF[self.side], stream, sequence)
        return header + self._aead.encrypt(nonce, payload, header)


class FrameOpener:
    """Opens the frames the other side sends: direction, replay window, then authentication.

    Per stream it keeps the highest accepted sequence and a REPLAY_WINDOW-bit map of the ones
    at and below it; bit i stands for ``highest - i``. The window moves only after a frame has
    authenticated.
    """

    def __init__(self, key: bytes, side_of_sender: str, *, max_frame_bytes: int = MAX_FRAME_BYTES):
        self._aead = _check_key(key)
        self.side_of_sender = check_side(side_of_sender)
        self.max_frame_bytes = check_limit(max_frame_bytes)
        self._direction = DIRECTION_OF[side_of_sender]
        self._windows = {stream: [0, 0] for stream in STREAMS_FROM[side_of_sender]}  # [highest, bitmap]
        self._lock = threading.Lock()

    def __reduce__(self):
        raise TypeError("a FrameOpener must not be copied: its replay window guards against replays")

    def open(self, frame) -> tuple[FrameHeader, bytes]:
        header = parse_header(frame, self.max_frame_bytes)
        window = self._windows.get(header.stream)
        if window is None:
            raise FrameError(
                "wrong_direction", f"stream {header.stream} is not sent by the {self.side_of_sender}"
            )
        nonce = _NONCE.pack(self._direction, header.stream, header.sequence)
        return header, open_in_window(self._aead, nonce, frame, HEADER_SIZE, window, header.sequence, self._lock)
