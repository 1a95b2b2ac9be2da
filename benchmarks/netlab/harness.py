"""Media over bad networks: our transport (Python client, the page in Chromium) against WebRTC, per profile.

    sudo .venv/bin/python -m benchmarks.netlab.harness --seconds 60 --out netlab-results
    sudo .venv/bin/python -m benchmarks.netlab.harness --profile lte --transport ours-python --seconds 10

For each profile one lab (``lab.py``): the server (``anysupport serve``, embedded database) and the
agent in the server's namespace, the customer in the customer's, the emulated link between. Then,
one after the other on the same link:

- ``ours-python``: the mobile client, ``anysupport-mobile --headless --source test --audio tone``;
- ``ours-page``: the customer page in Chromium (``ip netns exec`` wrapped around
  ``/usr/bin/chromium``), the stamped test pattern as its Y4M fake camera, its fake microphone;
- ``webrtc``: the same source and encoder over aiortc, peer to peer (``webrtc.py``).

The agent is ``AgentPeer`` (``AgentClient``) in this process, reading the stamps; once the keys are
agreed it turns its voice on (the tone), so voice flows both ways as in a call, and the customer's
voice comes back over the same link as the pictures. Glass-to-glass is the stamp's capture time
(the page: the sealed header's capture time, as ``benchmarks/browser_customer.py``) to the decoded
picture at the agent. The window starts when media may flow (keys agreed; WebRTC: connected), so
the start of a call on a bad network, and the adaptation's first steps, are in it.

The handover profile takes the link down ``handover_at`` seconds into the window for 2 s and brings
the customer back on a new address; the phone's OS closes the old sockets (``Lab.close_sockets_of``).
Ours must come back in the same session with the same keys; WebRTC (aiortc, no ICE restart) starts
a new peer connection.

Writes ``results.json`` (every figure, the per-second timelines, the link's counters) and
``results.md`` (the tables and the goals, reported, not asserted) into ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from anysupport_client.media.quality import LEVELS  # noqa: E402
from anysupport_client.media.sources import ToneTrack  # noqa: E402
from anysupport_native import framing  # noqa: E402

from benchmarks.harness import agent_account  # noqa: E402
from benchmarks.netlab.lab import REPO, SERVER_ADDRESS, Lab  # noqa: E402
from benchmarks.netlab.metrics import Recording, first_frame_after, summarize, timeline  # noqa: E402
from benchmarks.netlab.netns import inside  # noqa: E402
from benchmarks.netlab.profiles import PROFILES, Profile  # noqa: E402
from benchmarks.netlab.report import markdown  # noqa: E402
from benchmarks.netlab.webrtc import WebRtcAgent  # noqa: E402
from tests.support.agent import AgentPeer  # noqa: E402
from tests.support.browser import CHROMIUM, PHONE, chromium_args, write_pattern_y4m  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

TRANSPORTS = ("ours-python", "ours-page", "webrtc")
LADDER = LEVELS["medium"].ladder
ADAPTED = re.compile(r"video (?:adapts down|climbs back) to (\d+)x(\d+)@([\d.]+) (\d+) kb/s")
SETUP_TIMEOUT = 60.0
TCP_USED: set[str] = set()  # what the labs' namespaces really run (see Lab: CUBIC may not be allowed)


@dataclass
class Context:
    lab: Lab
    server: ServerProcess
    seconds: float
    workdir: Path
    handover_at: float | None

    @property
    def customer_url(self) -> str:
        return f"http://{SERVER_ADDRESS}:{self.server.port}"


def rung_of(width: int, height: int, fps: float, kbps: int) -> int | None:
    for k, q in enumerate(LADDER):
        if (q.width, q.height, q.fps, q.bitrate // 1000) == (width, height, fps, kbps):
            return k
    return None


# -- what happens to the link during a run ----------------------------------------------------------
async def handover(ctx: Context, rec: Recording, on_back=None) -> dict:
    """At ``handover_at`` into the window: down, 2 s, back on a new address (and ``on_back``)."""
    await asyncio.sleep(max(0.0, rec.start + ctx.handover_at - time.time()))
    t_down = time.time()
    await asyncio.to_thread(ctx.lab.link_down)
    rec.events.append((t_down, "down"))
    await asyncio.sleep(ctx.lab.profile.outage_s)
    old, new = await asyncio.to_thread(ctx.lab.come_back_elsewhere)
    t_up = time.time()
    rec.events.append((t_up, f"up {new}"))
    if on_back is not None:
        await on_back()
    return {"down_at_s": round(t_down - rec.start, 2), "up_at_s": round(t_up - rec.start, 2),
            "old_address": old, "new_address": new, "_down": t_down, "_up": t_up}


def handover_figures(rec: Recording, info: dict) -> dict:
    t_down, t_up = info.pop("_down"), info.pop("_up")
    info["first_new_frame_after_up_s"] = first_frame_after(rec, t_up, captured_after=t_down)
    before = [f[0] for f in rec.frames if f[0] <= t_down]
    after = [f[0] for f in rec.frames if f[0] > t_up]
    info["picture_gap_s"] = round(min(after) - max(before), 3) if before and after else None
    return info


# -- ours: the agent's side ---------------------------------------------------------------------------
class OursRecorder:
    """Taps the agent's session: customer video bytes and capture times, customer voice, decoded pictures."""

    def __init__(self, agent: AgentPeer, rec: Recording, *, stamps: bool):
        self.rec = rec
        self.stamps = stamps
        self.sent_at: dict[int, int] = {}
        agent.media.taps.append(self._tap)
        agent.frame_listeners.append(self._frame)

    def _tap(self, header, payload: bytes) -> None:
        now = time.time()
        if header.stream == framing.STREAM_CUSTOMER_VIDEO:
            self.rec.video_bytes.append((now, len(payload)))
            self.sent_at[header.sequence] = header.timestamp_us
        elif header.stream == framing.STREAM_CUSTOMER_AUDIO:
            self.rec.voice.append((now, header.sequence))

    def _frame(self, frame, record) -> None:
        capture = self.sent_at.pop(record.sequence, None)
        if self.stamps and record.latency_ms is not None:
            latency = record.latency_ms
        else:
            latency = (record.decoded_us - capture) / 1000 if capture is not None else None
        self.rec.frames.append((record.decoded_us / 1e6, latency, record.width, record.height))


async def start_agent(ctx: Context) -> AgentPeer:
    agent = AgentPeer(ctx.server.url, token=await agent_account(
        ctx.server.url, "bbench", settings={"auto_connect": True}), composite=False)
    await agent.start()
    await agent.create_session()
    return agent


async def call_under_way(agent: AgentPeer) -> tuple[str, float]:
    """Wait for connected and keys; turn the agent's voice on. Returns (SAS, the window's start)."""
    session = agent.current
    await session.wait_until(lambda: session.state == "connected", SETUP_TIMEOUT, "connected")
    await agent.wait_for_keys(SETUP_TIMEOUT)
    start = time.time()
    agent.agent_video(True, None, audio=ToneTrack())
    return session.sas, start


async def finish_ours(agent: AgentPeer, sas: str, session_id: str) -> dict:
    session = agent.current
    same = {"same_session": session.id == session_id, "same_keys": session.sas == sas}
    agent.end()
    await asyncio.sleep(0.3)
    await agent.close()
    return same


async def run_ours_python(ctx: Context) -> dict:
    agent = await start_agent(ctx)
    session_id = agent.current.id
    clicked = time.time()
    proc = await asyncio.create_subprocess_exec(
        *ctx.lab.argv_in(ctx.lab.customer_ns, [
            sys.executable, "-m", "anysupport_mobile", "--headless", "--server", ctx.customer_url,
            "--code", agent.session["code"], "--source", "test", "--audio", "tone", "--quality", "medium",
            "--lang", "en", "--seconds", str(ctx.seconds + SETUP_TIMEOUT + 30), "-v"]),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO)
    rec = Recording(start=0.0, end=0.0)
    customer_events: list[tuple[float, dict]] = []
    log_path = ctx.workdir / f"{ctx.lab.profile.name}-ours-python.log"

    async def read_events() -> None:
        while line := await proc.stdout.readline():
            with contextlib.suppress(ValueError):
                customer_events.append((time.time(), json.loads(line)))

    async def read_log() -> None:
        with open(log_path, "w") as log:
            while line := await proc.stderr.readline():
                text = line.decode(errors="replace")
                log.write(text)
                m = ADAPTED.search(text)
                if m:
                    w, h, fps, kbps = int(m[1]), int(m[2]), float(m[3]), int(m[4])
                    rec.levels.append((time.time(), rung_of(w, h, fps, kbps), kbps * 1000))

    readers = [asyncio.ensure_future(read_events()), asyncio.ensure_future(read_log())]
    try:
        OursRecorder(agent, rec, stamps=True)
        sas, rec.start = await call_under_way(agent)
        rec.end = rec.start + ctx.seconds
        rec.levels.insert(0, (rec.start, 0, LADDER[0].bitrate))
        moved = asyncio.ensure_future(handover(ctx, rec)) if ctx.handover_at is not None else None
        await asyncio.sleep(ctx.seconds)
        same = await finish_ours(agent, sas, session_id)
        info = handover_figures(rec, moved.result()) if moved is not None and moved.done() else None
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        for task in readers:
            task.cancel()
    keys_events = sum(1 for _, e in customer_events if e.get("event") == "keys")
    reconnects = sum(1 for _, e in customer_events if e.get("event") == "connection" and e.get("status") == "back")
    if info is not None:
        info.update(same, customer_keys_events=keys_events, customer_reconnects=reconnects)
    first = min((f[0] for f in rec.frames), default=None)
    return result("ours-python", ctx, rec, info, setup_s=round(first - clicked, 2) if first else None)


async def run_ours_page(ctx: Context) -> dict:
    from playwright.async_api import async_playwright

    agent = await start_agent(ctx)
    session_id = agent.current.id
    y4m = ctx.workdir / "pattern.y4m"
    if not y4m.exists():
        write_pattern_y4m(y4m, frames=150)
    wrapper = ctx.workdir / f"chromium-{ctx.lab.customer_ns}.sh"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ctx.lab.customer_ns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    rec = Recording(start=0.0, end=0.0)
    info = None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(wrapper), args=chromium_args(
            y4m, f"--unsafely-treat-insecure-origin-as-secure={ctx.customer_url}"))
        try:
            page = await (await browser.new_context(locale="en-US", **PHONE)).new_page()
            await page.goto(ctx.customer_url + "/", timeout=SETUP_TIMEOUT * 1000)
            await page.fill("#code", agent.session["code"])
            clicked = time.time()
            await page.click("#join-button")
            await agent.current.wait_until(lambda: agent.current.state == "connected", SETUP_TIMEOUT, "connected")
            OursRecorder(agent, rec, stamps=False)
            sas, rec.start = await call_under_way(agent)
            rec.end = rec.start + ctx.seconds
            moved = asyncio.ensure_future(handover(ctx, rec)) if ctx.handover_at is not None else None
            await asyncio.sleep(ctx.seconds)
            history = await page.evaluate("""() => {
                const c = window.anysupportCall;
                const a = c && (c.adapter || c.sender.adapter);  // the split page keeps it in its sender
                return c ? {origin: performance.timeOrigin, history: a.history,
                            stats: c.stats, level: a.level} : null; }""")
            same = await finish_ours(agent, sas, session_id)
            if moved is not None and moved.done():
                info = handover_figures(rec, moved.result())
                info.update(same, customer_reconnects=(history or {}).get("stats", {}).get("reconnects"))
        finally:
            await browser.close()
    if history:
        rec.levels = [(history["origin"] / 1000 + t, rung, LADDER[rung].bitrate)
                      for t, rung, _ in history["history"]]
        rec.levels = [lv for lv in rec.levels if lv[0] >= rec.start - 60] or [(rec.start, 0, LADDER[0].bitrate)]
    first = min((f[0] for f in rec.frames), default=None)
    return result("ours-page", ctx, rec, info, setup_s=round(first - clicked, 2) if first else None)


async def run_webrtc(ctx: Context) -> dict:
    rec = Recording(start=0.0, end=0.0)
    agent = WebRtcAgent(rec)
    proc = await asyncio.create_subprocess_exec(
        *ctx.lab.argv_in(ctx.lab.customer_ns, [sys.executable, "-m", "benchmarks.netlab.webrtc"]),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=open(ctx.workdir / f"{ctx.lab.profile.name}-webrtc.log", "w"), cwd=REPO)

    def tell(message: dict) -> None:
        proc.stdin.write((json.dumps(message) + "\n").encode())

    async def read() -> None:
        while line := await proc.stdout.readline():
            message = json.loads(line)
            if message.get("event") == "offer":
                rec.events.append((time.time(), "offer"))
                tell({"answer": await agent.answer(message["sdp"])})
            elif message.get("event") == "bitrate":  # kept when it moves by 5 % or more: REMB wobbles
                if not rec.levels or abs(rec.levels[-1][2] - message["bps"]) >= 0.05 * rec.levels[-1][2]:
                    rec.levels.append((message["t"], None, message["bps"]))

    async def restart() -> None:
        tell({"restart": True})

    reader = asyncio.ensure_future(read())
    info = None
    try:
        await asyncio.wait_for(agent.connected.wait(), SETUP_TIMEOUT)
        rec.start = time.time()
        rec.end = rec.start + ctx.seconds
        moved = asyncio.ensure_future(handover(ctx, rec, restart)) if ctx.handover_at is not None else None
        await asyncio.sleep(ctx.seconds)
        if moved is not None and moved.done():
            info = handover_figures(rec, moved.result())
            up = rec.start + info["up_at_s"]
            offers = [t for t, e in rec.events if e == "offer" and t > up]
            info.update(same_session=False, same_keys=False, note="aiortc: no ICE restart, a new peer connection",
                        offer_after_up_s=round(offers[0] - up, 3) if offers else None,
                        connected_after_up_s=round(agent.connected_at - up, 3)
                        if agent.connected_at and agent.connected_at > up else None)
    finally:
        proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        reader.cancel()
        await agent.close()
    rec.levels = [lv for lv in rec.levels if lv[0] >= rec.start - 1] or rec.levels[-1:]
    first = min((f[0] for f in rec.frames), default=None)
    offered = min((t for t, e in rec.events if e == "offer"), default=None)
    return result("webrtc", ctx, rec, info, setup_s=round(first - offered, 2) if first and offered else None)


def result(transport: str, ctx: Context, rec: Recording, handover_info: dict | None, *, setup_s) -> dict:
    out = {"profile": ctx.lab.profile.name, "transport": transport, "setup_to_first_frame_s": setup_s,
           **summarize(rec), "timeline": timeline(rec),
           "levels": [(round(t - rec.start, 2), rung, bps) for t, rung, bps in rec.levels]}
    if handover_info is not None:
        out["handover"] = handover_info
    return out


RUNNERS = {"ours-python": run_ours_python, "ours-page": run_ours_page, "webrtc": run_webrtc}


# -- one profile ------------------------------------------------------------------------------------
def measure_profile(profile: Profile, transports: list[str], seconds: float, workdir: Path,
                    *, handover_at: float | None = None, seed: int | None = None, tcp: str = "cubic") -> list[dict]:
    results = []
    with Lab(profile, seed=seed, tcp=tcp) as lab:
        TCP_USED.add(lab.tcp_used)
        with inside(lab.server_ns):
            server = ServerProcess(str(workdir / f"server-{profile.name}"),
                                   {"host": "0.0.0.0", "sweep_interval": 1.0, "login_ip_max_failures": 10000})
            server.start(timeout=60)
            try:
                for transport in transports:
                    ctx = Context(lab, server, seconds, workdir,
                                  handover_at if profile.outage_s else None)
                    before = lab.counters()["counters"]
                    started = time.time()
                    try:
                        figures = asyncio.run(RUNNERS[transport](ctx))
                    except Exception as exc:  # one failed run must not lose the others' figures
                        figures = {"profile": profile.name, "transport": transport,
                                   "error": f"{type(exc).__name__}: {exc}"}
                    after = lab.counters()["counters"]
                    figures["link"] = {side: {k: after[side][k] - before[side].get(k, 0) for k in after[side]
                                              if k != "max_backlog_bytes"} for side in after}
                    figures["run_s"] = round(time.time() - started, 1)
                    figures["loadavg"] = [round(v, 2) for v in os.getloadavg()]
                    print(json.dumps({k: v for k, v in figures.items() if k not in ("timeline", "levels")}),
                          flush=True)
                    results.append(figures)
            finally:
                server.stop()
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", action="append", choices=list(PROFILES), help="default: every profile")
    p.add_argument("--transport", action="append", choices=TRANSPORTS, help="default: all three")
    p.add_argument("--seconds", type=float, default=60.0, help="the measured window of each run")
    p.add_argument("--handover-at", type=float, default=None,
                   help="seconds into the window the handover starts (default: a third of it)")
    p.add_argument("--seed", type=int, default=None, help="the emulator's random seed (default: fresh)")
    p.add_argument("--tcp", default="cubic", help="TCP congestion control in both namespaces (cubic: the phones')")
    p.add_argument("--out", default=None, help="directory for results.json and results.md (default: a temp dir)")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="anysupport-netlab-"))
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="anysupport-netlab-work-"))
    profiles = args.profile or list(PROFILES)
    transports = args.transport or list(TRANSPORTS)
    handover_at = args.handover_at if args.handover_at is not None else args.seconds / 3
    started = time.time()
    results = []
    for name in profiles:
        results += measure_profile(PROFILES[name], transports, args.seconds, workdir, handover_at=handover_at,
                                   seed=args.seed, tcp=args.tcp)
    run = {"command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.netlab.harness",
                                *(argv if argv is not None else sys.argv[1:])]),
           "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
           "minutes": round((time.time() - started) / 60, 1), "cpus": os.cpu_count(),
           "tcp": ",".join(sorted(TCP_USED)),
           "profiles": {n: PROFILES[n].describe() for n in profiles}, "results": results}
    (out / "results.json").write_text(json.dumps(run, indent=1))
    (out / "results.md").write_text(markdown(run))
    print(json.dumps({"results": str(out / "results.json"), "markdown": str(out / "results.md"),
                      "logs": str(workdir)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
