"""The media payloads are what docs/protocol.md says ("Payloads: H.264 video and Opus audio"):
the reference encoders' output checked byte by byte."""

from __future__ import annotations

import re

import av
import numpy as np
from anysupport_client.media.codec import OpusEncoder, VideoDecoder, VideoEncoder
from anysupport_client.media.quality import LEVELS

START_CODE = re.compile(b"\x00\x00\x00\x01|\x00\x00\x01")
SPS, PPS, SEI, IDR, SLICE = 7, 8, 6, 5, 1


def nal_types(access_unit: bytes) -> list[int]:
    return [access_unit[m.end()] & 0x1F for m in START_CODE.finditer(access_unit)]


def test_video_is_annex_b_with_sps_and_pps_before_every_idr():
    quality = LEVELS["low"].quality
    encoder = VideoEncoder(quality)
    rng = np.random.default_rng(7)
    units = []
    for i in range(int(quality.fps * 5)):  # 5 s: the regular IDRs every 2 s, and one asked for
        picture = rng.integers(0, 255, (quality.height, quality.width, 3), np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = i * 90000 // quality.fps
        units.extend(encoder.encode(frame, keyframe=(i == 10)))
    keyframes = [i for i, (_unit, key) in enumerate(units) if key]
    assert 0 in keyframes and 10 in keyframes and len(keyframes) >= 4
    decoder = VideoDecoder()
    for i, (unit, key) in enumerate(units):
        assert unit.startswith(b"\x00\x00\x00\x01"), "an Annex B start code, not an AVCC length"
        types = nal_types(unit)
        if key:
            assert types[:2] == [SPS, PPS] and IDR in types and set(types) <= {SPS, PPS, SEI, IDR}
            assert unit[4] == 0x67  # the doc's first bytes: 00 00 00 01 67
        else:
            assert types == [SLICE] and unit[4] == 0x41  # 00 00 00 01 41
        if i >= keyframes[1]:
            # a receiver that starts at any keyframe decodes from there, with nothing out of band
            assert len(decoder.decode(unit)) == 1


def test_a_decoder_can_start_at_a_later_keyframe_alone():
    quality = LEVELS["low"].quality
    encoder = VideoEncoder(quality)
    units = []
    for i in range(3):
        frame = av.VideoFrame(quality.width, quality.height, "yuv420p")
        frame.pts = i * 6000
        units.extend(encoder.encode(frame, keyframe=(i == 2)))
    assert units[2][1] and len(VideoDecoder().decode(units[2][0])) == 1


def test_audio_is_one_20_ms_48_khz_mono_opus_packet_per_frame():
    encoder = OpusEncoder()
    assert encoder.context.sample_rate == 48000 and encoder.context.frame_size == 960
    tone = (np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
    frame.sample_rate = 48000
    frame.pts = 0
    packets = encoder.encode(frame)
    assert 45 <= len(packets) <= 50  # one second: 50 packets of 20 ms (the encoder may hold a few back)
    for packet in packets:
        toc = packet[0]  # RFC 6716 §3.1: config (5 bits), stereo flag, frame count code
        config, stereo, count = toc >> 3, (toc >> 2) & 1, toc & 3
        assert stereo == 0 and count == 0  # mono, one frame per packet
        assert config in (1, 5, 9, 13, 15, 19, 23, 27, 31)  # the 20 ms configurations of every mode and band
