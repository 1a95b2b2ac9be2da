"""A support session as a client lives it: the connection, the keys, the media, the commands.

- ``connection``: ``ReconnectingSocket``, one control WebSocket that comes back after a drop (back-off,
  final close codes, the grace, ``moved``, the round trip), for the console and the customer alike;
- ``keying``: ``KeyNegotiation``, when the agent starts a fresh key exchange with a peer (a plain rule:
  each event in, ``KeyStep`` or nothing out);
- ``media``: ``SessionMedia``, one session's end-to-end encrypted media for one side (key exchange,
  seal, open, receivers; ``key_exchange_failed`` both ways);
- ``events``: ``EventSource``, listeners and the inbox, with futures (``wait_for``, ``wait_event``,
  ``wait_until``) instead of polling;
- ``customer``: ``CustomerSession``, the mobile client's session;
- ``agent_client``: ``AgentClient``, the agent console's connection with all its sessions;
- ``agent_session``: ``AgentSession``, one of them (keys, commands, capabilities, received tracks,
  connection figures), and ``ReceivedFrame``;
- ``tracks``: received media as aiortc ``MediaStreamTrack``s, and ``ConnectionStats``.
"""

from anysupport_native import framing

from ..api import ApiError
from .agent_client import AgentClient
from .agent_session import AgentSession, ReceivedFrame
from .connection import ReconnectingSocket
from .customer import CustomerSession
from .events import EventSource
from .keying import KeyNegotiation, KeyStep
from .media import FAILURE_REASONS, SessionMedia, failure_reason, stream_id
from .tracks import ConnectionStats, ReceivedTrack

__all__ = [
    "FAILURE_REASONS", "AgentClient", "AgentSession", "ApiError", "ConnectionStats", "CustomerSession",
    "EventSource", "KeyNegotiation", "KeyStep", "ReceivedFrame", "ReceivedTrack", "ReconnectingSocket",
    "SessionMedia", "failure_reason", "framing", "stream_id",
]
