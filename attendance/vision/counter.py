"""Counting faces in a wide hall shot, spending detector pixels only where small faces are.

HOG finds faces of about its window size (80 px) and larger. Enlarging the whole frame until
the back row's 18 px faces reach that size costs 16× or more; instead the frame is cut into
overlapping horizontal bands and each band is enlarged only as much as its own smallest faces
need, which a site's `Perspective` predicts. Without a model (a new site, a single photo) a
coarse pass finds the larger faces, a model is fitted to them, and the bands it predicts to hold
smaller faces are searched at the scale they need.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from attendance.vision.boxes import Box, iou
from attendance.vision.detectors import WINDOW, Face, detect
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi

COARSE_FACE = 40  # px: the smallest face the cold-start pass is meant to find
MAX_COARSE_PIXELS = 1920 * 1080 * 4  # a larger photo is searched at a lower coarse scale


@dataclass(frozen=True)
class Level:
    """How hard to look: the detector size small faces are enlarged to, and the slack kept."""

    target: float  # px a band's smallest expected face is enlarged to
    envelope: float  # search for faces down to this share of the predicted size
    max_scale: float  # never enlarge more (bounds cost; faces needing more are missed)
    band_px: int  # height of a band after scaling
    threshold: float = 0.0  # detector score threshold


LEVELS = {
    "fast": Level(target=80, envelope=1.0, max_scale=2.7, band_px=320),
    "balanced": Level(target=80, envelope=0.8, max_scale=5.0, band_px=320),
    "thorough": Level(target=90, envelope=0.7, max_scale=6.0, band_px=400),
}


@dataclass(frozen=True)
class Band:
    """A part of the frame searched at one scale."""

    top: int
    right: int
    bottom: int
    left: int
    scale: float


@dataclass
class CountResult:
    faces: list[Face]
    scales: list[float]  # the scale each face was found at
    perspective: Perspective | None  # the site's model after this frame
    bands: list[Band] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds

    @property
    def count(self) -> int:
        return len(self.faces)

    @property
    def boxes(self) -> list[Box]:
        return [face.box for face in self.faces]

    @property
    def pixels(self) -> int:
        """Detector input pixels: what the frame cost, independent of the machine."""
        return sum(
            round((b.bottom - b.top) * b.scale) * round((b.right - b.left) * b.scale)
            for b in self.bands
        )


class Counter:
    """Counts faces in frames of one site; the site's Perspective is passed in and out."""

    def __init__(self, quality: str = "balanced", model: str = "hog", roi: Roi | None = None):
        if quality not in LEVELS:
            raise ValueError(f"quality must be one of {', '.join(LEVELS)}, not {quality!r}")
        if model not in WINDOW:
            raise ValueError(f"model must be one of {', '.join(WINDOW)}, not {model!r}")
        self.level = LEVELS[quality]
        self.model = model
        self.roi = roi or Roi()
        self.window_ratio = WINDOW[model] / WINDOW["hog"]

    def count(
        self,
        frame: np.ndarray,
        perspective: Perspective | None = None,
        regions: Sequence[Box] = (),
        previous: CountResult | None = None,
    ) -> CountResult:
        """Faces in `frame`. With `regions` and `previous`, only those regions are searched
        again and the previous faces elsewhere are kept (a regional recount)."""
        started = time.perf_counter()
        height, width = frame.shape[:2]
        area = self.roi.bounds(height, width)
        if area is None:
            return CountResult([], [], perspective, timings={"total": 0.0})
        regional = bool(regions) and previous is not None and perspective is not None
        if perspective is None:
            coarse = self._coarse_band(area)
            found = self._search(frame, coarse)
            fine = self._fine_bands(found, area)
            found += self._search_all(frame, fine)
            bands = [coarse, *fine]
        elif regional:
            bands = [b for r in regions for b in self._model_bands(perspective, _clip(r, area))]
            found = self._search_all(frame, bands) + _outside(previous, regions)
        else:
            bands = self._model_bands(perspective, area, margin_rows=True)
            found = self._search_all(frame, bands)
        kept = [(face, scale) for face, scale in _dedupe(found) if self._countable(face, frame)]
        faces = [face for face, _ in kept]
        model = Perspective.fit([face.box for face in faces]) or perspective
        total = (time.perf_counter() - started) * 1000
        return CountResult(faces, [s for _, s in kept], model, bands, {"total": round(total, 1)})

    # -- planning -------------------------------------------------------------------------

    def _coarse_band(self, area: Box) -> Band:
        """The whole area at the scale that brings COARSE_FACE-sized faces to the window."""
        top, right, bottom, left = area
        pixels = (bottom - top) * (right - left)
        scale = min(self.level.target / COARSE_FACE, (MAX_COARSE_PIXELS / pixels) ** 0.5)
        return Band(top, right, bottom, left, scale * self.window_ratio)

    def _fine_bands(self, coarse: list[tuple[Face, float]], area: Box) -> list[Band]:
        """After the coarse pass: bands where the fitted model predicts faces it could not see."""
        model = Perspective.fit([face.box for face, _ in coarse])
        if model is None:
            return []
        seen = COARSE_FACE * 1.1
        return [
            band
            for band in self._model_bands(model, area, margin_rows=True)
            if model.size_at(band.top) * self.level.envelope < seen
        ]

    def _model_bands(self, model: Perspective, area: Box, margin_rows: bool = False) -> list[Band]:
        """Overlapping bands from the top of `area` down, each scaled for its smallest faces."""
        top, right, bottom, left = area
        if margin_rows:  # nobody sits far above the back row seen so far
            top = max(top, int(model.top - 3 * model.size_at(model.top)))
        level, bands, y = self.level, [], float(top)
        while y < bottom:
            smallest = model.size_at(y) * level.envelope
            scale = min(level.max_scale, max(0.5, level.target / smallest)) * self.window_ratio
            height = max(level.band_px / scale, 2.5 * model.size_at(y))
            end = min(float(bottom), y + height)
            bands.append(Band(int(y), right, int(np.ceil(end)), left, scale))
            if end >= bottom:
                break
            overlap = 1.3 * model.size_at(end)  # a face cut by one band's edge is whole in the next
            y = max(y + 0.3 * height, end - overlap)
        return bands

    # -- searching ------------------------------------------------------------------------

    def _search_all(self, frame: np.ndarray, bands: list[Band]) -> list[tuple[Face, float]]:
        return [found for band in bands for found in self._search(frame, band)]

    def _search(self, frame: np.ndarray, band: Band) -> list[tuple[Face, float]]:
        crop = frame[band.top : band.bottom, band.left : band.right]
        if crop.size == 0:
            return []
        crop = self._blank_excluded(crop, band, frame.shape[:2])
        interpolation = cv2.INTER_LINEAR if band.scale >= 1 else cv2.INTER_AREA
        scaled = cv2.resize(crop, None, fx=band.scale, fy=band.scale, interpolation=interpolation)
        faces = detect(scaled, self.model, self.level.threshold)
        return [(_to_frame(face, band), band.scale) for face in faces]

    def _blank_excluded(self, crop: np.ndarray, band: Band, shape: tuple[int, int]) -> np.ndarray:
        """Flatten what the ROI excludes, so the detector finds nothing (and little work) there."""
        if not self.roi.exclude and not self.roi.include:
            return crop
        allowed = self.roi.mask(*shape)[band.top : band.bottom, band.left : band.right]
        if allowed.all():
            return crop
        blanked = crop.copy()
        blanked[~allowed] = crop.reshape(-1, crop.shape[-1]).mean(axis=0).astype(crop.dtype)
        return blanked

    def _countable(self, face: Face, frame: np.ndarray) -> bool:
        return self.roi.allows(face.box, *frame.shape[:2])


def _to_frame(face: Face, band: Band) -> Face:
    top, right, bottom, left = (round(v / band.scale) for v in face.box)
    return Face(
        (top + band.top, right + band.left, bottom + band.top, left + band.left), face.score
    )


def _clip(region: Box, area: Box) -> Box:
    return (
        max(region[0], area[0]),
        min(region[1], area[1]),
        min(region[2], area[2]),
        max(region[3], area[3]),
    )


def _centre_in(box: Box, region: Box) -> bool:
    y, x = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= y < region[2] and region[3] <= x < region[1]


def _outside(previous: CountResult, regions: Sequence[Box]) -> list[tuple[Face, float]]:
    """The previous faces that the regional recount did not search again."""
    return [
        (face, scale)
        for face, scale in zip(previous.faces, previous.scales, strict=True)
        if not any(_centre_in(face.box, region) for region in regions)
    ]


def _dedupe(found: list[tuple[Face, float]]) -> list[tuple[Face, float]]:
    """One face per person where overlapping bands found it twice: the higher score wins."""
    kept: list[tuple[Face, float]] = []
    for face, scale in sorted(found, key=lambda item: -item[0].score):
        if not any(_same(face.box, other.box) for other, _ in kept):
            kept.append((face, scale))
    return sorted(kept, key=lambda item: (item[0].box[0], item[0].box[3]))


def _same(a: Box, b: Box) -> bool:
    return iou(a, b) > 0.3 or _centre_in(a, b) or _centre_in(b, a)
