"""The emulator itself, end to end through two namespaces: does the link do what the profile says?

RTT, loss and rate are each measured by the probe's command (``benchmarks/netlab/probe.py``, at a
real-time priority like the emulator's, so other work on a busy machine is not measured as the
link's delay) and must be within 10 % of the profile. The emulator's random source is seeded here,
so a run is repeatable; the probe's loss streams are long enough (3 binomial standard deviations
within 10 %) that the seed does not decide the result.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from benchmarks.netlab import lab as lab_module
from benchmarks.netlab import netns
from benchmarks.netlab.lab import SERVER_ADDRESS, Lab, namespaces, remove_stale
from benchmarks.netlab.netns import LabUnavailable, inside
from benchmarks.netlab.probe import Accuracy, expected_rtt_std_ms
from benchmarks.netlab.profiles import PROFILES

pytestmark = [pytest.mark.slow, pytest.mark.alone]


@pytest.mark.parametrize("name", ["wifi", "lte", "congested", "3g"])
def test_the_link_keeps_its_profile_within_ten_percent(lab_host, name):
    profile = PROFILES[name]
    run = subprocess.run([sys.executable, "-m", "benchmarks.netlab.probe", "--profile", name, "--seed", "1",
                          "--rtt-probes", "60", "--rate-seconds", "2", "--realtime"],
                         cwd=lab_module.REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.splitlines()[-1])
    result = Accuracy(**{k: v for k, v in figures.items() if k not in ("errors", "seconds")})
    errors = result.errors(profile)
    assert result.rtt_samples >= 50, result
    assert errors["rtt"] <= 0.10, (result, errors)
    assert errors["rate"] <= 0.10, (result, errors)
    if profile.loss:
        assert errors["loss_up"] <= 0.10 and errors["loss_down"] <= 0.10, (result, errors)
    else:
        assert result.loss_up == 0 and result.loss_down == 0, result
    if profile.jitter_ms:
        assert errors["jitter"] <= 0.10, (result, expected_rtt_std_ms(profile), errors)
    else:
        assert result.rtt_std_ms < 0.1 * profile.rtt_ms, result


def test_the_handover_takes_the_link_down_and_moves_the_customer(lab_host):
    with Lab(PROFILES["handover"]) as lab:
        with inside(lab.server_ns):
            listener = socket.create_server((SERVER_ADDRESS, 9100))
        with inside(lab.customer_ns):
            before = socket.create_connection((SERVER_ADDRESS, 9100), timeout=5)
        accepted, peer = listener.accept()
        assert peer[0] == lab.customer_address == "10.77.2.2"
        before.sendall(b"hello")
        assert accepted.recv(5) == b"hello"

        lab.link_down()
        new = lab.change_customer_address()
        assert new == "10.77.2.3"
        # the phone's OS closed the socket of the old address, as Android does on a network change
        with pytest.raises(OSError):
            before.settimeout(2)
            if before.recv(1) == b"":
                raise ConnectionResetError("closed")
        with inside(lab.customer_ns), pytest.raises(OSError):
            socket.create_connection((SERVER_ADDRESS, 9100), timeout=0.5)  # the link is down
        lab.link_up()
        with inside(lab.customer_ns):
            after = socket.create_connection((SERVER_ADDRESS, 9100), timeout=5)
        # the refused connection attempt of the outage may sit in the backlog first
        while True:
            second, peer = listener.accept()
            second.settimeout(2)
            after.sendall(b"again")
            try:
                if second.recv(5) == b"again":
                    break
            except OSError:
                continue
        assert peer[0] == "10.77.2.3"
        counters = lab.counters()["counters"]
        assert counters["up"]["lost_down"] >= 1
        for s in (before, after, accepted, second, listener):
            s.close()


def test_a_closed_lab_leaves_no_namespace_and_no_emulator(lab_host):
    lab = Lab(PROFILES["wifi"]).start()
    emulator = lab.emulator
    names = (lab.server_ns, lab.customer_ns)
    assert set(names) <= set(namespaces())
    lab.close()
    assert not set(names) & set(namespaces())
    assert emulator.poll() is not None


def test_namespaces_of_a_dead_lab_are_removed_at_start(lab_host):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = f"{lab_module.PREFIX}-{int(gone.stdout)}-1-s"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        assert stale in remove_stale()
        assert stale not in namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


def test_without_root_the_lab_says_why(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "root" in netns.requirements_problem()
    with pytest.raises(LabUnavailable, match="root"):
        Lab(PROFILES["wifi"]).start()


def test_without_a_tun_device_the_lab_says_why(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns, "TUN_DEVICE", "/dev/net/no-such-tun")
    assert "/dev/net/no-such-tun" in netns.requirements_problem()
