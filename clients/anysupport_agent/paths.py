"""Where the console keeps its files: the user's config directory and documents folder.

``ANYSUPPORT_AGENT_CONFIG_DIR`` overrides the config directory (tests, portable installs);
otherwise ``$XDG_CONFIG_HOME/anysupport-agent`` (``~/.config/anysupport-agent``), or
``%APPDATA%\\AnySupport`` on Windows. Documents default to ``~/Documents`` (``XDG_DOCUMENTS_DIR``
when set).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

CONFIG_ENV = "ANYSUPPORT_AGENT_CONFIG_DIR"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "AnySupport"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "anysupport-agent"


def documents_dir() -> Path:
    return Path(os.environ.get("XDG_DOCUMENTS_DIR") or Path.home() / "Documents")


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Write ``data`` as JSON so a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: private from the first byte
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default
