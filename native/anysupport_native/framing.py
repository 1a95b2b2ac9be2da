"""End-to-end encrypted media frames: the public API (specified in ``docs/media-frames.md``).

A frame is one binary WebSocket message::

    header (16 bytes, authenticated, not encrypted) | AES-128-GCM ciphertext | tag (16 bytes)

Clients seal with ``FrameSealer`` and open with ``FrameOpener``; the blind relay, which never
holds a key, calls only ``parse_header`` (and the constants) to route frames and to drop stale
non-key video. The compiled ``_framing`` extension is used when built; otherwise, or when
``ANYSUPPORT_NATIVE=reference`` is set, the pure-Python ``_framing_reference`` with the same API
and the same bytes. ``BACKEND`` says which one this process uses.
"""

from . import _framing_reference, load_extension
from ._frame_format import (
    DIRECTION_AGENT_TO_CUSTOMER,
    DIRECTION_CUSTOMER_TO_AGENT,
    DIRECTION_OF,
    FLAG_KEYFRAME,
    FRAME_OVERHEAD,
    HEADER_SIZE,
    KEY_SIZE,
    KNOWN_FLAGS,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_SEQUENCE,
    MAX_TIMESTAMP_US,
    NONCE_SIZE,
    REPLAY_WINDOW,
    SIDE_AGENT,
    SIDE_CUSTOMER,
    SIDES,
    STREAM_AGENT_AUDIO,
    STREAM_AGENT_VIDEO,
    STREAM_CUSTOMER_AUDIO,
    STREAM_CUSTOMER_VIDEO,
    STREAM_NAMES,
    STREAMS,
    STREAMS_FROM,
    TAG_SIZE,
    VERSION,
    FrameError,
    FrameHeader,
    is_audio,
    is_video,
    sender_of,
)

_native = load_extension("_framing")
_impl = _native if _native is not None else _framing_reference
BACKEND = "native" if _native is not None else "reference"

pack_header = _impl.pack_header
unpack_header = _impl.unpack_header
parse_header = _impl.parse_header
build_nonce = _impl.build_nonce
FrameSealer = _impl.FrameSealer
FrameOpener = _impl.FrameOpener

__all__ = [
    "BACKEND",
    "DIRECTION_AGENT_TO_CUSTOMER",
    "DIRECTION_CUSTOMER_TO_AGENT",
    "DIRECTION_OF",
    "FLAG_KEYFRAME",
    "FRAME_OVERHEAD",
    "HEADER_SIZE",
    "KEY_SIZE",
    "KNOWN_FLAGS",
    "MAX_FRAME_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SEQUENCE",
    "MAX_TIMESTAMP_US",
    "NONCE_SIZE",
    "REPLAY_WINDOW",
    "SIDES",
    "SIDE_AGENT",
    "SIDE_CUSTOMER",
    "STREAMS",
    "STREAMS_FROM",
    "STREAM_AGENT_AUDIO",
    "STREAM_AGENT_VIDEO",
    "STREAM_CUSTOMER_AUDIO",
    "STREAM_CUSTOMER_VIDEO",
    "STREAM_NAMES",
    "TAG_SIZE",
    "VERSION",
    "FrameError",
    "FrameHeader",
    "FrameOpener",
    "FrameSealer",
    "build_nonce",
    "is_audio",
    "is_video",
    "pack_header",
    "parse_header",
    "sender_of",
    "unpack_header",
]
