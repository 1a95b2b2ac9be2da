"""What the emulated link really does, measured end to end through both namespaces.

    .venv/bin/python -m benchmarks.netlab.probe                 # every profile
    .venv/bin/python -m benchmarks.netlab.probe --profile lte --realtime

Three probes over UDP (no congestion control in the way), the sockets opened in each namespace by
this one process (``netns.inside``):

- ``rtt``: small probes, one every 20 ms (on a jittery link wider than the four jitters a probe
  and the next one's echoes can differ by, so keeping order never holds one back), echoed by the server's side: the mean and the standard
  deviation of the round trips that came back. With a uniform jitter of ±J in each direction the
  round trip's deviation is J·√(2/3);
- ``loss``: a paced stream of small datagrams in each direction at once; the share that never
  arrived. A tight figure needs many packets (``loss_packets_for``: 3 binomial standard
  deviations within 10 %, 180 000 at 0.5 %), more than a 750 kbit/s link passes in a minute, so
  this probe runs on the profile with its rate lifted: loss is drawn before the bottleneck and does
  not depend on it; the rate probe below runs under the whole profile, loss included;
- ``rate``: a flood at 1.5 times the rate up the link; what arrives per second, counted in IP bytes
  (payload + 28) from 0.5 s on, when the queue is full and the bottleneck is the only limit. Loss
  is drawn before the bottleneck, so a saturated link still delivers its full rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import struct
import sys
import threading
import time
from dataclasses import dataclass

from .lab import SERVER_ADDRESS, Lab
from .netns import inside
from .profiles import PROFILES, Profile

IP_UDP_HEADERS = 28
PORT_ECHO = 7001
PORT_SINK = 7002
PORT_SOURCE = 7003


@dataclass
class Accuracy:
    profile: str
    rtt_ms: float | None
    rtt_std_ms: float | None
    rtt_samples: int
    loss_up: float
    loss_down: float
    loss_packets: int
    rate_bps: float | None
    emulator_us_per_packet: float | None = None  # the emulator's CPU time per packet moved (loss lab)
    emulator_pps: float | None = None  # packets per second it moved then, both directions

    def errors(self, profile: Profile) -> dict[str, float]:
        """Relative error of each figure against the profile (0.05 = 5 % off)."""
        out = {"rtt": abs(self.rtt_ms - profile.rtt_ms) / profile.rtt_ms}
        if profile.jitter_ms and self.rtt_std_ms is not None:
            expected = expected_rtt_std_ms(profile)
            out["jitter"] = abs(self.rtt_std_ms - expected) / expected
        if profile.loss:
            out["loss_up"] = abs(self.loss_up - profile.loss) / profile.loss
            out["loss_down"] = abs(self.loss_down - profile.loss) / profile.loss
        if profile.rate_bps is not None and self.rate_bps is not None:
            out["rate"] = abs(self.rate_bps - profile.rate_bps) / profile.rate_bps
        return out

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def expected_rtt_std_ms(profile: Profile) -> float:
    """Two independent uniform draws in ±J: the round trip's standard deviation is J·√(2/3)."""
    return profile.jitter_ms * math.sqrt(2 / 3)


def loss_packets_for(loss: float, tolerance: float = 0.1, sigmas: float = 3.0, cap: int = 200_000) -> int:
    """Packets needed so that ``sigmas`` binomial standard deviations are within ``tolerance`` of ``loss``."""
    if not loss:
        return 2000
    return min(cap, math.ceil(sigmas * sigmas * (1 - loss) / (loss * tolerance * tolerance)))


SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)


def _socket(ns: str, address: str, port: int, *, buffer: int = 32 << 20) -> socket.socket:
    """A UDP socket in namespace ``ns`` with large buffers (past rmem_max: we are root), so a probe
    thread that waits for the CPU a moment does not lose datagrams the link delivered."""
    with inside(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, buffer)
    s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, buffer)
    s.bind((address, port))
    return s


def measure_rtt(lab: Lab, count: int = 100, interval: float | None = None) -> list[float]:
    """Round trips (ms) of ``count`` probes; lost ones are missing."""
    if interval is None:
        interval = max(0.02, 4 * lab.profile.jitter_s + 0.01)
    echo = _socket(lab.server_ns, SERVER_ADDRESS, PORT_ECHO)
    client = _socket(lab.customer_ns, lab.customer_address, 0)
    stop = threading.Event()

    def serve() -> None:
        echo.settimeout(0.2)
        while not stop.is_set():
            try:
                data, peer = echo.recvfrom(2048)
            except TimeoutError:
                continue
            echo.sendto(data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    sent: dict[int, float] = {}
    rtts: list[float] = []
    client.settimeout(0.001)
    try:
        deadline = time.monotonic()
        for i in range(count):
            deadline += interval
            sent[i] = time.monotonic()
            client.sendto(struct.pack("!Id", i, sent[i]) + b"\0" * 52, (SERVER_ADDRESS, PORT_ECHO))
            rtts += _collect_echoes(client, sent, until=deadline)
        rtts += _collect_echoes(client, sent, until=time.monotonic() + lab.profile.rtt_ms / 1000 * 2 + 0.5)
    finally:
        stop.set()
        thread.join()
        echo.close()
        client.close()
    return rtts


def _collect_echoes(sock: socket.socket, sent: dict[int, float], until: float) -> list[float]:
    out = []
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            data = sock.recv(2048)
        except TimeoutError:
            return out
        number, _ = struct.unpack("!Id", data[:12])
        if number in sent:
            out.append((time.monotonic() - sent.pop(number)) * 1000)


def _paced(count: int, pps: float, tick: float = 0.002):
    """Numbers 0 … count-1, each yielded once its time (i / pps from now) has come: in bursts of
    whatever fell due during a ``tick`` of sleep, so pacing costs no busy loop."""
    start = time.monotonic()
    i = 0
    while i < count:
        due_now = min(count, int((time.monotonic() - start) * pps) + 1)
        while i < due_now:
            yield i
            i += 1
        time.sleep(tick)


def _stream(src: socket.socket, dst: socket.socket, dst_address: tuple[str, int], count: int, pps: float,
            size: int, drain: float) -> int:
    """Send ``count`` numbered datagrams at ``pps``; returns how many distinct ones arrived."""
    seen = bytearray(count)
    stop = threading.Event()

    def receive() -> None:
        dst.settimeout(0.1)
        while not stop.is_set():
            try:
                data = dst.recv(4096)
            except TimeoutError:
                continue
            (number,) = struct.unpack_from("!I", data)
            if number < count:
                seen[number] = 1

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    pad = b"\0" * (size - 4)
    try:
        for i in _paced(count, pps):
            src.sendto(struct.pack("!I", i) + pad, dst_address)
        time.sleep(drain)
    finally:
        stop.set()
        thread.join()
    return sum(seen)


def measure_loss(lab: Lab, count: int, *, size: int = 32, pps: float = 20_000) -> tuple[float, float]:
    """Loss up (customer → server) and down, each from ``count`` datagrams, both directions at once,
    paced at ``pps`` (at most half the rate, so the bottleneck drops nothing)."""
    if lab.profile.rate_bps is not None:
        pps = min(pps, lab.profile.rate_bps / 2 / ((size + IP_UDP_HEADERS) * 8))
    drain = lab.profile.rtt_ms / 1000 + lab.profile.jitter_ms / 1000 + 0.5
    server = _socket(lab.server_ns, SERVER_ADDRESS, PORT_SINK)
    customer = _socket(lab.customer_ns, lab.customer_address, PORT_SOURCE)
    got: dict[str, int] = {}

    def run(name, src, dst, address) -> None:
        got[name] = _stream(src, dst, address, count, pps, size, drain)

    down = threading.Thread(target=run, args=("down", server, customer, (lab.customer_address, PORT_SOURCE)))
    try:
        down.start()
        run("up", customer, server, (SERVER_ADDRESS, PORT_SINK))
        down.join()
    finally:
        server.close()
        customer.close()
    return 1 - got["up"] / count, 1 - got["down"] / count


def measure_rate(lab: Lab, seconds: float = 3.0, *, size: int = 1200, skip: float = 0.5) -> float | None:
    """Bits per second of IP packets delivered up the link while it is flooded at 1.5 times its rate."""
    rate = lab.profile.rate_bps
    if rate is None:
        return None
    pps = rate * 1.5 / ((size + IP_UDP_HEADERS) * 8)
    server = _socket(lab.server_ns, SERVER_ADDRESS, PORT_SINK)
    customer = _socket(lab.customer_ns, lab.customer_address, PORT_SOURCE)
    arrivals: list[float] = []
    stop = threading.Event()

    def receive() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                server.recv(4096)
            except TimeoutError:
                continue
            arrivals.append(time.monotonic())

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    payload = b"\0" * size
    start = time.monotonic()
    try:
        for _ in _paced(int(seconds * pps), pps):
            customer.sendto(payload, (SERVER_ADDRESS, PORT_SINK))
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
        server.close()
        customer.close()
    first = start + lab.profile.one_way_s + skip
    window = [t for t in arrivals if t >= first]
    if len(window) < 2:
        return None
    return (len(window) - 1) * (size + IP_UDP_HEADERS) * 8 / (window[-1] - window[0])


def measure(profile: Profile, *, loss_packets: int | None = None, rtt_probes: int = 100,
            rate_seconds: float = 3.0, seed: int | None = None) -> Accuracy:
    """RTT and rate under the whole profile; loss with its rate lifted, from enough packets for a
    10 % figure unless ``loss_packets`` says otherwise."""
    count = loss_packets or loss_packets_for(profile.loss)
    with Lab(profile, seed=seed) as lab:
        rtts = measure_rtt(lab, rtt_probes)
        rate = measure_rate(lab, rate_seconds)
    with Lab(profile.with_(rate_bps=None), seed=seed) as lab:
        begun = time.monotonic()
        loss_up, loss_down = measure_loss(lab, count)
        took = time.monotonic() - begun
        counters = lab.counters()
    packets = sum(d["offered"] for d in counters["counters"].values())
    return Accuracy(profile.name, round(statistics.fmean(rtts), 2) if rtts else None,
                    round(statistics.pstdev(rtts), 2) if len(rtts) > 1 else None, len(rtts),
                    round(loss_up, 5), round(loss_down, 5), count, round(rate) if rate is not None else None,
                    round(counters["cpu_s"] / packets * 1e6, 2) if packets else None, round(packets / took))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", action="append", choices=list(PROFILES), help="default: every profile")
    p.add_argument("--loss-packets", type=int, default=None)
    p.add_argument("--seed", type=int, default=None, help="the emulator's random seed (default: fresh)")
    p.add_argument("--rtt-probes", type=int, default=100)
    p.add_argument("--rate-seconds", type=float, default=3.0)
    p.add_argument("--realtime", action="store_true",
                   help="measure at a real-time priority (below the emulator's), so a busy machine does not "
                        "starve the probe's own sockets and pass that off as the link's delay or loss")
    args = p.parse_args(argv)
    if args.realtime:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
    for name in args.profile or [n for n in PROFILES if n != "handover"]:
        profile = PROFILES[name]
        started = time.monotonic()
        result = measure(profile, loss_packets=args.loss_packets, rtt_probes=args.rtt_probes,
                         rate_seconds=args.rate_seconds, seed=args.seed)
        print(json.dumps({**result.as_dict(), "errors": {k: round(v, 4) for k, v in result.errors(profile).items()},
                          "seconds": round(time.monotonic() - started, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
