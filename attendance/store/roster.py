"""Roster entries: the listings of who must attend, and who identification can recognise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.store.models import FaceEncoding, RosterEntry, Site
from attendance.store.paging import Page, dicts, paged, total


def list_roster(
    session: Session, site: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    query = (
        select(
            Site.code.label("site_code"),
            RosterEntry.person_code,
            RosterEntry.full_name,
            RosterEntry.unit,
            RosterEntry.role,
            RosterEntry.category,
            RosterEntry.exempt,
            RosterEntry.exempt_reason,
            RosterEntry.consent_biometric,
            RosterEntry.active,
        )
        .join(Site, RosterEntry.site_id == Site.id)
        .order_by(Site.code, RosterEntry.person_code)
    )
    if site is not None:
        query = query.where(Site.code == site)
    if not include_inactive:
        query = query.where(RosterEntry.active)
    return [dict(row) for row in session.execute(query).mappings()]


def roster_page(session: Session, site_id: int, page: Page) -> tuple[list[dict], int]:
    """The site's active roster entries by person code."""
    query = select(
        RosterEntry.person_code,
        RosterEntry.full_name,
        RosterEntry.unit,
        RosterEntry.exempt,
        RosterEntry.exempt_reason,
        RosterEntry.consent_biometric,
    ).where(RosterEntry.site_id == site_id, RosterEntry.active)
    ordered = query.order_by(RosterEntry.person_code)
    return dicts(session, paged(ordered, page)), total(session, query)


def roster_of(session: Session, site_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Active roster entries (optionally of some sites), by site and person code."""
    query = (
        select(
            RosterEntry.id,
            RosterEntry.site_id,
            RosterEntry.person_code,
            RosterEntry.full_name,
            RosterEntry.unit,
            RosterEntry.exempt,
            RosterEntry.exempt_reason,
        )
        .where(RosterEntry.active)
        .order_by(RosterEntry.site_id, RosterEntry.person_code)
    )
    if site_ids is not None:
        query = query.where(RosterEntry.site_id.in_(site_ids))
    return [dict(row._mapping) for row in session.execute(query)]


def enrolled_people(session: Session, site_ids: Sequence[int] | None = None) -> dict[int, set[int]]:
    """Site id → roster entries that identification can recognise (consent and a photo)."""
    query = (
        select(RosterEntry.site_id, RosterEntry.id)
        .where(
            RosterEntry.active,
            RosterEntry.consent_biometric,
            RosterEntry.id.in_(select(FaceEncoding.roster_entry_id)),
        )
        .distinct()
    )
    if site_ids is not None:
        query = query.where(RosterEntry.site_id.in_(site_ids))
    enrolled: dict[int, set[int]] = {}
    for site_id, entry_id in session.execute(query):
        enrolled.setdefault(site_id, set()).add(entry_id)
    return enrolled
