"""Identification on real photographs (face_recognition's own test photos): matches, ambiguity,
unknown faces, enrollment photos with no face or several, and strangers."""

from __future__ import annotations

import numpy as np
import pytest

from attendance.enrolment.images import read_image
from attendance.vision.identify import (
    Decision,
    Gallery,
    PhotoError,
    Strangers,
    encode_faces,
    encode_photo,
    from_bytes,
    to_bytes,
)
from tests.helpers import PHOTOS, side_by_side


@pytest.fixture(scope="module")
def encodings() -> dict[str, np.ndarray]:
    return {path.stem: encode_photo(read_image(path)) for path in sorted(PHOTOS.glob("*.jpg"))}


def test_the_same_person_matches_and_another_does_not(encodings):
    gallery = Gallery(["obama", "biden"], [encodings["obama"], encodings["biden"]])
    verdicts = gallery.match(
        np.array([encodings["obama2"], encodings["obama3"], encodings["biden"]])
    )
    assert [(v.decision, v.label) for v in verdicts] == [
        (Decision.MATCH, "obama"),
        (Decision.MATCH, "obama"),
        (Decision.MATCH, "biden"),
    ]
    assert all(v.distance < 0.5 for v in verdicts)


def test_a_person_outside_the_gallery_is_unknown(encodings):
    gallery = Gallery(["obama", "obama"], [encodings["obama"], encodings["obama2"]])
    (verdict,) = gallery.match(encodings["biden"][None])
    assert verdict.decision == Decision.UNKNOWN and verdict.label is None
    assert verdict.distance > 0.6  # the nearest photo's distance is kept as evidence


def test_two_people_within_tolerance_without_the_margin_is_ambiguous(encodings):
    """Two photos of one man enrolled as two people: both are within tolerance of a third."""
    gallery = Gallery(["obama", "double"], [encodings["obama"], encodings["obama2"]])
    query = encodings["obama3"][None]
    (close_call,) = gallery.match(query, tolerance=0.6, margin=0.3)
    assert close_call.decision == Decision.AMBIGUOUS and close_call.label == "obama"
    (clear,) = gallery.match(query, tolerance=0.6, margin=0.0)
    assert clear.decision == Decision.MATCH and clear.label == "obama"


def test_several_photos_of_one_person_do_not_compete(encodings):
    """A person's own photos are never each other's rival: only another person's are."""
    gallery = Gallery(
        ["obama", "obama", "biden"], [encodings[k] for k in ("obama", "obama2", "biden")]
    )
    (verdict,) = gallery.match(encodings["obama3"][None], margin=0.3)
    assert verdict.decision == Decision.MATCH and verdict.label == "obama"


def test_an_empty_gallery_knows_nobody(encodings):
    (verdict,) = Gallery([], []).match(encodings["obama"][None])
    assert (verdict.decision, verdict.label, verdict.distance) == (Decision.UNKNOWN, None, None)


def test_encodings_of_given_boxes_and_their_stored_form(encodings):
    group = side_by_side(read_image(PHOTOS / "obama2.jpg"), read_image(PHOTOS / "biden.jpg"))
    obama_box, biden_box = (150, 236, 305, 81), (66, 215 + 354, 156, 126 + 354)
    found = encode_faces(group, [obama_box, biden_box])
    assert found.shape == (2, 128)
    gallery = Gallery(["obama", "biden"], [encodings["obama"], encodings["biden"]])
    assert [v.label for v in gallery.match(found)] == ["obama", "biden"]
    assert encode_faces(group, []).shape == (0, 128)
    stored = to_bytes(found[0])
    assert len(stored) == 128 * 8
    assert np.array_equal(from_bytes(stored), found[0])


def test_enrollment_photos_need_exactly_one_face():
    two = side_by_side(read_image(PHOTOS / "obama.jpg"), read_image(PHOTOS / "biden.jpg"))
    with pytest.raises(PhotoError, match="2 faces found"):
        encode_photo(two)
    gradient = np.repeat(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], 300, axis=0)
    with pytest.raises(PhotoError, match="no face found"):
        encode_photo(np.repeat(gradient, 3, axis=2))


def test_strangers_group_one_face_across_frames_but_never_within_one(encodings):
    strangers = Strangers(threshold=0.6, first_label=5)
    assert strangers.assign(encodings["biden"][None]) == [5]
    assert strangers.assign(encodings["obama"][None]) == [6]
    later = np.array([encodings["obama2"], encodings["biden"], encodings["obama3"]])
    # obama2 joins obama's stranger; obama3 in the same frame must be someone else.
    assert strangers.assign(later) == [6, 5, 7]
    assert strangers.assign(np.empty((0, 128))) == []
