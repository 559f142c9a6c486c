"""The SQL behind corrections: adding one, the latest per site, and lists for pages and the API."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from attendance.store.models import Correction, Site


def add_correction(session: Session, row: dict[str, Any]) -> Correction:
    correction = Correction(**row)
    session.add(correction)
    session.flush()
    return correction


def correction_row(session: Session, correction_id: int) -> dict[str, Any]:
    """One correction as lists show it."""
    query = _corrections().where(Correction.id == correction_id)
    return dict(session.execute(query).mappings().one())


def latest_corrections(
    session: Session, session_id: int, site_ids: Collection[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Site id → its latest correction in the session: the one that counts."""
    found: dict[int, dict[str, Any]] = {}
    query = _of_session(session_id, site_ids).order_by(Correction.created_at, Correction.id)
    for row in session.execute(query).mappings():
        found[row["site_id"]] = dict(row)
    return found


def corrections_of(
    session: Session,
    session_id: int,
    site_ids: Collection[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The session's corrections, latest first, and how many there are in all."""
    query = _of_session(session_id, site_ids)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(Correction.created_at.desc(), Correction.id.desc())
    rows = session.execute(ordered.limit(limit).offset(offset)).mappings()
    return [dict(row) for row in rows], total


def correction_counts(session: Session, session_id: int) -> dict[int, int]:
    """Site id → how many corrections the session has for it."""
    query = (
        select(Correction.site_id, func.count())
        .where(Correction.session_id == session_id)
        .group_by(Correction.site_id)
    )
    return dict(session.execute(query).all())


def _of_session(session_id: int, site_ids: Collection[int] | None) -> Select:
    query = _corrections().where(Correction.session_id == session_id)
    if site_ids is not None:
        query = query.where(Correction.site_id.in_(site_ids))
    return query


def _corrections() -> Select:
    return select(
        Correction.id,
        Correction.site_id,
        Site.code.label("site"),
        Correction.session_id,
        Correction.original_value,
        Correction.value,
        Correction.reason,
        Correction.corrected_by,
        Correction.created_at,
    ).join(Site, Site.id == Correction.site_id)
