"""Command line: the window, or ``--headless`` (the same client without a window)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import urllib.parse
from typing import Any

from anysupport_client.api import ApiError
from anysupport_client.language import default_language
from anysupport_client.media.quality import DEFAULT_LEVEL, LEVELS
from anysupport_client.media.sources import open_audio_source, open_video_source
from anysupport_client.media.speaker import open_voice_output
from anysupport_client.session import CustomerSession

from anysupport.protocol.vocabulary import LANGUAGES, SATISFACTION

log = logging.getLogger("anysupport.mobile")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anysupport-mobile", description="AnySupport Video: the customer's client")
    p.add_argument("link", nargs="?", help="an anysupport://join?server=…&code=… link from the customer page")
    p.add_argument("--server", default="http://127.0.0.1:8888", help="the AnySupport server's URL")
    p.add_argument("--code", help="the 4-digit code the agent gave (the window asks when missing)")
    p.add_argument("--name", help="your name, shown to the agent")
    p.add_argument("--source", default="test", help="test | test:WxH | file:PATH | camera[:N] | camera:BACK,FRONT")
    p.add_argument("--audio", default="tone", help="tone | mic[:DEVICE] | none (sent while the agent's video is on)")
    p.add_argument("--speaker", default=None,
                   help="where the agent's voice plays: default | none | a speaker's name "
                        "(default: the system's output with the window, none when headless)")
    p.add_argument("--quality", default=DEFAULT_LEVEL, choices=list(LEVELS), help="starting quality level")
    p.add_argument("--lang", choices=LANGUAGES, default=None, help="ko or en (default: from the locale)")
    p.add_argument("--headless", action="store_true", help="no window: for tests, benchmarks and load")
    p.add_argument("--seconds", type=float, default=0, help="headless: leave after this long (0: until the end)")
    p.add_argument("--survey", choices=SATISFACTION, help="headless: the survey answer")
    p.add_argument("--verbose", "-v", action="store_true")
    return p


def apply_link(args) -> None:
    """Take server, code and (when the page already joined) session and token from an app link."""
    args.session = args.token = None
    if not args.link:
        return
    link = urllib.parse.urlsplit(args.link)
    if link.scheme != "anysupport" or (link.netloc or link.path.strip("/")) != "join":
        raise ValueError(f"not an anysupport://join link: {args.link!r}")
    query = dict(urllib.parse.parse_qsl(link.query))
    server = query.get("server", "")
    if server and not server.startswith(("http://", "https://")):
        raise ValueError(f"the link's server is not an http(s) URL: {server!r}")
    args.server = server or args.server
    args.code = query.get("code") or args.code
    if query.get("session") and query.get("token"):
        args.session, args.token = query["session"], query["token"]


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        apply_link(args)
    except ValueError as exc:
        print(f"anysupport-mobile: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    language = args.lang or default_language()
    if args.headless:
        if not args.code and not args.token:
            print("anysupport-mobile: --headless needs --code or a join link", file=sys.stderr)
            return 2
        return asyncio.run(run_headless(args, language))
    return run_window(args, language)


def make_session(args, language: str, **extra: Any) -> CustomerSession:
    level = LEVELS[args.quality].quality
    video = open_video_source(args.source, width=level.width, height=level.height, fps=level.fps)
    audio = open_audio_source(args.audio)
    speaker = args.speaker if args.speaker is not None else ("none" if args.headless else "default")
    session = CustomerSession(args.server, video=video, audio=audio, level=args.quality, language=language,
                              name=args.name, voice=open_voice_output(speaker), **extra)
    if getattr(args, "token", None):
        session.resume(args.session, args.token)
    return session


def run_window(args, language: str) -> int:
    """The window: Qt is imported only here, so ``--headless`` runs without it."""
    from anysupport_qt import keep_running, qt_text_renderer

    from .bridge import SessionBridge
    from .window import MobileWindow, setup_application

    app, family = setup_application()
    keep_running(log)  # a fault in one slot is logged; the call goes on
    bridge = SessionBridge(lambda: make_session(args, language, text_renderer=qt_text_renderer(family)))
    window = MobileWindow(bridge, language=language, code=args.code)
    window.show()
    return app.exec_()


def _printable(name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if name in ("preview", "agent_frame"):
        return None
    return {"event": name, **{k: v for k, v in data.items() if isinstance(v, str | int | float | bool | list | None)}}


async def run_headless(args, language: str) -> int:
    session = make_session(args, language)

    def show(name: str, data: dict[str, Any]) -> None:
        line = _printable(name, data)
        if line is not None:
            print(json.dumps(line, ensure_ascii=False), flush=True)
        if name == "survey" and args.survey:
            session.answer_survey(args.survey)

    session.listeners.append(show)
    try:
        await session.start(None if session.token else args.code)
    except (ApiError, ConnectionError) as exc:
        print(json.dumps({"event": "failed", "error": str(exc)}), flush=True)
        return 1
    started = time.monotonic()
    try:
        if args.seconds:
            await asyncio.wait_for(session.finished.wait(), args.seconds)
        else:
            await session.finished.wait()
    except TimeoutError:
        pass
    finally:
        stats = session.stats()
        stats["seconds"] = round(time.monotonic() - started, 2)
        await session.close()
        print(json.dumps({"event": "stats", **stats}, ensure_ascii=False, default=str), flush=True)
    return 0
