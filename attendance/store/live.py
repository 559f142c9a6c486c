"""What a dashboard opens with: every enabled site, its roster size and its latest sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from attendance.store.models import COUNTED, Sample, Site
from attendance.store.queries import roster_sizes, site_select

RECENT = timedelta(days=1)  # older samples say nothing about now


def site_rows(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    since = (now or datetime.now(UTC)) - RECENT
    latest = _latest(since, None)
    counted = _latest(since, COUNTED)
    last, last_counted = aliased(Sample), aliased(Sample)
    query = (
        site_select(Site.id, Site.code, Site.name, roster=roster_sizes(), region=False)
        .add_columns(
            last_counted.face_count.label("count"),
            last.status.label("last_status"),
            last.created_at.label("at"),
        )
        .outerjoin(latest, latest.c.site_id == Site.id)
        .outerjoin(last, and_(last.site_id == Site.id, last.slot == latest.c.slot))
        .outerjoin(counted, counted.c.site_id == Site.id)
        .outerjoin(
            last_counted, and_(last_counted.site_id == Site.id, last_counted.slot == counted.c.slot)
        )
        .where(Site.enabled)
        .order_by(Site.code)
    )
    rows = [dict(row._mapping) for row in session.execute(query)]
    for row in rows:
        row["expected"] = row.pop("registered") - row.pop("exempt")
    return rows


def _latest(since: datetime, statuses: tuple[str, ...] | None):
    query = select(Sample.site_id, func.max(Sample.slot).label("slot")).where(Sample.slot >= since)
    if statuses:
        query = query.where(Sample.status.in_(statuses))
    return query.group_by(Sample.site_id).subquery()
