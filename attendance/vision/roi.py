"""Regions of interest: where a site's people sit, and what must never be counted.

Polygons are in frame-relative coordinates (0..1), so a site keeps its ROI when its stream
changes resolution. Excluded regions (above all a projection screen or TV showing the central
hall or other sites) are blanked before detection, which also saves their detection time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from attendance.vision.boxes import Box

Polygon = tuple[tuple[float, float], ...]


class RoiError(ValueError):
    """An ROI definition is malformed; the message says where and what was expected."""


@dataclass(frozen=True)
class Roi:
    include: tuple[Polygon, ...] = ()  # empty: the whole frame
    exclude: tuple[Polygon, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Roi:
        """{"include": [[[x, y], …], …], "exclude": […]}, coordinates 0..1."""
        if not isinstance(data, dict) or set(data) - {"include", "exclude"}:
            raise RoiError('expected an object with "include" and/or "exclude" lists of polygons')
        return cls(
            include=_polygons(data.get("include", []), "include"),
            exclude=_polygons(data.get("exclude", []), "exclude"),
        )

    def to_json(self) -> dict[str, list]:
        return {"include": [list(map(list, p)) for p in self.include],
                "exclude": [list(map(list, p)) for p in self.exclude]}  # fmt: skip

    def mask(self, height: int, width: int) -> np.ndarray:
        """H×W bool array, True where faces may be counted."""
        return _mask(self, height, width)

    def bounds(self, height: int, width: int) -> Box | None:
        """The smallest box around everything countable, or None if nothing is."""
        rows = np.flatnonzero(self.mask(height, width).any(axis=1))
        cols = np.flatnonzero(self.mask(height, width).any(axis=0))
        if not len(rows):
            return None
        return int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1, int(cols[0])

    def allows(self, box: Box, height: int, width: int) -> bool:
        """Whether a face box's centre lies in the countable area."""
        top, right, bottom, left = box
        y = min(max((top + bottom) // 2, 0), height - 1)
        x = min(max((left + right) // 2, 0), width - 1)
        return bool(self.mask(height, width)[y, x])


@lru_cache(maxsize=64)
def _mask(roi: Roi, height: int, width: int) -> np.ndarray:
    scale = np.array([width, height], dtype=np.float64)
    mask = np.zeros((height, width), np.uint8)
    if roi.include:
        for polygon in roi.include:
            cv2.fillPoly(mask, [np.round(np.array(polygon) * scale).astype(np.int32)], 1)
    else:
        mask[:] = 1
    for polygon in roi.exclude:
        cv2.fillPoly(mask, [np.round(np.array(polygon) * scale).astype(np.int32)], 0)
    result = mask.astype(bool)
    result.flags.writeable = False
    return result


def _polygons(value: Any, key: str) -> tuple[Polygon, ...]:
    if not isinstance(value, list):
        raise RoiError(f"{key}: expected a list of polygons")
    polygons = []
    for index, polygon in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(polygon, Sequence) or len(polygon) < 3:
            raise RoiError(f"{where}: expected a polygon of at least 3 [x, y] points")
        points = []
        for point in polygon:
            if (
                not isinstance(point, Sequence)
                or len(point) != 2
                or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in point)
            ):
                raise RoiError(f"{where}: point {point!r} is not [x, y] with 0 <= x, y <= 1")
            points.append((float(point[0]), float(point[1])))
        polygons.append(tuple(points))
    return tuple(polygons)


def from_pixels(polygon: Sequence[tuple[float, float]], height: int, width: int) -> Polygon:
    """A pixel polygon (as the hall generator reports its screen) in relative coordinates."""
    return tuple((x / width, y / height) for x, y in polygon)
