"""The scene-change gate: is a new frame worth counting again, and where did it change?

Face detection costs 0.2–3.5 s per 1080p frame; this check costs ~0.3 ms on a still scene
and ~1 ms when something moved. It compares a small, lightly smoothed grayscale thumbnail of
the new frame with that of the last frame that was actually counted (the reference), and
reports connected blobs of changed thumbnail pixels: one person arriving in the back row of a
wide hall is a blob of a few dozen thumbnail pixels, which a global mean difference would
drown, while sensor noise and JPEG re-compression change no pixel by more than a few grey
levels once smoothed.

The gate only reports. The caller decides what to do with that: reuse the last count, recount
the changed regions, recount everything, and when to recount regardless of the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from attendance.vision.boxes import Box

# Smoothing: INTER_LINEAR at 1920→320 averages 2×2 source pixels and the 3×3 Gaussian blur
# spreads that over the thumbnail; together they cut sensor noise σ≈4 to below 1 grey level
# for ~0.3 ms. INTER_AREA averages every pixel but costs 2.9 ms (10 ms at non-integer ratios).
SMOOTHING_KERNEL = (3, 3)
# Noise and JPEG q70–90 round trips change thumbnail pixels by at most 4 grey levels; a seated
# person in front of seats or wall changes them by 20–90.
PIXEL_THRESHOLD = 12
# One back-row person (16–18 px face and body at 1080p, partly hidden by the row in front)
# changes 16–150 connected thumbnail pixels at width 320 (median ~60 on synthetic halls);
# 10 pixels (≈ 360 frame pixels, a 19×19 patch) is about one such face.
MIN_BLOB_PIXELS = 10
MARGIN = 0.1  # of the frame height: room around a blob for a whole face and body
# Beyond these the whole scene changed (lights, camera moved, everyone stood up): recount all.
GLOBAL_CHANGE_SHARE = 0.25  # of the watched thumbnail pixels
LIGHTING_SHIFT = 8.0  # grey levels of mean brightness; one person moves the mean by < 0.2
ASPECT_TOLERANCE = 0.02  # an ROI mask's aspect ratio may differ from the frame's by this much
_NEIGHBOURS = np.ones((3, 3), np.uint8)  # a pixel and its 8 neighbours, for morphology


@dataclass(frozen=True)
class GateResult:
    changed: bool
    score: float  # share of watched thumbnail pixels over the pixel threshold, for logs/metrics
    # Where to recount, in frame pixels (right and bottom exclusive), merged so none overlap;
    # empty when unchanged, the whole frame after a global change.
    regions: tuple[Box, ...]
    changed_fraction: float  # share of the frame area the regions cover
    unchanged_since: float | None  # the reference frame's timestamp when unchanged, else None
    # The checked frame's thumbnail, so `accept_checked` can adopt it without the frame.
    thumb: np.ndarray | None = field(default=None, repr=False, compare=False)
    frame_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class _Reference:
    thumb: np.ndarray
    frame_shape: tuple[int, ...]
    watched: np.ndarray  # uint8 0/255 at thumbnail size: where changes count
    watched_pixels: int
    timestamp: float


class Gate:
    """Compares frames of one camera with the last frame that was counted.

    `roi`: optional bool/uint8 array, nonzero where changes count (e.g. `Roi.mask(h, w)` with
    its projection screen excluded), at frame size or any size of the same aspect ratio.
    `pixel_threshold` is in grey levels, `min_blob_pixels` in thumbnail pixels; `margin` is the
    least a blob is grown by on every side, as a share of the frame height.
    """

    def __init__(
        self,
        thumb_width: int = 320,
        pixel_threshold: int = PIXEL_THRESHOLD,
        min_blob_pixels: int = MIN_BLOB_PIXELS,
        margin: float = MARGIN,
        roi: np.ndarray | None = None,
    ):
        if roi is not None and (roi.ndim != 2 or not roi.any()):
            raise ValueError("roi must be a 2-D mask with at least one watched (nonzero) pixel")
        self.thumb_width = thumb_width
        self.pixel_threshold = pixel_threshold
        self.min_blob_pixels = min_blob_pixels
        self.margin = margin
        self.roi = roi
        self._reference: _Reference | None = None

    def check(self, frame: np.ndarray) -> GateResult:
        """How `frame` differs from the reference. Without a reference, or when the frame size
        changed, everything counts as changed."""
        reference = self._reference
        thumb = _thumbnail(frame, self.thumb_width)
        checked = {"thumb": thumb, "frame_shape": frame.shape}
        if reference is None or frame.shape != reference.frame_shape:
            return replace(_whole_frame(frame.shape, score=1.0), **checked)
        changed = _changed_pixels(thumb, reference, self.pixel_threshold)
        changed_pixels = cv2.countNonZero(changed)
        score = changed_pixels / reference.watched_pixels
        if score > GLOBAL_CHANGE_SHARE or _brightness_shift(thumb, reference) > LIGHTING_SHIFT:
            return replace(_whole_frame(frame.shape, score), **checked)
        # Labelling costs ~0.45 ms even on an empty mask: skip it in the common still case.
        blobs = _blobs(changed, self.min_blob_pixels) if changed_pixels else []
        if not blobs:
            return GateResult(False, score, (), 0.0, reference.timestamp, **checked)
        regions = _merge([self._grow(blob, frame.shape, changed.shape) for blob in blobs])
        height, width = frame.shape[:2]
        covered = sum((bottom - top) * (right - left) for top, right, bottom, left in regions)
        share = covered / (height * width)
        return GateResult(True, score, tuple(sorted(regions)), share, None, **checked)

    def accept(self, frame: np.ndarray, now: float) -> None:
        """The caller counted `frame`: later frames are compared with it."""
        self._adopt(_thumbnail(frame, self.thumb_width), frame.shape, now)

    def accept_checked(self, result: GateResult, now: float) -> None:
        """The caller counted the frame `result` came from (its pixels may be gone by now)."""
        self._adopt(result.thumb, result.frame_shape, now)

    def _adopt(self, thumb: np.ndarray, frame_shape: tuple[int, ...], now: float) -> None:
        previous = self._reference
        if previous is not None and previous.frame_shape == frame_shape:
            watched = previous.watched  # scaling a full-size ROI mask costs ~3 ms
        else:
            watched = _watched(self.roi, thumb.shape, frame_shape)
        self._reference = _Reference(thumb, frame_shape, watched, cv2.countNonZero(watched), now)

    def _grow(self, blob: Box, frame_shape: tuple[int, ...], thumb_shape: tuple[int, ...]) -> Box:
        """A blob in frame pixels, grown so the region holds whole faces and bodies: by the
        margin, or by the blob's own size when larger (a region spans ≥ 3× its blob)."""
        height, width = frame_shape[:2]
        scale_y, scale_x = height / thumb_shape[0], width / thumb_shape[1]
        top, right, bottom, left = blob
        top, bottom = top * scale_y, bottom * scale_y
        left, right = left * scale_x, right * scale_x
        pad = max(self.margin * height, bottom - top, right - left)
        return (
            max(0, int(top - pad)),
            min(width, int(np.ceil(right + pad))),
            min(height, int(np.ceil(bottom + pad))),
            max(0, int(left - pad)),
        )


def _thumbnail(frame: np.ndarray, width: int) -> np.ndarray:
    """Small smoothed grayscale; the colour frame is shrunk first, so conversion is cheap."""
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), SMOOTHING_KERNEL, 0)


def _watched(
    roi: np.ndarray | None, thumb_shape: tuple[int, ...], frame_shape: tuple[int, ...]
) -> np.ndarray:
    """Thumbnail pixels whose every source pixel is watched, less a 1-pixel rim: the thumbnail
    smoothing carries a change on an excluded screen one pixel past the screen's edge."""
    if roi is None:
        return np.full(thumb_shape, 255, np.uint8)
    if abs(roi.shape[0] / roi.shape[1] - frame_shape[0] / frame_shape[1]) > ASPECT_TOLERANCE:
        raise ValueError(f"roi mask {roi.shape} does not have the frame's aspect {frame_shape}")
    height, width = thumb_shape
    share_watched = (roi != 0).astype(np.float32)
    coverage = cv2.resize(share_watched, (width, height), interpolation=cv2.INTER_AREA)
    watched = cv2.erode((coverage > 0.999).astype(np.uint8) * 255, _NEIGHBOURS)
    if not watched.any():
        raise ValueError(f"roi mask watches no whole pixel of the {width}×{height} thumbnail")
    return watched


def _changed_pixels(thumb: np.ndarray, reference: _Reference, threshold: int) -> np.ndarray:
    """uint8 0/255: watched thumbnail pixels more than `threshold` grey levels off."""
    difference = cv2.absdiff(thumb, reference.thumb)
    changed = cv2.threshold(difference, threshold, 255, cv2.THRESH_BINARY)[1]
    return cv2.bitwise_and(changed, reference.watched)


def _brightness_shift(thumb: np.ndarray, reference: _Reference) -> float:
    """Change of the mean brightness over the watched area, in grey levels."""
    now = cv2.mean(thumb, reference.watched)[0]
    return abs(now - cv2.mean(reference.thumb, reference.watched)[0])


def _blobs(changed: np.ndarray, min_pixels: int) -> list[Box]:
    """Connected changed areas of at least `min_pixels`, as thumbnail boxes; closing first
    joins the fragments of one person that a 1-pixel gap of unchanged pixels splits."""
    joined = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, _NEIGHBOURS)
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    return [
        (int(y), int(x + w), int(y + h), int(x))
        for x, y, w, h, area in stats[1:count]
        if area >= min_pixels
    ]


def _merge(boxes: list[Box]) -> list[Box]:
    """Boxes merged into their bounding boxes until none overlap or touch."""
    merged: list[Box] = []
    pending = list(boxes)
    while pending:
        box = pending.pop()
        touching = [other for other in merged if _touch(box, other)]
        if not touching:
            merged.append(box)
            continue
        for other in touching:
            merged.remove(other)
        pending.append(_union([box, *touching]))
    return merged


def _touch(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[3] <= b[1] and b[3] <= a[1]


def _union(boxes: list[Box]) -> Box:
    tops, rights, bottoms, lefts = zip(*boxes, strict=True)
    return min(tops), max(rights), max(bottoms), min(lefts)


def _whole_frame(frame_shape: tuple[int, ...], score: float) -> GateResult:
    height, width = frame_shape[:2]
    return GateResult(True, score, ((0, width, height, 0),), 1.0, None)
