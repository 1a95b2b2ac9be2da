"""``anysupport``: run the server, and manage agents from the shell.

    anysupport serve [--port 8888] [--host ADDR] [--mongo-uri URI] [--data-dir DIR] [--config FILE]
    anysupport agent create LOGIN --name NAME [--role admin] [--number N] [--password P]
    anysupport agent reset-password LOGIN [--password P]
    anysupport agent list | disable LOGIN | enable LOGIN | delete LOGIN
    anysupport config defaults      (prints the default configuration file)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from anysupport.config import ConfigError, defaults_as_toml, load_config


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file (default: $ANYSUPPORT_CONFIG)")
    parser.add_argument("--mongo-uri", help="mongodb:// URI of a real MongoDB (default: the embedded database)")
    parser.add_argument("--data-dir", help="directory for the embedded database")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anysupport", description="AnySupport mobile-video support server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the server (and the embedded database when no URI is given)")
    _common(serve)
    serve.add_argument("--port", type=int, help="TCP port (default 8888; 0 picks a free one)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"))

    agent = sub.add_parser("agent", help="manage agent accounts")
    asub = agent.add_subparsers(dest="action", required=True)
    create = asub.add_parser("create", help="create an agent")
    create.add_argument("login")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=("agent", "admin"), default="agent")
    create.add_argument("--number", type=int)
    create.add_argument("--password", help="default: generate one and print it")
    reset = asub.add_parser("reset-password", help="set a new password (printed when generated)")
    reset.add_argument("login")
    reset.add_argument("--password")
    asub.add_parser("list", help="list agents")
    for name in ("disable", "enable", "delete"):
        asub.add_parser(name, help=f"{name} an agent").add_argument("login")
    for p in (create, reset, *asub.choices.values()):
        if not any(a.dest == "config" for a in p._actions):
            _common(p)

    cfg = sub.add_parser("config", help="configuration helpers")
    cfg.add_argument("what", choices=("defaults",))
    return parser


def _load(args) -> object:
    path = args.config or os.environ.get("ANYSUPPORT_CONFIG")
    overrides = {
        "mongo_uri": getattr(args, "mongo_uri", None),
        "data_dir": getattr(args, "data_dir", None),
        "port": getattr(args, "port", None),
        "host": getattr(args, "host", None),
        "log_level": getattr(args, "log_level", None),
    }
    return load_config(path, overrides=overrides)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("pymongo", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _serve(config) -> int:
    from anysupport.server import Server
    from anysupport.store import EmbeddedDatabaseError, StoreError

    server = Server(config)
    try:
        await server.start()
    except (EmbeddedDatabaseError, StoreError, OSError) as exc:
        logging.getLogger("anysupport").error("cannot start: %s", exc)
        return 1
    server.handle_signals()
    log = logging.getLogger("anysupport")
    log.debug("settings: %s", server.config.public())
    if server.first_admin_password:
        banner = (
            "\n  First start: created the administrator account\n"
            f"    login:    admin\n    password: {server.first_admin_password}\n"
            "  This password is shown only now. Change it after logging in.\n"
        )
        print(banner, file=sys.stderr, flush=True)
    elif config.admin_password:
        log.info("administrator 'admin' uses the password from ANYSUPPORT_ADMIN_PASSWORD / config")
    log.info("listening on %s", server.url)
    log.info("admin pages: %s/admin   customer page: %s/", server.url, server.url)
    await server.run_until_signalled()
    if server.fatal:
        log.error("the server stopped because the database could not come back: %s", server.fatal)
        return 1
    return 0


async def _agent(args, config) -> int:
    from anysupport.errors import DomainError
    from anysupport.i18n import text
    from anysupport.services import Services
    from anysupport.store import DataDirInUse, EmbeddedDatabaseError, Store, StoreError

    try:
        store = await Store.open(mongo_uri=config.mongo_uri, db_name=config.mongo_db, data_dir=config.data_dir,
                                 start_timeout=config.embedded_start_timeout)
    except DataDirInUse as exc:
        holder = f"PID {exc.pid}" if exc.pid else "its PID unknown"
        print(f"error: an AnySupport server is running on the data directory {exc.data_dir} ({holder}).\n"
              "  While it runs, manage agents on its admin pages (/admin), or stop it and run this command "
              "again.\n  (With a real MongoDB, give the server's --mongo-uri instead: then both can run.)",
              file=sys.stderr)
        return 1
    except (EmbeddedDatabaseError, StoreError, OSError) as exc:
        print(f"error: cannot open the database: {exc}", file=sys.stderr)
        return 1
    try:
        agents = Services.build(config, store).agents
        if args.action == "create":
            agent, generated = await agents.create(
                login=args.login, name=args.name, role=args.role, number=args.number, password=args.password
            )
            print(f"created {agent['role']} {agent['login']} (number {agent['number']})")
            if generated:
                print(f"password: {generated}")
        elif args.action == "reset-password":
            password = await agents.reset_password(args.login, args.password)
            print(f"password of {args.login} reset" + ("" if args.password else f": {password}"))
        elif args.action == "list":
            for a in await agents.list():
                state = "disabled" if a.get("disabled") else "active"
                print(f"{a['number']:>5}  {a['login']:<20} {a['role']:<6} {state:<8} {a['name']}")
        elif args.action in ("disable", "enable"):
            await agents.update(args.login, {"disabled": args.action == "disable"})
            print(f"{args.login} {args.action}d")
        elif args.action == "delete":
            await agents.delete(args.login)
            print(f"{args.login} deleted")
    except DomainError as exc:
        print(f"error: {text(exc.code, 'en', **exc.fields)}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config":
        sys.stdout.write(defaults_as_toml())
        return 0
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"anysupport: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config.log_level if args.command == "serve" else "warning")
    if args.command == "serve":
        from anysupport.server import run_with_loop

        try:
            return run_with_loop(lambda: _serve(config), config.event_loop)
        except ConfigError as exc:
            print(f"anysupport: configuration error: {exc}", file=sys.stderr)
            return 2
    return asyncio.run(_agent(args, config))


if __name__ == "__main__":
    sys.exit(main())
