"""How often new media keys may be agreed with one peer (issue 18 #7), with an injected clock.

Standing in for a malicious server, a test made the customer page answer 5 727 new key commitments in
10 s, each with a fresh key: about half an hour to find a key pair whose 6-digit security code matches
the agent's. ``RekeyLimit`` keeps that to a handful: the rule and its numbers are the protocol's
(``anysupport.protocol.vocabulary.REKEY``; the page's ``keys.js`` follows the same).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping

from anysupport.protocol.vocabulary import REKEY


class RekeyLimit:
    """The times new keys were agreed (or a new exchange answered) with one peer, and how long the next
    one must wait. ``slack`` scales the gaps (the answering side allows ``REKEY["answer_slack"]``)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, slack: float = 1.0,
                 rule: Mapping[str, float] = REKEY):
        self.clock = clock
        self.slack = slack
        self.first_gap = rule["first_gap_s"]
        self.max_gap = rule["max_gap_s"]
        self.memory = rule["memory_s"]
        self.times: deque[float] = deque()

    def wait(self) -> float:
        """Seconds until a new key may be agreed (0: now)."""
        now = self.clock()
        while self.times and now - self.times[0] > self.memory:
            self.times.popleft()
        if not self.times:
            return 0.0
        gap = min(self.max_gap, self.first_gap * 2 ** (len(self.times) - 1)) * self.slack
        return max(0.0, self.times[-1] + gap - now)

    def retry_after(self) -> int:
        """``wait`` in whole seconds, for a refusal's ``retry_after``."""
        return math.ceil(self.wait())

    def agreed(self) -> None:
        self.times.append(self.clock())
