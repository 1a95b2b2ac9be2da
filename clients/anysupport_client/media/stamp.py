"""The frame number and capture time, written into a picture's pixels and read back after the trip.

The test pattern stamps every frame it makes; whoever decodes it at the far end reads the stamp back
and knows which frame it is (order, loss) and when it was captured (glass-to-glass latency), through
scaling, H.264 and the relay, with no side channel.

Layout: a grid of 16 × 6 blocks over the top quarter of the picture (block = width/16 × height/24),
one bit per block, luma 235 for 1 and 16 for 0, chroma neutral. 96 bits: frame number (u32),
capture time in microseconds since the Unix epoch modulo 2**48 (u48), and a CRC-16 over both, so a
picture without a stamp (or a damaged one) reads as ``None``. Blocks are large enough to survive the
low quality level (320 × 240: 20 × 10 pixels) and its bitrate.
"""

from __future__ import annotations

import binascii

import numpy as np

COLS = 16
ROWS = 6
BITS = COLS * ROWS
STAMP_HEIGHT_FRACTION = ROWS / 24  # the top quarter
ONE, ZERO = 235, 16
TIME_MODULUS = 1 << 48


def _bounds(width: int, height: int):
    xs = [(c * width // COLS, (c + 1) * width // COLS) for c in range(COLS)]
    ys = [(r * height // 24, (r + 1) * height // 24) for r in range(ROWS)]
    return xs, ys


def _payload(frame_number: int, capture_us: int) -> bytes:
    return (frame_number & 0xFFFFFFFF).to_bytes(4, "big") + (capture_us % TIME_MODULUS).to_bytes(6, "big")


def stamp_bits(frame_number: int, capture_us: int) -> np.ndarray:
    data = _payload(frame_number, capture_us)
    data += binascii.crc_hqx(data, 0xFFFF).to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(data, np.uint8))


def stamp_luma(y: np.ndarray, frame_number: int, capture_us: int) -> None:
    """Write the stamp into a luma plane (height, width) in place."""
    height, width = y.shape
    xs, ys = _bounds(width, height)
    bits = stamp_bits(frame_number, capture_us)
    for r, (y0, y1) in enumerate(ys):
        for c, (x0, x1) in enumerate(xs):
            y[y0:y1, x0:x1] = ONE if bits[r * COLS + c] else ZERO


def stamp_chroma(u: np.ndarray, v: np.ndarray, height: int) -> None:
    """Neutral chroma under the stamp, so colour never bleeds into it."""
    rows = (ROWS * height // 24 + 1) // 2
    u[:rows] = 128
    v[:rows] = 128


def read_stamp(y: np.ndarray) -> tuple[int, int] | None:
    """(frame number, capture time µs modulo 2**48) from a luma plane, or None without a valid stamp."""
    height, width = y.shape
    if width < COLS * 2 or height < 48:
        return None
    xs, ys = _bounds(width, height)
    bits = np.empty(BITS, np.uint8)
    for r, (y0, y1) in enumerate(ys):
        qy = max(1, (y1 - y0) // 4)
        for c, (x0, x1) in enumerate(xs):
            qx = max(1, (x1 - x0) // 4)
            block = y[y0 + qy:y1 - qy, x0 + qx:x1 - qx]
            bits[r * COLS + c] = 1 if block.mean() >= 128 else 0
    data = np.packbits(bits).tobytes()
    if binascii.crc_hqx(data[:10], 0xFFFF) != int.from_bytes(data[10:], "big"):
        return None
    return int.from_bytes(data[:4], "big"), int.from_bytes(data[4:10], "big")


def age_us(capture_us: int, now_us: int) -> int:
    """Microseconds from a stamp's capture time (modulo 2**48) to ``now_us`` (Unix epoch)."""
    return (now_us - capture_us) % TIME_MODULUS
