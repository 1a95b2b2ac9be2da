# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled media framing: header packing, nonces and the replay window in C around AES-GCM.

The AES-128-GCM itself is ``cryptography``'s ``AESGCM`` (OpenSSL), one object per key. What this
module adds per frame is kept to C arithmetic and a handful of small allocations: the frame is
allocated once at its final size, the header is written into it, and the ciphertext is written
behind the header by ``encrypt_into``; opening hands ``decrypt`` views of the received frame, so
no payload-sized copy is made beyond the cipher's own output. ``_framing_reference`` is the same
API in plain Python and the oracle the tests compare this with.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_Check
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memset

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._frame_format import (
    MAX_FRAME_BYTES as _PY_MAX_FRAME_BYTES,
    FrameError,
    FrameHeader,
    check_key,
    check_limit,
    check_side,
)

cdef extern from "<time.h>" nogil:
    # C11 timespec_get rather than POSIX clock_gettime, so the extension also builds with MSVC.
    ctypedef long long time_t
    struct timespec:
        time_t tv_sec
        long tv_nsec
    int timespec_get(timespec *ts, int base)
    int TIME_UTC

cdef extern from "Python.h":
    object PyMemoryView_FromMemory(char *mem, Py_ssize_t size, int flags)
    int PyBUF_READ
    int PyBUF_WRITE

# Must equal _frame_format's values; tests/native/test_framing.py checks that they do.
cdef extern from *:
    """
    #define C_VERSION 1
    #define C_HEADER_SIZE 16
    #define C_NONCE_SIZE 12
    #define C_TAG_SIZE 16
    #define C_FRAME_OVERHEAD 32
    #define C_NSTREAMS 4
    #define C_KNOWN_FLAGS 0x01
    #define C_FLAG_KEYFRAME 0x01
    #define C_MAX_SEQUENCE 0xFFFFFFFFULL
    #define C_REPLAY_WINDOW 64
    """
    const int C_VERSION
    const int C_HEADER_SIZE
    const int C_NONCE_SIZE
    const int C_TAG_SIZE
    const int C_FRAME_OVERHEAD
    const int C_NSTREAMS
    const int C_KNOWN_FLAGS
    const int C_FLAG_KEYFRAME
    const uint64_t C_MAX_SEQUENCE
    const int C_REPLAY_WINDOW

VERSION = C_VERSION
HEADER_SIZE = C_HEADER_SIZE
NONCE_SIZE = C_NONCE_SIZE
TAG_SIZE = C_TAG_SIZE
REPLAY_WINDOW = C_REPLAY_WINDOW
MAX_SEQUENCE = C_MAX_SEQUENCE

cdef object _FrameHeader = FrameHeader
cdef object _FrameError = FrameError
cdef object _InvalidTag = InvalidTag

# Header validation results, in the order the checks run.
cdef enum:
    OK = 0
    BAD_VERSION = 1
    BAD_STREAM = 2
    BAD_FLAGS = 3
    BAD_HEADER = 4


cdef struct header_t:
    uint8_t version
    uint8_t stream
    uint8_t flags
    uint32_t sequence
    uint64_t timestamp_us


cdef inline void _put_u32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v


cdef inline uint32_t _get_u32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | <uint32_t>p[3]


cdef inline void _put_u64(uint8_t *p, uint64_t v) noexcept nogil:
    _put_u32(p, <uint32_t>(v >> 32))
    _put_u32(p + 4, <uint32_t>v)


cdef inline uint64_t _get_u64(const uint8_t *p) noexcept nogil:
    return (<uint64_t>_get_u32(p) << 32) | <uint64_t>_get_u32(p + 4)


cdef inline void _write_header(uint8_t *p, uint8_t stream, uint8_t flags, uint32_t sequence,
                               uint64_t timestamp_us) noexcept nogil:
    p[0] = C_VERSION
    p[1] = stream
    p[2] = flags
    p[3] = 0
    _put_u32(p + 4, sequence)
    _put_u64(p + 8, timestamp_us)


cdef inline void _write_nonce(uint8_t *p, uint8_t stream, uint32_t sequence) noexcept nogil:
    # Byte 0 is the direction, which is the sender bit of the stream id (customer 0, agent 1).
    memset(p, 0, C_NONCE_SIZE)
    p[0] = (stream >> 1) & 1
    p[1] = stream
    _put_u32(p + 8, sequence)


cdef inline int _read_header(const uint8_t *p, header_t *h) noexcept nogil:
    h.version = p[0]
    h.stream = p[1]
    h.flags = p[2]
    h.sequence = _get_u32(p + 4)
    h.timestamp_us = _get_u64(p + 8)
    if h.version != C_VERSION:
        return BAD_VERSION
    if h.stream >= C_NSTREAMS:
        return BAD_STREAM
    if h.flags & ~C_KNOWN_FLAGS:
        return BAD_FLAGS
    if p[3] != 0:
        return BAD_HEADER
    return OK


cdef object _header_error(int status, header_t *h):
    if status == BAD_VERSION:
        return _FrameError("bad_version", f"version {h.version} is not {C_VERSION}")
    if status == BAD_STREAM:
        return _FrameError("bad_stream", f"unknown stream id {h.stream}")
    if status == BAD_FLAGS:
        return _FrameError("bad_flags", f"unknown flag bits {h.flags:#04x}")
    return _FrameError("bad_header", "reserved byte must be zero")


cdef extern from *:
    """
    /* What tuple.__new__(FrameHeader, (...)) does, minus building and parsing an argument tuple:
       allocate the NamedTuple (a tuple subclass with no __dict__) and fill its five items. */
    static PyObject *anysupport_frame_header(PyObject *type, unsigned long version, unsigned long stream,
                                             unsigned long flags, unsigned long sequence,
                                             unsigned long long timestamp_us) {
        PyTypeObject *tp = (PyTypeObject *)type;
        PyObject *header = tp->tp_alloc(tp, 5);
        PyObject *item;
        if (header == NULL) return NULL;
        if ((item = PyLong_FromUnsignedLong(version)) == NULL) goto fail;
        PyTuple_SET_ITEM(header, 0, item);
        if ((item = PyLong_FromUnsignedLong(stream)) == NULL) goto fail;
        PyTuple_SET_ITEM(header, 1, item);
        if ((item = PyLong_FromUnsignedLong(flags)) == NULL) goto fail;
        PyTuple_SET_ITEM(header, 2, item);
        if ((item = PyLong_FromUnsignedLong(sequence)) == NULL) goto fail;
        PyTuple_SET_ITEM(header, 3, item);
        if ((item = PyLong_FromUnsignedLongLong(timestamp_us)) == NULL) goto fail;
        PyTuple_SET_ITEM(header, 4, item);
        return header;
    fail:
        Py_DECREF(header);
        return NULL;
    }
    """
    object anysupport_frame_header(object type, unsigned long version, unsigned long stream,
                                   unsigned long flags, unsigned long sequence, unsigned long long timestamp_us)


cdef inline object _header_object(header_t *h):
    return anysupport_frame_header(_FrameHeader, h.version, h.stream, h.flags, h.sequence, h.timestamp_us)


cdef inline uint64_t _now_us() noexcept nogil:
    cdef timespec ts
    timespec_get(&ts, TIME_UTC)
    return <uint64_t>ts.tv_sec * 1000000 + <uint64_t>(ts.tv_nsec // 1000)


cdef inline bint _fresh(uint64_t highest, uint64_t bitmap, uint64_t sequence) noexcept nogil:
    cdef uint64_t behind
    if sequence > highest:
        return True
    behind = highest - sequence
    return behind < C_REPLAY_WINDOW and not ((bitmap >> behind) & 1)


cdef int _stream_id(object stream) except -1:
    cdef long value
    if PyLong_Check(stream):
        try:
            value = stream  # OverflowError past a C long: refused below like any unknown id
        except OverflowError:
            value = -1
        if 0 <= value < C_NSTREAMS:
            return <int>value
    raise _FrameError("bad_stream", f"unknown stream id {stream!r}")


cdef uint64_t _timestamp(object timestamp_us) except? 0:
    if PyLong_Check(timestamp_us):
        try:
            return timestamp_us  # OverflowError when negative or past 64 bits
        except OverflowError:
            pass
    raise _FrameError("bad_timestamp", "timestamp_us must fit in 64 unsigned bits")


cdef uint32_t _sequence(object sequence) except? 0:
    cdef uint64_t value
    if PyLong_Check(sequence):
        try:
            value = sequence
        except OverflowError:
            value = C_MAX_SEQUENCE + 1
        if value <= C_MAX_SEQUENCE:
            return <uint32_t>value
    raise _FrameError("sequence_exhausted", "sequence must fit in 32 bits")


cdef uint8_t _allowed_streams(str side):
    # Bit s set when the side may send stream s: the customer sends 0 and 1, the agent 2 and 3.
    return 0b0011 if side == "customer" else 0b1100


cdef object _make_aead(object key):
    return AESGCM(check_key(key))


cdef Py_ssize_t _buffer_size(object data) except -1:
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return PyBytes_GET_SIZE(data)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    cdef Py_ssize_t size = view.len
    PyBuffer_Release(&view)
    return size


def pack_header(stream, sequence, timestamp_us, *, bint keyframe=False):
    """The 16 header bytes of a version-1 frame."""
    cdef int s = _stream_id(stream)
    cdef uint32_t seq = _sequence(sequence)
    cdef uint64_t ts = _timestamp(timestamp_us)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, C_HEADER_SIZE)
    _write_header(<uint8_t *>PyBytes_AS_STRING(out), <uint8_t>s, C_FLAG_KEYFRAME if keyframe else 0, seq, ts)
    return out


def build_nonce(stream, sequence):
    """The 12-byte AES-GCM nonce of frame ``sequence`` on ``stream`` (direction taken from it)."""
    cdef int s = _stream_id(stream)
    cdef uint32_t seq = _sequence(sequence)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, C_NONCE_SIZE)
    _write_nonce(<uint8_t *>PyBytes_AS_STRING(out), <uint8_t>s, seq)
    return out


cdef object _parse(object data, Py_ssize_t max_frame_bytes, bint whole_frame):
    cdef Py_buffer view
    cdef header_t h
    cdef int status
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        if whole_frame:
            if view.len < C_FRAME_OVERHEAD:
                raise _FrameError("truncated", f"a frame is at least {C_FRAME_OVERHEAD} bytes, got {view.len}")
            if view.len > max_frame_bytes:
                raise _FrameError("too_large", f"{view.len} bytes is over the {max_frame_bytes}-byte limit")
        elif view.len < C_HEADER_SIZE:
            raise _FrameError("truncated", f"a header is {C_HEADER_SIZE} bytes")
        status = _read_header(<const uint8_t *>view.buf, &h)
    finally:
        PyBuffer_Release(&view)
    if status != OK:
        raise _header_error(status, &h)
    return _header_object(&h)


def unpack_header(data):
    """Parse and validate the first HEADER_SIZE bytes of ``data`` (no frame-length rules)."""
    return _parse(data, 0, False)


def parse_header(data, Py_ssize_t max_frame_bytes=_PY_MAX_FRAME_BYTES):
    """Validate a whole frame as received and return its header (what the blind relay calls)."""
    return _parse(data, max_frame_bytes, True)


@cython.final
@cython.auto_pickle(False)
cdef class FrameSealer:
    """Seals the frames one side sends under one direction key.

    Keeps a sequence counter per stream, starting at 0. Never make two sealers for one key: the
    second would restart the counters and repeat nonces. A sequence is taken and advanced in C
    while holding the GIL, so threads may share a sealer.
    """

    cdef object _encrypt_into
    cdef readonly str side
    cdef readonly Py_ssize_t max_frame_bytes
    cdef uint8_t _allowed
    cdef uint64_t _next[C_NSTREAMS]

    def __init__(self, key, side, *, max_frame_bytes=_PY_MAX_FRAME_BYTES):
        self._encrypt_into = _make_aead(key).encrypt_into
        self.side = check_side(side)
        self.max_frame_bytes = check_limit(max_frame_bytes)
        self._allowed = _allowed_streams(side)
        memset(self._next, 0, sizeof(self._next))

    def __reduce__(self):
        raise TypeError("a FrameSealer must not be copied: its sequence counters prevent nonce reuse")

    def seal(self, stream, payload, *, bint keyframe=False, timestamp_us=None):
        """One whole frame: header, then ``payload`` encrypted, then the 16-byte tag."""
        cdef int s = _stream_id(stream)
        if not (self._allowed >> s) & 1:
            raise _FrameError("wrong_direction", f"the {self.side} may not send stream {s}")
        cdef Py_ssize_t size = _buffer_size(payload)
        if size > self.max_frame_bytes - C_FRAME_OVERHEAD:
            raise _FrameError("too_large", f"a {size}-byte payload is over the frame limit")
        cdef uint64_t ts = _now_us() if timestamp_us is None else _timestamp(timestamp_us)
        cdef uint64_t sequence = self._next[s]
        if sequence > C_MAX_SEQUENCE:
            raise _FrameError("sequence_exhausted", "2**32 frames sealed on this stream: exchange a new key")
        self._next[s] = sequence + 1

        cdef bytes frame = PyBytes_FromStringAndSize(NULL, size + C_FRAME_OVERHEAD)
        cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(frame)
        _write_header(p, <uint8_t>s, C_FLAG_KEYFRAME if keyframe else 0, <uint32_t>sequence, ts)
        cdef bytes nonce = PyBytes_FromStringAndSize(NULL, C_NONCE_SIZE)
        _write_nonce(<uint8_t *>PyBytes_AS_STRING(nonce), <uint8_t>s, <uint32_t>sequence)
        # The frame is new and not yet shared, so the cipher may write behind its header in place.
        self._encrypt_into(nonce, payload, PyBytes_FromStringAndSize(<char *>p, C_HEADER_SIZE),
                           PyMemoryView_FromMemory(<char *>p + C_HEADER_SIZE, size + C_TAG_SIZE, PyBUF_WRITE))
        return frame


@cython.final
@cython.auto_pickle(False)
cdef class FrameOpener:
    """Opens the frames the other side sends: direction, replay window, then authentication.

    Per stream it keeps the highest accepted sequence and a 64-bit map of the ones at and below
    it (bit i stands for ``highest - i``). The window moves only after a frame has authenticated,
    and the final check-and-set runs in C under the GIL, so a frame opened twice concurrently is
    accepted once.
    """

    cdef object _decrypt
    cdef readonly str side_of_sender
    cdef readonly Py_ssize_t max_frame_bytes
    cdef uint8_t _allowed
    cdef uint64_t _highest[C_NSTREAMS]
    cdef uint64_t _bitmap[C_NSTREAMS]

    def __init__(self, key, side_of_sender, *, max_frame_bytes=_PY_MAX_FRAME_BYTES):
        self._decrypt = _make_aead(key).decrypt
        self.side_of_sender = check_side(side_of_sender)
        self.max_frame_bytes = check_limit(max_frame_bytes)
        self._allowed = _allowed_streams(side_of_sender)
        memset(self._highest, 0, sizeof(self._highest))
        memset(self._bitmap, 0, sizeof(self._bitmap))

    def __reduce__(self):
        raise TypeError("a FrameOpener must not be copied: its replay window guards against replays")

    def open(self, frame):
        """``(FrameHeader, payload)`` of an authentic, fresh frame from the expected side."""
        cdef Py_buffer view
        cdef header_t h
        cdef int status
        cdef const uint8_t *p
        cdef uint64_t behind
        cdef object payload
        cdef bytes nonce
        PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE)
        try:
            p = <const uint8_t *>view.buf
            if view.len < C_FRAME_OVERHEAD:
                raise _FrameError("truncated", f"a frame is at least {C_FRAME_OVERHEAD} bytes, got {view.len}")
            if view.len > self.max_frame_bytes:
                raise _FrameError("too_large", f"{view.len} bytes is over the {self.max_frame_bytes}-byte limit")
            status = _read_header(p, &h)
            if status != OK:
                raise _header_error(status, &h)
            if not (self._allowed >> h.stream) & 1:
                raise _FrameError("wrong_direction", f"stream {h.stream} is not sent by the {self.side_of_sender}")
            if not _fresh(self._highest[h.stream], self._bitmap[h.stream], h.sequence):
                raise _FrameError("replayed", f"sequence {h.sequence} already seen or too old")
            nonce = PyBytes_FromStringAndSize(NULL, C_NONCE_SIZE)
            _write_nonce(<uint8_t *>PyBytes_AS_STRING(nonce), h.stream, h.sequence)
            try:
                payload = self._decrypt(
                    nonce,
                    PyMemoryView_FromMemory(<char *>p + C_HEADER_SIZE, view.len - C_HEADER_SIZE, PyBUF_READ),
                    PyBytes_FromStringAndSize(<const char *>p, C_HEADER_SIZE),
                )
            except _InvalidTag:
                raise _FrameError("tampered", "authentication failed") from None
            # Check again: another thread may have accepted this sequence while we decrypted.
            if not _fresh(self._highest[h.stream], self._bitmap[h.stream], h.sequence):
                raise _FrameError("replayed", f"sequence {h.sequence} already seen")
            if h.sequence > self._highest[h.stream]:
                behind = h.sequence - self._highest[h.stream]
                self._bitmap[h.stream] = ((self._bitmap[h.stream] << behind) | 1) if behind < C_REPLAY_WINDOW else 1
                self._highest[h.stream] = h.sequence
            else:
                self._bitmap[h.stream] |= (<uint64_t>1) << (self._highest[h.stream] - h.sequence)
        finally:
            PyBuffer_Release(&view)
        return _header_object(&h), payload
