"""What happens to one grabbed frame: screen it cheaply, count it when it must, settle the result.

Screening (decode, picture quality, the change gate: ~5 ms) runs for every frame in the sampler's
process; counting (0.1–0.7 s) runs in the detection pool when the queue in front of it gets there.
The policy lives in `screen`: reuse the last count for an unchanged frame, recount only the
changed regions when little changed, and count fully when much changed, when `recount_every` has
passed (seated people do not move, so gating alone would freeze their count) or for a site's
first frame. `analyse` chains the three steps for callers without a pool.

At a site with enrolled roster photos (`Policy.identify`) the detection process also encodes
faces, ~80 ms each, but only those large enough to encode reliably that overlap no identified
face of the last count: seated people do not move, so a full recount of a 400-person hall
encodes the few who arrived or moved, not all 400 (32 s of a detection process).

With `Policy.evidence` set, the detection process also renders the frame's evidence image
(downscaled, faces blurred, boxes drawn: a few ms), while it still has the pixels.

A reader's face tilted over a document is lost by the detector though nobody left: `settle`
keeps the site's seats (`SeatMemory`), and a seat found in the last few counts whose body (under
the face, on the gate's thumbnail) looks as it did then still counts (`Analysis.remembered` of
the figure).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

import cv2
import numpy as np

from attendance.store.models import SampleStatus
from attendance.vision.boxes import Box, size
from attendance.vision.counter import Counter, CountResult, level
from attendance.vision.detectors import DEFAULT_MODEL
from attendance.vision.evidence import EvidenceStyle, evidence_jpeg
from attendance.vision.gate import Gate, GateResult
from attendance.vision.identify import encode_faces, same_faces
from attendance.vision.jpeg import decode_at_least, jpeg_size
from attendance.vision.perspective import Perspective
from attendance.vision.quality import (
    ANALYSIS_WIDTH,
    DARK,
    FACES_TOO_SMALL,
    FROZEN,
    assess,
    faces_too_small,
)
from attendance.vision.roi import Roi
from attendance.vision.seats import Picture, SeatMemory

REGIONAL_LIMIT = 0.4  # recount regions covering more of the frame than this: count it all


class Urgency(IntEnum):
    """Why a frame needs counting, most urgent first: the detection queue's order."""

    FIRST = 0  # the site has no count at all
    CHANGED = 1  # the scene changed since the last count
    RECOUNT = 2  # unchanged, but `recount_every` has passed
    REFRESH = 3  # unchanged, and only the perspective is due to be relearned


@dataclass(frozen=True)
class Policy:
    recount_every_s: float
    refresh_every_s: float
    frozen_after_s: float
    quality: str = "balanced"
    model: str = DEFAULT_MODEL
    roi: Roi = field(default_factory=Roi)  # parsed once per site, not per frame
    identify: bool = False  # encode faces: the site has enrolled people to match them against
    min_face_px: int = 40  # identify.min_face_px: smaller faces are not encoded
    evidence: EvidenceStyle | None = None  # None: keep no evidence image of counted frames
    seat_keep_counts: int = 3  # a face missed in up to this many counts still counts…
    seat_keep_s: float = 0.0  # …or missed for up to this long, while its seat is unchanged


@dataclass
class SiteMemory:
    """Per-site state carried between frames, kept by the sampler."""

    gate: Gate | None = None
    gate_shape: tuple[int, ...] | None = None
    quality_thumb: np.ndarray | None = None
    frozen_since: float | None = None
    perspective: Perspective | None = None
    previous: CountResult | None = None
    last_full_at: float | None = None
    learned_at: float | None = None
    # The last count's faces with a verdict: only a site that identifies has any (its sampler
    # sets them). A face left without one (too small, not paired) is encoded when next counted.
    identified: tuple[Box, ...] = ()
    seats: SeatMemory | None = None  # where recent counts found faces (made by the first count)
    remembered: tuple[Box, ...] = ()  # the last count's seats that counted without a face


@dataclass
class Analysis:
    """A frame's sample figures."""

    status: str
    face_count: int | None = None  # faces found + remembered
    boxes: list[list[int]] | None = None  # the faces found (remembered seats: detector)
    remembered: int | None = None  # how many of face_count are remembered seats
    detector: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    frame_hash: str | None = None
    size: tuple[int, int] | None = None  # width, height
    error: str | None = None


@dataclass(frozen=True)
class CountJob:
    """What a detection process needs to count one frame; small to pickle (JPEG, not pixels)."""

    mode: str  # calibrate, full or regional
    policy: Policy
    perspective: Perspective | None
    regions: tuple[Box, ...] = ()
    previous: CountResult | None = None
    jpeg: bytes | None = None
    image: np.ndarray | None = None  # only for sources that deliver pixels
    identified: tuple[Box, ...] = ()  # SiteMemory.identified: faces overlapping these keep theirs


@dataclass
class Counted:
    """A detection process's answer: the count; when the policy identifies, the encodings of
    the faces (box → 128 floats) large enough and not paired with `CountJob.identified`; when it
    keeps evidence, the frame's evidence JPEG."""

    result: CountResult
    encodings: dict[Box, np.ndarray] = field(default_factory=dict)
    evidence: bytes | None = None


@dataclass
class Screening:
    """A screened frame: either its sample is already known (`done`) or it needs `job`."""

    frame_hash: str
    flags: tuple[str, ...] = ()
    size: tuple[int, int] | None = None
    done: Analysis | None = None
    job: CountJob | None = None
    urgency: Urgency | None = None
    change: GateResult | None = None

    def finish(self, status: str, **figures: Any) -> Screening:
        base = {"frame_hash": self.frame_hash, "size": self.size, "flags": self.flags}
        self.done = Analysis(status, **(base | figures))
        return self


def screen(
    now: float,
    memory: SiteMemory,
    policy: Policy,
    jpeg: bytes | None = None,
    image: np.ndarray | None = None,
) -> Screening:
    """Decode, check the picture and the gate; decide whether and how to count. Never raises
    for a bad frame."""
    frame_hash = hashlib.sha256(jpeg if jpeg is not None else image.tobytes()).hexdigest()
    screening = Screening(frame_hash)
    pixels, reduction = image, 1
    if pixels is None:  # screening reads no more pixels than the quality check does
        decoded, reduction = decode_at_least(jpeg, ANALYSIS_WIDTH)
        if decoded is None:
            return screening.finish(SampleStatus.DECODE_ERROR, error="not an image")
        pixels = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    quality = assess(pixels, previous_thumb=memory.quality_thumb)
    memory.quality_thumb = quality.thumb
    height, width = pixels.shape[:2]
    if reduction > 1:
        width, height = jpeg_size(jpeg)
    screening.flags, screening.size = quality.flags, (width, height)
    if DARK in quality.flags:
        return screening.finish(SampleStatus.DARK)
    if FROZEN in quality.flags:
        memory.frozen_since = memory.frozen_since or now
        if now - memory.frozen_since >= policy.frozen_after_s:
            return screening.finish(SampleStatus.FROZEN)
    else:
        memory.frozen_since = None
    if memory.gate is None or memory.gate_shape != pixels.shape:
        watched = (
            policy.roi.mask(*pixels.shape[:2]) if policy.roi.include or policy.roi.exclude else None
        )
        memory.gate, memory.gate_shape = Gate(roi=watched), pixels.shape
        memory.seats = None  # seats of another picture mean nothing
    change = screening.change = _full_scale(memory.gate.check(pixels), reduction, (width, height))
    due = memory.last_full_at is None or now - memory.last_full_at >= policy.recount_every_s
    relearn = memory.learned_at is None or now - memory.learned_at >= policy.refresh_every_s
    previous = memory.previous
    if previous is not None and not change.changed and not due and not relearn:
        detector = {"mode": "gated", "unchanged_since": change.unchanged_since}
        detector |= _seat_boxes(memory.remembered)
        figures = _figures(previous, memory.remembered)
        return screening.finish(SampleStatus.GATED, **figures, detector=detector)
    if relearn or memory.perspective is None:
        mode = "calibrate"
    elif previous is not None and not due and change.changed_fraction <= REGIONAL_LIMIT:
        mode = "regional"
    else:
        mode = "full"
    screening.urgency = (
        Urgency.FIRST
        if previous is None
        else Urgency.CHANGED
        if change.changed
        else Urgency.RECOUNT
        if due
        else Urgency.REFRESH
    )
    screening.job = CountJob(
        mode,
        policy,
        memory.perspective,
        change.regions if mode == "regional" else (),
        previous if mode == "regional" else None,
        jpeg,
        image,
        memory.identified,
    )
    return screening


def _full_scale(change: GateResult, reduction: int, size: tuple[int, int]) -> GateResult:
    """The gate's regions in the frame's own pixels (it saw the frame reduced)."""
    if reduction == 1 or not change.regions:
        return change
    width, height = size
    regions = tuple(
        (top * reduction, min(width, right * reduction), min(height, bottom * reduction),
         left * reduction)
        for top, right, bottom, left in change.regions
    )  # fmt: skip
    return replace(change, regions=regions)


def count_frame(job: CountJob) -> Counted:
    """The expensive part, in a detection process. The frame decoded once already."""
    image, decoded = job.image, None
    if image is None:
        decoded = cv2.imdecode(np.frombuffer(job.jpeg, np.uint8), cv2.IMREAD_COLOR)
        # Encodings and the CNNs need colour; for HOG the counter converts to luminance itself.
        image = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    counter = Counter(job.policy.quality, job.policy.model, job.policy.roi)
    if job.mode == "calibrate":
        result = counter.count(image)
    elif job.mode == "regional":
        result = counter.count(image, job.perspective, job.regions, job.previous)
    else:
        result = counter.count(image, job.perspective)
    encodings = _encodings(job, image, result) if job.policy.identify else {}
    return Counted(result, encodings, _evidence(job, decoded, result))


def _encodings(job: CountJob, image: np.ndarray, result: CountResult) -> dict[Box, np.ndarray]:
    faces = [box for box in result.boxes if size(box) >= job.policy.min_face_px]
    paired = {i for i, _ in same_faces(faces, job.identified)}
    fresh = [box for i, box in enumerate(faces) if i not in paired]
    if not fresh:
        return {}
    started = time.perf_counter()
    encodings = dict(zip(fresh, encode_faces(image, fresh), strict=True))
    result.timings["encode"] = round((time.perf_counter() - started) * 1000, 1)
    return encodings


def _evidence(job: CountJob, decoded: np.ndarray | None, result: CountResult) -> bytes | None:
    """`decoded`: the BGR frame when the job came as a JPEG (sources' pixels are RGB)."""
    if job.policy.evidence is None:
        return None
    started = time.perf_counter()
    bgr = decoded if decoded is not None else cv2.cvtColor(job.image, cv2.COLOR_RGB2BGR)
    jpeg = evidence_jpeg(bgr, result.boxes, job.policy.evidence, job.policy.roi.exclude)
    result.timings["evidence"] = round((time.perf_counter() - started) * 1000, 1)
    return jpeg


def settle(now: float, memory: SiteMemory, screening: Screening, result: CountResult) -> Analysis:
    """Fold a count into the site's memory; the frame's sample figures."""
    job = screening.job
    if job.mode != "regional":
        memory.last_full_at = now
    if job.mode == "calibrate":
        memory.learned_at = now
    memory.perspective = result.perspective or memory.perspective
    memory.previous = result
    memory.gate.accept_checked(screening.change, now)
    memory.remembered = _remember(now, memory, screening, result)
    searched = level(job.policy.model, job.policy.quality)
    detector = {
        "model": job.policy.model,
        "quality": job.policy.quality,
        "mode": job.mode,
        "bands": len(result.bands),
        "pixels": result.pixels,
        "regions": len(job.regions),
        "perspective": memory.perspective.to_json() if memory.perspective else None,
        **_seat_boxes(memory.remembered),
    }
    too_small = faces_too_small(
        [size(box) for box in result.boxes], searched.target / searched.max_scale
    )
    screening.flags += (FACES_TOO_SMALL,) if too_small else ()
    figures = _figures(result, memory.remembered)
    return screening.finish(
        SampleStatus.OK, **figures, detector=detector, timings=result.timings
    ).done


def _remember(
    now: float, memory: SiteMemory, screening: Screening, result: CountResult
) -> tuple[Box, ...]:
    """Fold the count into the site's seats; the seats that count without a face found."""
    policy, thumb = screening.job.policy, screening.change.thumb
    seats = memory.seats = memory.seats or SeatMemory()
    seats.keep_counts, seats.keep_s = policy.seat_keep_counts, policy.seat_keep_s
    picture = Picture(thumb, thumb.shape[1] / screening.size[0])
    return tuple(seats.update(result.boxes, picture, now))


def postpone(memory: SiteMemory, screening: Screening) -> Analysis:
    """Detection is behind and this frame's turn did not come: keep the last count, if any."""
    detector = {"mode": "deferred", "wanted": screening.urgency.name.lower()}
    if memory.previous is None:
        return screening.finish(SampleStatus.DEFERRED, detector=detector).done
    detector |= _seat_boxes(memory.remembered)
    figures = _figures(memory.previous, memory.remembered)
    return screening.finish(SampleStatus.GATED, **figures, detector=detector).done


def analyse(
    now: float,
    memory: SiteMemory,
    policy: Policy,
    jpeg: bytes | None = None,
    image: np.ndarray | None = None,
) -> Analysis:
    """All three steps in this process: for tests and one-off counts."""
    screening = screen(now, memory, policy, jpeg, image)
    if screening.done is not None:
        return screening.done
    return settle(now, memory, screening, count_frame(screening.job).result)


def _figures(result: CountResult, remembered: tuple[Box, ...] = ()) -> dict[str, Any]:
    """A count's sample figures: faces found plus remembered seats (their boxes kept apart, in
    the detector's record, so evidence shows which is which)."""
    return {
        "face_count": result.count + len(remembered),
        "boxes": [list(box) for box in result.boxes],
        "remembered": len(remembered),
    }


def _seat_boxes(remembered: tuple[Box, ...]) -> dict[str, Any]:
    """The detector record's list of remembered seats, when there are any."""
    return {"remembered": [list(box) for box in remembered]} if remembered else {}
