"""Who the faces of a site's counted frame are, decided in the sampler (microseconds a face):
matched against the site's enrolled people, the rest grouped into the site's strangers.

The detection process encodes only the faces that overlap no face of the last count (seated
people do not move); the others carry their verdict over, so every counted sample has a verdict
for every face large enough to identify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attendance.config import IdentifySettings
from attendance.vision.boxes import Box, size
from attendance.vision.identify import (
    ENCODING_SIZE,
    Decision,
    Gallery,
    Identity,
    Strangers,
    from_bytes,
    same_faces,
)


@dataclass
class SiteIdentity:
    """A site's enrolled people, its strangers so far and the verdicts of its last count; kept
    by the sampler for the whole session."""

    gallery: Gallery
    strangers: Strangers
    settings: IdentifySettings
    last: dict[Box, dict[str, Any]] = field(default_factory=dict)  # verdicts of the last count

    @classmethod
    def load(
        cls, enrolled: Sequence[tuple[int, bytes]], settings: IdentifySettings, last_stranger: int
    ) -> SiteIdentity:
        """From stored (roster entry id, encoding) pairs; strangers numbered after the last."""
        gallery = Gallery([entry for entry, _ in enrolled], [from_bytes(e) for _, e in enrolled])
        return cls(gallery, Strangers(settings.tolerance, last_stranger + 1), settings)

    def identify(
        self, boxes: Sequence[Box], encodings: dict[Box, np.ndarray]
    ) -> list[dict[str, Any]]:
        """Identification rows (without sample id) for the faces of a count: a face in
        `encodings` is matched anew, one without takes the verdict of the last count's face it
        overlaps (`same_faces`), with its own box.

        A face smaller than `min_face_px` gets no row: it is counted (the sample's boxes hold
        it), not identified. An 'unknown' row would read as someone unregistered, and its
        unreliable encoding would match wrongly or found a stranger who is not one."""
        faces = [box for box in boxes if size(box) >= self.settings.min_face_px]
        waiting = [box for box in faces if box not in encodings]
        last = list(self.last)
        carried = {
            waiting[i]: self.last[last[j]] | {"box": _box(waiting[i])}
            for i, j in same_faces(waiting, last)
        }
        fresh = [box for box in faces if box in encodings]
        found = np.array([encodings[box] for box in fresh]).reshape(-1, ENCODING_SIZE)
        verdicts = self.gallery.match(found, self.settings.tolerance, self.settings.margin)
        unknown = [i for i, verdict in enumerate(verdicts) if verdict.decision == Decision.UNKNOWN]
        in_frame = {row["stranger_label"] for row in carried.values()}
        labels = dict(zip(unknown, self.strangers.assign(found[unknown], in_frame), strict=True))
        rows = carried | {
            box: _row(box, verdict, labels.get(i))
            for i, (box, verdict) in enumerate(zip(fresh, verdicts, strict=True))
        }
        # In the count's order: the next job's `identified`, so that both sides pair alike.
        self.last = {box: rows[box] for box in faces if box in rows}
        return list(self.last.values())


def _row(box: Box, verdict: Identity, stranger: int | None) -> dict[str, Any]:
    return {
        "roster_entry_id": verdict.label,
        "decision": str(verdict.decision),
        "distance": verdict.distance,
        "box": _box(box),
        "stranger_label": stranger,
    }


def _box(box: Box) -> list[int]:
    return [int(value) for value in box]
