"""The start-up check (the manual's auto-upgrade check): a console older than its server says so."""

from __future__ import annotations

from anysupport_agent.texts import Texts
from anysupport_agent.update import UPGRADE_COMMAND, needs_upgrade

from anysupport import __version__
from tests.support.client import Api

from .conftest import screenshot


def test_needs_upgrade_compares_release_numbers():
    assert needs_upgrade("0.1.0", "0.2.0")
    assert needs_upgrade("0.9.0", "0.10.0")  # numbers, not text
    assert not needs_upgrade("0.2.0", "0.2.0")
    assert not needs_upgrade("0.3.0", "0.2.0")  # a newer console is fine
    assert not needs_upgrade("0.1.0", "not a version")


async def test_the_server_tells_its_version(api: Api):
    r = await api.get("/api/v1/version")
    assert r.status == 200 and r.json == {"version": __version__}


def test_an_older_console_is_told_to_upgrade_at_start(qtbot, console_factory):
    app = console_factory()
    window = app.login_window
    window.show()
    qtbot.waitUntil(lambda: window.server_version == __version__, timeout=10000)
    assert not window.upgrade.isVisible()  # same release: nothing to say

    window.console_version = "0.0.1"
    window.check_version()
    qtbot.waitUntil(window.upgrade.isVisible, timeout=10000)
    text = window.upgrade.text()
    assert text == Texts("ko")("upgrade_available", server=__version__, console="0.0.1", command=UPGRADE_COMMAND)
    screenshot(window, "login-upgrade-ko")
