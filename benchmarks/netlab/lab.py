"""A lab: two network namespaces (server, customer), their addresses, and the emulator between them.

    with Lab(PROFILES["lte"]) as lab:
        lab.argv_in(lab.customer_ns, ["python", …])   # a command run on the customer's side
        with inside(lab.server_ns): sock = socket.socket()   # a socket on the server's side

Addresses (the same in every lab: each lab has namespaces of its own):

- server namespace: ``10.77.1.1`` on ``nl0``, route to the customers' ``10.77.2.0/24`` through it;
- customer namespace: ``10.77.2.2`` on ``nl0`` (``10.77.2.3`` after a handover), default route
  through it.

IPv6 is off in both, so nothing but the traffic under test crosses the link (no router
solicitations), and loopback is up (the server's embedded database listens there). TCP's
congestion control is loss-based in both (``tcp``, default CUBIC: what Android, iOS and a stock
Linux server run). A namespace otherwise inherits the host's, and this host's is BBR, which shrugs
off random loss as no phone's TCP does. A namespace may only default to an algorithm the host
allows (``tcp_allowed_congestion_control``); when CUBIC is not among them the lab takes Reno, the
other loss-based one, which CUBIC equals at these bandwidth-delay products (a few dozen packets:
CUBIC's "TCP-friendly" region), and says so in ``tcp_used``. Sockets a program opens itself can
still ask for CUBIC (``TCP_CONGESTION``; the transport probe does).

Every namespace is named ``asnl-<pid>-<n>-s|c``: the PID of the process that made it. A lab removes
its namespaces when it closes (``close``, also from ``atexit`` and on a failed start), ends the
processes still inside them (by PID, as ``ip netns pids`` lists them: only ours can be there), and
at start removes the namespaces left by a lab whose process is gone.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from .netns import LabUnavailable, requirements_problem
from .profiles import Profile

PREFIX = "asnl"
SERVER_ADDRESS = "10.77.1.1"
CUSTOMER_ADDRESS = "10.77.2.2"
CUSTOMER_NEW_ADDRESS = "10.77.2.3"
CUSTOMER_NET = "10.77.2.0/24"
DEVICE = "nl0"
REPO = Path(__file__).resolve().parents[2]
_NAME = re.compile(rf"^{PREFIX}-(\d+)-\d+-[sc]$")
_numbers = itertools.count(1)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespaces() -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def remove_namespace(name: str) -> None:
    """End the processes left inside (they were started in our lab), then delete the namespace."""
    pids = ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    ip("netns", "del", name, check=False)


def remove_stale() -> list[str]:
    """Remove the namespaces of labs whose process has died (a crash, a kill -9); returns their names."""
    removed = []
    for name in namespaces():
        m = _NAME.match(name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            remove_namespace(name)
            removed.append(name)
    return removed


class Lab:
    def __init__(self, profile: Profile, *, seed: int | None = 1, realtime: bool = True, tcp: str = "cubic"):
        self.profile = profile
        self.tcp = tcp
        self.tcp_used: str | None = None
        self.seed = seed
        self.realtime = realtime
        base = f"{PREFIX}-{os.getpid()}-{next(_numbers)}"
        self.server_ns = base + "-s"
        self.customer_ns = base + "-c"
        self.customer_address = CUSTOMER_ADDRESS
        self.emulator: subprocess.Popen | None = None
        self.ready: dict = {}
        self.events: list[tuple[float, str]] = []
        self._made: list[str] = []

    # -- life --------------------------------------------------------------------------------------
    def start(self) -> Lab:
        problem = requirements_problem()
        if problem:
            raise LabUnavailable(problem)
        remove_stale()
        atexit.register(self.close)
        try:
            for ns in (self.server_ns, self.customer_ns):
                ip("netns", "add", ns)
                self._made.append(ns)
                self._sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
                self._sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
                self.tcp_used = self._congestion_control(ns)
                ip("-n", ns, "link", "set", "lo", "up")
            profile = json.dumps(self.profile.__dict__)
            argv = [sys.executable, "-m", "benchmarks.netlab.emulator", "--server-ns", self.server_ns,
                    "--customer-ns", self.customer_ns, "--profile", profile]
            if self.seed is not None:
                argv += ["--seed", str(self.seed)]
            if self.realtime:
                argv.append("--realtime")
            self.emulator = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True, bufsize=1)
            line = self.emulator.stdout.readline()
            if not line:
                raise RuntimeError("the link emulator did not start:\n" + self.emulator.stderr.read())
            self.ready = json.loads(line)
            ip("-n", self.server_ns, "link", "set", DEVICE, "up")
            ip("-n", self.server_ns, "addr", "add", f"{SERVER_ADDRESS}/32", "dev", DEVICE)
            ip("-n", self.server_ns, "route", "add", CUSTOMER_NET, "dev", DEVICE)
            ip("-n", self.customer_ns, "link", "set", DEVICE, "up")
            ip("-n", self.customer_ns, "addr", "add", f"{CUSTOMER_ADDRESS}/32", "dev", DEVICE)
            ip("-n", self.customer_ns, "route", "add", "default", "dev", DEVICE, "src", CUSTOMER_ADDRESS)
        except BaseException:
            self.close()
            raise
        return self

    def _congestion_control(self, ns: str) -> str:
        for algorithm in dict.fromkeys([self.tcp, "reno"]):
            try:
                self._sysctl(ns, "net.ipv4.tcp_congestion_control", algorithm)
                return algorithm
            except subprocess.CalledProcessError:
                continue
        raise RuntimeError(f"cannot set TCP congestion control {self.tcp!r} (nor reno) in {ns}")

    def _sysctl(self, ns: str, key: str, value: str) -> None:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"], check=True,
                       capture_output=True)

    def close(self) -> None:
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            if emulator.poll() is None:
                try:
                    emulator.stdin.write("quit\n")
                    emulator.stdin.flush()
                    emulator.wait(2)
                except (OSError, subprocess.TimeoutExpired, ValueError):
                    emulator.kill()
                    emulator.wait()
            for stream in (emulator.stdin, emulator.stdout, emulator.stderr):
                try:
                    stream.close()
                except OSError:
                    pass
        made, self._made = self._made, []
        for ns in made:
            remove_namespace(ns)
        atexit.unregister(self.close)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the emulator --------------------------------------------------------------------------------
    def command(self, line: str) -> dict:
        if self.emulator is None or self.emulator.poll() is not None:
            raise RuntimeError("the link emulator is not running")
        self.emulator.stdin.write(line + "\n")
        self.emulator.stdin.flush()
        answer = json.loads(self.emulator.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"emulator: {answer}")
        self.events.append((time.monotonic(), line))
        return answer

    def counters(self) -> dict:
        return self.command("counters")

    def link_down(self) -> dict:
        return self.command("down")

    def link_up(self) -> dict:
        return self.command("up")

    def change_customer_address(self, *, destroy_sockets: bool = True) -> str:
        """The customer's network gives it a new address and stops routing the old one.

        ``destroy_sockets``: the phone's OS closes the sockets bound to the old address, as Android
        does on a network change (netd's SOCK_DESTROY) and iOS does for an interface that went away;
        here ``ss -K`` inside the customer's namespace. Without it, a socket on the old address
        learns it is dead only from its own timeouts."""
        old = self.customer_address
        new = CUSTOMER_NEW_ADDRESS if old != CUSTOMER_NEW_ADDRESS else CUSTOMER_ADDRESS
        self.command(f"unroute {old}")
        ip("-n", self.customer_ns, "addr", "add", f"{new}/32", "dev", DEVICE)
        ip("-n", self.customer_ns, "route", "replace", "default", "dev", DEVICE, "src", new)
        ip("-n", self.customer_ns, "addr", "del", f"{old}/32", "dev", DEVICE)
        if destroy_sockets:
            self.close_sockets_of(old)
        self.command(f"reroute {new}")
        self.customer_address = new
        return new

    def close_sockets_of(self, address: str) -> None:
        """What the phone's OS does to the TCP sockets of an address that went away (``ss -K``)."""
        subprocess.run(["ip", "netns", "exec", self.customer_ns, "ss", "-K", "-t", "src", address],
                       capture_output=True, check=False)

    def come_back_elsewhere(self) -> tuple[str, str]:
        """End of a handover's outage: the customer is on its new address, the link is up, and then
        the OS closes the sockets of the old address (so a reconnection goes out on a working link).
        Returns (old, new) addresses."""
        old = self.customer_address
        new = self.change_customer_address(destroy_sockets=False)
        self.link_up()
        self.close_sockets_of(old)
        return old, new

    # -- running things on one side ------------------------------------------------------------------
    @staticmethod
    def argv_in(ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]
