"""The rule of who may turn the customer's camera back on (anysupport_client.session.privacy)."""

from __future__ import annotations

import pytest
from anysupport_client.session.privacy import VideoDecision, video_after


@pytest.mark.parametrize(("paused_by", "wanted", "by", "decision"), [
    (None, False, "customer", VideoDecision(False, "customer")),
    (None, False, "agent", VideoDecision(False, "agent")),
    ("agent", True, "agent", VideoDecision(True, None)),
    ("agent", True, "customer", VideoDecision(True, None)),
    ("agent", False, "customer", VideoDecision(False, "customer")),  # now the customer's stop
    ("customer", True, "agent", VideoDecision(False, "customer", requested=True)),
    ("customer", False, "agent", VideoDecision(False, "customer")),
    ("customer", True, "customer", VideoDecision(True, None)),
    (None, True, "agent", VideoDecision(True, None)),
])
def test_the_customers_stop_wins(paused_by, wanted, by, decision):
    assert video_after(paused_by, wanted=wanted, by=by) == decision
