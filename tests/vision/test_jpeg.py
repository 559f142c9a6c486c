"""Reduced JPEG decoding for screening, and the frame size read from the header."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from attendance.vision.jpeg import decode_at_least, jpeg_size
from tests.helpers import PHOTOS


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (961, 541), (640, 360), (300, 200)])
def test_header_size_and_the_largest_reduction_keeping_the_width(width, height, progressive):
    photo = cv2.imread(str(PHOTOS / "obama.jpg"))
    frame = cv2.resize(photo, (width, height))
    flags = [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    jpeg = cv2.imencode(".jpg", frame, flags)[1].tobytes()
    assert jpeg_size(jpeg) == (width, height)
    pixels, reduction = decode_at_least(jpeg, 480)
    assert reduction == {1920: 4, 961: 2, 640: 1, 300: 1}[width]
    assert pixels.shape[:2] == (-(-height // reduction), -(-width // reduction))
    full = cv2.resize(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR),
                      pixels.shape[1::-1], interpolation=cv2.INTER_AREA)  # fmt: skip
    assert np.abs(full.astype(int) - pixels).mean() < 6  # the same picture, smaller


def test_not_a_jpeg_has_no_size_and_decodes_as_whatever_it_is():
    png = cv2.imencode(".png", np.zeros((40, 60, 3), np.uint8))[1].tobytes()
    assert jpeg_size(png) is None and jpeg_size(b"\xff\xd8\xff") is None
    pixels, reduction = decode_at_least(png, 480)
    assert pixels.shape == (40, 60, 3) and reduction == 1
    assert decode_at_least(b"garbage", 480) == (None, 1)
