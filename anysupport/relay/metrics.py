"""The relay's totals for Prometheus, through the official ``prometheus_client``.

Totals only, so every node of a fleet exposes a small fixed set of series: frames and bytes in and
out, drops by ``reason``, the bytes waiting in receivers' queues, the bytes the sockets' frame readers
keep, and the live sessions by state;
on a node of a cluster (or with a ``node_id`` in the configuration) every series carries a ``node``
label. The per-session
counters are in the admin API (``GET /api/v1/admin/relay/sessions``), not here.

Each ``Relay`` has its own registry (no process-wide state: several servers in one test process
stay apart), read when scraped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from anysupport.protocol.vocabulary import LIVE_STATES
from anysupport.relay.relay import DROP_REASONS

TOTALS = (
    ("frames_in", "Media frames received from senders"),
    ("bytes_in", "Media bytes received from senders"),
    ("frames_out", "Media frames written to receivers"),
    ("bytes_out", "Media bytes written to receivers"),
)


def node_label(config: Any, cluster: Any = None) -> str:
    """This node's id: the cluster's (set or generated) when several nodes share the database, else
    the configuration's ``node_id`` if it names one, else "" (no ``node`` label)."""
    if cluster is not None and getattr(cluster, "enabled", False) and cluster.node_id:
        return str(cluster.node_id)
    return str(getattr(config, "node_id", "") or "")


class RelayCollector:
    def __init__(self, relay: Any, cluster: Any = None):
        self.relay = relay
        self.cluster = cluster

    def collect(self) -> Iterator[Metric]:
        relay = self.relay
        node = node_label(relay.config, self.cluster)
        names, values = (["node"], [node]) if node else ([], [])
        total = relay.total
        for field, help_ in TOTALS:
            family = CounterMetricFamily(f"anysupport_relay_{field}", help_, labels=names)
            family.add_metric(values, getattr(total, field))
            yield family
        dropped = CounterMetricFamily("anysupport_relay_dropped", "Media frames dropped, by reason",
                                      labels=[*names, "reason"])
        for reason in DROP_REASONS:
            dropped.add_metric([*values, reason], total.dropped[reason])
        yield dropped
        queued = GaugeMetricFamily("anysupport_relay_queued_bytes", "Bytes waiting in receivers' queues", labels=names)
        queued.add_metric(values, relay.queued_bytes())
        yield queued
        reading = GaugeMetricFamily("anysupport_ws_reader_bytes", "Bytes the WebSocket frame readers keep (incomplete"
                                    " frames, messages being assembled), open and closing sockets", labels=names)
        reading.add_metric(values, relay.hub.reader_bytes())
        yield reading
        live = GaugeMetricFamily("anysupport_sessions_live", "Sessions not expired, by state", labels=[*names, "state"])
        states = Counter(s.state for s in relay.sessions.live.values())
        for state in LIVE_STATES:
            live.add_metric([*values, state], states[state])
        yield live


def registry_of(relay: Any, cluster: Any = None) -> CollectorRegistry:
    registry = getattr(relay, "_registry", None)
    if registry is None:
        registry = relay._registry = CollectorRegistry(auto_describe=False)
        registry.register(RelayCollector(relay, cluster))
    return registry


def exposition(relay: Any, accept: str = "", cluster: Any = None) -> tuple[bytes, str]:
    """The scrape body and its Content-Type for a request's ``Accept`` header (the classic text
    format 0.0.4 unless OpenMetrics or text 1.0.0 is asked for)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry_of(relay, cluster)), content_type
