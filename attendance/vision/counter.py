"""Counting faces in a wide hall shot, spending detector pixels only where small faces are.

Each detector finds faces well from some size up (`Profile.window`: CenterFace ~20 px, HOG
80 px). A hall's back row holds faces of 17 px and its front row 70 px; searching the whole frame
at the scale the back row needs wastes most of the work on the front. Instead the frame is cut
into overlapping horizontal bands and each band is scaled (enlarged or shrunk) only as much as
its own smallest faces need, which a site's `Perspective` predicts. Without a model (a new site,
a single photo) a coarse pass finds the larger faces, a model is fitted to them, and the bands it
predicts to hold smaller faces are searched at the scale they need.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from attendance.vision.boxes import Box, Face, iou
from attendance.vision.detectors import DEFAULT_MODEL, MODELS, detect, prepare
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi

SWEEP_FACE_SHARE = 0.016  # back-row faces in a wide 1080p hall shot: ~17 px, 1.6% of its height
SMALLEST_SWEPT = 12  # px
MARGIN_ROWS = 1.0  # searched above the highest face seen, in face sizes there
EXPLORE_ROWS = 3.0  # a cold start looks this many face sizes above the highest face yet
MAX_EXPLORE_STEPS = 8
OVERLAP = 1.0  # bands overlap by this many face sizes, so a face cut by one is whole in the next


@dataclass(frozen=True)
class Level:
    """How hard to look: the detector size small faces are scaled to, and the slack kept."""

    target: float  # px the face size a band's model predicts is scaled to
    max_scale: float  # never enlarge more (bounds cost; faces needing more are missed)
    threshold: float  # detector score threshold
    band_px: int = 320  # height of a band after scaling
    min_scale: float = 0.5  # never shrink more (large faces lose their features)


@dataclass(frozen=True)
class Profile:
    """What the counter must know of a detector to plan its bands."""

    window: float  # px: the smallest face it finds reliably at scale 1
    coarse_max: float  # a cold start's first pass: at most this scale ...
    coarse_pixels: int  # ... and at most this many detector pixels
    calibration: Level  # a site's first frame, and the periodic refresh, search harder
    levels: dict[str, Level]
    coarse_threshold: float | None = None  # the first pass's, when not the calibration's


# HOG: tuned with `attendance bench detect` on 1920×1080 halls (faces 17–70 px). On an enlarged
# band it still finds faces a little under its 80 px window when its score threshold is lowered,
# and precision stayed at 1.0 down to -0.7.
HOG = Profile(
    window=80,
    coarse_max=2.0,
    coarse_pixels=1920 * 1080 * 4,
    calibration=Level(target=100, max_scale=5.0, threshold=-0.3),
    levels={
        "fast": Level(target=55, max_scale=2.0, threshold=-0.7),  # faces ≥ ~28 px
        "balanced": Level(target=55, max_scale=5.0, threshold=-0.7),
        "thorough": Level(target=65, max_scale=6.0, threshold=-0.6),
    },
)
# The dlib CNN's window is 50 px: HOG's plan at 5/8 of the scale.
CNN = Profile(
    window=50,
    coarse_max=1.25,
    coarse_pixels=1920 * 1080 * 2,
    calibration=Level(target=62, max_scale=3.1, threshold=0.0),
    levels={
        "fast": Level(target=34, max_scale=1.25, threshold=0.0),
        "balanced": Level(target=34, max_scale=3.1, threshold=0.0),
        "thorough": Level(target=41, max_scale=3.75, threshold=0.0),
    },
)
# CenterFace: tuned with `attendance bench real` on WIDER photos and `bench detect` on halls.
# Its first pass at scale ≤ 1 keeps faces from 0.4; in enlarged bands 0.4 let false faces through
# (precision 0.953 on the photos), 0.5 kept 0.964 for 0.01 less recall of faces ≥ 24 px.
# With a site's perspective known, bands scaled so the smallest face is 16 px found as many faces
# on the halls as 20 or 26 px (CenterFace is not better for larger faces) at 0.7 of the cost, and
# a threshold of 0.35 kept precision at 1.0 on the default halls.
CENTERFACE = Profile(
    window=20,
    coarse_max=1.0,
    coarse_pixels=1024 * 800,
    coarse_threshold=0.4,
    calibration=Level(target=22, max_scale=2.5, threshold=0.5, band_px=384, min_scale=0.3),
    levels={
        "fast": Level(target=12, max_scale=1.0, threshold=0.35, band_px=384, min_scale=0.2),
        "balanced": Level(target=16, max_scale=2.5, threshold=0.35, band_px=384, min_scale=0.3),
        "thorough": Level(target=20, max_scale=3.0, threshold=0.3, band_px=384, min_scale=0.3),
    },
)
PROFILES = {"centerface": CENTERFACE, "hog": HOG, "cnn": CNN}
QUALITIES = tuple(HOG.levels)


def level(model: str, quality: str) -> Level:
    return PROFILES[model].levels[quality]


@dataclass(frozen=True)
class Band:
    """A part of the frame searched at one scale."""

    top: int
    right: int
    bottom: int
    left: int
    scale: float
    threshold: float = 0.0  # detector score threshold


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

    def __init__(
        self, quality: str = "balanced", model: str = DEFAULT_MODEL, roi: Roi | None = None
    ):
        if quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
        self.profile = PROFILES[model]
        self.level = self.profile.levels[quality]
        self.model = model
        self.roi = roi or Roi()

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
        frame = prepare(self.model, frame)
        area = self.roi.bounds(height, width)
        if area is None:
            return CountResult([], [], perspective, timings={"total": 0.0})
        regional = bool(regions) and previous is not None and perspective is not None
        if perspective is None:
            bands, found = self._calibrate(frame, area)
        elif regional:
            bands = [
                band
                for region in regions
                for band in self._model_bands(
                    perspective, _clip(_grow(region, perspective), area), self.level
                )
            ]
            found = self._search_all(frame, bands) + _outside(previous, regions)
        else:
            bands = self._model_bands(perspective, area, self.level, margin_rows=True)
            found = self._search_all(frame, bands)
        kept = [(face, scale) for face, scale in _dedupe(found) if self._countable(face, frame)]
        faces = [face for face, _ in kept]
        model = Perspective.fit([face.box for face in faces], perspective) or perspective
        total = (time.perf_counter() - started) * 1000
        return CountResult(faces, [s for _, s in kept], model, bands, {"total": round(total, 1)})

    # -- planning -------------------------------------------------------------------------

    def _calibrate(self, frame: np.ndarray, area: Box) -> tuple[list[Band], list]:
        """A cold start: coarse pass, then the bands its model predicts, then upwards."""
        coarse = self._coarse_band(area)
        found = self._search(frame, coarse)
        fine = self._fine_bands(found, area, coarse.scale)
        found += self._search_all(frame, fine)
        bands = [coarse, *fine, *self._explore_up(frame, found, area)]
        if Perspective.fit([face.box for face, _ in found]) is None:
            # Too few faces to learn where small ones are (a nearly empty hall): look
            # everywhere for faces down to a back-row size, once, rather than miss them.
            sweep = self._sweep_band(area, frame.shape[0])
            found += self._search(frame, sweep)
            bands.append(sweep)
        return bands, found

    def _coarse_band(self, area: Box) -> Band:
        """The whole area at the largest scale the profile's coarse budget allows."""
        top, right, bottom, left = area
        pixels = (bottom - top) * (right - left)
        scale = min(self.profile.coarse_max, (self.profile.coarse_pixels / pixels) ** 0.5)
        threshold = self.profile.coarse_threshold
        if threshold is None:
            threshold = self.profile.calibration.threshold
        return Band(top, right, bottom, left, scale, threshold)

    def _sweep_band(self, area: Box, frame_height: int) -> Band:
        top, right, bottom, left = area
        smallest = max(SMALLEST_SWEPT, SWEEP_FACE_SHARE * frame_height)
        calibration = self.profile.calibration
        return Band(
            top, right, bottom, left, self._scale(smallest, calibration), calibration.threshold
        )

    def _fine_bands(
        self, coarse: list[tuple[Face, float]], area: Box, coarse_scale: float
    ) -> list[Band]:
        """After the coarse pass: bands where the fitted model predicts faces it could not see."""
        model = Perspective.fit([face.box for face, _ in coarse])
        if model is None:
            return []
        seen = self.profile.window / coarse_scale * 1.1
        return [
            band
            for band in self._model_bands(model, area, self.profile.calibration, margin_rows=True)
            if model.size_at(band.top) < seen
        ]

    def _explore_up(self, frame: np.ndarray, found: list, area: Box) -> list[Band]:
        """Search above the highest face seen until a band there finds nobody higher.

        Adds what it finds to `found`; returns the bands it searched."""
        bands: list[Band] = []
        for _ in range(MAX_EXPLORE_STEPS):
            model = Perspective.fit([face.box for face, _ in found])
            if model is None:
                break
            size = model.size_at(model.top)
            top = max(area[0], int(model.top - EXPLORE_ROWS * size))
            bottom = int(model.top + size)
            if bottom - top < 2 * size:
                break
            calibration = self.profile.calibration
            band = Band(
                top, area[1], bottom, area[3], self._scale(size, calibration), calibration.threshold
            )
            bands.append(band)
            new = self._search(frame, band)
            found += new
            if not any((f.box[0] + f.box[2]) / 2 < model.top - size / 2 for f, _ in new):
                break
        return bands

    def _scale(self, size: float, level: Level) -> float:
        """How much to enlarge a region whose smallest faces are `size` px."""
        return min(level.max_scale, max(level.min_scale, level.target / size))

    def _model_bands(
        self, model: Perspective, area: Box, level: Level, margin_rows: bool = False
    ) -> list[Band]:
        """Overlapping bands from the top of `area` down, each scaled for its smallest faces."""
        top, right, bottom, left = area
        if margin_rows:  # nobody sits above the back row seen so far
            top = max(top, int(model.top - MARGIN_ROWS * model.size_at(model.top)))
        bands, y = [], float(top)
        while y < bottom:
            # Above the back row the line only extrapolates: do not chase ever smaller faces.
            scale = self._scale(model.size_at(max(y, model.top)), level)
            height = max(level.band_px / scale, 2.5 * model.size_at(y))
            end = min(float(bottom), y + height)
            bands.append(Band(int(y), right, int(np.ceil(end)), left, scale, level.threshold))
            if end >= bottom:
                break
            overlap = OVERLAP * model.size_at(
                end
            )  # a face cut by one band's edge is whole in the next
            y = max(y + 0.3 * height, end - overlap)
        return bands

    # -- searching ------------------------------------------------------------------------

    def _search_all(self, frame: np.ndarray, bands: list[Band]) -> list[tuple[Face, float]]:
        return [found for band in bands for found in self._search(frame, band)]

    def _search(self, frame: np.ndarray, band: Band) -> list[tuple[Face, float]]:
        region = (band.top, band.right, band.bottom, band.left)
        faces = detect(
            self.model, self._blank_excluded(frame, band), region, band.scale, band.threshold
        )
        return [(face, band.scale) for face in faces]

    def _blank_excluded(self, frame: np.ndarray, band: Band) -> np.ndarray:
        """Flatten what the ROI excludes, so the detector finds nothing (and little work) there."""
        if not self.roi.exclude and not self.roi.include:
            return frame
        rows, columns = slice(band.top, band.bottom), slice(band.left, band.right)
        allowed = self.roi.mask(*frame.shape[:2])[rows, columns]
        if allowed.all():
            return frame
        blanked = frame.copy()
        crop = blanked[rows, columns]
        crop[~allowed] = crop.mean(axis=(0, 1)).astype(crop.dtype)
        return blanked

    def _countable(self, face: Face, frame: np.ndarray) -> bool:
        return self.roi.allows(face.box, *frame.shape[:2])


def _grow(region: Box, model: Perspective) -> Box:
    """A region plus a face size on every side, so a face centred near its edge is whole."""
    top, right, bottom, left = region
    margin = round(model.size_at(bottom))
    return top - margin, right + margin, bottom + margin, left - margin


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
