"""The web node's Prometheus metrics, on a registry of its own (one per app, so that two apps in
one process, as in tests, count apart).

Samples and sign-ins are counted as they happen; what the live state and the event bus already
hold (sites by status, connected dashboards, Redis event counters) is read when /metrics is."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from attendance.live.bus import EventBus
from attendance.live.events import SampleEvent
from attendance.live.redis_bus import RedisEventBus

LAG_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300)
DETECT_BUCKETS = (50, 100, 200, 400, 800, 1600, 3200, 6400)
# No `*_created` series (a process-wide switch): nothing here needs counters' start times, and
# they would double the series of every counter and histogram.
disable_created_metrics()


class Metrics:
    """`sites` (a tally by site status) and `clients` are set by the live state."""

    def __init__(self, bus: EventBus | None = None) -> None:
        self.registry = CollectorRegistry()
        self.sites: Tally = Tally()
        self.clients = 0
        self.samples = Counter(
            "attendance_samples", "Samples stored, by status.", ["status"], registry=self.registry
        )
        self.lag = Histogram(
            "attendance_sample_lag_seconds",
            "From slot start to stored sample.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.detect_ms = Histogram(
            "attendance_detection_milliseconds",
            "Time to count one frame.",
            buckets=DETECT_BUCKETS,
            registry=self.registry,
        )
        self.login_failures = Counter(
            "attendance_login_failures",
            "Sign-ins refused for a wrong user name or password.",
            registry=self.registry,
        )
        self.login_throttled = Counter(
            "attendance_login_throttled",
            "Sign-ins refused unchecked (429): too many failures of the user name or address.",
            registry=self.registry,
        )
        self.registry.register(_LiveCollector(self))
        if isinstance(bus, RedisEventBus):
            self.registry.register(_BusCollector(bus))

    def sample(self, event: SampleEvent) -> None:
        self.samples.labels(event.status).inc()  # a SampleStatus value: the labels are bounded
        if event.lag_s is not None:
            self.lag.observe(event.lag_s)
        if event.detect_ms is not None:
            self.detect_ms.observe(event.detect_ms)

    def render(self, accept: str) -> tuple[bytes, str]:
        """(body, content type) in the format the scraper's Accept header asks for: Prometheus
        text by default, OpenMetrics on request."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


class _LiveCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        sites = GaugeMetricFamily("attendance_sites", "Sites by status.", labels=["status"])
        for status, count in sorted(self.metrics.sites.items()):
            sites.add_metric([status], count)
        yield sites
        yield GaugeMetricFamily(
            "attendance_live_clients",
            "Dashboards connected for live updates.",
            value=self.metrics.clients,
        )


class _BusCollector(Collector):
    """In cluster mode: events this node sent to and heard from Redis, and those it dropped."""

    def __init__(self, bus: RedisEventBus) -> None:
        self.bus = bus

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "attendance_bus_events", "Live events through Redis, by stage.", labels=["stage"]
        )
        for stage, count in self.bus.counters().items():
            events.add_metric([stage], count)
        yield events
