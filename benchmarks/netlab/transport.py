"""The transport alone: voice and video over one TCP stream, three ways, against datagrams, per profile.

    .venv/bin/python -m benchmarks.netlab.transport --realtime
    .venv/bin/python -m benchmarks.netlab.transport --profile 3g --seconds 20 --realtime

No codec, no client, no server: a synthetic call (video frames of ``--video-kbps`` at 30 fps, voice
packets of 80 bytes every 20 ms) from the customer's namespace to the server's, so what is measured
is what the transport does to the voice when it shares a lossy, slow link with video, and the
case for the next transport step is made on numbers. Variants:

- ``tcp-fifo``: one TCP connection, every message written in order into the kernel's autotuned
  send buffer (what the page does: ``WebSocket.send`` of everything, nothing to order by);
- ``tcp-64k``: our Python client's rules today: a 64 KB ``SO_SNDBUF``, messages in order, a video
  frame skipped while more than max(32 KB, a quarter second of the bitrate) waits unsent in the
  application;
- ``tcp-priority``: what we can do on TCP: ``TCP_NOTSENT_LOWAT`` (16 KB) so unsent bytes stay in
  the application, where voice jumps the queue and a video frame that waited over 150 ms is
  dropped before it starts;
- ``datagram``: UDP datagrams (what QUIC datagrams, or WebRTC's RTP, would carry): voice in one,
  a video frame in pieces of 1,200 bytes, nothing retransmitted: a frame with a piece lost is lost.

Per variant: voice latency (p50, p99), voice gaps (the same jitter-buffer replay as the harness,
``metrics.voice_gaps``, with the client's buffer of 60 ms at least, and again with one that holds
a round trip plus 100 ms: what a TCP stream's retransmission stall needs), voice lost, video frames delivered and their latency (p95), and the
goodput of a bulk TCP transfer on the same link (``tcp_bulk_kbps``: what TCP's congestion control
gets from the link's rate at this loss and RTT).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from collections import deque

from .lab import SERVER_ADDRESS, Lab
from .metrics import percentile, voice_gaps
from .netns import inside
from .profiles import PROFILES, Profile

VARIANTS = ("tcp-fifo", "tcp-64k", "tcp-priority", "datagram")
HEADER = struct.Struct("!IBdIHH")  # length, kind, created (wall s), sequence, piece, pieces
VOICE, VIDEO = 1, 2
VOICE_BYTES = 80
VOICE_INTERVAL = 0.02
FPS = 30
PIECE = 1200
TCP_NOTSENT_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", 25)
PORT = 7400
STALE_VIDEO_S = 0.15


class Schedule:
    """The call's messages, each at its time: (due, kind, sequence, size)."""

    def __init__(self, seconds: float, video_kbps: float):
        self.items: list[tuple[float, int, int, int]] = []
        for i in range(int(seconds / VOICE_INTERVAL)):
            self.items.append((i * VOICE_INTERVAL, VOICE, i, VOICE_BYTES))
        frame = int(video_kbps * 1000 / 8 / FPS)
        for i in range(int(seconds * FPS)):
            # a keyframe every 2 s, four times a plain frame, as x264 at these rates roughly makes
            size = frame * 4 if i % (2 * FPS) == 0 else frame
            self.items.append((i / FPS, VIDEO, i, size))
        self.items.sort()


def _message(kind: int, sequence: int, size: int, created: float, piece: int = 0, pieces: int = 1) -> bytes:
    body = max(0, size - HEADER.size)
    return HEADER.pack(HEADER.size + body, kind, created, sequence, piece, pieces) + bytes(body)


class Receiver:
    def __init__(self) -> None:
        self.voice: list[tuple[float, int, float]] = []  # (arrival, sequence, latency ms)
        self.video: dict[int, list] = {}  # sequence → [pieces seen, pieces, created, completed]

    def take(self, kind: int, created: float, sequence: int, piece: int, pieces: int) -> None:
        now = time.time()
        if kind == VOICE:
            self.voice.append((now, sequence, (now - created) * 1000))
            return
        entry = self.video.setdefault(sequence, [set(), pieces, created, None])
        entry[0].add(piece)
        if len(entry[0]) == entry[1] and entry[3] is None:
            entry[3] = now


def _tcp_receive(conn: socket.socket, receiver: Receiver, stop: threading.Event) -> None:
    buffer = bytearray()
    conn.settimeout(0.2)
    while not stop.is_set():
        try:
            data = conn.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        if not data:
            return
        buffer += data
        while len(buffer) >= HEADER.size:
            length, kind, created, sequence, piece, pieces = HEADER.unpack_from(buffer)
            if len(buffer) < length:
                break
            del buffer[:length]
            receiver.take(kind, created, sequence, piece, pieces)


def _tcp_send(sock: socket.socket, schedule: Schedule, start: float, variant: str, video_kbps: float,
              stop: threading.Event) -> dict:
    sock.setblocking(False)
    queue: deque[list] = deque()  # [kind, created, data, offset]
    voice_first: deque[list] = deque()
    skipped = dropped = 0
    backlog_limit = max(32_768, video_kbps * 1000 / 8 * 0.25)
    items = iter(schedule.items)
    upcoming = next(items, None)

    def unsent() -> int:
        return sum(len(m[2]) - m[3] for m in queue) + sum(len(m[2]) - m[3] for m in voice_first)

    while not stop.is_set() and (upcoming is not None or queue or voice_first):
        now = time.time()
        while upcoming is not None and start + upcoming[0] <= now:
            _, kind, sequence, size = upcoming
            created = start + upcoming[0]
            message = [kind, created, _message(kind, sequence, size, created), 0]
            if variant == "tcp-64k" and kind == VIDEO and unsent() > backlog_limit:
                skipped += 1
            elif variant == "tcp-priority" and kind == VOICE:
                voice_first.append(message)
            else:
                queue.append(message)
            upcoming = next(items, None)
        if variant == "tcp-priority":
            # a video frame not started yet that waited too long is worth less than the next one
            while queue and queue[0][3] == 0 and queue[0][0] == VIDEO and now - queue[0][1] > STALE_VIDEO_S:
                queue.popleft()
                dropped += 1
        wait = (start + upcoming[0] - time.time()) if upcoming is not None else 0.05
        if queue or voice_first:
            _, writable, _ = select.select([], [sock], [], max(0.0, wait))
            if not writable:
                continue
            # voice goes first, but never into the middle of a message already begun
            head = queue[0] if queue and queue[0][3] else (voice_first[0] if voice_first else queue[0])
            try:
                sent = sock.send(memoryview(head[2])[head[3]:])
            except BlockingIOError:
                continue
            except OSError:
                break
            head[3] += sent
            if head[3] == len(head[2]):
                (voice_first if voice_first and head is voice_first[0] else queue).popleft()
        elif wait > 0:
            time.sleep(min(wait, 0.05))
    return {"video_skipped": skipped, "video_dropped_stale": dropped}


def _tcp_socket(lab: Lab) -> socket.socket:
    """The customer's TCP socket, with the lab's congestion control even where the namespace's
    default could not be set to it (a program may ask for any the kernel has; we are root)."""
    with inside(lab.customer_ns):
        sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, lab.tcp.encode())
    return sock


def run_tcp(lab: Lab, variant: str, seconds: float, video_kbps: float) -> dict:
    with inside(lab.server_ns):
        listener = socket.create_server((SERVER_ADDRESS, PORT))
    sock = _tcp_socket(lab)
    if variant == "tcp-64k":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    if variant == "tcp-priority":
        sock.setsockopt(socket.IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect((SERVER_ADDRESS, PORT))
    conn, _ = listener.accept()
    receiver = Receiver()
    stop = threading.Event()
    reader = threading.Thread(target=_tcp_receive, args=(conn, receiver, stop), daemon=True)
    reader.start()
    start = time.time() + 0.1
    sender_stop = threading.Event()
    timer = threading.Timer(seconds + 5, sender_stop.set)
    timer.start()
    try:
        extra = _tcp_send(sock, Schedule(seconds, video_kbps), start, variant, video_kbps, sender_stop)
        time.sleep(lab.profile.rtt_ms / 1000 + 1.0)
    finally:
        timer.cancel()
        stop.set()
        reader.join()
        for s in (sock, conn, listener):
            s.close()
    return figures(receiver, start, seconds, extra, lab.profile.rtt_ms)


def run_datagram(lab: Lab, seconds: float, video_kbps: float) -> dict:
    with inside(lab.server_ns):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with inside(lab.customer_ns):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: a busy moment loses nothing here
    server.bind((SERVER_ADDRESS, PORT))
    receiver = Receiver()
    stop = threading.Event()

    def receive() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                data = server.recv(65536)
            except TimeoutError:
                continue
            _, kind, created, sequence, piece, pieces = HEADER.unpack_from(data)
            receiver.take(kind, created, sequence, piece, pieces)

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    start = time.time() + 0.1
    try:
        for due, kind, sequence, size in Schedule(seconds, video_kbps).items:
            wait = start + due - time.time()
            if wait > 0:
                time.sleep(wait)
            created = start + due
            pieces = max(1, -(-size // PIECE))
            for piece in range(pieces):
                client.sendto(_message(kind, sequence, min(PIECE, size - piece * PIECE) if pieces > 1 else size,
                                       created, piece, pieces), (SERVER_ADDRESS, PORT))
        time.sleep(lab.profile.rtt_ms / 1000 + 1.0)
    finally:
        stop.set()
        reader.join()
        server.close()
        client.close()
    return figures(receiver, start, seconds, {}, lab.profile.rtt_ms)


def bulk_tcp_kbps(lab: Lab, seconds: float = 8.0, skip: float = 2.0) -> float:
    """Goodput of one bulk TCP transfer (the kernel's default congestion control) up the link."""
    with inside(lab.server_ns):
        listener = socket.create_server((SERVER_ADDRESS, PORT + 1))
    sock = _tcp_socket(lab)
    sock.connect((SERVER_ADDRESS, PORT + 1))
    conn, _ = listener.accept()
    counted = [0, None]
    stop = threading.Event()

    def read() -> None:
        conn.settimeout(0.2)
        begin = time.time() + skip
        while not stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            if time.time() >= begin:
                counted[1] = counted[1] or time.time()
                counted[0] += len(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    chunk = bytes(65536)
    end = time.time() + seconds
    sock.settimeout(0.5)
    try:
        while time.time() < end:
            try:
                sock.send(chunk)
            except TimeoutError:
                continue
    finally:
        stop.set()
        reader.join()
        for s in (sock, conn, listener):
            s.close()
    return round(counted[0] * 8 / 1000 / (end - counted[1]), 1) if counted[1] else 0.0


def figures(receiver: Receiver, start: float, seconds: float, extra: dict, rtt_ms: float) -> dict:
    voice_lat = [v[2] for v in receiver.voice]
    arrivals = [(t, s) for t, s, _ in receiver.voice]
    gaps = voice_gaps(arrivals, start + seconds + 1.0)
    deep = voice_gaps(arrivals, start + seconds + 1.0, min_ms=rtt_ms + 100)
    frames = int(seconds * FPS)
    done = [(e[3] - e[2]) * 1000 for e in receiver.video.values() if e[3] is not None]
    sent_voice = int(seconds / VOICE_INTERVAL)

    def r(v):
        return None if v is None else round(v, 1)

    return {"voice_p50_ms": r(percentile(voice_lat, 50)), "voice_p99_ms": r(percentile(voice_lat, 99)),
            "voice_gaps_per_min": round(gaps["gaps"] / (seconds / 60), 1), "voice_silent_ms": gaps["silent_ms"],
            "voice_gaps_per_min_deep_buffer": round(deep["gaps"] / (seconds / 60), 1),
            "voice_lost": sent_voice - len({s for _, s, _ in receiver.voice}),
            "video_delivered": round(len(done) / frames, 3), "video_p95_ms": r(percentile(done, 95)), **extra}


def measure(profile: Profile, seconds: float, video_kbps: float, seed: int | None, tcp: str = "cubic") -> dict:
    out = {"profile": profile.name, "video_kbps": video_kbps, "seconds": seconds, "tcp": tcp}
    with Lab(profile, seed=seed, tcp=tcp) as lab:
        out["tcp_bulk_kbps"] = bulk_tcp_kbps(lab)
        for variant in VARIANTS:
            out[variant] = run_datagram(lab, seconds, video_kbps) if variant == "datagram" \
                else run_tcp(lab, variant, seconds, video_kbps)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", action="append", choices=[n for n in PROFILES if n != "handover"])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--video-kbps", type=float, default=300.0,
                   help="the video's rate: under what every profile's link carries, so only the transport differs")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--tcp", default="cubic", help="TCP congestion control in both namespaces (cubic: the phones')")
    p.add_argument("--realtime", action="store_true", help="run at a real-time priority (below the emulator's)")
    args = p.parse_args(argv)
    if args.realtime:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
    for name in args.profile or ["wifi", "lte", "congested", "3g"]:
        print(json.dumps(measure(PROFILES[name], args.seconds, args.video_kbps, args.seed, args.tcp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
