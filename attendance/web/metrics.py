"""Prometheus text-format metrics kept in memory from the live events (no client library)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

LAG_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300)
DETECT_BUCKETS = (50, 100, 200, 400, 800, 1600, 3200, 6400)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    observed: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.total += value
        self.observed += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def lines(self, name: str) -> list[str]:
        lines = [
            f'{name}_bucket{{le="{b:g}"}} {c}'
            for b, c in zip(self.buckets, self.counts, strict=True)
        ]
        lines += [
            f'{name}_bucket{{le="+Inf"}} {self.observed}',
            f"{name}_sum {self.total:.3f}",
            f"{name}_count {self.observed}",
        ]
        return lines


@dataclass
class Metrics:
    samples: Counter = field(default_factory=Counter)  # by status
    lag: Histogram = field(default_factory=lambda: Histogram(LAG_BUCKETS))
    detect_ms: Histogram = field(default_factory=lambda: Histogram(DETECT_BUCKETS))
    sites: Counter = field(default_factory=Counter)  # by site status, set by the live state
    clients: int = 0

    def sample(self, event: dict) -> None:
        self.samples[event.get("status", "unknown")] += 1
        if event.get("lag_s") is not None:
            self.lag.observe(float(event["lag_s"]))
        if event.get("detect_ms") is not None:
            self.detect_ms.observe(float(event["detect_ms"]))

    def render(self) -> str:
        lines = [
            "# HELP attendance_samples_total Samples stored, by status.",
            "# TYPE attendance_samples_total counter",
            *(
                f'attendance_samples_total{{status="{s}"}} {n}'
                for s, n in sorted(self.samples.items())
            ),
            "# HELP attendance_sample_lag_seconds From slot start to stored sample.",
            "# TYPE attendance_sample_lag_seconds histogram",
            *self.lag.lines("attendance_sample_lag_seconds"),
            "# HELP attendance_detection_milliseconds Time to count one frame.",
            "# TYPE attendance_detection_milliseconds histogram",
            *self.detect_ms.lines("attendance_detection_milliseconds"),
            "# HELP attendance_sites Sites by status.",
            "# TYPE attendance_sites gauge",
            *(f'attendance_sites{{status="{s}"}} {n}' for s, n in sorted(self.sites.items())),
            "# HELP attendance_live_clients Dashboards connected for live updates.",
            "# TYPE attendance_live_clients gauge",
            f"attendance_live_clients {self.clients}",
        ]
        return "\n".join(lines) + "\n"
