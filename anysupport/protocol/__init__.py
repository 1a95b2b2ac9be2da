"""The control protocol both clients and the server speak: message schemas and their validation.

Plain Python (no Tornado), shared with the clients. ``docs/protocol.md`` documents every type with
an example; ``tests/data/control_messages.json`` holds golden examples checked against these schemas.
"""

from anysupport.protocol.messages import (
    CLIENT_TYPES,
    RELAYED_TYPES,
    SCHEMAS,
    SENDERS,
    SERVER_TYPES,
    ProtocolError,
    validate_client_message,
    validate_server_message,
)

__all__ = [
    "CLIENT_TYPES",
    "RELAYED_TYPES",
    "SCHEMAS",
    "SENDERS",
    "SERVER_TYPES",
    "ProtocolError",
    "validate_client_message",
    "validate_server_message",
]
