"""When to agree new media keys with a peer: the rule, with no socket, no media and no event loop.

The server keeps no relayed message for later, and either side may lose its keys (an app restarted
with its token, a page reloaded, a node that died), so whether the agent starts a fresh key exchange
depends on what happened since the last one (docs/protocol.md, "When the agent may start the key
exchange" and "A customer without keys"). ``KeyNegotiation`` holds that history for one peer. Every
event goes in as a call and the decision comes back as a value, never as an action:

- ``KeyStep.REKEY``: start a fresh exchange now (a new commitment, new keys, a new SAS to compare);
- ``KeyStep.RESUME``: the peer is back and the keys in use still hold: ask it for a keyframe;
- ``KeyStep.FAIL``: no keys will come of this: show that the media could not be secured;
- ``None``: nothing to do.

The session carries the decision out (``AgentSession``: sends the commitment, asks for the keyframe,
shows the failure). A decision to re-key also counts as the start of that exchange, so the next event
is judged knowing one is under way. One negotiation per peer: a session with more participants holds
one for each.
"""

from __future__ import annotations

import enum

MAX_KEY_REQUESTS = 3  # fresh exchanges a peer may ask for (``no_keys``) before keys are agreed again


class KeyStep(enum.StrEnum):
    REKEY = "rekey"
    RESUME = "resume"
    FAIL = "fail"


class KeyNegotiation:
    """What the agent knows about its keys with one peer, and what to do on each event."""

    def __init__(self, peer: str = "customer", *, connected: bool = False, present: bool = False,
                 node: str | None = None, max_requests: int = MAX_KEY_REQUESTS):
        self.peer = peer
        self.max_requests = max_requests
        self.connected = connected  # the session is ``connected``: keys may be agreed
        self.present = present  # the peer's socket is open: what we send reaches it
        self.node = node  # the server node holding the session
        self.agreed = False  # keys were agreed: media flows under them
        self.exchanging = False  # our exchange is under way
        self.stale = False  # the keys in use must be replaced (our exchange was lost, the session moved)
        self.peer_sockets = 0  # the peer's socket went or came this many times
        self.requests = 0  # fresh exchanges the peer asked for since keys were last agreed
        self._exchange_sockets = -1  # ``peer_sockets`` when our exchange under way began

    @property
    def in_flight(self) -> bool:
        """Our exchange is on its way to the peer's current socket (none went or came since it began)."""
        return self.exchanging and self._exchange_sockets == self.peer_sockets

    # -- the events ------------------------------------------------------------------------------------
    def state(self, state: str, *, present: bool | None = None, node: str | None = None) -> KeyStep | None:
        """The session's ``state`` (``present``: the peer's socket is open; ``node``: where the session lives)."""
        self.connected = state == "connected"
        if present is not None:
            self.present = present
        if node:
            if self.node and node != self.node:  # its node died: both sides reconnect elsewhere and agree anew
                self.stale, self.exchanging = True, False
            self.node = node
        return self._when_possible()

    def peer_status(self, status: str) -> KeyStep | None:
        """The peer's socket: ``joined`` (first opened), ``reconnecting`` (went), ``back`` (a new one opened)."""
        self.present = status in ("joined", "back")
        if status in ("reconnecting", "back"):  # an exchange under way may have gone with the old socket
            self.peer_sockets += 1
        if status == "joined":
            return self._when_possible()
        if status == "back":
            if self.agreed and not self.stale:
                return KeyStep.RESUME
            self.exchanging = False
            return self._when_possible()
        return None

    def peer_refused(self, reason: str) -> KeyStep | None:
        """The peer's ``key_exchange_failed``. ``no_keys`` asks for a fresh exchange: granted unless ours is
        on its way to the peer's current socket (no socket went or came since it began: two exchanges must
        not cross) or the session is not connected, and at most ``max_requests`` times in a row without
        keys agreed. Any other reason ends our exchange: no keys."""
        if reason != "no_keys":
            self.exchanging = False
            return KeyStep.FAIL
        if self.in_flight:
            return None
        if not self.connected:
            return None
        if self.requests >= self.max_requests:
            self.exchanging = False
            return KeyStep.FAIL
        self.requests += 1
        return self.rekey()

    def undelivered(self) -> KeyStep | None:
        """The server refused our ``key_exchange`` with ``peer_not_connected``: the peer's socket was gone,
        and the message with it. Start again, with a fresh commitment, when the peer is back."""
        self.exchanging = False
        self.stale = True
        self.present = False
        return None

    def agreed_keys(self) -> KeyStep | None:
        """Our exchange gave keys (both sides derived them)."""
        self.agreed = True
        self.exchanging = False
        self.requests = 0
        return None

    def failed(self) -> KeyStep | None:
        """Our exchange ended without keys (we refused the peer's key, or the peer refused ours)."""
        self.exchanging = False
        return None

    def rekey(self) -> KeyStep:
        """A fresh exchange, whatever the history (the console's "try again"; and every ``REKEY`` decision)."""
        self.exchanging = True
        self.stale = False
        self._exchange_sockets = self.peer_sockets
        return KeyStep.REKEY

    # -- the rule --------------------------------------------------------------------------------------
    def _when_possible(self) -> KeyStep | None:
        """Start once the session is connected and the peer's socket is open, unless keys hold or one is under way."""
        if self.connected and self.present and not self.exchanging and (not self.agreed or self.stale):
            return self.rekey()
        return None


__all__ = ["MAX_KEY_REQUESTS", "KeyNegotiation", "KeyStep"]
