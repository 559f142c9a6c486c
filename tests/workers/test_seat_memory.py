"""Seat memory through the real analysis path: a reader whose face the detector loses while the
body under it is unchanged still counts; a departure there ends it; the figure never counts
anyone twice."""

from __future__ import annotations

import copy
import dataclasses

import cv2
import numpy as np
import pytest

from attendance.vision.boxes import match
from attendance.vision.hall import HallSpec, draw_hall, render_hall
from workers.analysis import Policy, SiteMemory, analyse, postpone, screen

POLICY = Policy(recount_every_s=300, refresh_every_s=3600, frozen_after_s=60)
SPEC = HallSpec(people=40, width=1280, height=720, seed=4, face_min=16, face_max=50)


def _jpeg(frame: np.ndarray, noise: int) -> bytes:
    rng = np.random.default_rng(noise)
    noisy = np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))[1].tobytes()


def _bowed(frame: np.ndarray, box) -> np.ndarray:
    """The face blurred out of a detector's reach, the body under it as it was (a head tilted
    over a page)."""
    top, right, bottom, left = box
    pad = (bottom - top) // 4
    out = frame.copy()
    area = out[top - pad : bottom + pad, left - pad : right + pad]
    out[top - pad : bottom + pad, left - pad : right + pad] = cv2.GaussianBlur(
        area, (0, 0), (bottom - top) / 4
    )
    return out


def _has(boxes, box) -> bool:
    return bool(match([tuple(box)], [tuple(b) for b in boxes or []]))


@pytest.fixture(scope="module")
def reading():
    """A hall counted twice (calibration, then a full count at the site's level), and a reader:
    the largest face found whose bowed face the next full count misses. Returns the frame, plan,
    the memory after the two counts and the reader."""
    frame, plan = render_hall(SPEC)
    memory = SiteMemory()
    analyse(0.0, memory, POLICY, _jpeg(frame, 1))
    full = analyse(301.0, memory, POLICY, _jpeg(frame, 2))
    largest_first = sorted(enumerate(plan.people), key=lambda item: -item[1].face_size)
    for index, person in largest_first:
        if not person.visible or person.on_screen or not _has(full.boxes, person.box):
            continue
        trial = copy.deepcopy(memory)
        bowed = _bowed(frame, person.box)
        if not _has(analyse(602.0, trial, POLICY, _jpeg(bowed, 3)).boxes, person.box):
            return frame, plan, memory, index
    pytest.fail("no found face that blurs past the detector")


def test_a_reader_missed_at_an_unchanged_seat_still_counts(reading):
    """Pinned: found, then missed by a full count while the body under it is unchanged → the
    sample counts them from memory, the stored boxes stay the found faces."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    box = plan.people[reader].box
    later = analyse(602.0, memory, POLICY, _jpeg(_bowed(frame, box), 3))
    assert later.status == "ok" and later.detector["mode"] == "full"
    assert not _has(later.boxes, box)
    assert _has(later.detector["remembered"], box)
    assert later.remembered == len(later.detector["remembered"]) >= 1
    assert later.face_count == len(later.boxes) + later.remembered


def test_remembered_seats_never_double_a_found_face(reading):
    """Pinned: no remembered seat overlaps a face found in the same count."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    later = analyse(602.0, memory, POLICY, _jpeg(_bowed(frame, plan.people[reader].box), 3))
    assert later.remembered >= 1
    for seat in later.detector["remembered"]:
        assert not _has(later.boxes, seat)
    back = analyse(903.0, memory, POLICY, _jpeg(frame, 2))  # looks up: the picture found
    assert _has(back.boxes, plan.people[reader].box)
    assert not _has(back.detector.get("remembered"), plan.people[reader].box)


def test_a_gated_sample_keeps_the_remembered_figure(reading):
    """Pinned: an unchanged frame after the count reuses its whole figure, memory included."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    bowed = _bowed(frame, plan.people[reader].box)
    counted = analyse(602.0, memory, POLICY, _jpeg(bowed, 3))
    gated = analyse(630.0, memory, POLICY, _jpeg(bowed, 5))
    assert gated.status == "gated"
    assert (gated.face_count, gated.remembered) == (counted.face_count, counted.remembered)


def test_a_departure_ends_the_seat(reading):
    """Pinned: the reader leaves (their seat's area changes, no face there) → not counted."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    box = plan.people[reader].box
    analyse(602.0, memory, POLICY, _jpeg(_bowed(frame, box), 3))
    rest = plan.people[:reader] + plan.people[reader + 1 :]
    left = draw_hall(dataclasses.replace(plan, people=rest))
    after = analyse(630.0, memory, POLICY, _jpeg(left, 6))
    assert after.status == "ok" and after.detector["mode"] == "regional"
    assert not _has(after.boxes, box)
    assert not _has(after.detector.get("remembered"), box)


def test_the_seat_is_judged_at_the_count(reading):
    """Pinned: the body is compared with the frame that is counted: the reader stepped out in a
    frame that was never counted (detection behind) and is back, bowed, at the next count →
    still counted from memory; still away at the count after → not."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    box = plan.people[reader].box
    bowed = _bowed(frame, box)
    analyse(602.0, memory, POLICY, _jpeg(bowed, 3))
    rest = plan.people[:reader] + plan.people[reader + 1 :]
    left = draw_hall(dataclasses.replace(plan, people=rest))
    away = screen(630.0, memory, POLICY, _jpeg(left, 6))
    assert away.job is not None  # it needed a count…
    postpone(memory, away)  # …that never came
    back = analyse(903.0, memory, POLICY, _jpeg(bowed, 7))
    assert back.status == "ok" and back.detector["mode"] == "full"
    assert not _has(back.boxes, box) and _has(back.detector.get("remembered"), box)
    gone = analyse(1204.0, memory, POLICY, _jpeg(left, 8))
    assert not _has(gone.boxes, box) and not _has(gone.detector.get("remembered"), box)


def test_memory_forgets_a_face_missed_in_more_than_keep_counts_counts(reading):
    """Pinned: with seat_keep_counts=1 the reader counts at the first miss, not at the second."""
    frame, plan, memory, reader = reading
    memory = copy.deepcopy(memory)
    policy = dataclasses.replace(POLICY, seat_keep_counts=1)
    box = plan.people[reader].box
    bowed = _bowed(frame, box)
    first = analyse(602.0, memory, policy, _jpeg(bowed, 3))
    assert _has(first.detector.get("remembered"), box)
    second = analyse(903.0, memory, policy, _jpeg(bowed, 8))
    assert not _has(second.boxes, box)
    assert not _has(second.detector.get("remembered"), box)
