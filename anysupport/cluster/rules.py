"""The cluster's rules, with no database and no transport in them (tested directly, clock injected)."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
NODE_ID_FILE = "node_id"


def resolve_node_id(configured: str, data_dir: str) -> str:
    """The node's id: the ``node_id`` setting, else the one kept in ``<data_dir>/node_id`` (written the
    first time, so a node keeps its id across restarts and the sessions recorded on it stay its own)."""
    if configured:
        return configured
    path = os.path.join(data_dir, NODE_ID_FILE)
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
        if NODE_ID.fullmatch(text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    node_id = "n" + secrets.token_hex(4)
    os.makedirs(data_dir, exist_ok=True)
    with open(path, "w", encoding="ascii") as fh:
        fh.write(node_id + "\n")
    return node_id


def ws_url_for(node_id: str | None, node_url: str = "") -> str:
    """Where a customer opens its socket to reach ``node_id``: the node's own absolute URL when it has
    one (``wss://node1.example.com/ws``), else a path on the same origin that the load balancer routes to
    that node (``/node/<id>/ws``); ``/ws`` for a single node."""
    base = (node_url or "").rstrip("/")
    if base:
        return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"
    if node_id is None:
        return "/ws"
    return f"/node/{node_id}/ws"


class NodeDirectory:
    """Which nodes are alive, from their heartbeats: a node is alive while its last heartbeat is younger
    than ``timeout`` seconds (measured on this node's clock from when the heartbeat was first seen, so
    the nodes' wall clocks need not agree). This node is always alive to itself."""

    def __init__(self, node_id: str, timeout: float, *, clock: Callable[[], float] = time.monotonic):
        self.node_id = node_id
        self.timeout = timeout
        self.clock = clock
        self.loaded = False
        self._beats: dict[str, tuple[Any, float]] = {}  # node -> (its stored seen_at, our clock when it changed)
        self.urls: dict[str, str] = {}

    def update(self, nodes: Iterable[dict[str, Any]]) -> None:
        now = self.clock()
        seen = set()
        for node in nodes:
            node_id = node["id"]
            seen.add(node_id)
            self.urls[node_id] = node.get("url") or ""
            old = self._beats.get(node_id)
            if old is None or old[0] != node.get("seen_at"):
                self._beats[node_id] = (node.get("seen_at"), now)
        for gone in set(self._beats) - seen:  # a node that left in order deleted its heartbeat
            del self._beats[gone]
            self.urls.pop(gone, None)
        self.loaded = True

    def alive(self, node_id: str | None) -> bool:
        if node_id is None or node_id == self.node_id:
            return True
        beat = self._beats.get(node_id)
        return beat is not None and self.clock() - beat[1] < self.timeout

    def known(self) -> list[str]:
        return sorted(self._beats)

    def ws_url(self, node_id: str | None) -> str:
        return ws_url_for(node_id, self.urls.get(node_id or "", ""))


def customer_placement(session_node: str | None, here: str, alive: Callable[[str], bool]) -> str:
    """What a node does with a customer's socket for a session recorded on ``session_node``:

    - ``"here"``: the session lives on this node (or on none: a single node);
    - ``"moved"``: it lives on another live node: the customer is sent there (media never crosses nodes);
    - ``"hold"``: its node is dead: keep the customer here until the agent's console reopens somewhere
      (the session then moves with the console, and the customer is sent on if that is elsewhere).
    """
    if session_node is None or session_node == here:
        return "here"
    return "moved" if alive(session_node) else "hold"


class EventCursor:
    """Which events of the shared, numbered log a node has taken, when it polls "everything after N".

    Numbers are taken from one counter before each insert, so two nodes' events may land out of order:
    number 11 visible before 10. The cursor keeps ``position`` at the last number below which it has seen
    everything, remembers what it saw above it, and gives up waiting for a missing number after
    ``gap_wait`` seconds (its writer died between taking the number and inserting the event)."""

    def __init__(self, position: int, *, gap_wait: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.position = position
        self.gap_wait = gap_wait
        self.clock = clock
        self._seen: set[int] = set()
        self._gap_since: float | None = None

    def take(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events not taken before, in number order; moves ``position`` forward."""
        fresh = []
        for event in sorted(events, key=lambda e: e["seq"]):
            seq = event["seq"]
            if seq <= self.position or seq in self._seen:
                continue
            self._seen.add(seq)
            fresh.append(event)
        self._advance()
        return fresh

    def _advance(self) -> None:
        while self.position + 1 in self._seen:
            self.position += 1
            self._seen.discard(self.position)
        if not self._seen:
            self._gap_since = None
            return
        now = self.clock()
        if self._gap_since is None:
            self._gap_since = now
        elif now - self._gap_since >= self.gap_wait:  # the missing number is not coming: skip it
            self.position = min(self._seen) - 1
            self._gap_since = None
            self._advance()
