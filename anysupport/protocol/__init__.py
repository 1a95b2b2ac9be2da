"""The control protocol both clients and the server speak: its vocabulary, and its message schemas with
their validation.

Plain Python (no Tornado). ``vocabulary`` (states, close codes, survey answers, guide directions, ids,
languages) has no dependencies and is imported by the clients too. ``messages`` (the JSON Schemas,
compiled with ``fastjsonschema``, a server dependency) is imported only when one of its names is asked
for, so ``import anysupport.protocol.vocabulary`` from a client never loads the validators.
``docs/protocol.md`` documents every type with an example; ``tests/data/control_messages.json`` holds
golden examples checked against the schemas.
"""

from __future__ import annotations

import importlib
from typing import Any

_MESSAGES = (
    "CLIENT_TYPES",
    "RELAYED_TYPES",
    "SCHEMAS",
    "SENDERS",
    "SERVER_TYPES",
    "ProtocolError",
    "validate_client_message",
    "validate_server_message",
)


def __getattr__(name: str) -> Any:
    if name in _MESSAGES:
        return getattr(importlib.import_module("anysupport.protocol.messages"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_MESSAGES)
