"""ROI polygons: validation with clear errors, masks, and what they let through."""

import numpy as np
import pytest

from attendance.vision.roi import Roi, RoiError, from_pixels

SCREEN = ((0.4, 0.0), (0.6, 0.0), (0.6, 0.3), (0.4, 0.3))


def test_empty_roi_allows_everything():
    roi = Roi()
    assert roi.mask(90, 160).all()
    assert roi.bounds(90, 160) == (0, 160, 90, 0)


def test_exclusion_blanks_the_screen():
    roi = Roi(exclude=(SCREEN,))
    mask = roi.mask(100, 200)
    assert not mask[10, 100]
    assert mask[50, 100] and mask[10, 20]
    assert not roi.allows((5, 110, 25, 90), 100, 200)
    assert roi.allows((60, 110, 80, 90), 100, 200)


def test_include_limits_bounds():
    seats = ((0.0, 0.3), (1.0, 0.3), (1.0, 1.0), (0.0, 1.0))
    roi = Roi(include=(seats,))
    top, right, bottom, left = roi.bounds(100, 200)
    assert top == 30 and bottom == 100 and left == 0 and right == 200
    assert Roi(include=(seats,), exclude=(seats,)).bounds(100, 200) is None


def test_json_round_trip_and_pixels():
    roi = Roi.from_json({"exclude": [[[0.4, 0], [0.6, 0], [0.6, 0.3]]]})
    assert Roi.from_json(roi.to_json()) == roi
    assert from_pixels([(960, 540)], 1080, 1920) == ((0.5, 0.5),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object"),
        ({"exclude": [[[0, 0], [1, 1]]]}, r"exclude\[0\]: expected a polygon of at least 3"),
        ({"include": [[[0, 0], [1, 1], [2, 0]]]}, r"include\[0\]: point \[2, 0\] is not"),
        ({"include": "all"}, "include: expected a list"),
        ({"inclde": []}, "expected an object"),
    ],
)
def test_bad_roi_is_explained(data, message):
    with pytest.raises(RoiError, match=message):
        Roi.from_json(data)


def test_masks_are_cached_and_read_only():
    roi = Roi(exclude=(SCREEN,))
    assert roi.mask(50, 50) is roi.mask(50, 50)
    with pytest.raises(ValueError):
        roi.mask(50, 50)[0, 0] = True
    assert isinstance(roi.mask(50, 50), np.ndarray)
