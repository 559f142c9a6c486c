"""The evidence image of a counted frame: downscaled, every counted face blurred, its box drawn.

Auditors need to see what was counted; they need not recognise anyone in it, and faces are
personal data. A Gaussian blur alone can in principle be undone (it is a known convolution), so
a face is first reduced to a few pixels, which throws its detail away for good, and then
smoothed back to its size: it looks like a strong blur, and neither a person nor a face
recogniser gets the face back. Faces the counter missed are not blurred. The ROI's excluded
regions (a screen showing other halls) are blanked, as they were for the counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from attendance.vision.boxes import Box
from attendance.vision.roi import Polygon

GROW = 0.25  # each side of a face box grows by this share of its size: hair, ears and chin too
BLUR_CELLS = 5  # a blurred face keeps at most this many pixels across before smoothing
BOX_COLOUR = (0, 180, 245)  # BGR of the dashboard's amber (#f5b400)
BLANK = (128, 128, 128)


@dataclass(frozen=True)
class EvidenceStyle:
    max_width: int = 960
    jpeg_quality: int = 70
    blur_faces: bool = True


def evidence_jpeg(
    bgr: np.ndarray,
    boxes: Sequence[Box],
    style: EvidenceStyle,
    excluded: Sequence[Polygon] = (),
) -> bytes:
    """The evidence JPEG of a BGR frame, the face boxes counted in it (frame pixels) and the
    ROI's excluded polygons (relative). Deterministic: the same input gives the same bytes, so
    the same file name."""
    scale = min(1.0, style.max_width / bgr.shape[1])
    if scale < 1:
        image = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    else:
        image = bgr.copy()
    size = np.array([image.shape[1], image.shape[0]])
    for polygon in excluded:
        cv2.fillPoly(image, [np.round(np.array(polygon) * size).astype(np.int32)], BLANK)
    scaled = [tuple(round(side * scale) for side in box) for box in boxes]
    if style.blur_faces:
        for box in scaled:
            blur_face(image, box)
    thickness = max(1, round(image.shape[1] / 480))
    for top, right, bottom, left in scaled:
        cv2.rectangle(image, (left, top), (right, bottom), BOX_COLOUR, thickness)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} frame as JPEG")
    return jpeg.tobytes()


def blur_face(image: np.ndarray, box: Box) -> None:
    """Blur the face in `box` (grown by GROW on each side) in place, beyond recognition."""
    top, right, bottom, left = grown(box, image.shape[0], image.shape[1])
    region = image[top:bottom, left:right]
    height, width = region.shape[:2]
    if height < 2 or width < 2:
        return
    cells = max(1, round(BLUR_CELLS * min(width, height) / max(width, height)))
    across = (BLUR_CELLS, cells) if width >= height else (cells, BLUR_CELLS)
    coarse = cv2.resize(region, across, interpolation=cv2.INTER_AREA)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    sigma = max(width, height) / BLUR_CELLS / 2  # hides the cells' grid
    region[:] = cv2.GaussianBlur(smooth, (0, 0), sigma)


def grown(box: Box, height: int, width: int) -> Box:
    """`box` grown by GROW of its size on every side, clipped to the image."""
    top, right, bottom, left = box
    dy, dx = round((bottom - top) * GROW), round((right - left) * GROW)
    return max(0, top - dy), min(width, right + dx), min(height, bottom + dy), max(0, left - dx)
