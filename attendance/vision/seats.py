"""Seats: where a site's recent counts found faces, so a reader's bowed head still counts.

In a still hall nobody leaves while reading, but a face detector loses a face tilted down over a
document. A `SeatMemory` keeps the face boxes of the last few counts and, for each, the picture
of the body under the face (shoulders and chest, on the gate's smoothed thumbnail) when the face
was found. A seat whose face is not found in a count is *remembered* (it still counts) while it
was seen within `keep_counts` counts or `keep_s` seconds and its body looks as it did; a body
that changed with no face found is a departure (the seat back or the wall shows instead), and the
seat is dropped at once. The face's own area is not compared: bowing the head changes exactly
that. Remembered seats never overlap a found face, so nobody is counted twice.

Pure and small: a few dozen seats of a few dozen grey pixels per site, kept by the sampler
between frames (never sent to detection processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from attendance.vision.boxes import Box, iou
from attendance.vision.gate import PIXEL_THRESHOLD

SAME_SEAT_IOU = 0.3  # a face this close to a seat's box (or centred in it) is that seat's person
# The body under a face box of height h: from 0.3 h to 1.3 h below its chin, 0.4 face widths
# wider on each side (shoulders), clear of the bowed head and of a blur around it.
BODY_BELOW = (0.3, 1.3)
BODY_WIDER = 0.4
# A body changed when more than this share of its thumbnail pixels moved by more than the
# gate's pixel threshold: noise and JPEG move none once smoothed, a person leaving (jacket →
# seat back) most.
BODY_CHANGED_SHARE = 0.3


@dataclass(frozen=True)
class Seat:
    box: Box  # the face box as last found
    seen_at: float  # epoch s of the count that last found it
    body: np.ndarray | None  # uint8 thumbnail patch under the face then (None: off the picture)
    missed: int = 0  # counts since then that did not find it


@dataclass(frozen=True)
class Picture:
    """A counted frame as the seats see it: the gate's grey thumbnail and its size relative to
    the frame the face boxes are in (thumbnail px per frame px)."""

    thumb: np.ndarray
    scale: float

    def body(self, box: Box) -> np.ndarray | None:
        """The thumbnail patch under face `box`; None when less than 2×2 pixels of it show."""
        top, right, bottom, left = box
        height, width = bottom - top, right - left
        y0, y1 = (round((bottom + share * height) * self.scale) for share in BODY_BELOW)
        x0 = round((left - BODY_WIDER * width) * self.scale)
        x1 = round((right + BODY_WIDER * width) * self.scale)
        rows, cols = self.thumb.shape[:2]
        patch = self.thumb[max(0, y0) : min(rows, y1), max(0, x0) : min(cols, x1)]
        return patch.copy() if min(patch.shape[:2]) >= 2 else None


@dataclass
class SeatMemory:
    """The seats of one site; `update` once per count."""

    keep_counts: int = 3
    keep_s: float = 0.0
    seats: list[Seat] = field(default_factory=list)

    def update(self, found: Sequence[Box], picture: Picture, now: float) -> list[Box]:
        """Fold one count of `picture` in: its `found` faces. Returns the remembered boxes:
        seats not found this time that still count."""
        kept = [Seat(tuple(box), now, picture.body(tuple(box))) for box in found]
        remembered = []
        for seat in self.seats:
            if any(same_seat(seat.box, box) for box in found):
                continue  # refreshed by the found face
            if not _same_body(seat.body, picture.body(seat.box)):
                continue  # its body changed and no face is there: a departure
            seat = replace(seat, missed=seat.missed + 1)
            if self._recent(seat, now) and not any(same_seat(seat.box, b) for b in remembered):
                kept.append(seat)
                remembered.append(seat.box)
        self.seats = kept
        return remembered

    def forget(self) -> None:
        """The camera or the frame changed: seats of the old picture mean nothing."""
        self.seats = []

    def _recent(self, seat: Seat, now: float) -> bool:
        return seat.missed <= self.keep_counts or now - seat.seen_at <= self.keep_s


def _same_body(then: np.ndarray | None, now: np.ndarray | None) -> bool:
    """Whether a seat's body looks as when its face was found (unknown: no, the cautious way)."""
    if then is None or now is None or then.shape != now.shape:
        return False
    moved = np.abs(then.astype(np.int16) - now.astype(np.int16)) > PIXEL_THRESHOLD
    return moved.mean() <= BODY_CHANGED_SHARE


def same_seat(a: Box, b: Box) -> bool:
    return iou(a, b) >= SAME_SEAT_IOU or centre_in(a, b) or centre_in(b, a)


def centre_in(box: Box, region: Box) -> bool:
    """Whether `box`'s centre lies in `region` (right and bottom exclusive)."""
    y, x = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= y < region[2] and region[3] <= x < region[1]
