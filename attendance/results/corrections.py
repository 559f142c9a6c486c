"""Corrections: an organizer sets a site's figure for a session, with a reason.

The camera's figure is never overwritten: the correction keeps the calibrated estimate of that
moment beside the new value, and reconciliation shows both (the latest correction decides what
counts as present). Every correction is an audit event, so who changed which number, when and
why can be checked against the hash chain.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from attendance.config import Settings
from attendance.errors import BadInput
from attendance.results.headcounts import MAX_HEADCOUNT
from attendance.results.reconcile import SiteResult, reconcile_session
from attendance.store import audit_log
from attendance.store.corrections import add_correction, correction_row
from attendance.store.models import ConferenceSession
from attendance.store.sites import site_by_code

MAX_TIMES = 3  # a figure above 3× the room and the roster is a typo, not a crowd
MAX_REASON = 2000


def correct(
    db: Session,
    conference_session: ConferenceSession,
    code: str,
    value: float,
    reason: str,
    by: str,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
) -> dict[str, Any]:
    """Record a correction and its audit event in the caller's transaction; returns it as
    `corrections_of` lists it. BadInput for a value or reason nobody should accept."""
    reason = _text("reason", reason, MAX_REASON, "say why the figure is corrected")
    by = _text("by", by, 200, "name who corrects")
    _check_number(code, value)
    site = site_by_code(db, code)
    if not site.enabled:
        raise BadInput(f"site {code} is disabled: it is not reconciled, so it cannot be corrected")
    result = _current(db, conference_session, settings, now, code, by)
    _check_bound(code, value, site.capacity, result.registered)
    row = {
        "site_id": site.id,
        "session_id": conference_session.id,
        "original_value": result.calibrated,
        "value": float(value),
        "reason": reason,
        "corrected_by": by,
        "user_id": user_id,
        "created_at": now,
    }
    correction = add_correction(db, row)
    audit_log.record(
        db,
        "correction",
        {
            "site": code,
            "session": conference_session.id,
            "original": result.calibrated,
            "value": float(value),
            "reason": reason,
            "by": by,
        },
        actor=by,
        entity="correction",
        entity_id=str(correction.id),
        at=now,
    )
    return correction_row(db, correction.id)


def _current(db, conference_session, settings, now, code: str, by: str) -> SiteResult:
    """The site's result recomputed now, its estimate stored: a correction keeps the estimate
    as it stands, and the stored one agrees with it."""
    results = reconcile_session(db, conference_session, settings, now, [code], stored_by=by)
    return next(iter(results))


def _text(name: str, value: str, longest: int, missing: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise BadInput(f"{name}: empty; {missing}")
    if len(text) > longest:
        raise BadInput(f"{name}: at most {longest} characters")
    return text


def _check_number(code: str, value: Any) -> None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0 or value != int(value):
        raise BadInput(f"correction for {code}: {value!r} is not a number of people")


def _check_bound(code: str, value: float, capacity: int | None, registered: int) -> None:
    bound = MAX_TIMES * max(capacity or 0, registered) or MAX_HEADCOUNT
    if value > bound:
        raise BadInput(
            f"correction for {code}: {value:g} is more than {MAX_TIMES}× the site's capacity "
            f"({capacity or '–'}) and its roster ({registered}); check the number"
        )
