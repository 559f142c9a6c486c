"""A site's attendance figure for a session, from its samples.

Per-slot counts are noisy both ways: people look down at their papers (a count too low for a
moment) and a detector sometimes finds a face in a coat (too high). The figure is therefore a
high percentile of counts smoothed by a running median over a few slots, taken over the
session's core window (the first and last minutes, when people arrive and leave, are left out).
Peak, median and time-weighted mean are kept beside it, with coverage (share of the core's
slots with a usable count) and a quality flag whose reasons say why a figure is not to be trusted.
`remembered_share` says how much of the figure's samples came from seats remembered without a
face found (bowed heads, workers/analysis.py), None where no sample recorded that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from attendance.config import EstimateSettings
from attendance.store.models import COUNTED
from attendance.store.samples import SampleFigure

FEED_FAILURES = frozenset({"no_frame", "timeout", "decode_error", "frozen", "dark", "error"})
MAX_CORE_TRIM = timedelta(minutes=15)


@dataclass(frozen=True)
class Window:
    """The session seen from one site: its core window and its cadence."""

    starts_at: datetime
    ends_at: datetime
    cadence_s: float

    def core(self, trim: float) -> tuple[datetime, datetime]:
        cut = min((self.ends_at - self.starts_at) * trim, MAX_CORE_TRIM)
        return self.starts_at + cut, self.ends_at - cut

    def slots_between(self, start: datetime, end: datetime) -> int:
        return max(0, math.ceil((end - start).total_seconds() / self.cadence_s))


@dataclass
class Figures:
    raw: float | None
    peak: int | None
    median: float | None
    mean: float | None
    coverage: float
    quality: str  # good, fair, poor or no_data
    reasons: list[str] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)  # the samples the figure came from
    samples: int = 0  # samples of the core window
    remembered_share: float | None = None  # of the evidence samples' counts, from seat memory

    def calibrated(self, factor: float) -> float | None:
        return None if self.raw is None else round(self.raw * factor, 1)


def estimate(
    samples: Sequence[SampleFigure],
    window: Window,
    settings: EstimateSettings,
    until: datetime | None = None,
) -> Figures:
    """Figures over the core window (up to `until` for a session still running)."""
    start, end = window.core(settings.core_trim)
    if until is not None:
        end = min(end, until)
        if end <= start:  # a session in its first minutes: what it has so far, said so below
            start, end = window.starts_at, until
    core = sorted((s for s in samples if start <= s.slot < end), key=lambda s: s.slot)
    counted = [s for s in core if s.status in COUNTED and s.count is not None]
    due = max(window.slots_between(start, end), len(core), 1)
    coverage = round(len(counted) / due, 3)
    if not counted:
        reasons = ["no usable sample in the session's core window"]
        return Figures(None, None, None, None, coverage, "no_data", reasons, samples=len(core))
    counts = np.array([s.count for s in counted], dtype=float)
    smoothed = _running_median(counts, settings.smooth_slots)
    figure_at = _percentile_index(smoothed, settings.percentile)
    half = settings.smooth_slots // 2
    evidence = [s.sample_id for s in counted[max(0, figure_at - half) : figure_at + half + 1]]
    reasons = _reasons(core, counted, coverage, smoothed, settings)
    if start == window.starts_at and settings.core_trim > 0:
        reasons.append("the session has just begun: figure from its first minutes")
    quality = "good" if not reasons else "poor" if coverage < settings.poor_coverage else "fair"
    return Figures(
        raw=float(smoothed[figure_at]),
        peak=int(counts.max()),
        median=float(np.median(counts)),
        mean=round(_time_weighted_mean(counted, window.cadence_s), 2),
        coverage=coverage,
        quality=quality,
        reasons=reasons,
        evidence=evidence,
        samples=len(core),
        remembered_share=_remembered_share([s for s in counted if s.sample_id in set(evidence)]),
    )


def _remembered_share(figure: list[SampleFigure]) -> float | None:
    """Mean share of remembered seats in the counts the figure came from (None: unrecorded)."""
    recorded = [s for s in figure if s.remembered is not None]
    shares = [s.remembered / s.count if s.count else 0.0 for s in recorded]
    return round(float(np.mean(shares)), 3) if shares else None


def _running_median(counts: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(counts) < width:
        return counts
    half = width // 2
    padded = np.pad(counts, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    return np.median(windows, axis=1)


def _percentile_index(values: np.ndarray, percentile: float) -> int:
    """Index of the value at `percentile` (a real sample's value, never an interpolation)."""
    order = np.argsort(values, kind="stable")
    rank = min(len(values) - 1, max(0, math.ceil(percentile / 100 * len(values)) - 1))
    return int(order[rank])


def _time_weighted_mean(counted: list[SampleFigure], cadence_s: float) -> float:
    """Each count holds until the next one, but a gap of more than two slots counts as two."""
    slots = [s.slot.timestamp() for s in counted]
    gaps = np.diff([*slots, slots[-1] + cadence_s])
    weights = np.minimum(gaps, 2 * cadence_s)
    return float(np.average([s.count for s in counted], weights=weights))


def _reasons(core, counted, coverage, smoothed, settings: EstimateSettings) -> list[str]:
    reasons = []
    if coverage < settings.min_coverage:
        reasons.append(f"low coverage: {coverage:.0%} of the slots have a usable count")
    failures = sum(s.status in FEED_FAILURES for s in core)
    if core and failures / len(core) > settings.max_feed_failures:
        reasons.append(f"feed problems: {failures} of {len(core)} samples failed")
    small = sum(s.faces_too_small for s in counted)
    if small / len(counted) > 0.5:
        reasons.append("faces too small to count reliably in most frames")
    low, high = np.percentile(smoothed, [10, 90])
    if high >= 5 and (high - low) / high > settings.max_spread:
        reasons.append(f"samples disagree: counts from {low:.0f} to {high:.0f}")
    return reasons
