"""Fixtures for the agent console tests: a private config dir and documents folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from anysupport_client.loop import LoopThread
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import CustomerSession

from tests.support.client import Api, admin_api, create_agent
from tests.support.server import ADMIN_PASSWORD


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Every test gets its own config directory and documents folder (never the user's)."""
    config = tmp_path / "config"
    documents = tmp_path / "Documents"
    monkeypatch.setenv("ANYSUPPORT_AGENT_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(documents))
    return tmp_path



ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def screenshot(widget, name: str) -> Path:
    """Save what ``widget`` shows under test-artifacts/ (the screens are looked at, not only asserted).

    Under a real X server (``xcb``, see test_xcb_walks.py) the whole screen is saved too, as
    ``agent-xcb-<name>.png``: the windows as the window system shows them.
    """
    from anysupport_qt import QApplication

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"agent-{name}.png"
    assert widget.grab().save(str(path))
    app = QApplication.instance()
    if app.platformName() == "xcb":
        app.processEvents()
        assert app.primaryScreen().grabWindow(0).save(str(ARTIFACTS / f"agent-xcb-{name}.png"))
    return path


@pytest.fixture
def helper_loop():
    """An asyncio loop on its own thread for the headless customer and admin calls (Qt owns the test's thread)."""
    thread = LoopThread("agent-test-helpers").start()
    yield thread
    thread.stop()


@pytest.fixture
def new_agent(server, helper_loop, unique):
    """make(auto_connect=False) → (login, password): a fresh agent on the shared server."""

    def make(*, auto_connect: bool = False, name: str | None = None) -> tuple[str, str]:
        login = unique("agent")
        password = "pw-" + login

        async def create():
            await create_agent(await admin_api(server.url), login, password, name=name or f"상담원 {login}",
                               auto_connect=auto_connect)

        helper_loop.run(create(), timeout=30)
        return login, password

    return make


class Customer:
    """The headless mobile client (test pattern, tone) on the helper loop."""

    def __init__(self, loop: LoopThread, server_url: str, versions: tuple[int, ...] = (1, 2)):
        self.loop = loop
        self.source = TestPatternTrack()
        self.session: CustomerSession = loop.run(self._make(server_url, versions))

    async def _make(self, server_url: str, versions: tuple[int, ...]) -> CustomerSession:
        return CustomerSession(server_url, video=self.source, audio=ToneTrack(), language="ko", versions=versions)

    def join(self, code: str, name: str = "홍길동") -> None:
        self.loop.run(self.session.start(code, name=name, phone="010-1234-5678"), timeout=20)

    def close(self) -> None:
        try:
            self.loop.run(self.session.close(), timeout=10)
        except Exception:  # the session may already be over
            pass


@pytest.fixture
def customer_factory(server, helper_loop):
    made: list[Customer] = []

    def make(versions: tuple[int, ...] = (1, 2)) -> Customer:
        """``versions`` (1,): a customer's app that speaks only version 1 (its calls are not sealed from the
        start: the version-1 keys and their re-keying are what the console shows)."""
        customer = Customer(helper_loop, server.url, versions)
        made.append(customer)
        return customer

    yield make
    for customer in made:
        customer.close()


@pytest.fixture
def console_factory(qtbot, server, console_home):
    """make(language="ko") → a ConsoleApp against the shared server, with the file manager and prompts injected."""
    from anysupport_agent.app import ConsoleApp
    from anysupport_agent.settings import Settings
    from anysupport_qt import QApplication, apply_korean_font

    made = []

    def make(language: str = "ko", *, speaker: str = "none", audio: str = "tone:660", server_url: str | None = None):
        family = apply_korean_font(QApplication.instance())
        settings = Settings()
        settings.update({"server_url": server_url or server.url, "language": language})
        opened: list[Path] = []
        answers = {"unsaved": "cancel"}
        asked: list[str] = []

        def ask(parent) -> str:
            asked.append(answers["unsaved"])
            return answers["unsaved"]

        app = ConsoleApp(settings=settings, font_family=family, open_folder=opened.append, ask_unsaved=ask,
                         choose_path=lambda parent, suggested: console_home / "export" / suggested.name,
                         camera="test", audio=audio, speaker=speaker)
        app.opened, app.answers, app.asked = opened, answers, asked
        qtbot.addWidget(app.login_window)
        made.append(app)
        return app

    yield make
    for app in made:
        app.shutdown()


def log_in(qtbot, app, login: str, password: str):
    """Type the ID and password, press 로그인, wait for the main window."""
    app.login_window.show()
    app.login_window.id_edit.setText(login)
    app.login_window.password_edit.setText(password)
    app.login_window.login_button.click()
    qtbot.waitUntil(lambda: app.main is not None, timeout=15000)
    qtbot.addWidget(app.main)
    qtbot.addWidget(app.main.viewer)
    return app.main



@pytest.fixture
def trouble_type(server, helper_loop, unique):
    """A fresh two-level trouble type (parent / child) made by the admin; returns (child id, "parent / child")."""
    parent_name, child_name = unique("네트워크"), "와이파이"

    async def create():
        admin = Api(server.url)
        token, _ = await admin.login("admin", ADMIN_PASSWORD)
        admin = admin.with_token(token)
        r = await admin.post("/api/v1/admin/trouble-types", {"name": parent_name})
        assert r.status == 201, r.body
        parent = r.json.get("trouble_type", r.json)
        r = await admin.post("/api/v1/admin/trouble-types", {"name": child_name, "parent_id": parent["id"]})
        assert r.status == 201, r.body
        return r.json.get("trouble_type", r.json)["id"]

    return helper_loop.run(create(), timeout=30), f"{parent_name} / {child_name}"



@pytest.fixture
def private_pulse():
    """A private PulseAudio server with a null sink, ``console_speaker``, for a console in a child process.

    This process never loads SoundCard (it binds to the first audio server it meets, for the life of
    the process): the console that plays into the sink runs as a child with ``PULSE_SERVER`` set.
    """
    from tests.support.audio import PulseServer

    missing = PulseServer.missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    server = PulseServer(("console_speaker",)).start()
    yield server
    server.stop()
