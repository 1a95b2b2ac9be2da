"""A console in a child process for the voice test: logs in, and once a session shows video, turns on
상담원 화면 보기; prints ``voice on`` (or ``voice error: …``). Run with PULSE_SERVER set.

    python -m tests.agent.voice_console SERVER_URL LOGIN SPEAKER   (password in ANYSUPPORT_AGENT_PASSWORD)
"""

from __future__ import annotations

import logging
import os
import sys

from anysupport_agent.app import ConsoleApp
from anysupport_agent.settings import Settings
from anysupport_qt import QApplication, QTimer, apply_korean_font


def main() -> int:
    server_url, login, speaker = sys.argv[1:4]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication(sys.argv[:1])
    settings = Settings()
    settings.update({"server_url": server_url, "language": "en"})
    console = ConsoleApp(settings=settings, font_family=apply_korean_font(app), open_folder=lambda path: None,
                         camera="test", audio="tone", speaker=speaker)
    console.start(login, os.environ["ANYSUPPORT_AGENT_PASSWORD"])
    state = {"clicked": False, "said": set()}

    def say_once(line: str) -> None:
        """Each step once, so a test that waits in vain shows where the console stopped."""
        if line not in state["said"]:
            state["said"].add(line)
            print(line, flush=True)

    def watch() -> None:
        main = console.main
        if main is None:
            return
        for sid, info in list(console.bridge.client.agent_client.session_infos.items()):
            say_once(f"session {sid} {info.get('state')}")  # what the console heard of each session
        if main.viewer.session_id:
            say_once(f"viewer on session {main.viewer.session_id}")
        if not state["clicked"] and main.viewer.view.rendered is not None:
            say_once("video shown")
            state["clicked"] = True
            main.viewer.camera_bar.agent_video_button.click()
        session = console.bridge.client.live_sessions.get(main.viewer.session_id or "")
        if state["clicked"] and session is not None:
            say_once(f"keys {'agreed' if session.media is not None and session.media.ready else 'not yet'}")
        if state["clicked"] and session is not None:
            if session.voice is not None and session.voice.running:
                print("voice on", flush=True)
                timer.stop()
            elif main.viewer.message.text():
                print(f"voice error: {main.viewer.message.text()}", flush=True)
                timer.stop()

    timer = QTimer()
    timer.timeout.connect(watch)
    timer.start(50)
    print("console started", flush=True)
    code = app.exec_()
    console.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
