"""What a dashboard opens with: every enabled site, its roster size and its latest sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from attendance.store.models import Region, RosterEntry, Sample, Site

RECENT = timedelta(days=1)  # older samples say nothing about now
COUNTED = ("ok", "gated")


def site_rows(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    since = (now or datetime.now(UTC)) - RECENT
    latest = _latest(since, None)
    counted = _latest(since, COUNTED)
    last, last_counted = aliased(Sample), aliased(Sample)
    province = aliased(Region)
    roster = (
        select(
            RosterEntry.site_id,
            func.sum(case((RosterEntry.exempt, 0), else_=1)).label("expected"),
        )
        .where(RosterEntry.active)
        .group_by(RosterEntry.site_id)
        .subquery()
    )
    query = (
        select(
            Site.id,
            Site.code,
            Site.name,
            province.name.label("province"),
            func.coalesce(roster.c.expected, 0).label("expected"),
            last_counted.face_count.label("count"),
            last.status.label("last_status"),
            last.created_at.label("at"),
        )
        .join(province, Site.province_id == province.id)
        .outerjoin(roster, roster.c.site_id == Site.id)
        .outerjoin(latest, latest.c.site_id == Site.id)
        .outerjoin(last, and_(last.site_id == Site.id, last.slot == latest.c.slot))
        .outerjoin(counted, counted.c.site_id == Site.id)
        .outerjoin(
            last_counted, and_(last_counted.site_id == Site.id, last_counted.slot == counted.c.slot)
        )
        .where(Site.enabled)
        .order_by(Site.code)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def _latest(since: datetime, statuses: tuple[str, ...] | None):
    query = select(Sample.site_id, func.max(Sample.slot).label("slot")).where(Sample.slot >= since)
    if statuses:
        query = query.where(Sample.status.in_(statuses))
    return query.group_by(Sample.site_id).subquery()
