"""Relay load generator: N connected sessions streaming sealed media through one server process.

    .venv/bin/python benchmarks/relay_load.py --sessions 100 --seconds 20 [--fps 30] [--video-kbps 1000]
        [--audio-ms 20] [--agent-audio] [--baseline] [--url http://127.0.0.1:8888 --ws ws://127.0.0.1:8888]

Without --url it starts a server (embedded database) in another process pinned to CPU 0 and runs
itself on the other core. Each customer sends video (keyframe every 2 s, frame sizes from the
bitrate, keyframes 5× a delta frame) and Opus-sized audio (every --audio-ms); with --agent-audio
each agent sends voice back. Every frame is really sealed (AES-128-GCM). Reported: relay latency
p50/p99 from the capture timestamp in the frame header to its arrival, frames lost (sent minus
received minus what the relay's policy dropped, from /api/v1/metrics), server CPU (% of one core,
and µs per relayed frame) and memory. ``--baseline`` sends the same traffic through a bare Tornado
forwarder (``bare_forwarder.py``) instead, for the ratio of the relay's cost to Tornado's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_native import framing  # noqa: E402

from benchmarks.loadgen import CpuMeter, open_pairs, percentile, start_server, summary  # noqa: E402
from tests.support.client import Api, Socket  # noqa: E402
from tests.support.server import ADMIN_PASSWORD  # noqa: E402

OPUS_BYTES_PER_MS = 4  # ~32 kbit/s voice: 80 bytes per 20 ms


def frame_sizes(fps: float, kbps: float, gop_seconds: float = 2.0) -> tuple[int, int]:
    per_second = kbps * 1000 / 8
    frames_per_gop = max(1, round(fps * gop_seconds))
    # one keyframe worth 5 deltas per GOP
    delta = per_second * gop_seconds / (frames_per_gop - 1 + 5)
    return int(delta * 5), int(delta)


async def read_all(sock, latencies: list[float], counts: dict, prefix: int) -> None:
    while True:
        message = await sock.conn.read_message()
        if message is None:
            return
        if isinstance(message, bytes):
            header = framing.parse_header(message[prefix:])
            latencies.append((time.time_ns() // 1000 - header.timestamp_us) / 1000.0)
            counts[header.stream] = counts.get(header.stream, 0) + 1


@dataclass
class BarePair:
    session_id: str
    console: Socket
    customer: Socket


def start_bare(cpu: int = 0):
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "bare_forwarder.py")],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(line.rsplit(":", 1)[1])
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(proc.pid, {cpu})
        os.sched_setaffinity(0, {c for c in range(os.cpu_count()) if c != cpu})
    return proc, port


async def open_bare_pairs(ws_base: str, count: int) -> list[BarePair]:
    pairs = []
    for i in range(count):
        a = await Socket.connect(ws_base, path=f"/ws?pair={i}")
        b = await Socket.connect(ws_base, path=f"/ws?pair={i}")
        pairs.append(BarePair(f"{i:024x}", a, b))
    return pairs


async def metrics(api: Api) -> dict[str, float]:
    body = (await api.get("/api/v1/metrics")).body.decode()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#") and not line.startswith("anysupport_session_"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def run(args) -> dict:
    srv = bare = None
    if args.baseline:
        bare, port = start_bare()
        url, ws, pid = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", bare.pid
    elif args.url:
        url, ws, pid = args.url, args.ws or args.url.replace("http", "ws", 1), None
    else:
        srv = start_server({"media_max_fps": 1000})
        url, ws, pid = srv.url, srv.ws_base, srv.process.pid
    try:
        t0 = time.monotonic()
        pairs = await (open_bare_pairs(ws, args.sessions) if bare else open_pairs(url, ws, args.sessions))
        setup_s = time.monotonic() - t0
        admin = None
        if not bare:
            api = Api(url)
            token, _ = await api.login("admin", ADMIN_PASSWORD, force=True)
            admin = api.with_token(token)
        prefix = 0 if bare else 12
        key_delta, delta = frame_sizes(args.fps, args.video_kbps)
        audio_bytes = OPUS_BYTES_PER_MS * args.audio_ms
        latencies: list[float] = []
        received: dict[int, int] = {}
        readers = [asyncio.ensure_future(read_all(p.console, latencies, received, prefix)) for p in pairs]
        readers += [asyncio.ensure_future(read_all(p.customer, latencies, received, 0)) for p in pairs]
        sealers = [framing.FrameSealer(os.urandom(16), "customer") for _ in pairs]
        agent_sealers = [framing.FrameSealer(os.urandom(16), "agent") for _ in pairs]
        prefixes = [bytes.fromhex(p.session_id) if prefix else b"" for p in pairs]
        video_payload = os.urandom(key_delta)
        sent: dict[int, int] = {}
        before = await metrics(admin) if admin else {}
        cpu = CpuMeter(pid) if pid else None
        start = time.monotonic()
        video_period, audio_period = 1.0 / args.fps, args.audio_ms / 1000.0
        gop = round(args.fps * 2)
        next_video = [start + i * video_period / len(pairs) for i in range(len(pairs))]
        next_audio = [start + i * audio_period / len(pairs) for i in range(len(pairs))]
        frame_no = [0] * len(pairs)
        lag = 0.0
        while (now := time.monotonic()) - start < args.seconds:
            for i, pair in enumerate(pairs):
                ws_customer = pair.customer.conn
                while next_video[i] <= now:
                    key = frame_no[i] % gop == 0
                    size = key_delta if key else delta
                    ws_customer.write_message(sealers[i].seal(framing.STREAM_CUSTOMER_VIDEO, video_payload[:size], keyframe=key), binary=True)
                    sent[0] = sent.get(0, 0) + 1
                    frame_no[i] += 1
                    next_video[i] += video_period
                while next_audio[i] <= now:
                    ws_customer.write_message(sealers[i].seal(framing.STREAM_CUSTOMER_AUDIO, video_payload[:audio_bytes]), binary=True)
                    sent[1] = sent.get(1, 0) + 1
                    if args.agent_audio:
                        pair.console.conn.write_message(
                            prefixes[i] + agent_sealers[i].seal(framing.STREAM_AGENT_AUDIO, video_payload[:audio_bytes]), binary=True)
                        sent[3] = sent.get(3, 0) + 1
                    next_audio[i] += audio_period
            lag = max(lag, time.monotonic() - now)
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        server_cpu = cpu.used() if cpu else float("nan")
        await asyncio.sleep(1.0)  # let the last frames land
        rss = cpu.rss_mb() if cpu else float("nan")
        for r in readers:
            r.cancel()
        total_sent = sum(sent.values())
        total_received = sum(received.values())
        if admin:
            after = await metrics(admin)
            relayed = after["anysupport_relay_frames_out_total"] - before["anysupport_relay_frames_out_total"]
            policy = sum(after[k] - before.get(k, 0) for k in after if k.startswith("anysupport_relay_dropped_total"))
        else:
            relayed, policy = total_received, 0
        result = {
            "server": "bare tornado forwarder" if bare else "anysupport",
            "sessions": args.sessions, "seconds": round(elapsed, 1), "setup_s": round(setup_s, 1),
            "fps": args.fps, "video_kbps": args.video_kbps, "audio_ms": args.audio_ms,
            "frames_sent": total_sent, "frames_received": total_received, "policy_drops": int(policy),
            "lost": int(total_sent - total_received - policy),
            "latency_ms_p50": round(percentile(latencies, 50), 2), "latency_ms_p99": round(percentile(latencies, 99), 2),
            "server_cpu_pct": round(100 * server_cpu / elapsed, 1),
            "server_us_per_frame": round(1e6 * server_cpu / relayed, 1) if relayed else None,
            "server_rss_mb": round(rss, 1), "generator_max_lag_ms": round(lag * 1000, 1),
            "messages_per_s": round(total_sent / elapsed),
        }
        print(f"latency ms: {summary(latencies)}")
        return result
    finally:
        if srv is not None:
            srv.stop()
        if bare is not None:
            bare.terminate()
            bare.wait()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--video-kbps", type=float, default=1000)
    parser.add_argument("--audio-ms", type=int, default=20, choices=(20, 40, 60))
    parser.add_argument("--agent-audio", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="measure a bare Tornado forwarder instead")
    parser.add_argument("--url")
    parser.add_argument("--ws")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    for k, v in result.items():
        print(f"{k:>22}: {v}")
    return result


if __name__ == "__main__":
    main()
