"""The per-frame policy: gate, regional and full recounts, failures, and which frames are urgent."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from attendance.vision.boxes import match
from attendance.vision.hall import HallSpec, draw_hall, render_hall
from workers.analysis import Policy, SiteMemory, Urgency, analyse, postpone, screen

POLICY = Policy(recount_every_s=300, refresh_every_s=1800, frozen_after_s=60)
SPEC = HallSpec(people=40, width=1280, height=720, seed=4, face_min=16, face_max=50)


def _jpeg(frame: np.ndarray, noise: int = 0) -> bytes:
    if noise:
        rng = np.random.default_rng(noise)
        frame = np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def hall():
    return render_hall(SPEC)


def test_first_frame_calibrates_then_unchanged_frames_are_gated(hall):
    frame, plan = hall
    memory = SiteMemory()
    first = analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    assert first.status == "ok" and first.detector["mode"] == "calibrate"
    visible = sum(p.visible and not p.on_screen for p in plan.people)
    assert abs(first.face_count - visible) <= visible // 5  # a cold start, at 720p
    second = analyse(30.0, memory, POLICY, _jpeg(frame, 2))
    assert second.status == "gated"
    assert second.face_count == first.face_count
    assert second.detector["unchanged_since"] == 0.0


def test_recount_is_forced_after_recount_every(hall):
    frame, _ = hall
    memory = SiteMemory()
    analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    later = analyse(301.0, memory, POLICY, _jpeg(frame, 3))
    assert later.status == "ok" and later.detector["mode"] == "full"


def test_a_departure_is_recounted_in_its_region(hall):
    frame, plan = hall
    memory = SiteMemory()
    analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    full = analyse(301.0, memory, POLICY, _jpeg(frame, 2))  # at the site's level, not calibration
    leaver = next(i for i, p in enumerate(plan.people) if p.visible and p.row >= 2)
    rest = plan.people[:leaver] + plan.people[leaver + 1 :]
    left = draw_hall(dataclasses.replace(plan, people=rest))
    after = analyse(330.0, memory, POLICY, _jpeg(left, 4))
    assert after.status == "ok" and after.detector["mode"] == "regional"
    assert abs(after.face_count - (full.face_count - 1)) <= 1  # marginal back-row faces flicker
    assert not match([plan.people[leaver].box], [tuple(box) for box in after.boxes])
    assert after.detector["pixels"] < full.detector["pixels"] / 2


def test_bad_pictures_are_statuses():
    memory = SiteMemory()
    assert analyse(0.0, memory, POLICY, b"\xff\xd8garbage\xff\xd9").status == "decode_error"
    black = np.zeros((360, 640, 3), np.uint8)
    assert analyse(0.0, memory, POLICY, _jpeg(black)).status == "dark"


def test_identical_frames_become_frozen_after_a_while(hall):
    frame, _ = hall
    jpeg = _jpeg(frame, 1)
    memory = SiteMemory()
    analyse(0.0, memory, POLICY, jpeg)
    assert analyse(30.0, memory, POLICY, jpeg).status == "gated"
    assert analyse(60.0, memory, POLICY, jpeg).status == "gated"  # identical for 30 s
    assert analyse(90.0, memory, POLICY, jpeg).status == "frozen"  # identical for 60 s
    assert analyse(120.0, memory, POLICY, _jpeg(frame, 5)).status == "gated"


def test_urgency_orders_first_counts_before_changes_before_routine_recounts(hall):
    frame, plan = hall
    memory = SiteMemory()
    assert screen(0.0, memory, POLICY, _jpeg(frame, 1)).urgency == Urgency.FIRST
    analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    assert screen(30.0, memory, POLICY, _jpeg(frame, 2)).done.status == "gated"
    assert screen(301.0, memory, POLICY, _jpeg(frame, 3)).urgency == Urgency.RECOUNT
    rest = [p for p in plan.people if p.row != 1]  # a whole row left
    emptier = draw_hall(dataclasses.replace(plan, people=rest))
    changed = screen(302.0, memory, POLICY, _jpeg(emptier, 4))
    assert changed.urgency == Urgency.CHANGED and changed.job.mode == "full"


def test_a_postponed_frame_keeps_the_last_count_or_is_deferred(hall):
    frame, _ = hall
    memory = SiteMemory()
    waiting = postpone(memory, screen(0.0, memory, POLICY, _jpeg(frame, 1)))
    assert waiting.status == "deferred" and waiting.face_count is None
    counted = analyse(10.0, memory, POLICY, _jpeg(frame, 1))
    kept = postpone(memory, screen(400.0, memory, POLICY, _jpeg(frame, 2)))
    assert kept.status == "gated" and kept.face_count == counted.face_count
    assert kept.detector == {"mode": "deferred", "wanted": "recount"}


def test_the_gate_sees_a_reduced_frame_but_regions_are_in_the_frames_pixels(hall):
    frame, plan = hall
    memory = SiteMemory()
    analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    analyse(301.0, memory, POLICY, _jpeg(frame, 2))
    leaver = next(i for i, p in enumerate(plan.people) if p.visible and p.row >= 2)
    left = draw_hall(
        dataclasses.replace(plan, people=plan.people[:leaver] + plan.people[leaver + 1 :])
    )
    screening = screen(330.0, memory, POLICY, _jpeg(left, 4))
    assert screening.size == (1280, 720) and screening.job.mode == "regional"
    top, right, bottom, left_x = plan.people[leaver].box
    assert any(
        r_top <= top and right <= r_right and bottom <= r_bottom and r_left <= left_x
        for r_top, r_right, r_bottom, r_left in screening.job.regions
    )
