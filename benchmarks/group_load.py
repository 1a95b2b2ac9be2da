"""Sessions of three on one node (issue 21): nothing lost, nothing opened by a removed participant.

Each session is real: its agent's console, a customer that joined with the code and said it speaks
version 2, and an invited expert (another agent account) that accepted, all over loopback to a server
in a separate process. Every participant runs the Python clients' ``GroupMedia`` (the pairwise
X25519 exchanges, the sender keys, version-2 sealing and opening) on a raw socket, and sends video
(``--video-fps`` frames of ``--video-bytes``) and audio (``--audio-fps`` frames of 80 bytes); each
payload carries the sender's frame number. Halfway through (``--remove-at``), the agents remove the
experts, one session every ``STAGGER_S`` seconds.

Counted at the end:

- ``lost``: frames a participant sealed for a receiver present at that moment that the receiver did
  not open, between the customer and the agent for the whole run, and to and from the expert for
  what was sealed more than ``MARGIN_S`` before its removal (what was in flight then may be cut);
- ``removed_opened``: frames the removed experts opened after their removal, plus frames sealed after
  the removal (taken from what the agents received) that the experts' last keys open: both must be 0;
- ``rekey_ms``: from the removal request to the agent holding the customer's new key, per session.

    .venv/bin/python -m benchmarks.group_load --sessions 50 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import sys
import time
from collections import Counter

import psutil
from tornado.websocket import WebSocketClosedError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anysupport_client.session.group_media import GroupMedia  # noqa: E402

from benchmarks.loadgen import start_server  # noqa: E402
from tests.support.client import Api, Socket  # noqa: E402
from tests.support.server import ADMIN_PASSWORD  # noqa: E402

MARGIN_S = 0.2
STAGGER_S = 0.1
AUDIO_BYTES = 80
SAMPLE = 300  # frames sealed after a removal, per session, tried with the removed expert's last keys


class Participant:
    def __init__(self, sock: Socket, session_id: str, *, agent: bool):
        self.sock = sock
        self.session_id = session_id
        self.agent = agent
        self.prefix = bytes.fromhex(session_id) if agent else b""
        self.media = GroupMedia(session_id, send_json=self.send_json, emit=lambda name, data: None)
        self.numbers = {0: 0, 1: 0}
        self.sent: list[tuple[int, int, frozenset, float]] = []  # (kind, number, receivers present, when sealed)
        self.got: set[tuple[int, int, int]] = set()  # (sender, kind, number) opened
        self.refused = 0
        self.errors: Counter[str] = Counter()
        self.removed_at: float | None = None
        self.last_opener = None  # a removed expert's keys as they were when it was removed
        self.after_removal: list[bytes] = []  # (agents) frames received after the expert's removal
        self.keep_after: float | None = None
        self.opened_after_removal = 0
        self.reader: asyncio.Task | None = None
        self.closed: tuple | None = None  # (code, reason) when the server closed this socket
        self.latency_ms: list[float] = []  # sealing to opening, every 10th frame opened

    @property
    def index(self) -> int | None:
        return self.media.me

    def send_json(self, message: dict) -> None:
        if self.agent:
            message = {**message, "session_id": self.session_id}
        self.sock.conn.write_message(json.dumps(message))

    async def read(self) -> None:
        conn = self.sock.conn
        while True:
            message = await conn.read_message()
            if message is None:
                self.closed = (conn.close_code, conn.close_reason)
                return
            if isinstance(message, bytes):
                self.frame(message[len(self.prefix):])
                continue
            message = json.loads(message)
            kind = message.get("type")
            if kind == "participants":
                self.media.on_participants(message)
            elif kind == "key_exchange" and message.get("version") == 2:
                self.media.on_key_exchange(message)
            elif kind == "sender_key":
                self.media.on_sender_key(message)
            elif kind == "removed":
                self.removed_at = time.monotonic()
                self.last_opener = self.media.keys.opener
                self.media.removed()
            elif kind == "error":
                self.errors[message.get("field") or message.get("error")] += 1

    def frame(self, frame: bytes) -> None:
        if self.keep_after is not None and len(self.after_removal) < SAMPLE and frame[:1] == b"\x02":
            self.after_removal.append(frame)
        if self.removed_at is not None:
            if self.last_opener is not None:
                try:
                    self.last_opener.open(frame)
                    self.opened_after_removal += 1
                except Exception:
                    pass
            return
        opened = self.media.open(frame)
        if opened is None:
            self.refused += 1
            return
        header, payload, sender, _epoch = opened
        self.got.add((sender, header.stream & 1, struct.unpack_from(">I", payload)[0]))
        if len(self.got) % 10 == 0:
            self.latency_ms.append((time.time_ns() // 1000 - header.timestamp_us) / 1000)

    def send(self, kind: int, size: int, keyframe: bool) -> None:
        if self.removed_at is not None or self.closed is not None or not self.media.ready:
            return
        number = self.numbers[kind]
        payload = struct.pack(">I", number) + bytes(size - 4)
        frame = self.media.seal(kind, payload, keyframe, time.time_ns() // 1000)
        self.numbers[kind] = number + 1
        self.sent.append((kind, number, frozenset(self.media.keys.present), time.monotonic()))
        try:
            self.sock.conn.write_message(self.prefix + frame, binary=True)
        except WebSocketClosedError:
            self.closed = self.closed or ("write", "closed")


async def open_group(api: Api, admin: Api, ws_base: str, run_id: str, i: int) -> dict:
    people = []
    for role in ("a", "x"):
        login = f"grp{run_id}{role}{i}"
        r = await admin.post("/api/v1/admin/agents", {"login": login, "name": f"{role}{i}", "password": "load-password"})
        assert r.status == 201, r.body
        token, info = await api.login(login, "load-password")
        console = await Socket.connect(ws_base, token)
        await console.recv_type("hello")
        people.append((api.with_token(token), info, console))
    (agent_api, _agent, agent_sock), (expert_api, expert, expert_sock) = people
    session = (await agent_api.post("/api/v1/sessions")).json
    sid = session["id"]
    joined = (await api.post("/api/v1/join", {"code": session["code"]})).json
    customer_sock = await Socket.connect(ws_base, joined["token"])
    await customer_sock.recv_type("hello")
    assert (await agent_api.post(f"/api/v1/sessions/{sid}/connect")).status == 200
    await customer_sock.recv_type("state", state="connected")
    await customer_sock.send({"type": "capabilities", "flash": False, "focus": False, "cameras": [], "audio": True,
                              "versions": [1, 2]})
    await agent_sock.recv_type("capabilities")
    group = {"sid": sid, "agent_api": agent_api, "customer": Participant(customer_sock, sid, agent=False),
             "agent": Participant(agent_sock, sid, agent=True), "expert": Participant(expert_sock, sid, agent=True)}
    for name in ("customer", "agent", "expert"):
        group[name].reader = asyncio.ensure_future(group[name].read())
    r = await agent_api.post(f"/api/v1/sessions/{sid}/invitations", {"agent_id": expert["id"], "rights": "full"})
    assert r.status == 201, r.body
    r = await expert_api.post(f"/api/v1/sessions/{sid}/invitations/accept")
    assert r.status == 200, r.body
    return group


def _keyed(p: Participant) -> bool:
    keys = p.media.keys
    return keys is not None and keys.sealer is not None and len(keys.present) == 2 and all(
        q in keys.highest for q in keys.present)


async def _until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


async def run(args) -> dict:
    srv = start_server(cpu=None if args.no_pin else 0)
    try:
        api = Api(srv.url)
        token, _ = await api.login("admin", ADMIN_PASSWORD)
        admin = api.with_token(token)
        run_id = os.urandom(3).hex()
        gate = asyncio.Semaphore(10)

        async def one(i: int) -> dict:
            async with gate:
                return await open_group(api, admin, srv.ws_base, run_id, i)

        setup = time.monotonic()
        groups = await asyncio.gather(*(one(i) for i in range(args.sessions)))
        everyone = [g[n] for g in groups for n in ("customer", "agent", "expert")]
        await _until(lambda: all(_keyed(p) for p in everyone), 60, "keys agreed in every session")
        setup_s = time.monotonic() - setup
        server = psutil.Process(srv.process.pid)
        cpu0 = server.cpu_times()
        own0 = psutil.Process().cpu_times()
        started = time.monotonic()
        removal_at = started + args.seconds * args.remove_at
        removed = False
        rekey_ms: list[float] = []
        tick = 0
        step = 1.0 / max(args.audio_fps, args.video_fps)
        video_step = max(1, round(max(args.audio_fps, args.video_fps) / args.video_fps)) if args.video_fps else 0
        while time.monotonic() - started < args.seconds:
            due = started + tick * step
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for p in everyone:
                p.send(1, AUDIO_BYTES, False)
                if video_step and tick % video_step == 0:
                    p.send(0, args.video_bytes, tick % (video_step * 10) == 0)
            tick += 1
            if not removed and time.monotonic() >= removal_at:
                removed = True
                asyncio.ensure_future(remove_all(groups, rekey_ms))
        await asyncio.sleep(1.0)  # what is in flight arrives
        cpu1 = server.cpu_times()
        elapsed = time.monotonic() - started
        result = tally(groups, args, rekey_ms, setup_s, elapsed, (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
        own1 = psutil.Process().cpu_times()
        result["generator_cpu_per_s"] = round(((own1.user + own1.system) - (own0.user + own0.system)) / elapsed, 2)
        result["rates"] = {"video_fps": args.video_fps, "video_bytes": args.video_bytes, "audio_fps": args.audio_fps}
        result["server_closings"] = dict(Counter(line.split("closing", 1)[1].strip()[:80]
                                                 for line in srv.log_text().splitlines() if "closing" in line))
        return result
    finally:
        srv.stop()


async def remove_all(groups: list[dict], rekey_ms: list[float]) -> None:
    async def one(g: dict) -> None:
        agent, customer = g["agent"], g["customer"]
        before = g["epoch_before"] = customer.media.epoch
        agent.keep_after = time.monotonic()
        g["removal_requested"] = time.monotonic()
        r = await g["agent_api"].delete(f"/api/v1/sessions/{g['sid']}/participants/2")
        assert r.status == 204, r.body
        await _until(lambda: agent.media.keys.highest.get(0, 0) > before, 10, "the customer's new key")
        rekey_ms.append((time.monotonic() - g["removal_requested"]) * 1000)

    async def later(g: dict, delay: float) -> None:
        await asyncio.sleep(delay)
        await one(g)

    # one removal every STAGGER_S (50 at once would measure the load generator's own queue, not the node)
    await asyncio.gather(*(later(g, i * STAGGER_S) for i, g in enumerate(groups)))


def tally(groups: list[dict], args, rekey_ms: list[float], setup_s: float, elapsed: float, cpu_s: float) -> dict:
    lost = expected = removed_opened = tried = 0
    sent_total = Counter()
    for g in groups:
        people = {p.index: p for p in (g["customer"], g["agent"], g["expert"])}
        expert = g["expert"]
        cut = g.get("removal_requested", float("inf")) - MARGIN_S
        for sender_index, sender in people.items():
            sent_total[sender_index] += len(sender.sent)
            for kind, number, receivers, sealed in sender.sent:
                for r in receivers:
                    receiver = people[r]
                    if (receiver is expert or sender is expert) and sealed > cut:
                        continue  # sealed as the expert was being removed: it may be cut
                    expected += 1
                    if (sender_index, kind, number) not in receiver.got:
                        lost += 1
        removed_opened += expert.opened_after_removal
        for frame in g["agent"].after_removal:
            if frame[3] != 0 or struct.unpack_from(">I", frame, 4)[0] <= g["epoch_before"]:
                continue  # the customer's frames sealed under its keys after the removal only
            tried += 1
            try:
                expert.last_opener.open(frame)
                removed_opened += 1
            except Exception:
                pass
    frames_sent = sum(sent_total.values())
    return {"sessions": args.sessions, "participants": 3 * args.sessions, "seconds": round(elapsed, 1),
            "setup_s": round(setup_s, 1), "frames_sent": frames_sent, "deliveries_expected": expected, "lost": lost,
            "removed_opened": removed_opened, "post_removal_frames_tried": tried,
            "rekey_ms_median": round(statistics.median(rekey_ms), 1) if rekey_ms else None,
            "rekey_ms_max": round(max(rekey_ms), 1) if rekey_ms else None,
            "refused": sum(p.refused for g in groups for p in (g["customer"], g["agent"], g["expert"])),
            "errors": dict(sum((p.errors for g in groups for p in (g["customer"], g["agent"], g["expert"])),
                               Counter())),
            "closed": Counter(str(p.closed) for g in groups for p in (g["customer"], g["agent"], g["expert"])
                              if p.closed),
            "latency_ms_p50_p99": _percentiles([x for g in groups for n in ("customer", "agent", "expert")
                                                for x in g[n].latency_ms]),
            "server_cpu_s": round(cpu_s, 1), "server_cpu_per_s": round(cpu_s / elapsed, 2)}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--video-fps", type=float, default=10)
    parser.add_argument("--video-bytes", type=int, default=3000)
    parser.add_argument("--audio-fps", type=float, default=25)
    parser.add_argument("--remove-at", type=float, default=0.5)
    parser.add_argument("--no-pin", action="store_true", help="leave the server and this process on every core")
    return parser.parse_args(argv)


def _percentiles(values: list[float]) -> list[float] | None:
    if not values:
        return None
    values = sorted(values)
    return [round(values[len(values) // 2], 1), round(values[min(len(values) - 1, int(len(values) * 0.99))], 1)]


def main(argv: list[str] | None = None) -> dict:
    result = asyncio.run(run(parse(argv)))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
