"""Cost of the per-frame checks that run before any detection: the gate and quality flags."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np

from attendance.vision.gate import Gate
from attendance.vision.hall import HallSpec, draw_hall, render_hall
from attendance.vision.quality import assess


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def bench_gate(width: int, height: int, repeat: int, report: Callable[[str], None]) -> dict:
    cv2.setNumThreads(1)  # the figures are per core, as a worker process runs them
    scale = height / 1080  # the same hall, seen by a camera of this resolution
    spec = HallSpec(60, width, height, seed=3, face_min=max(12, round(17 * scale)),
                    face_max=max(24, round(70 * scale)))  # fmt: skip
    frame, plan = render_hall(spec)
    noisy = np.clip(frame + np.random.default_rng(0).normal(0, 3, frame.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    back_row = next(i for i, p in enumerate(plan.people) if p.row == 0)
    left = draw_hall(
        dataclasses.replace(plan, people=plan.people[:back_row] + plan.people[back_row + 1 :])
    )
    gate = Gate()
    gate.accept(frame, now=0.0)
    figures = {
        "gate_still_ms": _median_ms(lambda: gate.check(noisy), repeat),
        "gate_changed_ms": _median_ms(lambda: gate.check(left), repeat),
        "gate_accept_ms": _median_ms(lambda: gate.accept(frame, 0.0), repeat),
        "quality_ms": _median_ms(lambda: assess(frame, previous_thumb=None), repeat),
    }
    still, changed = gate.check(noisy), gate.check(left)
    report(f"{width}x{height}, median of {repeat} runs, one core")
    report(f"gate, same scene, sensor noise:     {figures['gate_still_ms']} ms, {still.changed=}")
    report(
        f"gate, one back-row person left:     {figures['gate_changed_ms']} ms, "
        f"{changed.changed=}, regions={len(changed.regions)}"
    )
    report(f"gate, accept a new reference:       {figures['gate_accept_ms']} ms")
    report(f"quality flags:                      {figures['quality_ms']} ms")
    return figures | {"noise_ignored": not still.changed, "departure_seen": changed.changed}
