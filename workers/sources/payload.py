"""Checks on image bytes as cameras send them: complete JPEG or PNG, or a DECODE_ERROR."""

from __future__ import annotations

import cv2
import numpy as np

from workers.sources.base import GrabFailure, SourceError

JPEG_START = b"\xff\xd8"
JPEG_END = b"\xff\xd9"
PNG_START = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # a 4K JPEG is 1–3 MB; more is a broken or hostile camera
# Cameras pad frames with NULs or a line break after the end marker.
_PADDING = b"\0\r\n "


def image_format(data: bytes) -> str:
    """'jpeg' or 'png' if `data` is one complete image, else SourceError(DECODE_ERROR).

    Only the magic bytes and the end marker are checked: pixels are decoded later, in the
    worker pool. A JPEG cut short (dropped connection) lacks its FFD9 end marker.
    """
    if not data:
        raise SourceError(GrabFailure.DECODE_ERROR, "empty body: no image")
    tail = data.rstrip(_PADDING)
    if data.startswith(JPEG_START):
        if not tail.endswith(JPEG_END):
            raise SourceError(
                GrabFailure.DECODE_ERROR,
                f"truncated JPEG: {len(data)} bytes without the end-of-image marker",
            )
        return "jpeg"
    if data.startswith(PNG_START):
        if not tail.endswith(PNG_END):
            raise SourceError(GrabFailure.DECODE_ERROR, f"truncated PNG: {len(data)} bytes")
        return "png"
    raise SourceError(
        GrabFailure.DECODE_ERROR, f"not a JPEG or PNG image (starts with {data[:12]!r})"
    )


def decode_rgb(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes to RGB pixels (blocking: call through run_blocking)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(GrabFailure.DECODE_ERROR, "image data OpenCV cannot decode")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
