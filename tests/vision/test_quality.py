"""Frame quality flags on synthetic 1920×1080 scenes: each fires on its case and only there."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from attendance.vision.quality import BLURRED, DARK, FACES_TOO_SMALL, FROZEN, assess

HEIGHT, WIDTH = 1080, 1920
BLUR_SIGMA = 4.5  # px at 1080p: heavily out of focus


def scene(people: int, seed: int = 3) -> np.ndarray:
    """A lightly textured wall with `people` head-and-shoulder shapes in varied colours."""
    rng = np.random.default_rng(seed)
    texture = cv2.resize(rng.normal(0, 6, (HEIGHT // 16, WIDTH // 16, 3)).astype(np.float32),
                         (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)  # fmt: skip
    frame = np.clip(np.array([185, 175, 155], np.float32) + texture, 0, 255).astype(np.uint8)
    for _ in range(people):
        x, y = int(rng.integers(60, WIDTH - 60)), int(rng.integers(350, HEIGHT - 120))
        face = int(rng.integers(18, 60))
        cv2.rectangle(frame, (x - face, y + face // 2), (x + face, y + 3 * face),
                      rng.integers(20, 235, 3).tolist(), -1)  # fmt: skip
        cv2.ellipse(frame, (x, y), (face // 2, face * 2 // 3), 0, 0, 360, (205, 160, 125), -1)
    frame.flags.writeable = False
    return frame


@pytest.fixture(scope="module")
def hall() -> np.ndarray:
    return scene(people=150)


@pytest.fixture(scope="module")
def bare_wall() -> np.ndarray:
    """Mostly uniform: a handful of people against a plain wall."""
    return scene(people=4)


def noisy(frame: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(frame.shape, np.float32) * sigma
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def blurred(frame: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), BLUR_SIGMA)


def test_a_normal_textured_scene_has_no_flags(hall):
    previous = assess(noisy(hall, 3, seed=1))
    quality = assess(noisy(hall, 3, seed=2), previous.thumb, face_sizes=[30, 40, 52], min_face=20)
    assert quality.flags == ()
    assert 100 < quality.brightness < 200


def test_a_black_frame_is_dark(hall):
    quality = assess(noisy(np.zeros_like(hall), 3, seed=1))
    assert quality.flags == (DARK,)  # dark only: no sharpness to judge, no separate blur flag
    assert quality.brightness < 5


def test_a_black_frame_with_an_on_screen_clock_is_dark(hall):
    frame = np.zeros_like(hall)
    cv2.putText(frame, "CAM 03  2024-05-01 09:00:00", (40, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5,
                (255, 255, 255), 3)  # fmt: skip
    assert DARK in assess(frame).flags


def test_a_dim_but_lit_scene_is_not_dark(hall):
    dim = noisy((hall * 0.25).astype(np.uint8), 3, seed=1)
    quality = assess(dim)
    assert quality.flags == ()
    assert quality.brightness < 50


def test_a_repeated_frame_is_frozen(hall):
    frame = noisy(hall, 3, seed=1)
    assert FROZEN in assess(frame.copy(), assess(frame).thumb).flags


def test_a_still_scene_with_sensor_noise_is_not_frozen(hall):
    """Nobody moved, but a live camera's noise differs from frame to frame."""
    previous = assess(noisy(hall, 1, seed=1))
    assert FROZEN not in assess(noisy(hall, 1, seed=2), previous.thumb).flags


def test_a_frame_of_another_size_is_not_frozen(hall):
    previous = assess(cv2.resize(hall, (1280, 720)))
    assert FROZEN not in assess(hall, previous.thumb).flags


def test_an_out_of_focus_scene_is_blurred(hall):
    quality = assess(noisy(blurred(hall), 3, seed=1))
    assert quality.flags == (BLURRED,)
    assert quality.sharpness < assess(hall).sharpness / 2


def test_a_slightly_soft_camera_is_not_blurred(hall):
    soft = cv2.GaussianBlur(hall, (0, 0), 1.5)
    assert BLURRED not in assess(noisy(soft, 3, seed=1)).flags


def test_a_sharp_bare_wall_is_not_blurred(bare_wall):
    """Few edges are not blur: sharpness measures how steep edges are, not how many."""
    assert BLURRED not in assess(noisy(bare_wall, 3, seed=1)).flags


def test_an_out_of_focus_bare_wall_is_blurred(bare_wall):
    assert BLURRED in assess(noisy(blurred(bare_wall), 3, seed=1)).flags


def test_a_blank_picture_is_blurred(hall):
    """A "no signal" screen has no detail to count faces in."""
    quality = assess(np.full_like(hall, (30, 60, 160)))
    assert quality.flags == (BLURRED,)
    assert quality.sharpness == 0.0


@pytest.mark.parametrize(
    ("sizes", "flagged"),
    [([17, 18, 19, 22, 40], True), ([19, 24, 26, 30], False), ([30, 40, 55], False), ([], False)],
)
def test_faces_near_the_detector_limit_are_too_small(hall, sizes, flagged):
    """With 16 px the smallest reliable face, a median under 20 px means many were missed."""
    quality = assess(hall, face_sizes=sizes, min_face=16)
    assert (FACES_TOO_SMALL in quality.flags) == flagged


def test_face_sizes_need_the_detector_limit(hall):
    with pytest.raises(ValueError, match="min_face"):
        assess(hall, face_sizes=[20, 30])


def test_the_thumb_is_small_enough_to_keep_per_site(hall):
    assert assess(hall).thumb.nbytes <= 16_000
