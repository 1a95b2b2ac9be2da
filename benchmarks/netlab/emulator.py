"""The link emulator process: a TUN device in each namespace, packets moved between them by ``Link``.

    python -m benchmarks.netlab.emulator --server-ns NS_S --customer-ns NS_C --profile '{"name": …}'

It opens ``nl0`` in the customer's namespace and ``nl0`` in the server's, prints ``{"ready": …}``
and then moves packets: whatever the customer's kernel sends into its TUN goes up the link and is
written into the server's TUN when due, and the other way round. One thread, one epoll: packets are
read in batches (up to ``BATCH`` per device per wake-up) and written when ``Link.next_due`` says;
the wait is epoll's timeout, so delivery is late by at most about a millisecond.

Commands, one per line on stdin, each answered with one JSON line on stdout:
``down`` / ``up`` (the link), ``unroute A.B.C.D`` / ``reroute A.B.C.D`` (an address no longer
routed, or again), ``counters`` (per direction), ``quit``. The process ends with its parent
(``PR_SET_PDEATHSIG``), so a killed harness does not leave it moving packets.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import signal
import socket
import sys
import time

from .link import Link
from .netns import inside, open_tun
from .profiles import Profile

DEVICE = "nl0"
BATCH = 256
MAX_PACKET = 65535
PR_SET_PDEATHSIG = 1
CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class Timer:
    """A timerfd on CLOCK_MONOTONIC (``time.monotonic``'s clock): epoll's own timeout counts whole
    milliseconds, which would add half a millisecond to every packet on average; this fires to the
    microsecond. Python 3.11 has no ``os.timerfd_*``, hence libc."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self._spec = _Itimerspec()
        self.armed: float | None = None

    def arm(self, at: float | None) -> None:
        """Fire at monotonic time ``at`` (None: disarm)."""
        if at == self.armed:
            return
        self.armed = at
        value = self._spec.it_value
        if at is None:
            value.tv_sec = value.tv_nsec = 0
        else:
            at = max(at, 1e-6)  # zero would disarm
            value.tv_sec = int(at)
            value.tv_nsec = int((at - int(at)) * 1e9)
        if self._libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")

    def clear(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass


class Emulator:
    def __init__(self, link: Link, customer_fd: int, server_fd: int, control_in: int, control_out,
                 clock=time.monotonic):
        self.link = link
        self.customer_fd = customer_fd
        self.server_fd = server_fd
        self.control_in = control_in
        self.control_out = control_out
        self.clock = clock
        self.write_errors = 0
        self.wakeups = 0
        self.started = clock()
        self._line = b""
        self._running = True

    def _drain(self, fd: int, direction, now: float) -> None:
        offer = direction.offer
        for _ in range(BATCH):
            try:
                packet = os.read(fd, MAX_PACKET)
            except BlockingIOError:
                return
            except OSError:
                return
            offer(packet, now)

    def _deliver(self, now: float) -> None:
        for packets, fd in ((self.link.up.take_due(now), self.server_fd),
                            (self.link.down.take_due(now), self.customer_fd)):
            for packet in packets:
                try:
                    os.write(fd, packet)
                except OSError:
                    self.write_errors += 1

    def _answer(self, message: dict) -> None:
        self.control_out.write(json.dumps(message) + "\n")
        self.control_out.flush()

    def _command(self, line: str) -> None:
        now = self.clock()
        words = line.split()
        if not words:
            return
        verb, args = words[0], words[1:]
        if verb in ("down", "up"):
            self.link.set_up(verb == "up", now)
        elif verb in ("unroute", "reroute"):
            address = socket.inet_aton(args[0])
            (self.link.unroute if verb == "unroute" else self.link.reroute)(address)
        elif verb == "counters":
            pass
        elif verb == "quit":
            self._running = False
        else:
            self._answer({"error": "unknown_command", "command": line})
            return
        self._answer({"ok": verb, "at": now, "counters": self.link.counters(), "write_errors": self.write_errors,
                      "wakeups": self.wakeups, "cpu_s": round(time.process_time(), 3),
                      "seconds": round(now - self.started, 3)})

    def _control(self) -> None:
        try:
            data = os.read(self.control_in, 4096)
        except BlockingIOError:
            return
        if not data:  # the parent closed our stdin: it is gone or done
            self._running = False
            return
        self._line += data
        while b"\n" in self._line:
            line, self._line = self._line.split(b"\n", 1)
            self._command(line.decode(errors="replace").strip())

    def run(self) -> None:
        poller = select.epoll()
        timer = Timer()
        for fd in (self.customer_fd, self.server_fd, self.control_in, timer.fd):
            poller.register(fd, select.EPOLLIN)
        up, down = self.link.up, self.link.down
        clock = self.clock
        while self._running:
            timer.arm(self.link.next_due())
            events = poller.poll()
            self.wakeups += 1
            now = clock()
            for fd, _ in events:
                if fd == self.customer_fd:
                    self._drain(fd, up, now)
                elif fd == self.server_fd:
                    self._drain(fd, down, now)
                elif fd == timer.fd:
                    timer.clear()
                    timer.armed = None
                else:
                    self._control()
            self._deliver(clock())


def realtime() -> bool:
    """Ask for a real-time priority, so a busy machine delays packets less (best effort)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        return True
    except (OSError, AttributeError):
        return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-ns", required=True)
    p.add_argument("--customer-ns", required=True)
    p.add_argument("--profile", required=True, help="the profile as JSON (benchmarks.netlab.profiles.Profile)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--realtime", action="store_true", help="run at a real-time priority (SCHED_FIFO)")
    args = p.parse_args(argv)
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before the line above
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    profile = Profile(**json.loads(args.profile))
    with inside(args.customer_ns):
        customer_fd = open_tun(DEVICE)
    with inside(args.server_ns):
        server_fd = open_tun(DEVICE)
    rt = realtime() if args.realtime else False
    os.set_blocking(sys.stdin.fileno(), False)
    emulator = Emulator(Link(profile, args.seed), customer_fd, server_fd, sys.stdin.fileno(), sys.stdout)
    emulator._answer({"ready": True, "pid": os.getpid(), "realtime": rt, "profile": profile.name})
    emulator.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
