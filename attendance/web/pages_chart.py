"""Geometry for the site page's inline SVG: the count chart and the face boxes of a frame.

Computed here, drawn by the template: the numbers are testable without a browser, and the page
needs no chart library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attendance.store.models import COUNTED

NO_PROBLEM = COUNTED | {"deferred"}  # deferred: the frame was fine, detection was behind
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
# Samples recorded before the frame size was kept: the smallest usual size holding every box.
USUAL_FRAMES = ((640, 360), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160))


@dataclass(frozen=True)
class Chart:
    lines: list[list[tuple[float, float]]]  # runs of counted samples, broken where none counted
    failures: list[float]  # x of samples whose grab failed
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    expected_y: float | None
    y_max: int
    t0_ms: int  # the x axis in epoch milliseconds, for the page's live extension
    t1_ms: int
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)

    @property
    def empty(self) -> bool:
        return not self.lines and not self.failures

    def points(self, line: list[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in line)


def chart(
    samples: Sequence[tuple[datetime, str, int | None]],
    starts_at: datetime,
    ends_at: datetime,
    expected: int,
    timezone: str,
) -> Chart:
    """Counts over the whole session window, so a running session shows how far it is."""
    counts = [count for _, status, count in samples if status in COUNTED and count is not None]
    y_max = nice_ceiling(max([*counts, expected, 1]))
    x = _scale(starts_at.timestamp(), ends_at.timestamp(), LEFT, WIDTH - RIGHT)
    y = _scale(0, y_max, HEIGHT - BOTTOM, TOP)
    lines, failures = _trace(samples, x, y)
    zone = ZoneInfo(timezone)
    ticks = (starts_at, starts_at + (ends_at - starts_at) / 2, ends_at)
    return Chart(
        lines=lines,
        failures=failures,
        y_ticks=[(y(v), v) for v in sorted({0, y_max // 2, y_max})],
        x_ticks=[(x(at.timestamp()), f"{at.astimezone(zone):%H:%M}") for at in ticks],
        expected_y=y(expected) if expected else None,
        y_max=y_max,
        t0_ms=int(starts_at.timestamp() * 1000),
        t1_ms=int(ends_at.timestamp() * 1000),
    )


def _trace(samples, x, y) -> tuple[list[list[tuple[float, float]]], list[float]]:
    """Lines through the counted samples, broken where a slot has no count (a line across a
    dead feed would claim counts nobody made), and the x of every failed grab."""
    lines, failures, run = [], [], []
    for slot, status, count in samples:
        if status in COUNTED and count is not None:
            run.append((x(slot.timestamp()), y(count)))
            continue
        if run:
            lines.append(run)
            run = []
        if status not in NO_PROBLEM:
            failures.append(x(slot.timestamp()))
    return [*lines, run] if run else lines, failures


def nice_ceiling(value: float) -> int:
    """The next 1, 2 or 5 × 10ⁿ at or above `value`: axis labels a person reads at a glance."""
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _scale(low: float, high: float, start: float, end: float):
    span = (high - low) or 1
    return lambda value: start + (min(max(value, low), high) - low) / span * (end - start)


@dataclass(frozen=True)
class Faces:
    """The face boxes of one sample as SVG rectangles (x, y, width, height) in frame pixels."""

    width: int
    height: int
    estimated: bool  # the frame size was guessed from the boxes
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)


def faces(boxes: Sequence[Sequence[int]] | None, detector: dict[str, Any] | None) -> Faces:
    """`boxes` as the sample stores them: [top, right, bottom, left] pixels."""
    rects = [(left, top, right - left, bottom - top) for top, right, bottom, left in boxes or ()]
    size = (detector or {}).get("size")
    if size:
        return Faces(int(size[0]), int(size[1]), False, rects)
    return Faces(*_usual_frame(rects), True, rects)


def _usual_frame(rects: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    right = max((x + w for x, _, w, _ in rects), default=0)
    bottom = max((y + h for _, y, _, h in rects), default=0)
    for width, height in USUAL_FRAMES:
        if right <= width and bottom <= height:
            return width, height
    return right, bottom
