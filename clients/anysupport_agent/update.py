"""The check at start that the manual calls the auto-upgrade check: is this console older than its server?

Server and console ship in one package, so a console older than the server it talks to may lack what
the server now offers; the login window then says so, with the command that upgrades it. A version
that cannot be read is no reason to bother the agent.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from anysupport import __version__ as CONSOLE_VERSION

__all__ = ["CONSOLE_VERSION", "UPGRADE_COMMAND", "needs_upgrade"]

UPGRADE_COMMAND = 'pip install -U "anysupport[client]"'


def needs_upgrade(console: str, server: str) -> bool:
    """True when the server runs a newer release than this console."""
    try:
        return Version(server) > Version(console)
    except InvalidVersion:
        return False
