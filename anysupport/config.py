"""Settings: defaults in code, overridden by a TOML file, then ``ANYSUPPORT_*`` variables, then CLI flags.

Every setting is declared once in ``SETTINGS`` with its type, default and a one-line description;
``config/anysupport.toml`` mirrors the defaults (a test keeps the two in step). A wrong type, a value
out of range or an unknown key stops start-up with a ``ConfigError`` naming the key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anysupport.protocol.vocabulary import LANGUAGES

ENV_PREFIX = "ANYSUPPORT_"


class ConfigError(ValueError):
    """A setting is unknown or has a wrong value; the message names the key."""


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    # network
    Setting("host", str, "127.0.0.1", "address to bind; 0.0.0.0 to serve other machines directly"),
    Setting("port", int, 8888, "TCP port of HTTP(S) and WebSocket", 0, 65535),
    Setting("public_url", str, "", "URL customers open (customer connection page); empty = derived from requests"),
    Setting("node_url", str, "", "this node's own base URL when several nodes share one database; empty = single node"),
    Setting("tls_cert", str, "", "PEM certificate file; with tls_key the server speaks HTTPS/WSS itself"),
    Setting("tls_key", str, "", "PEM private key file for tls_cert"),
    Setting("trusted_proxies", list, [], "proxy addresses/CIDRs whose X-Forwarded-For/-Proto are believed"),
    Setting("allowed_origins", list, [], "extra browser origins allowed to open WebSockets (same origin always is)"),
    # storage
    Setting("data_dir", str, "anysupport-data", "directory for the embedded database and server state"),
    Setting("mongo_uri", str, "", "mongodb:// URI of a real MongoDB; empty = start the embedded nx-27017", secret=True),
    Setting("mongo_db", str, "anysupport", "database name"),
    Setting("embedded_start_timeout", float, 20.0, "seconds to wait for the embedded database to answer", 1, 300),
    # accounts and tokens
    Setting("admin_password", str, "", "password of the first admin on an empty database; empty = generate and print", secret=True),
    Setting("token_ttl", int, 43200, "seconds an agent's login token stays valid", 60, 31_536_000),
    Setting("customer_token_ttl", int, 14400, "seconds a customer's session token stays valid", 60, 604_800),
    Setting("password_min_length", int, 8, "shortest password accepted for an agent", 4, 128),
    Setting("login_max_failures", int, 10, "failed logins for one login name from one address before that pair is locked (the owner elsewhere is not)", 1, 1000),
    Setting("login_ip_max_failures", int, 30, "failed logins from one address (any login) before the address is locked", 1, 100000),
    Setting("login_window", int, 300, "seconds over which failed logins are counted, and the lock time", 1, 86400),
    Setting("login_free_failures", int, 5, "failed logins per login and address answered at once before the slowdown starts", 0, 1000),
    Setting("login_delay", float, 1.0, "seconds the first slowed-down retry waits (doubling each failure); 0 = no slowdown", 0, 3600),
    # sessions
    Setting("offline_timeout", int, 1800, "seconds an unused session code stays valid", 5, 604_800),
    Setting("waiting_timeout", int, 600, "seconds a customer may wait (online) before the session expires", 5, 86400),
    Setting("reconnect_grace", int, 30, "seconds a dropped side of a connected session may take to come back", 1, 3600),
    Setting("handover_timeout", int, 60, "seconds an offer to hand a live session over to another agent waits for an answer", 5, 3600),
    Setting("join_max_attempts", int, 10, "join tries per client address in join_window", 1, 100000),
    Setting("join_window", int, 60, "seconds over which join tries are counted", 1, 86400),
    Setting("sweep_interval", float, 1.0, "seconds between timeout sweeps of sessions", 0.05, 60),
    Setting("agent_max_live_sessions", int, 30, "sessions one agent may hold that have not expired", 1, 10000),
    Setting("session_create_max", int, 60, "sessions one agent may create in session_create_window", 1, 100000),
    Setting("session_create_window", int, 60, "seconds over which an agent's session creations are counted", 1, 86400),
    Setting("phrases_max", int, 200, "canned phrases one agent may keep, and the shared default set may hold", 1, 10000),
    Setting("trouble_type_max_depth", int, 6, "levels of the trouble-type tree (a moved type's subtree counts)", 1, 50),
    # limits
    Setting("max_body_bytes", int, 1_048_576, "largest REST request body", 1024, 1_073_741_824),
    Setting("ws_max_message_bytes", int, 1_048_576, "largest WebSocket message (control or media)", 1024, 67_108_864),
    Setting("ws_ping_interval", float, 15.0, "seconds between the server's WebSocket pings; 0 = none", 0, 3600),
    Setting("ws_ping_timeout", float, 30.0, "seconds a server ping may go unanswered before the WebSocket is closed (only answers to our own pings count)", 1, 3600),
    Setting("control_queue_bytes", int, 1_048_576, "bytes of control traffic one socket may leave unread (written but not yet taken by the client) before it is closed (4009)", 16384, 268_435_456),
    Setting("control_max_bytes", int, 16384, "largest control (JSON) message", 256, 1_048_576),
    Setting("control_rate", float, 50.0, "control messages per second allowed per connection (sustained)", 1, 100000),
    Setting("control_burst", int, 200, "control messages allowed in a burst per connection", 1, 100000),
    Setting("control_max_invalid", int, 20, "invalid control messages before the connection is closed", 1, 100000),
    # media relay
    Setting("media_max_frame_bytes", int, 524_288, "largest sealed media frame relayed", 64, 1_048_576),
    Setting("media_max_fps", float, 400.0, "media frames per second one sender may send (all streams)", 1, 100000),
    Setting("http_body_timeout", float, 30.0, "seconds a request body may take to arrive before the connection is"
            " closed", 1, 3600),
    Setting("max_connections_per_address", int, 256, "open HTTP connections one client address may hold (a"
            " trusted proxy's are not counted)", 1, 1_000_000),
    Setting("ws_close_timeout", float, 1.0, "seconds we wait for a client's answer to our close before dropping"
            " the connection (nothing it sends meanwhile is kept)", 0.0, 60),
    Setting("ws_open_max", int, 30, "sockets one login or customer token may open within ws_open_window", 1, 100000),
    Setting("ws_open_window", float, 60.0, "seconds over which ws_open_max counts", 1, 86400),
    Setting("media_flood_frames", int, 2000, "refused media frames one socket may send in a second before it is"
            " closed (4008 flooding)", 10, 10_000_000),
    Setting("media_queue_bytes", int, 2_097_152, "bytes queued for one slow receiver before dropping", 65536, 268_435_456),
    # presentation
    Setting("default_language", str, "ko", "language of texts when the requester names none", choices=LANGUAGES),
    Setting("time_zone", str, "Asia/Seoul", "time zone of dates in statistics and exports"),
    Setting("brand_name", str, "AnySupport", "name shown on the customer page"),
    Setting("console_packages", str, "", "folder of the console packages (wheels) the download page and the consoles'"
            " self-update hand out; empty = <data_dir>/console"),
    Setting("log_level", str, "info", "logging level", choices=("debug", "info", "warning", "error")),
    # several nodes on one database (docs/deployment.md, "Several nodes")
    Setting("cluster", bool, False, "several nodes share this database: sessions live on their agent's node, nodes tell each other through the database"),
    Setting("node_id", str, "", "this node's name among the nodes (letters, digits, - and _); empty = generated once and kept in <data_dir>/node_id"),
    Setting("cluster_events", str, "auto", "how nodes hear each other: change streams (a replica set), a polled events collection, or auto (change streams when the database has them)", choices=("auto", "change_stream", "poll")),
    Setting("cluster_poll_interval", float, 0.05, "seconds between two reads of the events collection when polling", 0.01, 10),
    Setting("node_heartbeat", float, 1.0, "seconds between two heartbeats of this node in the database", 0.05, 60),
    Setting("node_timeout", float, 5.0, "seconds without a heartbeat after which the other nodes count a node dead", 0.2, 600),
    # performance
    Setting("event_loop", str, "auto", "event loop: auto = uvloop where it is installed, else asyncio's own",
            choices=("auto", "asyncio", "uvloop")),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked, for logs and diagnostics."""
        return {k: ("***" if _BY_NAME[k].secret and v else v) for k, v in self.values.items()}


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    where = f"{setting.name} ({source})"
    t = setting.type
    if isinstance(value, str) and t is not str:
        text = value.strip()
        try:
            if t is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    value = True
                elif text.lower() in ("0", "false", "no", "off"):
                    value = False
                else:
                    raise ValueError
            elif t is int:
                value = int(text)
            elif t is float:
                value = float(text)
            elif t is list:
                value = [p.strip() for p in text.split(",") if p.strip()]
        except ValueError:
            raise ConfigError(f"setting {where}: {value!r} is not a valid {t.__name__}") from None
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, t) or (t in (int, float) and isinstance(value, bool)):
        raise ConfigError(f"setting {where}: expected {t.__name__}, got {type(value).__name__} {value!r}")
    if t is list and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"setting {where}: expected a list of strings")
    if setting.min is not None and value < setting.min:
        raise ConfigError(f"setting {where}: {value} is below the minimum {setting.min:g}")
    if setting.max is not None and value > setting.max:
        raise ConfigError(f"setting {where}: {value} is above the maximum {setting.max:g}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"setting {where}: {value!r} is not one of {', '.join(setting.choices)}")
    return value


def _check(values: dict[str, Any]) -> None:
    for name in ("trusted_proxies",):
        for item in values[name]:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"setting {name}: {item!r} is not an IP address or network") from None
    if bool(values["tls_cert"]) != bool(values["tls_key"]):
        raise ConfigError("settings tls_cert and tls_key: give both or neither")
    if values["media_max_frame_bytes"] + 12 > values["ws_max_message_bytes"]:
        raise ConfigError("setting media_max_frame_bytes: must be at least 12 bytes under ws_max_message_bytes "
                          "(agents' frames carry a 12-byte session id)")
    if values["control_max_bytes"] > values["ws_max_message_bytes"]:
        raise ConfigError("setting control_max_bytes: must not exceed ws_max_message_bytes")
    if values["node_id"] and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", values["node_id"]):
        raise ConfigError(f"setting node_id: {values['node_id']!r} must be 1 to 40 letters, digits, - or _")
    if values["node_timeout"] <= 2 * values["node_heartbeat"]:
        raise ConfigError("setting node_timeout: must be more than twice node_heartbeat")
    if values["mongo_uri"] and not values["mongo_uri"].startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("setting mongo_uri: must start with mongodb:// or mongodb+srv://")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(values["time_zone"])
    except Exception:
        raise ConfigError(f"setting time_zone: unknown time zone {values['time_zone']!r}") from None


def read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return data


def load_config(
    path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file at ``path``, then ``ANYSUPPORT_*`` variables, then ``overrides``."""
    values = {s.name: (list(s.default) if isinstance(s.default, list) else s.default) for s in SETTINGS}
    if path:
        for key, value in read_toml(path).items():
            if key not in _BY_NAME:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(_BY_NAME[key], value, path)
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key in ("ANYSUPPORT_CONFIG",) or key.startswith("ANYSUPPORT_TEST_"):
            continue
        if key == "ANYSUPPORT_NATIVE":  # selects the kernel backend, read by anysupport_native
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in _BY_NAME:
            raise ConfigError(f"environment variable {key}: unknown setting {name!r}")
        values[name] = _coerce(_BY_NAME[name], value, key)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(_BY_NAME[key], value, "command line")
    _check(values)
    return Config(values)


def defaults_as_toml() -> str:
    """The default configuration file text (``config/anysupport.toml`` is this, checked by a test)."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    lines = [
        "# AnySupport server configuration. Every setting, with its default.",
        "# Precedence: this file < ANYSUPPORT_<NAME> environment variables < command-line flags.",
        "# Times are seconds; sizes are bytes.",
        "",
    ]
    for s in SETTINGS:
        lines.append(f"# {s.help}")
        lines.append(f"{s.name} = {fmt(s.default)}")
    return "\n".join(lines) + "\n"


__all__ = ["Config", "ConfigError", "SETTINGS", "Setting", "load_config", "defaults_as_toml"]
