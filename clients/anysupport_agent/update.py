"""The console's auto-upgrade, as the manual has it: at start it asks its own server for the newest console
package (``GET /api/v1/console/package``); when that is newer than itself it offers to update, fetches the
package from that server, checks its SHA-256 against the one the server gave (over the same TLS), installs
it into its own environment (``pip install --no-deps``: the package's dependencies are this one's) and
restarts into the new version. ``anysupport-agent --update`` does the same without a window. A version that
cannot be read is no reason to bother the agent. No Qt in here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from anysupport import __version__ as CONSOLE_VERSION

__all__ = ["CONSOLE_VERSION", "UPGRADE_COMMAND", "UpdateError", "fetch_package", "install_package", "needs_upgrade",
           "newer_package", "restart", "update"]

UPGRADE_COMMAND = 'pip install -U "anysupport[client]"'


class UpdateError(RuntimeError):
    """The update could not be done: ``code`` says why (``bad_hash``, ``install_failed``, …)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = self.error = code  # ``error``/``message``: what the window's error line reads
        self.message = f"{code}: {detail}" if detail else code


def needs_upgrade(console: str, server: str) -> bool:
    """True when ``server`` names a newer release than this console."""
    try:
        return Version(server) > Version(console)
    except InvalidVersion:
        return False


async def newer_package(rest, console: str = CONSOLE_VERSION) -> dict[str, Any] | None:
    """The server's console package when it is newer than ``console``, else None (none, or unreadable)."""
    try:
        package = await rest.request("GET", "/api/v1/console/package")
    except Exception:
        return None
    if not isinstance(package, dict) or not needs_upgrade(console, str(package.get("version", ""))):
        return None
    return package


async def fetch_package(rest, package: dict[str, Any], folder: str | os.PathLike,
                        progress=None) -> Path:
    """Download the package into ``folder`` and check it: a file whose SHA-256 is not the server's is
    deleted and refused (``bad_hash``)."""
    name = Path(package["file"]).name  # never a path of the server's choosing
    dest = Path(folder) / name
    await rest.download(package["url"], str(dest), progress=progress)
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    if digest != package.get("sha256"):
        dest.unlink(missing_ok=True)
        raise UpdateError("bad_hash", f"{name}: {digest} is not the server's {package.get('sha256')}")
    return dest


def install_package(path: Path, python: str = sys.executable) -> None:
    """Install the checked package into this console's own environment (its dependencies are already here)."""
    done = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", "--no-index",
                           "--disable-pip-version-check", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UpdateError("install_failed", (done.stderr or done.stdout)[-2000:])


def restart(argv: list[str]) -> None:
    """Replace this process with the console of the newly installed version."""
    os.execv(sys.executable, [sys.executable, "-m", "anysupport_agent", *argv])


async def update(rest, *, console: str = CONSOLE_VERSION, progress=None) -> dict[str, Any] | None:
    """Check, fetch, verify and install the server's newer package; returns it (None: nothing newer)."""
    package = await newer_package(rest, console)
    if package is None:
        return None
    with tempfile.TemporaryDirectory(prefix="anysupport-update-") as folder:
        path = await fetch_package(rest, package, folder, progress=progress)
        install_package(path)
    return package
