"""Network namespaces from Python: enter one (this thread only), open a TUN device in it.

Python 3.11 has no ``os.setns``, so ``setns(2)`` is called through libc. A network namespace
switch applies to the calling thread; sockets and TUN devices opened there stay in that namespace
after the thread switches back, which is how one emulator process holds a TUN device in each of
two namespaces, and how the harness opens the agent's sockets in the server's namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import struct
import threading
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/var/run/netns"
TUN_DEVICE = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

_libc = ctypes.CDLL(None, use_errno=True)


class LabUnavailable(RuntimeError):
    """This machine cannot run the network lab (not root, no TUN, no ``ip``); the message says why."""


def requirements_problem() -> str | None:
    """Why the lab cannot run here, or None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the network lab needs root (network namespaces, TUN devices); CI runs it as root"
    if not os.path.exists(TUN_DEVICE):
        return f"the network lab needs {TUN_DEVICE} (the tun module; in a container: --device /dev/net/tun)"
    if shutil.which("ip") is None:
        return "the network lab needs iproute2's `ip` (apt-get install iproute2)"
    return None


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


def namespace_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """Run the block in network namespace ``name`` (the calling thread only), then come back."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(namespace_path(name), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def enter(name: str) -> None:
    """Move the calling thread into namespace ``name`` for good (threads it starts later follow it)."""
    target = os.open(namespace_path(name), os.O_RDONLY)
    try:
        _setns(target)
    finally:
        os.close(target)


def open_tun(name: str) -> int:
    """A non-blocking TUN device ``name`` (IP packets, no extra header) in the calling thread's namespace."""
    fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EPERM:
            raise LabUnavailable(f"cannot create TUN device {name}: not permitted (root needed)") from exc
        raise
    return fd
