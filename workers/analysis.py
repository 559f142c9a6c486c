"""What happens to one frame inside a detection process: decode, quality, gate, count.

Runs in the process pool, so it is a plain function of its inputs: the site's `SiteMemory`
(gate reference, perspective, last result) goes in with the frame and comes back updated.
The policy lives here: reuse the last count for an unchanged frame, recount only the changed
regions when little changed, and count fully when much changed, when `recount_every` has passed
(seated people do not move, so gating alone would freeze their count) or for the first frame.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from attendance.store.models import SampleStatus
from attendance.vision.boxes import size
from attendance.vision.counter import LEVELS, Counter, CountResult
from attendance.vision.gate import Gate
from attendance.vision.perspective import Perspective
from attendance.vision.quality import DARK, FACES_TOO_SMALL, FROZEN, assess, faces_too_small
from attendance.vision.roi import Roi

REGIONAL_LIMIT = 0.4  # recount regions covering more of the frame than this: count it all


@dataclass(frozen=True)
class Policy:
    recount_every_s: float
    refresh_every_s: float
    frozen_after_s: float
    quality: str = "balanced"
    model: str = "hog"
    roi: Roi = field(default_factory=Roi)  # parsed once per site, not per frame
    defer_recounts: bool = False  # behind schedule: unchanged sites wait up to 3× longer


@dataclass
class SiteMemory:
    """Per-site state carried between frames (kept by the sampler, used here)."""

    gate: Gate | None = None
    gate_shape: tuple[int, ...] | None = None
    perspective: Perspective | None = None
    previous: CountResult | None = None
    last_full_at: float | None = None
    learned_at: float | None = None
    quality_thumb: np.ndarray | None = None
    frozen_since: float | None = None


@dataclass
class Analysis:
    status: str
    memory: SiteMemory
    face_count: int | None = None
    boxes: list[list[int]] | None = None
    detector: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    frame_hash: str | None = None
    size: tuple[int, int] | None = None  # width, height
    error: str | None = None


def analyse(
    now: float,
    memory: SiteMemory,
    policy: Policy,
    jpeg: bytes | None = None,
    image: np.ndarray | None = None,
) -> Analysis:
    """Turn one grabbed frame into a sample's figures. Never raises for a bad frame."""
    frame_hash = hashlib.sha256(jpeg if jpeg is not None else image.tobytes()).hexdigest()
    if image is None:
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            return Analysis(
                SampleStatus.DECODE_ERROR, memory, frame_hash=frame_hash, error="not an image"
            )
        image = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    quality = assess(image, previous_thumb=memory.quality_thumb)
    memory.quality_thumb = quality.thumb
    base = {"frame_hash": frame_hash, "size": (image.shape[1], image.shape[0])}
    if DARK in quality.flags:
        return Analysis(SampleStatus.DARK, memory, flags=quality.flags, **base)
    if FROZEN in quality.flags:
        memory.frozen_since = memory.frozen_since or now
        if now - memory.frozen_since >= policy.frozen_after_s:
            return Analysis(SampleStatus.FROZEN, memory, flags=quality.flags, **base)
    else:
        memory.frozen_since = None
    result = _count(now, image, memory, policy)
    return Analysis(
        result.status,
        memory,
        face_count=result.count.count,
        boxes=[list(box) for box in result.count.boxes],
        detector=result.detector,
        timings=result.count.timings if result.status == SampleStatus.OK else {},
        flags=quality.flags + result.flags,
        **base,
    )


@dataclass
class _Counted:
    status: str
    count: CountResult
    detector: dict[str, Any]
    flags: tuple[str, ...] = ()


def _count(now: float, image: np.ndarray, memory: SiteMemory, policy: Policy) -> _Counted:
    if memory.gate is None or memory.gate_shape != image.shape:
        watched = (
            policy.roi.mask(*image.shape[:2]) if policy.roi.include or policy.roi.exclude else None
        )
        memory.gate = Gate(roi=watched)
        memory.gate_shape = image.shape
    change = memory.gate.check(image)
    recount_every = policy.recount_every_s * (3 if policy.defer_recounts else 1)
    due = memory.last_full_at is None or now - memory.last_full_at >= recount_every
    relearn = memory.learned_at is None or now - memory.learned_at >= policy.refresh_every_s
    previous = memory.previous
    if previous is not None and not change.changed and not due and not relearn:
        detector = {"mode": "gated", "unchanged_since": change.unchanged_since}
        return _Counted(SampleStatus.GATED, previous, detector)
    counter = Counter(policy.quality, policy.model, policy.roi)
    if relearn or memory.perspective is None:
        mode, result = "calibrate", counter.count(image)
    elif previous is not None and not due and change.changed_fraction <= REGIONAL_LIMIT:
        mode = "regional"
        result = counter.count(image, memory.perspective, change.regions, previous)
    else:
        mode, result = "full", counter.count(image, memory.perspective)
    if mode != "regional":
        memory.last_full_at = now
    if mode == "calibrate":
        memory.learned_at = now
    memory.perspective = result.perspective or memory.perspective
    memory.previous = result
    memory.gate.accept(image, now)
    level = LEVELS[policy.quality]
    detector = {
        "model": policy.model,
        "quality": policy.quality,
        "mode": mode,
        "bands": len(result.bands),
        "pixels": result.pixels,
        "regions": len(change.regions) if mode == "regional" else 0,
        "perspective": memory.perspective.to_json() if memory.perspective else None,
    }
    too_small = faces_too_small([size(box) for box in result.boxes], level.target / level.max_scale)
    return _Counted(SampleStatus.OK, result, detector, (FACES_TOO_SMALL,) if too_small else ())
