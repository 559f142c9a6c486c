"""Stored estimates: one row per site and session, replaced when recomputed, never edited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from attendance.store.models import Estimate, Site
from attendance.store.paging import Page, dicts, paged, total

BATCH = 5000


ESTIMATE_FIGURES = ("raw", "calibrated", "peak", "median", "mean", "coverage", "quality")


def estimates_query(session_id: int) -> Select:
    """The session's stored estimates with their site's code (as `site`)."""
    return (
        select(
            Site.code.label("site"),
            *(getattr(Estimate, name) for name in ESTIMATE_FIGURES),
            Estimate.computed_at,
        )
        .join(Site, Site.id == Estimate.site_id)
        .where(Estimate.session_id == session_id)
    )


def save_estimates(
    session: Session, session_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace the session's estimates that changed (recomputed, never edited); returns the rows
    that did, so the change can be audited."""
    fields = [getattr(Estimate, name) for name in ESTIMATE_FIGURES]
    site_ids = [row["site_id"] for row in rows]
    stored = {}
    for start in range(0, len(site_ids), BATCH):
        chunk = site_ids[start : start + BATCH]
        query = select(Estimate.site_id, *fields).where(
            Estimate.session_id == session_id, Estimate.site_id.in_(chunk)
        )
        stored |= {site_id: tuple(values) for site_id, *values in session.execute(query)}
    changed = [
        row
        for row in rows
        if stored.get(row["site_id"]) != tuple(row[name] for name in ESTIMATE_FIGURES)
    ]
    changed_ids = [row["site_id"] for row in changed]
    for start in range(0, len(changed), BATCH):
        chunk = changed_ids[start : start + BATCH]
        session.execute(
            delete(Estimate).where(Estimate.session_id == session_id, Estimate.site_id.in_(chunk))
        )
        session.execute(insert(Estimate), changed[start : start + BATCH])
    return changed


def estimates_of(session: Session, session_id: int) -> list[dict[str, Any]]:
    """The session's stored estimates, by site code."""
    query = estimates_query(session_id).order_by(Site.code)
    return [dict(row) for row in session.execute(query).mappings()]


def estimates_page(
    session: Session, session_id: int, visible: frozenset[int] | None, page: Page
) -> tuple[list[dict], int]:
    """The session's stored estimates by site code, of the sites the caller may see."""
    query = estimates_query(session_id)
    if visible is not None:
        query = query.where(Site.id.in_(visible))
    rows = dicts(session, paged(query.order_by(Site.code), page))
    for row in rows:
        quality = row.pop("quality") or {}
        row["quality"] = quality.get("flag")
        for key in ("reasons", "evidence", "factor", "remembered_share"):
            row[key] = quality.get(key)
    return rows, total(session, query)
