"""Face boxes as face_recognition writes them: (top, right, bottom, left), pixels; a detector's
faces are boxes with a score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Face:
    box: Box
    score: float


def size(box: Box) -> int:
    """A face's size: the mean of its width and height."""
    top, right, bottom, left = box
    return (right - left + bottom - top) // 2


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    if bottom <= top or right <= left:
        return 0.0
    inter = (bottom - top) * (right - left)
    union = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter
    return inter / union


def match(
    found: Sequence[Box], truth: Sequence[Box], threshold: float = 0.3
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by IoU, best pairs first: (found index, truth index)."""
    if not found or not truth:
        return []
    scores = np.array([[iou(f, t) for t in truth] for f in found])
    pairs = []
    while True:
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        if scores[i, j] < threshold:
            return pairs
        pairs.append((int(i), int(j)))
        scores[i, :] = -1
        scores[:, j] = -1
