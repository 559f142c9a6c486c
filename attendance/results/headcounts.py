"""Manual headcounts: an operator's count of the room calibrates the site's estimates.

The factor is the headcount over what the camera counted at that moment (the median of the
site's counts within two minutes of it). Later estimates multiply their raw figure by the site's
latest factor, and both figures are kept. A factor far from 1 means the camera misses most of
the room (or sees another one): it is refused, and the headcount is still stored.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from attendance.errors import BadInput
from attendance.store import audit_log
from attendance.store.headcounts import add_headcount
from attendance.store.samples import counts_near
from attendance.store.sites import site_by_code

NEAR_S = 120.0
FACTOR_RANGE = (0.2, 5.0)
MAX_HEADCOUNT = 100_000


@dataclass(frozen=True)
class Recorded:
    site: str
    value: int
    camera_count: float | None  # what the samples near the headcount said
    factor: float | None  # the new calibration factor, None when it could not be set
    note: str


def record_headcount(
    session: Session,
    code: str,
    value: int,
    at: datetime,
    by: str,
    note: str | None = None,
    session_id: int | None = None,
) -> Recorded:
    site = site_by_code(session, code)
    if not 0 <= value <= MAX_HEADCOUNT:
        raise BadInput(
            f"headcount for {code}: {value} is not a number of people (0–{MAX_HEADCOUNT})"
        )
    if site.capacity and value > 2 * site.capacity:
        raise BadInput(
            f"headcount for {code}: {value} is more than twice the site's capacity "
            f"({site.capacity}); check the number or the site's capacity"
        )
    if not by.strip():
        raise BadInput("a headcount needs the name of who counted (--by)")
    counts = counts_near(session, site.id, at, NEAR_S)
    camera = statistics.median(counts) if counts else None
    factor, why = _factor(value, camera)
    row = {
        "site_id": site.id,
        "session_id": session_id,
        "counted_at": at,
        "value": value,
        "counted_by": by.strip(),
        "note": note,
    }
    headcount = add_headcount(session, row, factor)
    audit_log.record(
        session,
        "headcount",
        {
            "site": code,
            "value": value,
            "at": at.isoformat(),
            "by": by,
            "camera_count": camera,
            "factor": factor,
            "previous_factor": site.calibration_factor,
            "note": note,
        },
        actor=by,
        entity="headcount",
        entity_id=str(headcount.id),
    )
    return Recorded(code, value, camera, factor, why)


def _factor(value: int, camera: float | None) -> tuple[float | None, str]:
    if camera is None:
        return None, f"no counted sample within {NEAR_S:.0f} s: stored, but it cannot calibrate"
    if camera == 0:
        return None, "the camera counted nobody then: stored, but it cannot calibrate"
    factor = round(value / camera, 3)
    low, high = FACTOR_RANGE
    if not low <= factor <= high:
        return None, (
            f"the camera counted {camera:g}, a factor of {factor:g}: the camera does not see "
            "the room it counts; stored, not used to calibrate"
        )
    return factor, f"the camera counted {camera:g}: calibration factor {factor:g}"
