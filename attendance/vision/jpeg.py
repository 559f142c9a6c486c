"""Decoding a JPEG at the size a task needs: the decoder scales by 1/2, 1/4 or 1/8 almost for
free (it skips the fine DCT coefficients), so screening a 1080p frame costs a fraction of a
full decode. The frame's full size comes from its header, without decoding it."""

from __future__ import annotations

import cv2
import numpy as np

REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
           (2, cv2.IMREAD_REDUCED_COLOR_2))  # fmt: skip
# Start-of-frame markers (baseline, extended, progressive, lossless…); not DHT, JPG or DAC.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the JPEG header, or None when it is not a readable JPEG."""
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF:
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return (width, height) if width and height else None
        if length < 2:
            return None
        at += 2 + length
    return None


def decode_at_least(data: bytes, min_width: int) -> tuple[np.ndarray | None, int]:
    """BGR pixels at the largest decoder reduction that keeps `min_width` pixels across (the
    full frame when the header is unreadable), and the reduction (1, 2, 4 or 8)."""
    buffer = np.frombuffer(data, np.uint8)
    size = jpeg_size(data)
    for factor, flag in REDUCED:
        if size is not None and size[0] // factor >= min_width:
            pixels = cv2.imdecode(buffer, flag)
            expected = (-(-size[1] // factor), -(-size[0] // factor))
            if pixels is not None and pixels.shape[:2] == expected:
                return pixels, factor
            break  # a header that lies: decode it all
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR), 1
