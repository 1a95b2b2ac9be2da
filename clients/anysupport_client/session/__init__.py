"""A support session as a client lives it: the connection, the keys, the media, the commands.

- ``media``: ``SessionMedia``, one session's end-to-end encrypted media for one side (key exchange,
  seal, open, receivers; ``key_exchange_failed`` both ways);
- ``events``: ``EventSource``, listeners and the inbox, with futures (``wait_for``, ``wait_event``,
  ``wait_until``) instead of polling;
- ``customer``: ``CustomerSession``, the mobile client's session;
- ``agent``: ``AgentClient``, the agent console's connection with all its sessions, and
  ``AgentSession``, one of them (commands, capabilities, received tracks, connection figures);
- ``tracks``: received media as aiortc ``MediaStreamTrack``s, and ``ConnectionStats``.
"""

from anysupport_native import framing

from ..api import ApiError
from .agent import AgentClient, AgentSession, ReceivedFrame
from .customer import CustomerSession
from .events import EventSource
from .media import FAILURE_REASONS, SessionMedia, failure_reason, stream_id
from .tracks import ConnectionStats, ReceivedTrack

__all__ = [
    "FAILURE_REASONS", "AgentClient", "AgentSession", "ApiError", "ConnectionStats", "CustomerSession",
    "EventSource", "ReceivedFrame", "ReceivedTrack", "SessionMedia", "failure_reason", "framing", "stream_id",
]
