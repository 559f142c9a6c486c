"""The vision stack installs without compiling dlib (dlib-bin) and its models load offline."""

from __future__ import annotations

import warnings

import numpy as np
from skimage import data


def test_face_recognition_finds_and_encodes_a_real_face():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pkg_resources notice in the models package
        import face_recognition

    image = np.ascontiguousarray(data.astronaut())
    boxes = face_recognition.face_locations(image, number_of_times_to_upsample=0)
    assert len(boxes) == 1
    top, right, bottom, left = boxes[0]
    assert 60 < right - left < 120  # her face is about 90 px wide, centred near (222, 126)
    assert abs((left + right) / 2 - 222) < 25 and abs((top + bottom) / 2 - 126) < 25
    (encoding,) = face_recognition.face_encodings(image, boxes)
    assert encoding.shape == (128,)


def test_opencv_decodes_jpeg():
    import cv2

    ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 200, np.uint8))
    assert ok
    frame = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert frame.shape == (90, 160, 3)
    assert abs(int(frame.mean()) - 200) <= 2
