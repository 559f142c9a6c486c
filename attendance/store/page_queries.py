"""What the dashboard's site page reads: one site, its samples in a session, the sessions to pick.

Kept apart from the CLI listings because a page asks for one site at a time and must stay cheap
however many sites there are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.store.models import COUNTED, ConferenceSession, Sample, Site
from attendance.store.queries import sessions_select, site_select

SESSION_CHOICES = 20


def site_detail(session: Session, code: str) -> dict[str, Any] | None:
    """The site's own fields and its regions, or None for an unknown code."""
    columns = (
        Site.id,
        Site.code,
        Site.name,
        Site.capacity,
        Site.timezone,
        Site.cadence_s,
        Site.calibration_factor,
        Site.enabled,
    )
    query = site_select(*columns).where(Site.code == code)
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def site_samples(
    session: Session, site_id: int, session_id: int
) -> list[tuple[datetime, str, int | None]]:
    """(slot, status, face count) of every sample of the site in the session, by slot."""
    query = (
        select(Sample.slot, Sample.status, Sample.face_count)
        .where(Sample.site_id == site_id, Sample.session_id == session_id)
        .order_by(Sample.slot)
    )
    return [tuple(row) for row in session.execute(query)]


def latest_counted(session: Session, site_id: int, session_id: int) -> dict[str, Any] | None:
    """The site's last counted sample of the session with its face boxes (gated samples carry
    the boxes of the count they reuse)."""
    query = (
        select(
            Sample.id, Sample.slot, Sample.status, Sample.face_count, Sample.boxes, Sample.detector
        )
        .where(
            Sample.site_id == site_id,
            Sample.session_id == session_id,
            Sample.status.in_(COUNTED),
        )
        .order_by(Sample.slot.desc())
        .limit(1)
    )
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def recent_sessions(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The latest sessions that have started, newest first: the choices on a site page."""
    query = (
        sessions_select()
        .where(ConferenceSession.starts_at <= now)
        .order_by(ConferenceSession.starts_at.desc())
        .limit(SESSION_CHOICES)
    )
    return [dict(row._mapping) for row in session.execute(query)]
