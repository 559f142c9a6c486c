"""Hard halls: opt-in poses and camera faults, with truth that says which faces can be counted."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from attendance.cli.simulate import simulate
from attendance.vision.boxes import match
from attendance.vision.hall import (
    VISIBLE_MIN,
    HallSpec,
    draw_hall,
    hard_spec,
    plan_hall,
    render_hall,
    truth,
)

# Frames drawn before the hard options existed (sha256 of the RGB bytes, first 16 hex digits).
PINNED = [
    (HallSpec(40, 640, 360, 0, 10, 28, screen=True, looking_down=0.5), "6bba9cd8fb01fd9a"),
    (HallSpec(people=150, screen=True, looking_down=0.25, seed=3), "8dc5c74f3cb38ecf"),
    (HallSpec(people=20, width=960, height=540, face_min=40, face_max=70, seed=1),
     "137ea43b7920761f"),
]  # fmt: skip
POSED = HallSpec(people=40, width=960, height=540, face_min=30, face_max=60, seed=2)


@pytest.fixture(scope="module", params=[3, 4], ids=["dim", "warm"])
def hard(request):
    spec = hard_spec(150, request.param)
    frame, plan = render_hall(spec)
    return spec, frame, plan


def _present(plan):
    return [p for p in plan.people if not p.on_screen]


@pytest.mark.parametrize("spec, digest", PINNED, ids=["small", "1080p-screen", "large-faces"])
def test_default_options_draw_exactly_the_halls_drawn_before_them(spec, digest):
    frame = draw_hall(plan_hall(spec))
    assert hashlib.sha256(frame.tobytes()).hexdigest()[:16] == digest


def test_hard_hall_has_the_requested_share_of_each_kind(hard):
    spec, _, plan = hard
    kinds = truth(plan)["kinds"]
    expected = {"turned": spec.turned, "reading": spec.reading, "back": spec.backs,
                "down": spec.looking_down}  # fmt: skip
    for kind, share in expected.items():
        assert abs(kinds[kind]["present"] - share * spec.people) <= 1, kind
    occluded = kinds["occluded"]["present"]
    assert 0.8 * spec.occlusion * spec.people <= occluded <= spec.occlusion * spec.people + 1
    assert sum(k["present"] for k in kinds.values()) == spec.people == truth(plan)["present"]
    assert kinds["frontal"]["present"] >= 0.1 * spec.people


def test_backs_and_downs_are_present_but_never_visible(hard):
    _, _, plan = hard
    facts = truth(plan)
    assert facts["kinds"]["back"]["visible"] == facts["kinds"]["down"]["visible"] == 0
    assert all(p.hidden == 1.0 for p in _present(plan) if p.kind in ("back", "down"))
    assert facts["visible"] == sum(p.visible for p in _present(plan))
    assert facts["visible"] < facts["present"] - facts["kinds"]["back"]["present"]


def test_a_face_is_visible_exactly_when_enough_of_it_shows(hard):
    """Readers and occluded people are countable iff at least VISIBLE_MIN of the face shows."""
    _, _, plan = hard
    for kind in ("reading", "occluded"):
        group = [p for p in _present(plan) if p.kind == kind]
        assert all(p.visible == (1 - p.hidden >= VISIBLE_MIN) for p in group)
        assert any(p.visible for p in group) and not all(p.visible for p in group), kind
    turned = [p for p in _present(plan) if p.kind == "turned"]
    assert all(p.visible and 25 <= abs(p.pose["yaw"]) <= 60 for p in turned)


def test_every_face_box_stays_inside_the_frame(hard):
    spec, _, plan = hard
    for person in plan.people:
        top, right, bottom, left = person.box
        assert 0 <= left < right <= spec.width and 0 <= top < bottom <= spec.height, person
        assert right - left == bottom - top == person.face_size


def test_occluded_share_is_what_the_rows_in_front_really_cover():
    """Removing the rows in front of an occluded face uncovers about its recorded hidden share."""
    plan = plan_hall(dataclasses.replace(POSED, occlusion=0.3))
    frame = draw_hall(plan)
    occluded = [p for p in plan.people if p.kind == "occluded"]
    assert len(occluded) >= 8
    for person in occluded:
        behind = [p for p in plan.people if p.row <= person.row]
        bare = draw_hall(dataclasses.replace(plan, people=behind))
        top, right, bottom, left = person.box
        diff = np.abs(frame[top:bottom, left:right].astype(int) - bare[top:bottom, left:right])
        assert abs((diff.max(axis=2) > 8).mean() - person.hidden) <= 0.1, person


def test_poses_keep_the_seats_and_looks_of_the_plain_hall():
    plain = plan_hall(POSED)
    posed = plan_hall(dataclasses.replace(POSED, turned=0.3, reading=0.2, backs=0.1))
    assert [(p.row, p.seat, p.appearance) for p in posed.people] == [
        (p.row, p.seat, p.appearance) for p in plain.people
    ]
    assert {p.kind for p in posed.people} == {"frontal", "turned", "reading", "back"}
    assert not np.array_equal(draw_hall(plain), draw_hall(posed))


def test_hard_halls_are_deterministic_per_seed():
    spec = hard_spec(40, 5, 960, 540)
    frame, plan = render_hall(spec)
    again, plan_again = render_hall(spec)
    other, plan_other = render_hall(dataclasses.replace(spec, seed=6))
    assert np.array_equal(frame, again) and plan == plan_again
    assert not np.array_equal(frame, other) and plan != plan_other


@pytest.mark.parametrize(
    "change",
    [{"jpeg_quality": 40}, {"light": "dim"}, {"light": "warm"}, {"blur": 0.3}],
    ids=["jpeg", "dim", "warm", "blur"],
)
def test_camera_options_change_pixels_but_not_the_plan(change):
    spec = dataclasses.replace(POSED, turned=0.3)
    frame, plan = render_hall(spec)
    other, other_plan = render_hall(dataclasses.replace(spec, **change))
    assert other_plan.people == plan.people and other.shape == frame.shape
    assert not np.array_equal(frame, other)
    if "jpeg_quality" in change:  # lossy, but the same picture
        assert np.abs(frame.astype(int) - other).mean() < 6
    if change.get("light") == "dim":
        assert other.mean() < 0.65 * frame.mean()
    if change.get("light") == "warm":
        red_blue = frame[..., 0].mean() / frame[..., 2].mean()
        assert other[..., 0].mean() / other[..., 2].mean() > 1.3 * red_blue
    if "blur" in change:
        sharp = cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
        blurred = cv2.Laplacian(cv2.cvtColor(other, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
        assert blurred < 0.7 * sharp


def test_hog_finds_no_face_on_the_back_of_a_head():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pkg_resources notice in the models package
        import face_recognition

    spec = dataclasses.replace(POSED, people=20, face_min=40, face_max=70, backs=0.4, seed=1)
    frame, plan = render_hall(spec)
    backs = [p.box for p in plan.people if p.kind == "back"]
    frontal = [p.box for p in plan.people if p.kind == "frontal"]
    found = face_recognition.face_locations(frame, number_of_times_to_upsample=1)
    assert len(backs) >= 5
    assert not match(found, backs)
    assert len(match(found, frontal)) >= 0.8 * len(frontal)


@pytest.mark.parametrize(
    "change",
    [{"turned": 0.6, "reading": 0.5}, {"backs": -0.1}, {"light": "neon"}, {"jpeg_quality": 0},
     {"blur": -1.0}],
    ids=["shares-above-one", "negative-share", "unknown-light", "jpeg-zero", "negative-blur"],
)  # fmt: skip
def test_impossible_hard_options_are_refused(change):
    with pytest.raises(ValueError):
        plan_hall(dataclasses.replace(POSED, **change))


def test_cli_hard_flag_writes_truth_with_kinds(tmp_path):
    image, truth_file = tmp_path / "hall.jpg", tmp_path / "hall.json"
    args = ["hall", "--hard", "--people", "40", "--width", "960", "--height", "540",
            "--face-min", "12", "--face-max", "36", "--seed", "2",
            "--out", str(image), "--truth", str(truth_file)]  # fmt: skip
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 0, result.output
    facts = json.loads(truth_file.read_text(encoding="utf-8"))
    assert facts["spec"]["jpeg_quality"] == 50 and facts["spec"]["turned"] == 0.3
    assert facts["present"] == 40 and facts["visible"] < 40
    assert {"turned", "reading", "back"} <= set(facts["kinds"])
    assert all({"kind", "hidden", "pose"} <= set(p) for p in facts["people"])
    assert "visible/present by kind: frontal" in result.output
    assert cv2.imread(str(image)).shape == (540, 960, 3)
