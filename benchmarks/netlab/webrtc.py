"""The WebRTC baseline: the same pictures and voice over aiortc, peer to peer through the same link.

The customer's side is a child process in the customer's namespace
(``python -m benchmarks.netlab.webrtc``); the agent's side (``WebRtcAgent``) runs in the harness,
in the server's namespace. Signalling (offer, answer) goes through the harness's pipes, not the
emulated link: only media is compared. ICE finds the one path there is (host candidates 10.77.2.x
↔ 10.77.1.1, UDP through the emulator).

Same source and caps as our client at its default level: the stamped ``TestPatternTrack`` at
640×480, 30 fps, the tone as the microphone, H.264 through **our own encoder settings**
(``SameEncoder``: ``anysupport_client.media.codec.VideoEncoder``, libx264 ultrafast/zerolatency,
baseline, VBV, an IDR every 2 s) packetised by aiortc, the bitrate between our ladder's floor
(60 kbit/s) and the level's top (800 kbit/s). What differs is the transport: RTP over UDP with
aiortc's NACK retransmission, PLI keyframes, its jitter buffer and its congestion control (REMB
from the receiver's delay-based estimate), which moves only the bitrate (no frame rate or size
steps). The agent's side sends its voice (the tone) back, as the agent does in our runs.

aiortc has no ICE restart. For the handover the customer's side starts a new peer connection on
its new address when told (``restart``), as a WebRTC app without ICE restart must (a browser would
restart ICE on the same connection, sparing the DTLS handshake: about one round trip less).

Commands on the child's stdin (JSON lines): ``{"answer": SDP}``, ``{"restart": true}``; it prints
``{"event": "offer", "sdp": …}`` and, every 0.5 s, ``{"event": "bitrate", "t": …, "bps": …}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable

import aiortc
import aiortc.codecs
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from anysupport_client.media.codec import VideoEncoder
from anysupport_client.media.quality import LEVELS, MIN_BITRATE, Quality
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.media.stamp import age_us, read_stamp
from anysupport_native import convert

from .metrics import Recording

TOP = LEVELS["medium"].quality
# aiortc asks a public STUN server by default: here there is none to reach (and traffic must stay in
# the lab), and waiting for it would add its 5 s timeout to every connection
NO_STUN = RTCConfiguration(iceServers=[])
RTP_VIDEO_TIME_BASE = 90000


class SameEncoder(Encoder):
    """aiortc's H.264 encoder slot filled with our encoder: same x264 settings, aiortc's packetiser."""

    def __init__(self) -> None:
        self._bitrate = TOP.bitrate
        self.encoder: VideoEncoder | None = None

    @property
    def target_bitrate(self) -> int:
        return self._bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self._bitrate = max(MIN_BITRATE, min(int(bitrate), TOP.bitrate))

    def encode(self, frame, force_keyframe: bool = False):
        timestamp = int(frame.pts * frame.time_base * RTP_VIDEO_TIME_BASE)
        q = Quality(frame.width, frame.height, TOP.fps, self._bitrate)
        if self.encoder is None:
            self.encoder = VideoEncoder(q)
        elif self.encoder.quality != q:
            self.encoder.configure(q)
        data = b"".join(payload for payload, _ in self.encoder.encode(frame, keyframe=force_keyframe))
        return H264Encoder._packetize(H264Encoder._split_bitstream(data)), timestamp

    def pack(self, packet):  # pragma: no cover - only for pre-encoded tracks, which we do not send
        raise NotImplementedError


def use_same_encoder() -> None:
    original = aiortc.codecs.get_encoder

    def get_encoder(codec):
        if codec.mimeType.lower() == "video/h264":
            return SameEncoder()
        return original(codec)

    aiortc.codecs.get_encoder = get_encoder
    aiortc.rtcrtpsender.get_encoder = get_encoder


def prefer_h264(pc: RTCPeerConnection) -> None:
    capabilities = aiortc.RTCRtpSender.getCapabilities("video")
    h264: list[RTCRtpCodecCapability] = [c for c in capabilities.codecs if c.mimeType.lower() == "video/h264"]
    rtx = [c for c in capabilities.codecs if c.mimeType.lower() == "video/rtx"]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(h264 + rtx)


# -- the customer's side (child process) ------------------------------------------------------------
async def customer() -> None:
    use_same_encoder()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    pc: RTCPeerConnection | None = None

    async def connect() -> RTCPeerConnection:
        peer = RTCPeerConnection(NO_STUN)
        peer.addTrack(TestPatternTrack(TOP.width, TOP.height, TOP.fps))
        peer.addTrack(ToneTrack())
        prefer_h264(peer)
        await peer.setLocalDescription(await peer.createOffer())
        say({"event": "offer", "sdp": peer.localDescription.sdp})
        return peer

    async def report() -> None:
        while True:
            await asyncio.sleep(0.5)
            for sender in (pc.getSenders() if pc else []):
                encoder = getattr(sender, "_RTCRtpSender__encoder", None)
                if isinstance(encoder, SameEncoder):
                    say({"event": "bitrate", "t": time.time(), "bps": encoder.target_bitrate})

    closing: list[asyncio.Future] = []
    pc = await connect()
    reporter = asyncio.ensure_future(report())
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if "answer" in command:
                await pc.setRemoteDescription(RTCSessionDescription(command["answer"], "answer"))
            elif command.get("restart"):
                # the new connection first: closing the old one waits on a transport that is gone
                old = pc
                pc = await connect()
                closing.append(asyncio.ensure_future(old.close()))
    finally:
        reporter.cancel()
        if pc is not None:
            await pc.close()


# -- the agent's side (in the harness) --------------------------------------------------------------
class WebRtcAgent:
    """Answers the customer's offers and records what arrives, into a ``metrics.Recording``."""

    def __init__(self, recording: Recording):
        self.recording = recording
        self.pc: RTCPeerConnection | None = None
        self.connected = asyncio.Event()
        self.connected_at: float | None = None
        self._tasks: list[asyncio.Task] = []
        self.frames = 0

    async def answer(self, offer_sdp: str) -> str:
        if self.pc is not None:  # closed aside: its transport may be gone, and closing waits on it
            self._tasks.append(asyncio.ensure_future(self.pc.close()))
        self.connected.clear()
        pc = self.pc = RTCPeerConnection(NO_STUN)

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected" and pc is self.pc:
                self.connected_at = time.time()
                self.connected.set()

        @pc.on("track")
        def _track(track) -> None:
            consume = self._video if track.kind == "video" else self._audio
            self._tasks.append(asyncio.ensure_future(consume(track)))

        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        pc.addTrack(ToneTrack())  # the agent's voice, as in our runs: the call goes both ways
        for receiver in pc.getReceivers():
            self._tap(receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _tap(self, receiver) -> None:
        """Record each RTP packet as it arrives (before aiortc's jitter buffer): voice sequence
        numbers for the voice-gap replay, video payload bytes for the received rate."""
        handle: Callable = receiver._handle_rtp_packet
        kind = receiver.track.kind if receiver.track is not None else None
        recording = self.recording
        # RTP numbers wrap at 16 bits and a new connection starts anywhere: continue the count of
        # the recording, so the voice replay sees one stream
        base = recording.voice[-1][1] + 1 if recording.voice else 0
        numbering = {"first": None, "last": None, "wraps": 0}

        async def tapped(packet, arrival_time_ms: int):
            now = time.time()
            if kind == "audio":
                raw = packet.sequence_number
                if numbering["first"] is None:
                    numbering["first"] = raw
                elif raw - numbering["last"] < -32768:
                    numbering["wraps"] += 1
                elif raw - numbering["last"] > 32768:
                    numbering["wraps"] -= 1
                numbering["last"] = raw
                recording.voice.append((now, base + raw + 65536 * numbering["wraps"] - numbering["first"]))
            elif kind == "video":
                recording.video_bytes.append((now, len(packet.payload)))
            return await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = tapped

    async def _video(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now_us = time.time_ns() // 1000
            stamp = read_stamp(convert.planes_of(frame.reformat(format="yuv420p")).y)
            latency = age_us(stamp[1], now_us) / 1000 if stamp else None
            self.frames += 1
            self.recording.frames.append((now_us / 1e6, latency, frame.width, frame.height))

    async def _audio(self, track) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    asyncio.run(customer())
    return 0


if __name__ == "__main__":
    sys.exit(main())
