"""``anysupport-agent`` as a program: the scripted start with ANYSUPPORT_AGENT_PASSWORD, and the phrase editor."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from anysupport_agent.app import ConsoleApp, parser

from tests.support.client import Api

from .conftest import log_in, screenshot

pytestmark = pytest.mark.slow


def test_arguments():
    args = parser().parse_args(["--server", "http://h:1", "--login", "kim", "--lang", "en"])
    assert (args.server, args.login, args.lang) == ("http://h:1", "kim", "en")


def test_scripted_start_logs_in_and_auto_connects(server, new_agent, customer_factory, helper_loop, console_home):
    login, password = new_agent(auto_connect=True)
    env = {**os.environ, "ANYSUPPORT_AGENT_PASSWORD": password, "QT_QPA_PLATFORM": "offscreen",
           "ANYSUPPORT_LOG_LEVEL": "INFO", "ANYSUPPORT_AGENT_CONFIG_DIR": str(console_home / "program-config")}
    program = subprocess.Popen([sys.executable, "-m", "anysupport_agent", "--server", server.url, "--login", login,
                                "--lang", "en", "--camera", "test", "--audio", "none"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    opened = threading.Event()
    lines: list[str] = []

    def read() -> None:
        for line in program.stderr:
            lines.append(line)
            if f"console open: {login}" in line:
                opened.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert opened.wait(30), "".join(lines[-20:])  # logged in without any window, socket open
        code = _create_session(helper_loop, server.url, login, password)
        customer = customer_factory()
        customer.join(code)
        # auto-connect: the program accepts by itself and agrees the keys with the customer
        session = customer.session
        helper_loop.run(session.wait_until(lambda: session.state == "connected", 20, "connected"), timeout=30)
        helper_loop.run(_wait_keys(customer.session), timeout=30)
        # the console's ?versions=1,2 reached the server's auto-connect: sealed from the start, with a pair code
        assert customer.session.media.group.active and customer.session.agent_code
    finally:
        program.terminate()
        program.wait(15)


def _create_session(loop, url, login, password) -> str:
    async def create() -> str:
        api = Api(url)
        token, _ = await api.login(login, password, client="web")  # the admin pages' kind: not a second console
        r = await api.with_token(token).post("/api/v1/sessions")
        assert r.status == 201, r.body
        return r.json["code"]

    return loop.run(create(), timeout=30)


def _server_view(loop, url, login, password) -> str:
    """What the server says of the agent's sessions (for a failure's message: did it auto-connect?)."""
    async def view() -> str:
        api = Api(url)
        token, _ = await api.login(login, password, client="web")
        r = await api.with_token(token).get("/api/v1/sessions")
        return f"\nthe server's sessions: {r.status} {r.body[:2000]!r}"

    try:
        return loop.run(view(), timeout=15)
    except Exception as exc:  # the message of a failure already being reported
        return f"\n(the server's sessions could not be read: {exc!r})"


async def _wait_keys(session) -> None:
    await session.wait_until(lambda: session.media is not None and session.media.ready and session.agent_code, 20,
                             "keys")


def test_phrases_add_edit_reorder_delete(qtbot, console_factory, new_agent):
    login, password = new_agent()
    app: ConsoleApp = console_factory()
    main = log_in(qtbot, app, login, password)
    panel = main.viewer.panel
    qtbot.waitUntil(lambda: panel.phrases.rowCount() > 0, timeout=5000)  # the server's default phrases
    start = [p["id"] for p in panel.phrases.phrases]
    dialog = panel.edit_phrase(None)
    dialog.text.setText("마지막 문구")
    dialog.accept()
    qtbot.waitUntil(lambda: panel.phrases.rowCount() == len(start) + 1, timeout=5000)
    last = panel.phrases.rowCount() - 1
    assert panel.phrases.phrase(last)["text"] == "마지막 문구"
    panel.phrase_view.selectRow(last)
    panel.up_button.click()
    qtbot.waitUntil(lambda: panel.phrases.phrase(last - 1)["text"] == "마지막 문구", timeout=5000)
    panel.phrase_view.selectRow(last - 1)
    dialog = panel.edit_phrase(last - 1)
    dialog.text.setText("고친 문구")
    dialog.shortcut.setText("F9")
    dialog.accept()
    qtbot.waitUntil(lambda: panel.phrases.by_shortcut("F9") is not None, timeout=5000)
    assert panel.phrases.by_shortcut("F9")["text"] == "고친 문구"
    main.viewer.show()
    screenshot(main.viewer, "viewer-no-session-ko")
    dialog = main.open_settings()
    screenshot(dialog, "settings-ko")
    dialog.reject()
    panel.phrase_view.selectRow(last - 1)
    panel.delete_button.click()
    qtbot.waitUntil(lambda: panel.phrases.by_shortcut("F9") is None, timeout=5000)
    assert [p["id"] for p in panel.phrases.phrases] == start


def test_customer_voice_is_heard_on_the_console_speaker(server, new_agent, customer_factory, helper_loop, private_pulse,
                                                        console_home):
    """상담원 화면 보기 on: the customer's 440 Hz tone comes out of the console's speaker (a PulseAudio null sink)."""
    from tests.support.audio import dominant_frequency

    login, password = new_agent(auto_connect=True)
    env = {**os.environ, **private_pulse.env(), "ANYSUPPORT_AGENT_PASSWORD": password, "QT_QPA_PLATFORM": "offscreen",
           "ANYSUPPORT_LOG_LEVEL": "INFO", "ANYSUPPORT_AGENT_CONFIG_DIR": str(console_home / "voice-config"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    program = subprocess.Popen([sys.executable, "-m", "tests.agent.voice_console", server.url, login, "console_speaker"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = {name: threading.Event() for name in ("open", "voice")}
    lines: list[str] = []

    def read(stream) -> None:
        for line in stream:
            lines.append(line)
            if f"console open: {login}" in line:
                events["open"].set()
            if line.startswith("voice"):
                events["voice"].set()

    for stream in (program.stdout, program.stderr):
        threading.Thread(target=read, args=(stream,), daemon=True).start()
    try:
        assert events["open"].wait(30), "".join(lines[-20:])
        customer = customer_factory()  # sends a 440 Hz tone while the agent's camera is on
        customer.join(_create_session(helper_loop, server.url, login, password))
        heard = helper_loop.submit(private_pulse.record("console_speaker", 1.0, timeout=40))
        assert events["voice"].wait(40), "".join(lines[-20:]) + _server_view(helper_loop, server.url, login, password)
        assert any(line.startswith("voice on") for line in lines), "".join(lines[-20:])
        frequency, purity = dominant_frequency(heard.result(45))
        assert abs(frequency - 440) <= 3 and purity > 0.6, (frequency, purity)
    finally:
        program.terminate()
        program.wait(15)


@pytest.mark.parametrize("language, first", [("en", "Hello. How can I help you?"),
                                             ("ko", "안녕하세요. 무엇을 도와드릴까요?")])
def test_a_new_agent_reads_the_default_phrases_in_their_language(qtbot, console_factory, new_agent, language, first):
    """Issue 17 #17: in a Korean install an English agent's first phrase list is in English."""
    login, password = new_agent()
    app = console_factory(language)
    main = log_in(qtbot, app, login, password)
    panel = main.viewer.panel
    qtbot.waitUntil(lambda: panel.phrases.rowCount() == 5, timeout=5000)
    assert panel.phrases.phrase(0)["text"] == first
    assert panel.phrases.phrase(0)["shortcut"] == "F1"
