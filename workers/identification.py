"""Who the faces of a site's counted frame are, decided in the sampler (microseconds a face):
matched against the site's enrolled people, the rest grouped into the site's strangers.

A regional recount re-encodes only the faces it found anew; the faces it kept carry their
verdict from the last count, so every counted sample has a verdict for every face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attendance.config import IdentifySettings
from attendance.vision.boxes import Box
from attendance.vision.identify import (
    ENCODING_SIZE,
    Decision,
    Gallery,
    Identity,
    Strangers,
    from_bytes,
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
        """Identification rows (without sample id) for the faces of a count: `encodings` holds
        the faces found anew, the others were kept from the last count."""
        carried = {
            box: self.last[box] for box in boxes if box not in encodings and box in self.last
        }
        fresh = [box for box in boxes if box in encodings]
        found = np.array([encodings[box] for box in fresh]).reshape(-1, ENCODING_SIZE)
        verdicts = self.gallery.match(found, self.settings.tolerance, self.settings.margin)
        unknown = [i for i, verdict in enumerate(verdicts) if verdict.decision == Decision.UNKNOWN]
        in_frame = {row["stranger_label"] for row in carried.values()}
        labels = dict(zip(unknown, self.strangers.assign(found[unknown], in_frame), strict=True))
        self.last = carried | {
            box: _row(box, verdict, labels.get(i))
            for i, (box, verdict) in enumerate(zip(fresh, verdicts, strict=True))
        }
        return list(self.last.values())


def _row(box: Box, verdict: Identity, stranger: int | None) -> dict[str, Any]:
    return {
        "roster_entry_id": verdict.label,
        "decision": str(verdict.decision),
        "distance": verdict.distance,
        "box": [int(value) for value in box],
        "stranger_label": stranger,
    }
