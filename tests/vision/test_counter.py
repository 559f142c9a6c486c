"""The counter on synthetic halls: recall, precision, screens, cold starts, regional recounts.

Thresholds sit somewhat under the benchmark's targets (`attendance bench detect`), which runs
more and larger halls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attendance.vision.boxes import match
from attendance.vision.counter import Counter
from attendance.vision.gate import Gate
from attendance.vision.hall import HallSpec, draw_hall, render_hall
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi, from_pixels


def _present(plan):
    return [p for p in plan.people if p.visible and not p.on_screen]


def _recall(boxes, people) -> float:
    return len(match(boxes, [p.box for p in people])) / max(1, len(people))


@pytest.fixture(scope="module")
def site():
    """A 1080p camera: its perspective learned once from a full hall (a cold start)."""
    frame, plan = render_hall(HallSpec(people=150, seed=101))
    result = Counter().count(frame)
    assert result.perspective is not None
    return result.perspective, plan


def test_cold_start_learns_the_rows_up_to_the_back(site):
    perspective, plan = site
    assert abs(perspective.top - plan.row_y[0]) < plan.row_face[0] * 2
    assert abs(perspective.size_at(plan.row_y[0]) - plan.row_face[0]) < 5
    assert abs(perspective.size_at(plan.row_y[-1]) - plan.row_face[-1]) < 10


@pytest.mark.parametrize("people", [20, 120])
def test_balanced_finds_small_faces_without_false_ones(site, people: int):
    frame, plan = render_hall(HallSpec(people=people, seed=people))
    result = Counter("balanced").count(frame, site[0])
    present = _present(plan)
    matched = match(result.boxes, [p.box for p in present])
    assert len(matched) / len(present) >= 0.85
    assert _recall(result.boxes, [p for p in present if p.face_size >= 24]) >= 0.93
    assert len(matched) >= 0.97 * result.count  # precision
    assert len(result.scales) == result.count
    assert result.timings["total"] > 0


def test_fast_keeps_faces_of_30_px_and_more(site):
    frame, plan = render_hall(HallSpec(people=100, seed=7))
    fast = Counter("fast").count(frame, site[0])
    balanced = Counter("balanced").count(frame, site[0])
    assert _recall(fast.boxes, [p for p in _present(plan) if p.face_size >= 30]) >= 0.85
    assert fast.pixels < balanced.pixels / 1.4  # CenterFace: bands at 12 px instead of 16


def test_screen_faces_are_never_counted_with_the_roi(site):
    frame, plan = render_hall(HallSpec(people=60, seed=11, screen=True))
    on_screen = [p.box for p in plan.people if p.on_screen]
    unmasked = Counter().count(frame)  # a cold start searches the whole frame
    assert match(unmasked.boxes, on_screen), "the screen's faces are detectable"
    roi = Roi(exclude=(from_pixels(plan.screen, frame.shape[0], frame.shape[1]),))
    for perspective in (None, site[0]):
        masked = Counter(roi=roi).count(frame, perspective)
        assert match(masked.boxes, on_screen) == []
        assert masked.count >= 0.85 * len(_present(plan))


def test_regional_recount_after_one_back_row_arrival(site):
    """One person sits down in the back row: the gate finds the spot, and recounting only
    there gives the full count at a fraction of a full pass."""
    perspective = site[0]
    spec = HallSpec(people=80, seed=23)
    frame, plan = render_hall(spec)
    back_row = [i for i, p in enumerate(plan.people) if p.row == 0 and p.visible]
    absent = dataclasses.replace(
        plan, people=[p for i, p in enumerate(plan.people) if i != back_row[0]]
    )
    before, after = draw_hall(absent), frame
    counter = Counter()
    first = counter.count(before, perspective)

    gate = Gate()
    gate.accept(before, now=100.0)
    noisy = np.clip(before + np.random.default_rng(1).normal(0, 3, before.shape), 0, 255)
    assert not gate.check(noisy.astype(np.uint8)).changed
    change = gate.check(after)
    assert change.changed and len(change.regions) == 1
    arrival = plan.people[back_row[0]].box
    top, right, bottom, left = change.regions[0]
    assert top <= arrival[0] and bottom >= arrival[2] and left <= arrival[3] and right >= arrival[1]

    regional = counter.count(after, perspective, change.regions, previous=first)
    full = counter.count(after, perspective)
    # A CNN's borderline faces (score near its threshold) depend on where a band's edges fall,
    # so the faces kept from the last count may differ from a full pass's by one.
    assert abs(regional.count - full.count) <= 1
    assert regional.count >= first.count
    assert match([arrival], regional.boxes)
    assert regional.pixels < full.pixels / 4


def test_the_back_row_stays_searched_when_it_empties(site):
    perspective = site[0]
    _, plan = render_hall(HallSpec(people=40, seed=5))
    front = dataclasses.replace(plan, people=[p for p in plan.people if p.row >= 4])
    result = Counter().count(draw_hall(front), perspective)
    assert result.perspective.top <= perspective.top
    assert result.bands[0].top < plan.row_y[0]


def test_an_empty_roi_counts_nothing():
    roi = Roi(
        include=(((0, 0), (0.1, 0), (0.1, 0.1)),), exclude=(((0, 0), (1, 0), (1, 1), (0, 1)),)
    )
    frame, _ = render_hall(
        HallSpec(people=10, seed=1, width=640, height=360, face_min=20, face_max=40)
    )
    assert Counter(roi=roi).count(frame).count == 0


def test_bad_level_or_model_is_refused():
    with pytest.raises(ValueError, match="quality must be one of fast, balanced, thorough"):
        Counter("best")
    with pytest.raises(ValueError, match="model must be one of centerface, hog, cnn"):
        Counter(model="yolo")


def test_models_survive_json(site):
    assert Perspective.from_json(site[0].to_json()) == site[0]
