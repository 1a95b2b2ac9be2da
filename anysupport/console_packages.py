"""The console packages this server hands out (issue 17, the manual's install and auto-upgrade).

The manual's agents download the program from the server and it upgrades itself when started. The
server serves, from its ``console_packages`` folder, the newest wheel of the ``anysupport`` package (the
console is its ``[client]`` part): the download page links it, and a console older than it fetches it
from this server, checks its SHA-256 (given by the server over the same TLS), installs it into its own
environment and restarts. The operator drops a wheel there (``pip wheel --no-deps . -w <folder>`` in a
checkout, or ``pip download --no-deps anysupport==X``). No Tornado in here.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

WHEEL = re.compile(r"^anysupport-(?P<version>[0-9][0-9A-Za-z.+!]*)-[^/\\]+\.whl$")


class ConsolePackages:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._hashes: dict[tuple[str, float, int], str] = {}

    def _wheels(self) -> list[tuple[Version, Path]]:
        found = []
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                match = WHEEL.match(path.name)
                if match and path.is_file():
                    try:
                        found.append((Version(match["version"]), path))
                    except InvalidVersion:
                        continue
        return sorted(found)

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (path.name, stat.st_mtime, stat.st_size)
        if key not in self._hashes:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            self._hashes[key] = digest.hexdigest()
        return self._hashes[key]

    def newest(self) -> dict[str, Any] | None:
        """The newest package: ``{version, file, sha256, size}``, or None when the folder has none."""
        wheels = self._wheels()
        if not wheels:
            return None
        version, path = wheels[-1]
        return {"version": str(version), "file": path.name, "sha256": self.sha256(path), "size": path.stat().st_size}

    def path(self, name: str) -> Path | None:
        """The file of a package by its name (only wheels of this folder: nothing else can be asked for)."""
        for _version, path in self._wheels():
            if path.name == name:
                return path
        return None
