"""Manual headcounts: adding one, and the lists of them for pages, the API and bundles."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from attendance.store.models import ConferenceSession, Headcount, Site
from attendance.store.paging import Page, dicts, paged, total


def add_headcount(session: Session, row: dict[str, Any], factor: float | None) -> Headcount:
    headcount = Headcount(**row)
    session.add(headcount)
    if factor is not None:
        session.execute(
            update(Site).where(Site.id == row["site_id"]).values(calibration_factor=factor)
        )
    session.flush()
    return headcount


def headcounts_of(session: Session, site_id: int) -> list[Headcount]:
    return list(
        session.scalars(
            select(Headcount).where(Headcount.site_id == site_id).order_by(Headcount.counted_at)
        )
    )


def headcounts_page(session: Session, site_id: int, page: Page) -> tuple[list[dict], int]:
    """The site's manual headcounts, latest first."""
    query = _headcounts().where(Headcount.site_id == site_id)
    ordered = query.order_by(Headcount.counted_at.desc(), Headcount.id.desc())
    return dicts(session, paged(ordered, page)), total(session, query)


def headcount_recorded(session: Session, site_id: int, by: str, at: datetime) -> dict[str, Any]:
    """The headcount just recorded in this transaction (the domain call does not return it)."""
    query = _headcounts().where(
        Headcount.site_id == site_id, Headcount.counted_by == by, Headcount.counted_at == at
    )
    return dicts(session, query.order_by(Headcount.id.desc()).limit(1))[0]


def headcounts_in(
    session: Session, session_ids: Collection[int], site_id: int | None = None
) -> list[dict[str, Any]]:
    """Headcounts recorded during the sessions (by their time or their session), by time."""
    windows = select(ConferenceSession.starts_at, ConferenceSession.ends_at).where(
        ConferenceSession.id.in_(session_ids)
    )
    during = [
        Headcount.counted_at.between(start, end) for start, end in session.execute(windows).all()
    ]
    query = (
        select(
            Headcount.id,
            Site.code.label("site"),
            Headcount.session_id,
            Headcount.counted_at,
            Headcount.value,
            Headcount.counted_by,
            Headcount.note,
        )
        .join(Site, Site.id == Headcount.site_id)
        .where(or_(Headcount.session_id.in_(session_ids), *during))
        .order_by(Headcount.counted_at, Headcount.id)
    )
    if site_id is not None:
        query = query.where(Headcount.site_id == site_id)
    return [dict(row) for row in session.execute(query).mappings()]


def _headcounts() -> Select:
    return select(
        Headcount.id,
        Headcount.session_id,
        Headcount.counted_at,
        Headcount.value.label("count"),
        Headcount.counted_by,
        Headcount.note,
        Headcount.created_at,
    )
