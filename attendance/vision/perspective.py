"""A site's perspective: how big a face is at each image row.

A fixed camera looks down on rows of seats, so a face's size grows linearly with the row of its
centre (both scale with inverse depth on a flat floor). Fitted from the site's own detections,
the model tells the counter how much each band of the frame must be enlarged for its smallest
faces to reach the detector's window, and where no faces are to be expected at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from attendance.vision.boxes import Box, size

MIN_FACES = 5
OFF_LINE = np.log(1.35)  # a face 35% larger or smaller than the line predicts is left out
SMALLEST_FACE = 12  # px: below this a HOG face is noise, whatever a fit extrapolates


@dataclass(frozen=True)
class Perspective:
    """size(y) = intercept + slope·y over face-centre rows `top`..`bottom` seen so far."""

    intercept: float
    slope: float
    top: float
    bottom: float
    faces: int

    def size_at(self, y: float) -> float:
        return max(SMALLEST_FACE, self.intercept + self.slope * y)

    def to_json(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, float]) -> Perspective:
        return cls(**data)

    @classmethod
    def fit(cls, boxes: Sequence[Box], previous: Perspective | None = None) -> Perspective | None:
        """Robust line through (centre row, size); None when the faces cannot support one.

        The rows seen only grow beyond `previous`'s: an empty back row in one frame must not
        stop the next frames from looking there."""
        if len(boxes) < MIN_FACES:
            return None
        y = np.array([(top + bottom) / 2 for top, _, bottom, _ in boxes])
        s = np.array([size(box) for box in boxes], dtype=np.float64)
        if np.ptp(y) < 2 * np.median(s):
            return None  # one row only: no slope to learn
        keep = np.ones(len(y), bool)
        while True:  # drop the face furthest off the line (a child, a standing person), refit
            slope, intercept = np.polyfit(y[keep], s[keep], 1)
            predicted = np.maximum(intercept + slope * y, 1.0)
            residual = np.where(keep, np.abs(np.log(s / predicted)), 0)
            worst = int(np.argmax(residual))
            if residual[worst] < OFF_LINE:
                break
            keep[worst] = False
            if keep.sum() < MIN_FACES:
                return None
        top, bottom = float(y[keep].min()), float(y[keep].max())
        if previous is not None:
            top, bottom = min(top, previous.top), max(bottom, previous.bottom)
        return cls(float(intercept), float(slope), top, bottom, int(keep.sum()))
