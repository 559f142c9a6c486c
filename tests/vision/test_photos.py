"""Real photographs (face_recognition's own test photos) are counted exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attendance.enrolment.images import read_image
from attendance.vision.counter import QUALITIES, Counter

PHOTOS = sorted((Path(__file__).parents[1] / "data" / "photos").glob("*.jpg"))


@pytest.mark.parametrize("quality", QUALITIES)
def test_one_face_per_portrait(quality: str):
    counter = Counter(quality)
    for path in PHOTOS:
        assert counter.count(read_image(path)).count == 1, path.name


def test_several_people_side_by_side():
    """Three portraits in one picture: three faces, each inside its own portrait."""
    portraits = [read_image(PHOTOS[i]) for i in (0, 1, 3)]
    height = max(p.shape[0] for p in portraits)
    padded = [np.pad(p, ((0, height - p.shape[0]), (0, 20), (0, 0))) for p in portraits]
    group = np.concatenate(padded, axis=1)
    result = Counter().count(group)
    assert result.count == 3
    edges = np.cumsum([p.shape[1] for p in padded])
    centres = sorted((left + right) / 2 for _, right, _, left in result.boxes)
    assert [int(np.searchsorted(edges, c)) for c in centres] == [0, 1, 2]


def test_cnn_model_counts_a_portrait():
    """The CNN (mmod) detector, for sites that can afford it, on a small portrait."""
    portrait = read_image(PHOTOS[1])  # biden.jpg, 282×640
    small = portrait[::2, ::2].copy()
    result = Counter(model="cnn").count(small)
    assert result.count == 1
