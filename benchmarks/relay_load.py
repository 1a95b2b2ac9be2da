"""Relay load generator: N connected sessions streaming sealed media through one server process.

    .venv/bin/python benchmarks/relay_load.py --sessions 100 --seconds 20 [--fps 30] [--video-kbps 1000]
        [--audio-ms 20] [--agent-audio] [--baseline] [--loop asyncio|uvloop] [--tree DIR]
        [--url http://127.0.0.1:8888 --ws ws://127.0.0.1:8888]
    .venv/bin/python benchmarks/relay_load.py --compare [--before main] [--rounds 2] --sessions 100 --seconds 15

Without --url it starts a server (embedded database) in another process pinned to CPU 0 and runs
itself on the other core. Each customer sends video (keyframe every 2 s, frame sizes from the
bitrate, keyframes 5× a delta frame) and Opus-sized audio (every --audio-ms); with --agent-audio
each agent sends voice back. Every frame is really sealed (AES-128-GCM). Reported: relay latency
p50/p99 from the capture timestamp in the frame header to its arrival, frames lost (sent minus
received minus what the relay's policy dropped, from /api/v1/metrics), server CPU (% of one core,
and µs per relayed frame) and memory. ``--baseline`` sends the same traffic through a bare Tornado
forwarder (``bare_forwarder.py``) instead, for the ratio of the relay's cost to Tornado's own.
``--loop`` picks the server's event loop (the ``event_loop`` setting; for the bare forwarder its
own flag); ``--tree DIR`` runs the server from another checkout (the code before a change).

``--compare`` is the one-run comparison of issue 13: the bare forwarder on the default (asyncio)
loop and on uvloop, the server as it was at ``--before`` (a git ref, exported to a temporary
directory; default ``main``) on its default loop, and the server of this tree on asyncio and on
uvloop, one after another, ``--rounds`` times in turn (so a change of load on a shared machine
falls on every configuration alike); the table gives the median per configuration and the ratio
to the bare forwarder on the default loop in the same run.

The generator writes each frame with Tornado's frame writer directly (``write_message`` would
wrap every write in a new task) and counts arrivals in a message callback (no future per
message), so one generator core carries more than the ~8 000 messages/s it did before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_native import framing  # noqa: E402

from benchmarks.harness import CpuMeter, load_main, percentile, summary  # noqa: E402
from benchmarks.loadgen import open_pairs, start_server  # noqa: E402
from tests.support.client import Api, Socket  # noqa: E402
from tests.support.server import ADMIN_PASSWORD  # noqa: E402

OPUS_BYTES_PER_MS = 4  # ~32 kbit/s voice: 80 bytes per 20 ms


def frame_sizes(fps: float, kbps: float, gop_seconds: float = 2.0) -> tuple[int, int]:
    per_second = kbps * 1000 / 8
    frames_per_gop = max(1, round(fps * gop_seconds))
    # one keyframe worth 5 deltas per GOP
    delta = per_second * gop_seconds / (frames_per_gop - 1 + 5)
    return int(delta * 5), int(delta)


def count_arrivals(sock, latencies: list[float], counts: dict, prefix: int) -> None:
    """From now on every binary message on ``sock`` is counted (latency from the header's capture
    timestamp) in the connection's message callback; text messages are ignored."""

    def arrived(message) -> None:
        if message.__class__ is bytes:
            header = framing.parse_header(message[prefix:])
            latencies.append((time.time_ns() // 1000 - header.timestamp_us) / 1000.0)
            counts[header.stream] = counts.get(header.stream, 0) + 1

    sock.conn._on_message_callback = arrived  # Tornado's client calls it instead of queueing

    async def leftovers() -> None:  # what was queued before (a put may be waiting on the full queue)
        while not sock.conn.read_queue.empty() or sock.conn.read_queue._putters:
            arrived(await sock.conn.read_message())

    return asyncio.ensure_future(leftovers())


def send_frame(conn, data: bytes) -> None:
    """Write one binary message: Tornado's (masking) frame writer, without ``write_message``'s task."""
    conn.protocol._write_frame(True, 0x2, data)


@dataclass
class BarePair:
    session_id: str
    console: Socket
    customer: Socket


def start_bare(cpu: int = 0, loop: str = "asyncio"):
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "bare_forwarder.py"),
                             "--loop", loop], stdout=subprocess.PIPE, text=True)
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
    """Relay totals from /api/v1/metrics, summed over any labels but ``reason`` (e.g. ``node``)."""
    body = (await api.get("/api/v1/metrics")).body.decode()
    out: dict[str, float] = {}
    for line in body.splitlines():
        if not line.startswith("anysupport_relay_"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        reason = [p for p in labels.rstrip("}").split(",") if p.startswith("reason=")]
        key = f"{name}{{{reason[0]}}}" if reason else name
        out[key] = out.get(key, 0.0) + float(value)
    return out


async def run(args) -> dict:
    srv = bare = None
    if args.baseline:
        bare, port = start_bare(loop=args.loop or "asyncio")
        url, ws, pid = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", bare.pid
    elif args.url:
        url, ws, pid = args.url, args.ws or args.url.replace("http", "ws", 1), None
    else:
        settings = {"media_max_fps": 1000, **({"event_loop": args.loop} if args.loop else {})}
        srv = start_server(settings, tree=args.tree)
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
        drains = [count_arrivals(p.console, latencies, received, prefix) for p in pairs]
        drains += [count_arrivals(p.customer, latencies, received, 0) for p in pairs]
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
                    send_frame(ws_customer, sealers[i].seal(framing.STREAM_CUSTOMER_VIDEO, video_payload[:size], keyframe=key))
                    sent[0] = sent.get(0, 0) + 1
                    frame_no[i] += 1
                    next_video[i] += video_period
                while next_audio[i] <= now:
                    send_frame(ws_customer, sealers[i].seal(framing.STREAM_CUSTOMER_AUDIO, video_payload[:audio_bytes]))
                    sent[1] = sent.get(1, 0) + 1
                    if args.agent_audio:
                        send_frame(pair.console.conn,
                                   prefixes[i] + agent_sealers[i].seal(framing.STREAM_AGENT_AUDIO, video_payload[:audio_bytes]))
                        sent[3] = sent.get(3, 0) + 1
                    next_audio[i] += audio_period
            lag = max(lag, time.monotonic() - now)
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        server_cpu = cpu.used() if cpu else float("nan")
        await asyncio.sleep(1.0)  # let the last frames land
        rss = cpu.rss_mb() if cpu else float("nan")
        for task in drains:
            task.cancel()
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
            "loop": (args.loop or "asyncio") if bare else server_loop(srv), "tree": args.tree or "",
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


def server_loop(srv) -> str:
    """The loop the server says it runs (a server from before the setting logs none: asyncio's)."""
    if srv is None:
        return "?"
    line = next((line for line in srv.lines if "event loop: " in line), None)
    return line.split("event loop: ", 1)[1].split(" (")[0] if line else "asyncio (not logged)"


def export_tree(ref: str) -> str:
    """The repository at ``ref`` (``git archive``) in a temporary directory, to run as the "before"."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = tempfile.mkdtemp(prefix="anysupport-before-")
    archive = subprocess.run(["git", "-C", root, "archive", "--format=tar", ref, "anysupport"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    return target


COMPARE = (  # label, extra arguments
    ("bare forwarder, asyncio", ["--baseline", "--loop", "asyncio"]),
    ("bare forwarder, uvloop", ["--baseline", "--loop", "uvloop"]),
    ("before ({ref}), asyncio", ["--tree", "{tree}"]),
    ("after, asyncio", ["--loop", "asyncio"]),
    ("after, uvloop", ["--loop", "uvloop"]),
)


def compare(args, rest: list[str]) -> list[dict]:
    tree = export_tree(args.before)
    try:
        runs: dict[str, list[dict]] = {}
        for round_ in range(args.rounds):
            for label, extra in COMPARE:
                label = label.format(ref=args.before)
                argv = [*rest, *(a.format(tree=tree) for a in extra)]
                print(f"-- round {round_ + 1}: {label} (load {os.getloadavg()[0]:.2f})", flush=True)
                result = asyncio.run(run(parse(argv)))
                result["load"] = os.getloadavg()[0]
                runs.setdefault(label, []).append(result)
                print(f"   {result['server_us_per_frame']} µs/frame, CPU {result['server_cpu_pct']}%, "
                      f"p50/p99 {result['latency_ms_p50']}/{result['latency_ms_p99']} ms, lost {result['lost']}, "
                      f"{result['messages_per_s']} msg/s, generator lag {result['generator_max_lag_ms']} ms", flush=True)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    base = statistics.median(r["server_us_per_frame"] for r in runs["bare forwarder, asyncio"])
    baselines = runs["bare forwarder, asyncio"]
    rows = []
    print("\n| run | µs per frame (median of rounds; each) | × bare asyncio (median of each round's ratio) | "
          "sessions per core | relay p50 / p99 ms (median) | lost | server CPU % |")
    print("|---|---|---|---|---|---|---|")
    for label, results in runs.items():
        us = statistics.median(r["server_us_per_frame"] for r in results)
        per_core = 1e6 / us / (results[0]["messages_per_s"] / results[0]["sessions"])
        ratio = statistics.median(r["server_us_per_frame"] / b["server_us_per_frame"]
                                  for r, b in zip(results, baselines, strict=True))
        row = {"run": label, "us_per_frame": us, "ratio": ratio, "sessions_per_core": per_core,
               "p50": statistics.median(r["latency_ms_p50"] for r in results),
               "p99": statistics.median(r["latency_ms_p99"] for r in results), "lost": sum(r["lost"] for r in results),
               "cpu": statistics.median(r["server_cpu_pct"] for r in results),
               "each": [r["server_us_per_frame"] for r in results]}
        rows.append(row)
        print(f"| {label} [{results[0]['loop']}] | {us:.1f} ({', '.join(f'{x:.1f}' for x in row['each'])}) | {row['ratio']:.2f} | "
              f"{per_core:.0f} | {row['p50']:.2f} / {row['p99']:.1f} | {row['lost']} | {row['cpu']:.0f} |")
    print(f"bare forwarder on asyncio, median: {base:.1f} µs per frame; load average during the runs: "
          f"{min(r['load'] for rs in runs.values() for r in rs):.2f}–{max(r['load'] for rs in runs.values() for r in rs):.2f}")
    return rows


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--video-kbps", type=float, default=1000)
    parser.add_argument("--audio-ms", type=int, default=20, choices=(20, 40, 60))
    parser.add_argument("--agent-audio", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="measure a bare Tornado forwarder instead")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), help="the server's event loop")
    parser.add_argument("--tree", help="run the server from this checkout (the code before a change)")
    parser.add_argument("--url")
    parser.add_argument("--ws")
    return parser.parse_args(argv)


def main(argv=None):
    def before_after(argv: list[str]) -> list[dict]:
        top = argparse.ArgumentParser()
        top.add_argument("--compare", action="store_true")
        top.add_argument("--before", default="main", help="git ref of the code before (default main)")
        top.add_argument("--rounds", type=int, default=2)
        args, rest = top.parse_known_args(argv)
        return compare(args, rest)

    return load_main(argv, run, parse, before_after)


if __name__ == "__main__":
    main()
