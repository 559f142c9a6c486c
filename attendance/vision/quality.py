"""Frame quality flags, recorded with each sample so an auditor can see why a count is unreliable.

- `dark`: the frame is (nearly) black: camera off, lens cap, lights out.
- `frozen`: the frame repeats the previous one: a stalled encoder or stream.
- `blurred`: no sharp detail: out of focus, fogged lens, or a blank picture.
- `faces_too_small`: the faces found are near the detector's limit, so the count is likely low.

Everything is measured on one small grayscale copy of the frame (~1.2 ms at 1080p).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

DARK = "dark"
FROZEN = "frozen"
BLURRED = "blurred"
FACES_TOO_SMALL = "faces_too_small"

# Measuring width: blur of σ 4 px at 1080p is still 1 px wide here; INTER_LINEAR at 1920→480
# averages 2×2 pixels, halving sensor noise, for ~0.5 ms.
ANALYSIS_WIDTH = 480

# Dark: the mean luma is below near-black, and at most a small share of the picture (an
# on-screen clock or camera name) is brighter than deep shadow. A dim but lit hall has a mean
# of 35 or more.
DARK_MEAN_LUMA = 20
DARK_LIT_LUMA = 48
DARK_MAX_LIT_SHARE = 0.05

# Frozen: a stalled encoder repeats bit-identical frames, so nothing changes; live sensor
# noise, even σ≈1 after compression, changes most samples. Up to 0.1% may differ (a clock
# overlaid on a frozen picture). Samples are every 3rd analysis pixel, not averages, so the
# noise that tells a live camera from a frozen one is kept: 160×90 at 480 wide, 14 kB.
FROZEN_SAMPLE_STEP = 3
FROZEN_MAX_CHANGED_SHARE = 0.001

# Sharpness is Laplacian energy over gradient energy on edge pixels (see `_sharpness`).
# Measured on synthetic 1080p scenes (attendance.vision.hall, drawn halls, bare walls, dim
# halls; noise σ ≤ 6, JPEG) after a Gaussian blur of σ px: sharp 0.81–1.16, σ 2: 0.59–0.86,
# σ 3: 0.50–0.66, σ 4: 0.38–0.49, σ 5: ≤ 0.37. The limit, 0.55, is a blur of about σ 3 px at
# 1080p: a soft camera (σ ≤ 2) passes, a defocused one (σ ≥ 4) is flagged. Blur is measured
# relative to the frame width, so at 720p the same limit is about σ 2 px.
SHARPNESS_BLURRED = 0.55
EDGE_CONTRAST = 20  # grey levels across 5×5 analysis pixels: an edge, not noise
_EDGE_WINDOW = np.ones((5, 5), np.uint8)

# Faces too small: the median face is within 25% of the smallest size the detector finds, so
# many faces just below that size were probably missed.
FACES_NEAR_LIMIT = 1.25


@dataclass(frozen=True)
class Quality:
    flags: tuple[str, ...]
    brightness: float  # mean luma, 0–255
    sharpness: float  # see SHARPNESS_BLURRED; 0 when the frame has no edge to judge
    thumb: np.ndarray  # pass back as `previous_thumb` with the next frame of the same camera


def assess(
    frame: np.ndarray,
    previous_thumb: np.ndarray | None = None,
    face_sizes: Sequence[float] = (),
    min_face: float | None = None,
) -> Quality:
    """Flags for one frame (H×W×3 RGB). `face_sizes` are the sizes (px) of the faces detected
    in it and `min_face` the smallest face size the detector finds reliably at the scale it
    searched; both are needed for `faces_too_small`."""
    if face_sizes and min_face is None:
        raise ValueError("face_sizes need min_face, the smallest reliably detected face size")
    gray = _analysis_gray(frame)
    thumb = np.ascontiguousarray(gray[::FROZEN_SAMPLE_STEP, ::FROZEN_SAMPLE_STEP])
    brightness = float(cv2.mean(gray)[0])
    sharpness = _sharpness(gray)
    dark = _is_dark(gray, brightness)
    flags = {
        DARK: dark,
        FROZEN: previous_thumb is not None and _same_picture(thumb, previous_thumb),
        BLURRED: not dark and sharpness < SHARPNESS_BLURRED,
        FACES_TOO_SMALL: faces_too_small(face_sizes, min_face),
    }
    return Quality(tuple(k for k, v in flags.items() if v), brightness, sharpness, thumb)


def faces_too_small(face_sizes: Sequence[float], min_face: float | None) -> bool:
    """Most faces are near the smallest the detector finds: some are probably being missed."""
    return bool(face_sizes) and median(face_sizes) < (min_face or 0) * FACES_NEAR_LIMIT


def _analysis_gray(frame: np.ndarray) -> np.ndarray:
    """Grayscale at most ANALYSIS_WIDTH wide; the colour frame is shrunk first, which is cheap."""
    width = min(ANALYSIS_WIDTH, frame.shape[1])
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def _is_dark(gray: np.ndarray, brightness: float) -> bool:
    lit_share = np.count_nonzero(gray > DARK_LIT_LUMA) / gray.size
    return brightness < DARK_MEAN_LUMA and lit_share <= DARK_MAX_LIT_SHARE


def _same_picture(thumb: np.ndarray, previous: np.ndarray) -> bool:
    if thumb.shape != previous.shape:
        return False
    return np.count_nonzero(thumb != previous) <= FROZEN_MAX_CHANGED_SHARE * thumb.size


def _sharpness(gray: np.ndarray) -> float:
    """How steep the frame's edges are, whatever their number or contrast.

    Laplacian energy over gradient energy, summed where the picture has an edge: for an edge
    blurred by a Gaussian of σ px this is about 1/(2σ²), so it falls as focus goes, while a
    bare wall with a few sharp people scores like a full hall. Flat areas are left out because
    there sensor noise is all the Laplacian sees; a 3×3 smoothing first keeps noise out of the
    edges too.
    """
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    contrast = cv2.subtract(cv2.dilate(smooth, _EDGE_WINDOW), cv2.erode(smooth, _EDGE_WINDOW))
    edges = cv2.threshold(contrast, EDGE_CONTRAST, 255, cv2.THRESH_BINARY)[1]
    if not cv2.countNonZero(edges):
        return 0.0
    laplacian = cv2.Laplacian(smooth, cv2.CV_32F)
    dx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    dy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    curvature = cv2.mean(laplacian * laplacian, edges)[0]
    return curvature / cv2.mean(dx * dx + dy * dy, edges)[0]
