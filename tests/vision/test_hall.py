"""The synthetic hall: deterministic, truthful, locally redrawable, and real enough for HOG."""

from __future__ import annotations

import dataclasses
import itertools
import json
import warnings

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from attendance.cli.simulate import simulate
from attendance.vision.boxes import match
from attendance.vision.hall import HEAD_TOP, HallPlan, HallSpec, draw_hall, plan_hall, render_hall

SMALL = HallSpec(people=40, width=640, height=360, face_min=10, face_max=28, screen=True)


def _centre(box):
    top, right, bottom, left = box
    return (left + right) / 2, (top + bottom) / 2


def _inside(point, polygon) -> bool:
    contour = np.array(polygon, np.float32)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def test_same_spec_draws_the_same_hall_and_another_seed_does_not():
    frame, plan = render_hall(SMALL)
    again, plan_again = render_hall(SMALL)
    other, plan_other = render_hall(dataclasses.replace(SMALL, seed=1))
    assert frame.shape == (360, 640, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, again) and plan == plan_again
    assert not np.array_equal(frame, other)
    assert [p.box for p in plan.people] != [p.box for p in plan_other.people]


@pytest.mark.parametrize(
    "spec",
    [
        HallSpec(people=150, screen=True, looking_down=0.25, seed=3),
        HallSpec(people=250, seed=4, looking_down=0.1),
        dataclasses.replace(SMALL, looking_down=0.5),
        HallSpec(people=20, width=960, height=540, face_min=40, face_max=70, seed=1),
        HallSpec(people=0, screen=True),
    ],
    ids=["1080p-screen", "1080p-full", "small", "large-faces", "empty"],
)
def test_truth_is_consistent(spec: HallSpec):
    plan = plan_hall(spec)
    present = [p for p in plan.people if not p.on_screen]
    screen = [p for p in plan.people if p.on_screen]
    for person in plan.people:
        top, right, bottom, left = person.box
        assert 0 <= left < right <= spec.width and 0 <= top < bottom <= spec.height
        assert right - left == bottom - top == person.face_size
    assert len(present) == spec.people
    assert all(spec.face_min * 0.85 <= p.face_size <= spec.face_max * 1.15 for p in present)
    looking_down = sum(not p.visible for p in present)
    assert abs(looking_down - spec.looking_down * spec.people) <= 1
    assert bool(screen) == spec.screen == (plan.screen is not None)
    if spec.screen:
        assert 4 <= len(screen) <= 12 and all(p.visible for p in screen)
        for person in screen:
            top, right, bottom, left = person.box
            corners = [(left, top), (right, top), (right, bottom), (left, bottom)]
            assert all(_inside(corner, plan.screen) for corner in corners)
        screen_left, screen_top = plan.screen[0]
        screen_right, screen_bottom = plan.screen[2]
        for person in present:
            top, right, bottom, left = person.box
            apart = bottom < screen_top or top > screen_bottom
            assert apart or right < screen_left or left > screen_right
    _assert_rows_in_perspective(plan)
    _assert_faces_mostly_visible(present)


def _assert_rows_in_perspective(plan: HallPlan) -> None:
    assert plan.row_y == sorted(plan.row_y) and plan.row_face == sorted(plan.row_face)
    assert plan.row_y[0] < 0.45 * plan.spec.height
    by_row = {}
    for person in plan.people:
        if not person.on_screen:
            by_row.setdefault(person.row, []).append(person)
    for back, front in itertools.pairwise(sorted(by_row)):
        largest_behind = max(p.face_size for p in by_row[back])
        assert largest_behind <= min(p.face_size for p in by_row[front]) * 1.2
        assert np.mean([_centre(p.box)[1] for p in by_row[back]]) < np.mean(
            [_centre(p.box)[1] for p in by_row[front]]
        )


def _assert_faces_mostly_visible(present) -> None:
    """The head of anyone in a row in front hides at most a fifth of a visible face."""
    for person in present:
        if not person.visible:
            continue
        x, _ = _centre(person.box)
        for other in present:
            ox, oy = _centre(other.box)
            beside = abs(x - ox) < person.face_size / 2 + 0.7 * other.face_size  # hair, ears
            if other.row > person.row and beside:
                hidden = person.box[2] - (oy - HEAD_TOP * other.face_size)
                assert hidden <= 0.2 * person.face_size, (person, other)


def test_removing_one_person_changes_only_pixels_around_them():
    plan = plan_hall(HallSpec(people=30, width=960, height=540, face_min=12, face_max=40))
    frame = draw_hall(plan)
    arrival = next(p for p in plan.people if p.row == 0)  # one person arriving in the back row
    others = [p for p in plan.people if p is not arrival]
    without = draw_hall(dataclasses.replace(plan, people=others))
    changed = np.argwhere((frame != without).any(axis=2))
    x, y = _centre(arrival.box)
    face = arrival.face_size
    assert len(changed) > face * face / 2
    assert changed[:, 0].min() >= y - 1.3 * face and changed[:, 0].max() <= y + 4.3 * face
    assert changed[:, 1].min() >= x - 1.9 * face and changed[:, 1].max() <= x + 1.9 * face


def test_hog_finds_the_visible_faces_and_nothing_else():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pkg_resources notice in the models package
        import face_recognition

    spec = HallSpec(people=20, width=960, height=540, face_min=40, face_max=70, looking_down=0.1)
    frame, plan = render_hall(spec)
    faces = [p.box for p in plan.people if p.visible]
    found = face_recognition.face_locations(frame, number_of_times_to_upsample=1)
    pairs = match(found, faces)
    assert len(pairs) >= 0.85 * len(faces)
    assert len(pairs) == len(found), "a detection where no face was drawn"


def test_cli_writes_an_image_and_its_truth(tmp_path):
    image, truth_file = tmp_path / "hall.png", tmp_path / "hall.json"
    args = ["hall", "--people", "12", "--width", "640", "--height", "360", "--face-min", "10",
            "--face-max", "30", "--screen", "--looking-down", "0.25", "--seed", "7",
            "--out", str(image), "--truth", str(truth_file)]  # fmt: skip
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 0, result.output
    frame = cv2.imread(str(image))
    facts = json.loads(truth_file.read_text(encoding="utf-8"))
    assert frame.shape == (360, 640, 3)
    assert facts["spec"]["people"] == facts["present"] == 12 and facts["visible"] == 9
    assert len(facts["people"]) == 12 + facts["screen_faces"] and facts["screen"]
    assert f"12 people, 9 faces visible, {facts['screen_faces']} on the screen" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--people", "-1"],
        ["--people", "5", "--looking-down", "1.5"],
        ["--people", "9999"],
        ["--people", "5", "--face-min", "40", "--face-max", "20"],
    ],
    ids=["negative", "share-above-one", "more-than-seats", "faces-inverted"],
)
def test_cli_rejects_impossible_halls(tmp_path, args):
    out = ["--out", str(tmp_path / "h.png"), "--truth", str(tmp_path / "h.json")]
    result = CliRunner().invoke(simulate, ["hall", *args, *out])
    assert result.exit_code == 2
    assert not (tmp_path / "h.png").exists()
