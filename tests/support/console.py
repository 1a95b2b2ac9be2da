"""Waits on the agent console's windows (pytest-qt) that say, when they time out, where things stopped."""

from __future__ import annotations


def wait_viewer_on(qtbot, main, sid: str, timeout: int = 30000) -> None:
    """Until ``main``'s (a console ``MainWindow``) viewer shows the call ``sid``. On a timeout, what the
    console knew: its viewer, its sessions tab's message and list, the client's record of the call."""
    try:
        qtbot.waitUntil(lambda: main.viewer.isVisible() and main.viewer.session_id == sid, timeout=timeout)
    except qtbot.TimeoutError:
        client = main.bridge.client.agent_client
        raise AssertionError(
            f"viewer not on {sid}: viewer {main.viewer.session_id} visible={main.viewer.isVisible()}, "
            f"message {main.sessions_tab.message.text()!r}, listed {[r['id'] for r in main.sessions_tab.model.rows]}, "
            f"client {client.session_infos.get(sid)}, live {sid in client.live_sessions}") from None
