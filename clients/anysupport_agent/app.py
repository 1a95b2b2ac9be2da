"""``anysupport-agent``: the agent console (상담원 프로그램).

``anysupport-agent --server URL [--login ID] [--lang ko|en]``; with ``--login`` and the password in
``ANYSUPPORT_AGENT_PASSWORD`` it logs in without showing the login window (scripted starts,
kiosks). ``ConsoleApp`` glues the login window and the main window and returns to the login window
when the console is kicked or loses the server.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from anysupport_client.media.sources import open_audio_source, open_video_source
from anysupport_client.media.speaker import open_voice_output
from anysupport_qt import QApplication, QObject, apply_korean_font, keep_running

from anysupport.protocol.vocabulary import LANGUAGES

from .bridge import ConsoleBridge
from .credentials import LoginStore
from .draft import DraftStore
from .qt_language import QtLanguage
from .settings import Settings
from .texts import Texts
from .widgets.common import AskUnsaved, OpenFolder, ask_unsaved_dialog, open_folder
from .widgets.login import LoginWindow
from .widgets.main_window import MainWindow
from .widgets.records_tab import ChoosePath, choose_path_dialog

PASSWORD_ENV = "ANYSUPPORT_AGENT_PASSWORD"
log = logging.getLogger("anysupport.agent")


def default_camera() -> str:
    return "camera" if os.path.exists("/dev/video0") or sys.platform in ("darwin", "win32") else "test"


def agent_sources(camera: str, audio: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Factories of the agent's camera and microphone for 상담원 화면 보기 (a test pattern / no voice if they fail)."""

    def video():
        try:
            return open_video_source(camera, width=320, height=240, fps=15)
        except Exception as exc:  # no camera after all: show the customer a test picture rather than nothing
            log.warning("agent camera %s unavailable (%s); sending a test pattern", camera, exc)
            return open_video_source("test", width=320, height=240, fps=15)

    def voice():
        try:
            return open_audio_source(audio)
        except Exception as exc:
            log.warning("agent microphone %s unavailable (%s)", audio, exc)
            return None

    return video, voice


class ConsoleApp(QObject):
    def __init__(self, *, settings: Settings, font_family: str | None = None, open_folder: OpenFolder = open_folder,
                 ask_unsaved: AskUnsaved | None = None, choose_path: ChoosePath | None = None,
                 camera: str | None = None, audio: str | None = None, speaker: str | None = None):
        super().__init__()
        self.settings = settings
        self.texts = Texts(settings["language"])
        # Qt's own dialogs (OK / 취소, the file dialog) in the chosen language, now and when it changes
        self.qt_language = QtLanguage()
        self.qt_language.apply(settings["language"])
        settings.listeners.append(self.qt_language.setting_changed)
        self.font_family = font_family
        self.open_folder = open_folder
        self.ask_unsaved = ask_unsaved or ask_unsaved_dialog(self.texts)
        self.choose_path = choose_path or choose_path_dialog(self.texts)
        microphone = audio or (f"mic:{settings['audio_input']}" if settings["audio_input"] else "mic")
        speaker = speaker or settings["audio_output"] or "default"
        video, voice = agent_sources(camera or default_camera(), microphone)
        self.bridge = ConsoleBridge(settings["server_url"], language=settings["language"], font_family=font_family,
                                    agent_video_source=video, agent_audio_source=voice,
                                    voice_output=lambda: open_voice_output(speaker))
        self.store = LoginStore()
        self.drafts = DraftStore()
        self.login_window = LoginWindow(texts=self.texts, settings=settings, bridge=self.bridge, store=self.store)
        self.login_window.logged_in.connect(self._logged_in)
        self.login_window.failed.connect(self._login_needs_user)
        self.main: MainWindow | None = None

    def start(self, login: str | None = None, password: str | None = None) -> None:
        if login:
            self.login_window.id_edit.setText(login)
        if login and password:
            self.login_window.password_edit.setText(password)
            self.login_window.login()
            # the window shows only if this login fails (wrong password, duplicate login, …)
            return
        if not self.login_window.try_remembered():
            self.login_window.show()

    def _login_needs_user(self) -> None:
        if self.main is None:
            self.login_window.show()

    def _logged_in(self, hello: dict[str, Any]) -> None:
        log.info("console open: %s (%d live sessions)", (hello.get("agent") or {}).get("login"),
                 len(hello.get("sessions") or []))
        self.login_window.hide()
        self.texts.language = self.settings["language"]
        self.main = MainWindow(texts=self.texts, settings=self.settings, bridge=self.bridge, hello=hello,
                               drafts=self.drafts, ask_unsaved=self.ask_unsaved, open_folder=self.open_folder,
                               choose_path=self.choose_path, font_family=self.font_family)
        self.main.logged_out.connect(self._logged_out)
        self.main.show()

    def _logged_out(self, reason: str) -> None:
        main, self.main = self.main, None
        if main is not None:
            main.deleteLater()
        self.bridge.submit(self.bridge.client.close())
        if reason:
            self.login_window.show_reason(reason)
        self.login_window.fill_remembered()
        self.login_window.show()

    def shutdown(self) -> None:
        if self.main is not None:
            self.main.leaving = True
            self.main.close()
        self.login_window.close()
        self.bridge.shutdown()
        if self.qt_language.setting_changed in self.settings.listeners:
            self.settings.listeners.remove(self.qt_language.setting_changed)
        self.qt_language.remove()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anysupport-agent", description="AnySupport agent console (상담원 프로그램)")
    p.add_argument("--server", help="the AnySupport server, e.g. https://support.example.com")
    p.add_argument("--login", help="the agent ID; with ANYSUPPORT_AGENT_PASSWORD set, logs in at once")
    p.add_argument("--lang", choices=LANGUAGES, help="the language (default: the setting, else the locale)")
    p.add_argument("--camera", default=None, help="the agent's camera for 상담원 화면 보기: camera[:N], test, file:PATH")
    p.add_argument("--audio", default=None,
                   help="the agent's microphone: mic[:DEVICE], tone or none (default: the setting's, else mic)")
    p.add_argument("--speaker", default=None,
                   help="where the customer's voice plays: default, none or a speaker's name (default: the setting's)")
    p.add_argument("--version", action="store_true", help="print this console's version and exit")
    p.add_argument("--update", action="store_true",
                   help="update from the server without a window: fetch its newer console package, check its "
                        "SHA-256, install it into this environment and restart as --version")
    return p


def update_from_server(server_url: str) -> int:
    """``--update``: the auto-upgrade without a window; restarts into ``--version`` when it installed one."""
    import asyncio

    from anysupport_client.api import RestClient

    from .update import CONSOLE_VERSION, UpdateError, restart, update

    async def run():
        return await update(RestClient(server_url))

    try:
        package = asyncio.run(run())
    except UpdateError as exc:
        print(f"update failed ({exc.code}): {exc}", file=sys.stderr)
        return 1
    if package is None:
        print(f"AnySupport console {CONSOLE_VERSION}: up to date")
        return 0
    print(f"AnySupport console {CONSOLE_VERSION} -> {package['version']}: installed, restarting", flush=True)
    restart(["--version"])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        from .update import CONSOLE_VERSION

        print(f"AnySupport console {CONSOLE_VERSION}")
        return 0
    if args.update:
        return update_from_server((args.server or Settings()["server_url"]).rstrip("/"))
    logging.basicConfig(level=os.environ.get("ANYSUPPORT_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    keep_running(logging.getLogger("anysupport.console"))  # a fault in one slot is logged; the call goes on
    family = apply_korean_font(app)
    settings = Settings()
    changes: dict[str, Any] = {}
    if args.server:
        changes["server_url"] = args.server.rstrip("/")
    if args.lang:
        changes["language"] = args.lang
    if changes:
        settings.update(changes)
    console = ConsoleApp(settings=settings, font_family=family, camera=args.camera, audio=args.audio,
                         speaker=args.speaker)
    console.start(args.login, os.environ.get(PASSWORD_ENV) if args.login else None)
    app.aboutToQuit.connect(console.shutdown)
    return app.exec_()

