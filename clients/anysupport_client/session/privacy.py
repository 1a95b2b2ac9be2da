"""Who may turn the customer's camera back on (issue 17 #6): the customer's stop wins.

The agent may stop the customer's video and start it again; once the customer has stopped it, the
agent's start is only a request, which the customer's screen shows; only the customer turns it on.
The page (``static/customer/call.js``, ``videoAfter``) follows the same table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoDecision:
    on: bool                  # whether the camera is sent after the command
    paused_by: str | None     # "customer", "agent" or None (sending)
    requested: bool = False   # the agent asked to start what the customer stopped


def video_after(paused_by: str | None, *, wanted: bool, by: str) -> VideoDecision:
    """The camera's state after ``by`` ("customer" or "agent") asks for ``wanted`` (on or off), when
    ``paused_by`` had stopped it (None: it was sending)."""
    if by == "agent" and paused_by == "customer":
        return VideoDecision(False, "customer", requested=wanted)
    if wanted:
        return VideoDecision(True, None)
    return VideoDecision(False, by)
