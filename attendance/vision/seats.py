"""Seats: where a site's recent counts found faces, so a reader's bowed head still counts.

In a still hall nobody leaves while reading, but a face detector loses a face tilted down over a
document. A `SeatMemory` keeps the face boxes of the last few counts. A seat whose face is not
found in a count is *remembered* (it still counts) while it was seen within `keep_counts`
counts or `keep_s` seconds and the gate saw no change at its centre since; a seat whose area
changed with no face found there is a departure and is dropped at once. Remembered seats never
overlap a found face, so nobody is counted twice.

Pure and small: a few dozen tuples per site, kept by the sampler between frames (never sent to
detection processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from attendance.vision.boxes import Box, iou

SAME_SEAT_IOU = 0.3  # a face this close to a seat's box (or centred in it) is that seat's person


@dataclass(frozen=True)
class Seat:
    box: Box  # the face box as last found
    seen_at: float  # epoch s of the count that last found it
    missed: int = 0  # counts since then that did not find it


@dataclass
class SeatMemory:
    """The seats of one site; `update` once per count."""

    keep_counts: int = 3
    keep_s: float = 0.0
    seats: list[Seat] = field(default_factory=list)

    def update(self, found: Sequence[Box], changed: Sequence[Box], now: float) -> list[Box]:
        """Fold one count in: `found` faces, the gate's `changed` regions since the last count.
        Returns the remembered boxes: seats not found this time that still count."""
        kept = [Seat(tuple(box), now) for box in found]
        remembered = []
        for seat in self.seats:
            if any(same_seat(seat.box, box) for box in found):
                continue  # refreshed by the found face
            if any(centre_in(seat.box, region) for region in changed):
                continue  # its area changed and nobody is there: a departure
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


def same_seat(a: Box, b: Box) -> bool:
    return iou(a, b) >= SAME_SEAT_IOU or centre_in(a, b) or centre_in(b, a)


def centre_in(box: Box, region: Box) -> bool:
    """Whether `box`'s centre lies in `region` (right and bottom exclusive)."""
    y, x = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= y < region[2] and region[3] <= x < region[1]


def merge_changes(changes: Sequence[Box], new: Sequence[Box], limit: int = 32) -> tuple[Box, ...]:
    """Changed regions accumulated between counts, at most `limit`: beyond, their bounding box
    (more seats count as changed, the cautious direction)."""
    merged = (*changes, *(tuple(region) for region in new))
    if len(merged) <= limit:
        return merged
    tops, rights, bottoms, lefts = zip(*merged, strict=True)
    return ((min(tops), max(rights), max(bottoms), min(lefts)),)
