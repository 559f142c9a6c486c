"""The evidence image: a blurred face is lost to a face recogniser (real photographs), and the
image is deterministic, downscaled, and blanks the ROI's excluded regions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from attendance.enrolment.images import read_image
from attendance.vision.detectors import load_models
from attendance.vision.evidence import EvidenceStyle, evidence_jpeg
from attendance.vision.identify import encode_faces
from tests.helpers import PHOTOS

TOLERANCE = 0.6  # identify.tolerance: nearer than this is the same person
FULL_SIZE = 4000  # px: no downscaling, so boxes stay where the recogniser put them
PEOPLE = {"obama": ("obama", "obama2", "obama3"), "biden": ("biden",)}


@pytest.fixture(scope="module")
def api():
    load_models()  # the import, with its warnings silenced
    from face_recognition import api

    return api


def _photo(name: str) -> np.ndarray:
    return read_image(PHOTOS / f"{name}.jpg")


def _evidence(rgb: np.ndarray, boxes, blur: bool) -> np.ndarray:
    style = EvidenceStyle(max_width=FULL_SIZE, jpeg_quality=90, blur_faces=blur)
    jpeg = evidence_jpeg(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), boxes, style)
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("person", list(PEOPLE))
def test_a_blurred_face_is_neither_found_nor_recognised(api, person: str):
    """Without blur (the control) the evidence still shows the person; blurred, a recogniser
    finds no face, and the face where it was encodes as someone else than every photo of the
    person."""
    photo = _photo(person)
    boxes = api.face_locations(photo, number_of_times_to_upsample=1)
    assert len(boxes) == 1
    known = [encode_faces(p, api.face_locations(p, 1)) for p in map(_photo, PEOPLE[person])]

    sharp = _evidence(photo, boxes, blur=False)
    assert len(api.face_locations(sharp, number_of_times_to_upsample=1)) == 1
    assert np.linalg.norm(encode_faces(sharp, boxes)[0] - known[0][0]) < 0.3

    blurred = _evidence(photo, boxes, blur=True)
    assert api.face_locations(blurred, number_of_times_to_upsample=1) == []
    encoding = encode_faces(blurred, boxes)[0]
    distances = [float(np.linalg.norm(encoding - k[0])) for k in known]
    assert min(distances) > TOLERANCE, distances


def test_the_image_is_deterministic_downscaled_and_blanks_the_excluded_region():
    photo = cv2.cvtColor(_photo("obama"), cv2.COLOR_RGB2BGR)
    box = (100, 300, 250, 150)
    style = EvidenceStyle(max_width=320)
    screen = ((0.0, 0.0), (0.2, 0.0), (0.2, 0.2), (0.0, 0.2))
    jpeg = evidence_jpeg(photo, [box], style, [screen])
    assert jpeg == evidence_jpeg(photo, [box], style, [screen])
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (round(photo.shape[0] * 320 / photo.shape[1]), 320)
    assert np.abs(image[5:20, 5:20].astype(int) - 128).max() < 12, "the screen is blanked"
    small = evidence_jpeg(photo[:100, :200], [], style)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), 1).shape[:2] == (100, 200)
