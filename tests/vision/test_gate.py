"""The scene-change gate on synthetic wide hall shots (1920×1080, back-row faces of 18 px)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from attendance.vision.boxes import Box
from attendance.vision.gate import Gate

HEIGHT, WIDTH = 1080, 1920
SCREEN = (40, 1220, 330, 700)  # a projection screen above the seats: (top, right, bottom, left)
WHOLE_FRAME = ((0, WIDTH, HEIGHT, 0),)


def draw_person(frame: np.ndarray, x: int, y: int, face: int, colour) -> Box:
    """A seated person: head centred at (x, y), body below; returns the person's box."""
    body_w, body_h = round(face * 2.8), round(face * 3.3)
    top_of_body = y + face // 2
    cv2.rectangle(frame, (x - body_w // 2, top_of_body), (x + body_w // 2, top_of_body + body_h),
                  colour, -1)  # fmt: skip
    cv2.ellipse(frame, (x, y), (face // 2, round(face * 0.65)), 0, 0, 360, (205, 160, 125), -1)
    cv2.ellipse(frame, (x, y - face // 3), (face // 2, face // 3), 0, 180, 360, (30, 25, 20), -1)
    return y - round(face * 0.65), x + body_w // 2 + 1, top_of_body + body_h + 1, x - body_w // 2


@pytest.fixture(scope="module")
def hall() -> np.ndarray:
    """A textured wall, a screen and six rows of people of varied clothes, small at the back."""
    rng = np.random.default_rng(7)
    shade = np.linspace(1.0, 0.7, HEIGHT, dtype=np.float32)[:, None, None]
    texture = cv2.resize(rng.normal(0, 12, (HEIGHT // 8, WIDTH // 8, 3)).astype(np.float32),
                         (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)  # fmt: skip
    frame = np.clip(np.array([160, 150, 130], np.float32) * shade + texture, 0, 255)
    frame = frame.astype(np.uint8)
    top, right, bottom, left = SCREEN
    cv2.rectangle(frame, (left, top), (right, bottom), (225, 225, 235), -1)
    for row in range(6):
        face = 18 + 8 * row
        for seat in range(14):
            x = 140 + seat * 125 + int(rng.integers(-15, 15))
            draw_person(frame, x, 420 + 110 * row, face, rng.integers(20, 235, 3).tolist())
    frame.flags.writeable = False
    return frame


def noisy(frame: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(frame.shape, np.float32) * sigma
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def jpeg_round_trip(frame: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def contains(region: Box, box: Box) -> bool:
    top, right, bottom, left = region
    return top <= box[0] and right >= box[1] and bottom >= box[2] and left <= box[3]


def gate_on(frame: np.ndarray, when: float = 100.0, **options) -> Gate:
    gate = Gate(**options)
    gate.accept(frame, when)
    return gate


def test_first_frame_is_a_change_of_the_whole_frame(hall):
    result = Gate().check(hall)
    assert result.changed
    assert result.regions == WHOLE_FRAME
    assert result.changed_fraction == 1.0
    assert result.unchanged_since is None


def test_identical_frame_is_unchanged_since_the_reference(hall):
    result = gate_on(hall, when=100.0).check(hall.copy())
    assert not result.changed
    assert result.regions == ()
    assert result.changed_fraction == 0.0
    assert result.unchanged_since == 100.0


def test_sensor_noise_is_not_a_change(hall):
    """σ=4 noise on every pixel of both frames: nothing may trigger a recount."""
    result = gate_on(noisy(hall, 4, seed=1)).check(noisy(hall, 4, seed=2))
    assert not result.changed
    assert result.unchanged_since == 100.0


@pytest.mark.parametrize("quality", [70, 75, 90])
def test_jpeg_recompression_is_not_a_change(hall, quality):
    assert not gate_on(hall).check(jpeg_round_trip(hall, quality)).changed


@pytest.mark.parametrize("clothes", [(40, 40, 50), (235, 235, 230), (140, 130, 115)],
                         ids=["dark-suit", "white-shirt", "wall-coloured"])  # fmt: skip
def test_one_small_person_arriving_at_the_back_is_one_region(hall, clothes):
    """An 18 px face with its body, a third of the way down a noisy frame, must be noticed."""
    with_person = hall.copy()
    person = draw_person(with_person, 1030, 365, 18, clothes)
    result = gate_on(noisy(hall, 4, seed=1)).check(noisy(with_person, 4, seed=2))
    assert result.changed
    assert len(result.regions) == 1
    assert contains(result.regions[0], person)
    assert 0 < result.changed_fraction < 0.1  # a regional recount, not a full one
    assert result.unchanged_since is None


def test_one_small_person_leaving_is_a_change(hall):
    gate = gate_on(hall)
    with_person = hall.copy()
    draw_person(with_person, 1030, 365, 18, (230, 230, 225))
    gate.accept(with_person, 110.0)
    assert gate.check(hall).changed


def test_two_far_apart_changes_are_two_regions(hall):
    changed = hall.copy()
    left = draw_person(changed, 200, 365, 18, (40, 40, 50))
    right = draw_person(changed, 1750, 800, 50, (200, 60, 60))
    regions = gate_on(hall).check(changed).regions
    assert len(regions) == 2
    assert any(contains(region, left) for region in regions)
    assert any(contains(region, right) for region in regions)


def test_regions_grow_to_hold_whole_people_and_merge_when_overlapping(hall):
    changed = hall.copy()
    first = draw_person(changed, 900, 365, 18, (40, 40, 50))
    second = draw_person(changed, 1000, 365, 18, (200, 60, 60))
    (region,) = gate_on(hall).check(changed).regions
    assert contains(region, first) and contains(region, second)
    assert region[2] - region[0] >= 0.2 * HEIGHT  # the margin: 10% of the height on each side


def test_lights_dimmed_is_a_change_of_the_whole_frame(hall):
    dimmed = (hall * 0.7).astype(np.uint8)
    result = gate_on(hall).check(dimmed)
    assert result.changed
    assert result.regions == WHOLE_FRAME
    assert result.changed_fraction == 1.0


def test_a_new_frame_size_is_a_change_of_the_whole_frame(hall):
    smaller = cv2.resize(hall, (1280, 720))
    assert gate_on(hall).check(smaller).regions == ((0, 1280, 720, 0),)


def screen_mask(height: int, width: int) -> np.ndarray:
    """Everything but the projection screen, at any size with the frame's aspect ratio."""
    mask = np.ones((height, width), bool)
    scale = height / HEIGHT
    top, right, bottom, left = (round(v * scale) for v in SCREEN)
    mask[top:bottom, left:right] = False
    return mask


@pytest.mark.parametrize("mask_size", [(HEIGHT, WIDTH), (180, 320)])
def test_changes_on_an_excluded_screen_are_ignored(hall, mask_size):
    """The screen shows the central hall's video: its changes never trigger a recount."""
    new_picture = hall.copy()
    draw_person(new_picture, 960, 100, 40, (20, 30, 90))
    cv2.rectangle(new_picture, (710, 250), (1210, 320), (250, 200, 0), -1)
    assert gate_on(hall).check(new_picture).changed  # the change is visible without the ROI
    result = gate_on(hall, roi=screen_mask(*mask_size)).check(new_picture)
    assert not result.changed


def test_changes_outside_an_excluded_screen_still_count(hall):
    changed = hall.copy()
    person = draw_person(changed, 1030, 365, 18, (40, 40, 50))
    (region,) = gate_on(hall, roi=screen_mask(HEIGHT, WIDTH)).check(changed).regions
    assert contains(region, person)


def test_roi_mask_of_another_aspect_ratio_is_refused(hall):
    with pytest.raises(ValueError, match="aspect"):
        gate_on(hall, roi=np.ones((100, 100), bool))


def test_roi_mask_that_watches_nothing_is_refused():
    with pytest.raises(ValueError, match="watched"):
        Gate(roi=np.zeros((HEIGHT, WIDTH), bool))


def test_accept_moves_the_reference(hall):
    changed = hall.copy()
    draw_person(changed, 1030, 365, 18, (40, 40, 50))
    gate = gate_on(hall, when=100.0)
    assert gate.check(changed).changed
    gate.accept(changed, 160.0)
    result = gate.check(changed)
    assert not result.changed
    assert result.unchanged_since == 160.0
    assert gate.check(hall).changed
